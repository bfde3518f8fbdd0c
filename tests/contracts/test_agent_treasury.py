"""AgentTreasury: an ERC-1271 wallet whose agent key pays over EIP-3009 only within the
owner's limits (`SPEC.md` "AgentTreasury"). Each rule beside its refusal, with exact revert
reasons; then the token's view of the wallet (pause, agent change, expiry, replay, another
token or chain); then hypothesis over the limits."""

from __future__ import annotations

import boa
import pytest
from eth_abi import encode as abi_encode
from eth_account.messages import encode_typed_data
from eth_utils import function_signature_to_4byte_selector as selector
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ, ONE_TOKEN, TOKEN_NAME, TOKEN_SYMBOL, TOKEN_VERSION, ZERO_ADDRESS, events, fresh_state
from .treasury_fixtures import (  # noqa: F401  (fixtures)
    DAY,
    INVALID,
    MAGIC,
    OWNER_ONLY,
    TREASURY,
    agent_key,
    deploy_treasury,
    key_of,
    payment,
    signed,
    treasury,
    treasury_owner,
)

CAP = ONE_TOKEN
DAILY = 10 * ONE_TOKEN
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture
def relayer() -> str:
    return boa.env.generate_address("relayer")


# ------------------------------------------------------------ deployment --


def test_deploy__owner_agent_token_and_nothing_allowed(token, treasury_owner, agent_key):
    contract = TREASURY.deploy(token.address, agent_key.address, ZERO_ADDRESS, sender=treasury_owner)
    assert (contract.owner(), contract.agent(), contract.token()) == (treasury_owner, agent_key.address, token.address)
    assert (contract.dailyLimit(), contract.perPaymentCap(), contract.paused(), contract.generation()) == (0, 0, False, 0)
    assert not contract.payees(treasury_owner)


def test_deploy__zero_agent__reverts(token, treasury_owner):
    with boa.reverts("treasury: zero agent"):
        TREASURY.deploy(token.address, ZERO_ADDRESS, ZERO_ADDRESS, sender=treasury_owner)


def test_deploy__token_without_code__reverts(treasury_owner, agent_key):
    with boa.reverts("treasury: token is not a contract"):
        TREASURY.deploy(boa.env.generate_address("no code"), agent_key.address, ZERO_ADDRESS, sender=treasury_owner)


def test_new_treasury__spends_nothing_before_the_owner_sets_limits(token, treasury_owner, agent_key):
    contract = TREASURY.deploy(token.address, agent_key.address, ZERO_ADDRESS, sender=treasury_owner)
    payee = boa.env.generate_address("payee")
    with boa.reverts("treasury: payee not allowed"):
        contract.approvePayment(*payment(payee, 1).args, sender=agent_key.address)
    contract.setPayee(payee, True, sender=treasury_owner)
    with boa.reverts("treasury: above the per-payment cap"):
        contract.approvePayment(*payment(payee, 1).args, sender=agent_key.address)


def test_renounce_ownership__not_exported(treasury):
    assert not hasattr(treasury.contract, "renounce_ownership")


# -------------------------------------------------------------- paying --


def test_pay__within_limits__payee_paid_counted_today(treasury, relayer):
    p = payment(treasury.payees[0], CAP)
    digest = treasury.approve(p)
    (approved,) = events(treasury.contract, "PaymentApproved")
    assert (approved.payee, approved.nonce, approved.amount, approved.digest) == (p.to, p.nonce, CAP, digest)
    assert approved.day == boa.env.timestamp // DAY
    assert treasury.contract.spentToday() == CAP
    assert tuple(treasury.contract.approval(digest)) == (CAP, p.valid_before, boa.env.timestamp // DAY, 0)
    treasury.collect(p, signed(treasury.agent, digest), relayer)
    assert treasury.token.balanceOf(p.to) == CAP
    assert treasury.token.balanceOf(treasury.contract.address) == 99 * ONE_TOKEN
    assert treasury.token.authorizationState(treasury.contract.address, p.nonce)


def test_pay__digest_is_the_tokens_eip712_digest(treasury):
    p = payment(treasury.payees[0], CAP)
    domain = {"name": TOKEN_NAME, "version": TOKEN_VERSION, "chainId": boa.env.evm.patch.chain_id,
              "verifyingContract": treasury.token.address}
    types = {"TransferWithAuthorization": [
        {"name": n, "type": t} for n, t in (("from", "address"), ("to", "address"), ("value", "uint256"),
                                            ("validAfter", "uint256"), ("validBefore", "uint256"), ("nonce", "bytes32"))
    ]}
    message = {"from": treasury.contract.address, "to": p.to, "value": p.amount, "validAfter": p.valid_after,
               "validBefore": p.valid_before, "nonce": p.nonce}
    signable = encode_typed_data(domain, types, message)
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert treasury.contract.paymentDigest(*p.args) == expected == treasury.approve(p)


def test_pay__bytes_overload(treasury, relayer):
    """The USDC v2.2 `bytes signature` form, as x402 facilitators may call it."""
    p = payment(treasury.payees[1], CAP)
    signature = signed(treasury.agent, treasury.approve(p))
    data = selector("transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)") + abi_encode(
        ["address", "address", "uint256", "uint256", "uint256", "bytes32", "bytes"],
        [treasury.contract.address, *p.args, signature],
    )
    boa.env.raw_call(treasury.token.address, sender=relayer, data=data)
    assert treasury.token.balanceOf(p.to) == CAP


def test_pay__daily_limit_counts_every_approval_of_the_day(treasury):
    for _ in range(10):
        treasury.approve(payment(treasury.payees[0], CAP))
    assert treasury.contract.spentToday() == DAILY
    with boa.reverts("treasury: above the daily limit"):
        treasury.approve(payment(treasury.payees[0], 1))
    boa.env.time_travel(seconds=DAY)  # a new day, a new allowance
    assert treasury.contract.spentToday() == 0
    treasury.approve(payment(treasury.payees[0], CAP))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"to": "outsider"}, "treasury: payee not allowed"),
        ({"amount": 0}, "treasury: zero payment"),
        ({"amount": CAP + 1}, "treasury: above the per-payment cap"),
        ({"seconds": 0}, "treasury: authorization is expired"),
        ({"seconds": DAY + 1}, "treasury: validity too long"),
        ({"valid_after": "before"}, "treasury: empty validity window"),
    ],
)
def test_approve__outside_the_rules__reverts(treasury, change, reason):
    to = treasury.outsider if change.get("to") == "outsider" else treasury.payees[0]
    p = payment(to, change.get("amount", CAP), seconds=change.get("seconds", 300))
    args = list(p.args)
    if change.get("valid_after") == "before":
        args[2] = p.valid_before
    with boa.reverts(reason):
        treasury.contract.approvePayment(*args, sender=treasury.agent.address)
    assert treasury.contract.spentToday() == 0


def test_approve__validity_of_exactly_a_day__accepted(treasury):
    treasury.approve(payment(treasury.payees[0], CAP, seconds=DAY))


@pytest.mark.parametrize("who", ["owner", "stranger"])
def test_approve__not_the_agent__reverts(treasury, stranger, who):
    sender = treasury.owner if who == "owner" else stranger
    with boa.reverts("treasury: caller is not the agent"):
        treasury.approve(payment(treasury.payees[0], CAP), sender=sender)


def test_approve__paused__reverts(treasury):
    treasury.contract.pause(sender=treasury.owner)
    with boa.reverts("treasury: paused"):
        treasury.approve(payment(treasury.payees[0], CAP))


def test_approve__twice__reverts(treasury):
    p = payment(treasury.payees[0], CAP)
    treasury.approve(p)
    with boa.reverts("treasury: already approved"):
        treasury.approve(p)
    assert treasury.contract.spentToday() == CAP


def test_approve__nonce_used__reverts(treasury, relayer):
    p = payment(treasury.payees[0], CAP)
    treasury.pay(p, relayer)
    again = payment(treasury.payees[1], CAP, nonce=p.nonce)
    with boa.reverts("treasury: nonce is used"):
        treasury.approve(again)


def test_approve__amount_above_128_bits__reverts(treasury):
    treasury.contract.setLimits(2**256 - 1, 2**256 - 1, sender=treasury.owner)
    with boa.reverts("treasury: amount too large"):
        treasury.approve(payment(treasury.payees[0], 2**128))


# -------------------------------------------------- the token's view (ERC-1271) --


def test_is_valid_signature__approved_and_signed_by_the_agent(treasury):
    digest = treasury.approve(payment(treasury.payees[0], CAP))
    assert treasury.contract.isValidSignature(digest, signed(treasury.agent, digest)) == MAGIC


def test_is_valid_signature__not_approved__invalid(treasury):
    p = payment(treasury.payees[0], CAP)
    digest = treasury.contract.paymentDigest(*p.args)
    assert treasury.contract.isValidSignature(digest, signed(treasury.agent, digest)) == INVALID


def test_is_valid_signature__someone_elses_signature__invalid(treasury, relayer):
    p = payment(treasury.payees[0], CAP)
    digest = treasury.approve(p)
    intruder = key_of(b"intruder")
    assert treasury.contract.isValidSignature(digest, signed(intruder, digest)) == INVALID
    with boa.reverts("ai_token: invalid signature"):
        treasury.collect(p, signed(intruder, digest), relayer)


def test_is_valid_signature__malformed__invalid_never_reverts(treasury):
    digest = treasury.approve(payment(treasury.payees[0], CAP))
    good = signed(treasury.agent, digest)
    r, s, v = int.from_bytes(good[:32], "big"), int.from_bytes(good[32:64], "big"), good[64]
    high_s = good[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # the malleable twin
    for bad in (b"", good[:64], good + b"\x00", high_s, good[:64] + b"\x05", bytes(65), r.to_bytes(32, "big") * 2 + b"\x1b"):
        assert treasury.contract.isValidSignature(digest, bad) == INVALID


def test_collect__expired__reverts(treasury, relayer):
    p = payment(treasury.payees[0], CAP, seconds=60)
    signature = signed(treasury.agent, treasury.approve(p))
    boa.env.time_travel(seconds=60)
    assert treasury.contract.isValidSignature(treasury.contract.paymentDigest(*p.args), signature) == INVALID
    with boa.reverts("ai_token: authorization is expired"):
        treasury.collect(p, signature, relayer)


def test_collect__twice__reverts(treasury, relayer):
    p = payment(treasury.payees[0], CAP)
    signature = signed(treasury.agent, treasury.approve(p))
    treasury.collect(p, signature, relayer)
    with boa.reverts("ai_token: authorization is used or canceled"):
        treasury.collect(p, signature, relayer)
    assert treasury.token.balanceOf(p.to) == CAP


def test_collect__tampered_amount_or_payee__reverts(treasury, relayer):
    p = payment(treasury.payees[0], CAP)
    signature = signed(treasury.agent, treasury.approve(p))
    for tampered in (payment(p.to, CAP - 1, nonce=p.nonce), payment(treasury.payees[1], CAP, nonce=p.nonce)):
        tampered = type(p)(tampered.to, tampered.amount, p.valid_after, p.valid_before, p.nonce)
        with boa.reverts("ai_token: invalid signature"):
            treasury.collect(tampered, signature, relayer)


def test_pause__kills_pending_approvals_even_after_resuming(treasury, relayer):
    pending = [payment(treasury.payees[0], CAP) for _ in range(3)]
    signatures = [signed(treasury.agent, treasury.approve(p)) for p in pending]
    treasury.contract.pause(sender=treasury.owner)
    (paused,) = events(treasury.contract, "PausedSet")
    assert (paused.paused, paused.generation) == (True, 1)
    for p, signature in zip(pending, signatures, strict=True):
        with boa.reverts("ai_token: invalid signature"):
            treasury.collect(p, signature, relayer)
    treasury.contract.unpause(sender=treasury.owner)
    with boa.reverts("ai_token: invalid signature"):
        treasury.collect(pending[0], signatures[0], relayer)
    assert treasury.token.balanceOf(treasury.payees[0]) == 0
    treasury.pay(payment(treasury.payees[0], CAP), relayer)  # new approvals pay again
    assert treasury.token.balanceOf(treasury.payees[0]) == CAP


def test_set_agent__old_key_and_its_approvals_dead(treasury, relayer):
    p = payment(treasury.payees[0], CAP)
    signature = signed(treasury.agent, treasury.approve(p))
    new = key_of(b"new agent")
    treasury.contract.setAgent(new.address, sender=treasury.owner)
    (changed,) = events(treasury.contract, "AgentSet")
    assert (changed.agent, changed.generation) == (new.address, 1)
    with boa.reverts("ai_token: invalid signature"):
        treasury.collect(p, signature, relayer)
    with boa.reverts("treasury: caller is not the agent"):
        treasury.approve(payment(treasury.payees[0], CAP))
    fresh = payment(treasury.payees[0], CAP)
    digest = treasury.contract.approvePayment(*fresh.args, sender=new.address)
    with boa.reverts("ai_token: invalid signature"):  # the old key's signature of a new approval
        treasury.collect(fresh, signed(treasury.agent, digest), relayer)
    treasury.collect(fresh, signed(new, digest), relayer)


def test_another_tokens_authorization__refused(token_deployer, treasury, deployer, relayer):
    """A digest approved for the treasury's token is not one of another token's."""
    other = token_deployer.deploy(TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION, 0, sender=deployer)
    other.mint(treasury.contract.address, 10 * ONE_TOKEN, sender=deployer)
    p = payment(treasury.payees[0], CAP)
    signature = signed(treasury.agent, treasury.approve(p))
    with boa.reverts("ai_token: invalid signature"):
        other.transferWithAuthorization(
            treasury.contract.address, *p.args, signature[64], signature[:32], signature[32:64], sender=relayer
        )
    treasury.collect(p, signature, relayer)  # the treasury's own token takes it


def test_another_chains_authorization__refused(treasury, relayer):
    """Approved on one chain, the same transfer on a fork with another chain id has another digest."""
    p = payment(treasury.payees[0], CAP)
    signature = signed(treasury.agent, treasury.approve(p))
    boa.env.evm.patch.chain_id = 8_453
    with boa.reverts("ai_token: invalid signature"):
        treasury.collect(p, signature, relayer)


# ------------------------------------------------------------- releasing --


def test_release__expired_uncollected__allowance_back_today(treasury):
    p = payment(treasury.payees[0], CAP, seconds=60)
    digest = treasury.approve(p)
    boa.env.time_travel(seconds=60)
    treasury.contract.releasePayment(*p.args, sender=treasury.agent.address)
    (released,) = events(treasury.contract, "PaymentReleased")
    assert (released.nonce, released.amount, released.digest, released.refunded) == (p.nonce, CAP, digest, True)
    assert treasury.contract.spentToday() == 0 and tuple(treasury.contract.approval(digest)) == (0, 0, 0, 0)
    with boa.reverts("treasury: no such approval"):
        treasury.contract.releasePayment(*p.args, sender=treasury.owner)


def test_release__still_valid__canceled_never_collected(treasury, relayer):
    """Released before it expires, an approval is canceled: the token can no longer collect it,
    the agent's signature is worth nothing, and the day's allowance is back."""
    p = payment(treasury.payees[0], CAP)
    signature = signed(treasury.agent, treasury.approve(p))
    treasury.contract.releasePayment(*p.args, sender=treasury.agent.address)
    assert events(treasury.contract, "PaymentReleased")[0].refunded and treasury.contract.spentToday() == 0
    with boa.reverts("ai_token: invalid signature"):
        treasury.collect(p, signature, relayer)
    assert treasury.token.balanceOf(p.to) == 0


def test_release__approved_on_an_earlier_day__no_allowance_given(treasury):
    p = payment(treasury.payees[0], CAP, seconds=60)
    treasury.approve(p)
    boa.env.time_travel(seconds=DAY)
    treasury.approve(payment(treasury.payees[0], CAP))
    treasury.contract.releasePayment(*p.args, sender=treasury.owner)
    assert not events(treasury.contract, "PaymentReleased")[0].refunded
    assert treasury.contract.spentToday() == CAP


def test_release__collected__reverts(treasury, relayer):
    p = payment(treasury.payees[0], CAP, seconds=60)
    treasury.pay(p, relayer)
    boa.env.time_travel(seconds=60)
    with boa.reverts("treasury: payment was collected"):
        treasury.contract.releasePayment(*p.args, sender=treasury.agent.address)
    assert treasury.contract.spentToday() == CAP


def test_release__after_pause__at_once(treasury):
    p = payment(treasury.payees[0], CAP)
    treasury.approve(p)
    treasury.contract.pause(sender=treasury.owner)
    treasury.contract.releasePayment(*p.args, sender=treasury.owner)
    assert treasury.contract.spentToday() == 0


def test_release__by_a_stranger__reverts(treasury, stranger):
    p = payment(treasury.payees[0], CAP, seconds=60)
    treasury.approve(p)
    boa.env.time_travel(seconds=60)
    with boa.reverts("treasury: caller is not the agent or the owner"):
        treasury.contract.releasePayment(*p.args, sender=stranger)


# -------------------------------------------------------------- refunds --


def test_refund__today__tokens_back_and_allowance_restored_once(treasury, relayer, stranger):
    """x402's refund of quote − fee: the payee signs it, anyone submits it; the day's spending
    falls by it, the treasury holds it, and the same payment cannot be refunded twice."""
    p = payment(treasury.payees[0], CAP)
    treasury.pay(p, relayer)
    held = treasury.token.balanceOf(treasury.contract.address)
    digest = treasury.contract.paymentDigest(*p.args)
    treasury.contract.refundPayment(*treasury.refund_args(p, CAP // 4), sender=stranger)
    (refunded,) = events(treasury.contract, "PaymentRefunded")
    assert (refunded.payee, refunded.nonce, refunded.refund, refunded.digest, refunded.restored) == (
        p.to, p.nonce, CAP // 4, digest, True,
    )
    assert treasury.contract.spentToday() == CAP - CAP // 4
    assert treasury.token.balanceOf(treasury.contract.address) == held + CAP // 4
    assert treasury.token.balanceOf(p.to) == CAP - CAP // 4
    with boa.reverts("treasury: no such approval"):
        treasury.contract.refundPayment(*treasury.refund_args(p, CAP // 4), sender=stranger)
    with boa.reverts("treasury: no such approval"):
        treasury.contract.releasePayment(*p.args, sender=treasury.owner)
    assert treasury.contract.spentToday() == CAP - CAP // 4


def test_refund__approved_on_an_earlier_day__tokens_back_no_allowance(treasury, relayer):
    p = payment(treasury.payees[0], CAP, seconds=60)
    treasury.pay(p, relayer)
    boa.env.time_travel(seconds=DAY)
    treasury.approve(payment(treasury.payees[0], CAP))
    treasury.contract.refundPayment(*treasury.refund_args(p, CAP), sender=relayer)
    assert not events(treasury.contract, "PaymentRefunded")[0].restored
    assert treasury.contract.spentToday() == CAP


@pytest.mark.parametrize(("case", "reason"), [
    ("not collected", "treasury: payment not collected"),
    ("never approved", "treasury: no such approval"),
    ("zero", "treasury: zero refund"),
    ("above the payment", "treasury: refund above the payment"),
    ("signed by another", "ai_token: invalid signature"),
    ("refund nonce used", "ai_token: authorization is used or canceled"),
])
def test_refund__refused__nothing_moves(treasury, relayer, case, reason):
    from .treasury_fixtures import PAYEE_KEYS

    p, other = payment(treasury.payees[0], CAP), payment(treasury.payees[0], CAP // 2)
    if case == "not collected":
        treasury.approve(p)
    elif case != "never approved":
        treasury.pay(p, relayer)
    treasury.pay(other, relayer)
    used = keccak(b"a refund nonce used once")
    treasury.contract.refundPayment(*treasury.refund_args(other, 1, nonce=used), sender=relayer)
    args = {
        "zero": lambda: treasury.refund_args(p, 0),
        "above the payment": lambda: treasury.refund_args(p, CAP + 1),
        "signed by another": lambda: treasury.refund_args(p, 1, payee=PAYEE_KEYS["payee two"]),
        "refund nonce used": lambda: treasury.refund_args(p, 1, nonce=used),
    }.get(case, lambda: treasury.refund_args(p, 1))()
    spent, held = treasury.contract.spentToday(), treasury.token.balanceOf(treasury.contract.address)
    with boa.reverts(reason):
        treasury.contract.refundPayment(*args, sender=relayer)
    assert (treasury.contract.spentToday(), treasury.token.balanceOf(treasury.contract.address)) == (spent, held)


def test_supports_interface__erc165_and_refunds(treasury):
    c = treasury.contract
    refund = selector("refundPayment(address,uint256,uint256,uint256,bytes32,uint256,uint256,bytes32,uint8,bytes32,bytes32)")
    assert c.REFUND_INTERFACE_ID() == refund
    assert c.supportsInterface(selector("supportsInterface(bytes4)")) and c.supportsInterface(refund)
    assert not c.supportsInterface(bytes.fromhex("ffffffff")) and not c.supportsInterface(bytes.fromhex("1626ba7e"))


# ---------------------------------------------------------------- owner --


def test_owner__limits_payees_withdraw(treasury, relayer):
    c = treasury.contract
    c.setLimits(3 * ONE_TOKEN, 2 * ONE_TOKEN, sender=treasury.owner)
    assert (c.dailyLimit(), c.perPaymentCap()) == (3 * ONE_TOKEN, 2 * ONE_TOKEN)
    c.setPayee(treasury.payees[0], False, sender=treasury.owner)
    (removed,) = events(c, "PayeeSet")
    assert (removed.payee, removed.allowed) == (treasury.payees[0], False)
    with boa.reverts("treasury: payee not allowed"):
        treasury.approve(payment(treasury.payees[0], 1))
    c.pause(sender=treasury.owner)
    c.withdraw(treasury.owner, 40 * ONE_TOKEN, sender=treasury.owner)  # paused or not
    assert treasury.token.balanceOf(treasury.owner) == 40 * ONE_TOKEN
    (withdrawn,) = events(c, "Withdrawn")
    assert (withdrawn.receiver, withdrawn.amount) == (treasury.owner, 40 * ONE_TOKEN)
    with boa.reverts("erc20: transfer amount exceeds balance"):
        c.withdraw(treasury.owner, 61 * ONE_TOKEN, sender=treasury.owner)


def test_set_payee__zero__reverts(treasury):
    with boa.reverts("treasury: zero payee"):
        treasury.contract.setPayee(ZERO_ADDRESS, True, sender=treasury.owner)


def test_set_agent__zero__reverts(treasury):
    with boa.reverts("treasury: zero agent"):
        treasury.contract.setAgent(ZERO_ADDRESS, sender=treasury.owner)


@pytest.mark.parametrize("who", ["agent", "stranger"])
@pytest.mark.parametrize(
    "call",
    ["setLimits", "setPayee", "setAgent", "pause", "unpause", "withdraw", "transfer_ownership"],
)
def test_owner_only__agent_and_stranger__revert(treasury, stranger, who, call):
    sender = treasury.agent.address if who == "agent" else stranger
    args = {
        "setLimits": (2**255, 2**255), "setPayee": (sender, True), "setAgent": (sender,), "pause": (),
        "unpause": (), "withdraw": (sender, 1), "transfer_ownership": (sender,),
    }[call]
    with boa.reverts(OWNER_ONLY):
        getattr(treasury.contract, call)(*args, sender=sender)
    assert treasury.token.balanceOf(sender) == 0


def test_transfer_ownership__new_owner_withdraws_old_cannot(treasury, stranger):
    treasury.contract.transfer_ownership(stranger, sender=treasury.owner)
    with boa.reverts(OWNER_ONLY):
        treasury.contract.withdraw(treasury.owner, 1, sender=treasury.owner)
    treasury.contract.withdraw(stranger, 1, sender=stranger)


def test_ether__refused(treasury, stranger):
    assert [e for e in treasury.contract.abi if e.get("stateMutability") == "payable"] == []
    boa.env.set_balance(stranger, ONE_TOKEN)
    with pytest.raises(Exception):  # noqa: B017  (no fallback: the EVM reverts without a reason)
        boa.env.raw_call(treasury.contract.address, sender=stranger, value=1)
    assert boa.env.get_balance(stranger) == ONE_TOKEN


# ----------------------------------------------------------- hypothesis --


@FUZZ
@given(
    cap=st.integers(0, 3 * ONE_TOKEN),
    daily=st.integers(0, 10 * ONE_TOKEN),
    amounts=st.lists(st.integers(1, 4 * ONE_TOKEN), min_size=1, max_size=8),
)
def test_approvals__accepted_exactly_within_cap_and_daily_limit(treasury, cap, daily, amounts):
    with fresh_state():
        treasury.contract.setLimits(daily, cap, sender=treasury.owner)
        spent = 0
        for amount in amounts:
            p = payment(treasury.payees[0], amount)
            if amount > cap:
                with boa.reverts("treasury: above the per-payment cap"):
                    treasury.approve(p)
            elif spent + amount > daily:
                with boa.reverts("treasury: above the daily limit"):
                    treasury.approve(p)
            else:
                treasury.approve(p)
                spent += amount
            assert treasury.contract.spentToday() == spent <= daily


@FUZZ
@given(signer_seed=st.binary(min_size=1, max_size=8), approved=st.booleans(), paused=st.booleans())
def test_is_valid_signature__only_approved_unpaused_agent_signed(treasury, signer_seed, approved, paused):
    with fresh_state():
        p = payment(treasury.payees[0], CAP)
        digest = treasury.approve(p) if approved else treasury.contract.paymentDigest(*p.args)
        if paused:
            treasury.contract.pause(sender=treasury.owner)
            treasury.contract.unpause(sender=treasury.owner)
        signer = key_of(signer_seed) if signer_seed != b"agent" else treasury.agent
        expected = MAGIC if approved and not paused and signer.address == treasury.agent.address else INVALID
        assert treasury.contract.isValidSignature(digest, signed(signer, digest)) == expected
