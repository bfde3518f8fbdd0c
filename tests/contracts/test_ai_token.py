"""AIToken: ERC-20 + EIP-2612 (snekmate) + EIP-3009, signed by eth-account.

Signatures come from eth-account's `sign_typed_data`, an implementation
independent of the contract, so passing tests prove the EIP-712 encoding
interoperates with wallets and x402 clients.
"""

from __future__ import annotations

import boa
import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import function_signature_to_4byte_selector, keccak
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ, ONE_TOKEN, TOKEN_NAME, TOKEN_SYMBOL, TOKEN_VERSION, Signer, events, fresh_state

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

AUTH_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
CANCEL_FIELDS = [{"name": "authorizer", "type": "address"}, {"name": "nonce", "type": "bytes32"}]
PERMIT_FIELDS = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

TRANSFER_BYTES = function_signature_to_4byte_selector(
    "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"
)
RECEIVE_BYTES = function_signature_to_4byte_selector(
    "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"
)
CANCEL_BYTES = function_signature_to_4byte_selector("cancelAuthorization(address,bytes32,bytes)")


# ---------------------------------------------------------------- helpers --


def domain(token, chain_id: int | None = None, verifying_contract: str | None = None) -> dict:
    return {
        "name": TOKEN_NAME,
        "version": TOKEN_VERSION,
        "chainId": boa.env.evm.patch.chain_id if chain_id is None else chain_id,
        "verifyingContract": verifying_contract or token.address,
    }


def sign(signer: Signer, token, primary: str, fields: list, message: dict, **domain_overrides):
    """EIP-712 signature by eth-account: (v, r, s) and the 65-byte form."""
    signed = Account.sign_typed_data(signer.key, domain(token, **domain_overrides), {primary: fields}, message)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"), bytes(signed.signature)


def signer_from(seed: bytes) -> Signer:
    account = Account.from_key(keccak(seed))
    return Signer(account.address, account.key)


def nonce_of(label: str) -> bytes:
    return keccak(label.encode())


def authorization(payer: Signer, to: str, value: int, *, after: int | None = None, before: int | None = None,
                  nonce: bytes = b"") -> dict:
    now = boa.env.timestamp
    return {
        "from": payer.address,
        "to": to,
        "value": value,
        "validAfter": now - 1 if after is None else after,
        "validBefore": now + 3_600 if before is None else before,
        "nonce": nonce or nonce_of("n1"),
    }


def auth_args(message: dict) -> tuple:
    return (
        message["from"],
        message["to"],
        message["value"],
        message["validAfter"],
        message["validBefore"],
        message["nonce"],
    )


def revert_reason(error: Exception) -> str:
    """The Error(string) reason of a raw-call revert."""
    data = error.args[0]
    assert data[:4] == function_signature_to_4byte_selector("Error(string)")
    return abi_decode(["string"], data[4:])[0]


def raw_bytes_call(token, selector: bytes, types: list[str], values: list, sender: str):
    return boa.env.raw_call(token.address, sender=sender, data=selector + abi_encode(types, values))


AUTH_BYTES_TYPES = ["address", "address", "uint256", "uint256", "uint256", "bytes32", "bytes"]


@pytest.fixture
def funded_payer(token, payer, deployer) -> Signer:
    token.mint(payer.address, 100 * ONE_TOKEN, sender=deployer)
    return payer


# -------------------------------------------------------------- metadata --


def test_metadata(token, deployer):
    assert token.name() == TOKEN_NAME
    assert token.symbol() == TOKEN_SYMBOL
    assert token.decimals() == 18
    assert token.version() == TOKEN_VERSION
    assert token.totalSupply() == 0
    assert token.owner() == deployer
    assert token.is_minter(deployer)


def test_eip712_domain__matches_eth_account(token):
    fields, name, version, chain_id, contract, salt, extensions = token.eip712Domain()
    assert (fields, name, version, chain_id, contract) == (b"\x0f", TOKEN_NAME, TOKEN_VERSION, 1, token.address)
    signable = encode_typed_data(domain(token), {"CancelAuthorization": CANCEL_FIELDS}, {
        "authorizer": token.address, "nonce": b"\x00" * 32})
    assert token.DOMAIN_SEPARATOR() == signable.header


def test_typehashes(token):
    assert token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH() == keccak(
        text="TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,"
        "uint256 validBefore,bytes32 nonce)"
    )
    assert token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH() == keccak(
        text="ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,"
        "uint256 validBefore,bytes32 nonce)"
    )
    assert token.CANCEL_AUTHORIZATION_TYPEHASH() == keccak(text="CancelAuthorization(address authorizer,bytes32 nonce)")


# ---------------------------------------------------------------- minting --


def test_mint__by_minter(token, deployer, asker):
    token.mint(asker, 5 * ONE_TOKEN, sender=deployer)
    assert token.balanceOf(asker) == 5 * ONE_TOKEN
    assert token.totalSupply() == 5 * ONE_TOKEN


def test_mint__by_non_minter__reverts(token, asker):
    with boa.reverts("erc20: access is denied"):
        token.mint(asker, 1, sender=asker)


def test_set_minter__faucet_can_mint(token, deployer, operator, asker):
    token.set_minter(operator, True, sender=deployer)
    token.mint(asker, 7, sender=operator)
    assert token.balanceOf(asker) == 7


def test_set_minter__by_non_owner__reverts(token, operator):
    with boa.reverts("ownable: caller is not the owner"):
        token.set_minter(operator, True, sender=operator)


# ----------------------------------------------------------------- permit --


def test_permit__signed_by_eth_account(token, funded_payer, operator):
    deadline = boa.env.timestamp + 60
    message = {"owner": funded_payer.address, "spender": operator, "value": 3, "nonce": 0, "deadline": deadline}
    v, r, s, _ = sign(funded_payer, token, "Permit", PERMIT_FIELDS, message)
    token.permit(funded_payer.address, operator, 3, deadline, v, r, s, sender=operator)
    assert token.allowance(funded_payer.address, operator) == 3
    assert token.nonces(funded_payer.address) == 1


def test_permit__replayed__reverts(token, funded_payer, operator):
    deadline = boa.env.timestamp + 60
    message = {"owner": funded_payer.address, "spender": operator, "value": 3, "nonce": 0, "deadline": deadline}
    v, r, s, _ = sign(funded_payer, token, "Permit", PERMIT_FIELDS, message)
    token.permit(funded_payer.address, operator, 3, deadline, v, r, s, sender=operator)
    with boa.reverts("erc20: invalid signature"):
        token.permit(funded_payer.address, operator, 3, deadline, v, r, s, sender=operator)


# ------------------------------------------------ transferWithAuthorization --


def test_transfer_with_authorization(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, 2 * ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)

    token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
    logs = token.get_logs()

    assert token.balanceOf(asker) == 2 * ONE_TOKEN
    assert token.balanceOf(funded_payer.address) == 98 * ONE_TOKEN
    assert token.authorizationState(funded_payer.address, message["nonce"])
    assert [type(log).__name__ for log in logs] == ["AuthorizationUsed", "Transfer"]
    assert (logs[0].authorizer, logs[0].nonce) == (funded_payer.address, message["nonce"])
    assert (logs[1].sender, logs[1].receiver, logs[1].value) == (funded_payer.address, asker, 2 * ONE_TOKEN)


def test_transfer_with_authorization__replayed__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
    with boa.reverts("ai_token: authorization is used or canceled"):
        token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)


def test_transfer_with_authorization__distinct_nonces_each_once(token, funded_payer, operator, asker):
    for label in ("a", "b", "c"):
        message = authorization(funded_payer, asker, ONE_TOKEN, nonce=nonce_of(label))
        v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
        token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
    assert token.balanceOf(asker) == 3 * ONE_TOKEN
    assert not token.authorizationState(funded_payer.address, nonce_of("d"))


def test_transfer_with_authorization__not_yet_valid__reverts(token, funded_payer, operator, asker):
    now = boa.env.timestamp
    message = authorization(funded_payer, asker, ONE_TOKEN, after=now)  # valid strictly after `now`
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    with boa.reverts("ai_token: authorization is not yet valid"):
        token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
    boa.env.time_travel(seconds=1)
    token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
    assert token.balanceOf(asker) == ONE_TOKEN


def test_transfer_with_authorization__expired__reverts(token, funded_payer, operator, asker):
    now = boa.env.timestamp
    message = authorization(funded_payer, asker, ONE_TOKEN, before=now + 10)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    boa.env.time_travel(seconds=10)  # valid strictly before `now + 10`
    with boa.reverts("ai_token: authorization is expired"):
        token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)


def test_transfer_with_authorization__tampered_value__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    tampered = dict(message, value=2 * ONE_TOKEN)
    with boa.reverts("ai_token: invalid signature"):
        token.transferWithAuthorization(*auth_args(tampered), v, r, s, sender=operator)


def test_transfer_with_authorization__signed_by_someone_else__reverts(token, funded_payer, operator, asker):
    impostor = signer_from(b"impostor")
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(impostor, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    with boa.reverts("ai_token: invalid signature"):
        token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)


def test_transfer_with_authorization__high_s__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    # The same signature mirrored to the upper half (s' = n - s, v flipped)
    # still recovers the payer through `ecrecover`, but is malleable.
    high_s = (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big")
    with boa.reverts("ecdsa: invalid signature `s` value"):
        token.transferWithAuthorization(*auth_args(message), 55 - v, r, high_s, sender=operator)


def test_transfer_with_authorization__other_deployment__reverts(token_deployer, token, funded_payer, operator,
                                                                 asker, deployer):
    with boa.env.prank(deployer):
        twin = token_deployer.deploy(TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION)
    twin.mint(funded_payer.address, 100 * ONE_TOKEN, sender=deployer)
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    with boa.reverts("ai_token: invalid signature"):
        twin.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
    token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)  # still good where signed


def test_transfer_with_authorization__other_chain__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    original = boa.env.evm.patch.chain_id
    boa.env.evm.patch.chain_id = original + 10
    try:
        with boa.reverts("ai_token: invalid signature"):
            token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
        # The domain separator follows the chain id: a fresh signature works.
        assert token.eip712Domain()[3] == original + 10
        v2, r2, s2, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message,
                             chain_id=original + 10)
        token.transferWithAuthorization(*auth_args(message), v2, r2, s2, sender=operator)
    finally:
        boa.env.evm.patch.chain_id = original
    assert token.balanceOf(asker) == ONE_TOKEN


def test_transfer_with_authorization__insufficient_balance__reverts_and_keeps_nonce(token, funded_payer,
                                                                                      operator, asker):
    message = authorization(funded_payer, asker, 101 * ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    with boa.reverts("erc20: transfer amount exceeds balance"):
        token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
    assert not token.authorizationState(funded_payer.address, message["nonce"])


def test_transfer_with_authorization__receive_signature__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "ReceiveWithAuthorization", AUTH_FIELDS, message)
    with boa.reverts("ai_token: invalid signature"):
        token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)


# ------------------------------------------------- receiveWithAuthorization --


def test_receive_with_authorization__by_payee(token, funded_payer, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "ReceiveWithAuthorization", AUTH_FIELDS, message)
    token.receiveWithAuthorization(*auth_args(message), v, r, s, sender=asker)
    assert token.balanceOf(asker) == ONE_TOKEN
    assert token.authorizationState(funded_payer.address, message["nonce"])


def test_receive_with_authorization__by_relayer__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "ReceiveWithAuthorization", AUTH_FIELDS, message)
    with boa.reverts("ai_token: caller must be the payee"):
        token.receiveWithAuthorization(*auth_args(message), v, r, s, sender=operator)


def test_receive_with_authorization__transfer_signature__reverts(token, funded_payer, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    with boa.reverts("ai_token: invalid signature"):
        token.receiveWithAuthorization(*auth_args(message), v, r, s, sender=asker)


# ------------------------------------------------------ cancelAuthorization --


def test_cancel_authorization__then_use__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    cv, cr, cs, _ = sign(funded_payer, token, "CancelAuthorization", CANCEL_FIELDS,
                         {"authorizer": funded_payer.address, "nonce": message["nonce"]})

    token.cancelAuthorization(funded_payer.address, message["nonce"], cv, cr, cs, sender=operator)

    [log] = events(token, "AuthorizationCanceled")
    assert (log.authorizer, log.nonce) == (funded_payer.address, message["nonce"])
    assert token.authorizationState(funded_payer.address, message["nonce"])
    with boa.reverts("ai_token: authorization is used or canceled"):
        token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
    assert token.balanceOf(asker) == 0


def test_cancel_authorization__twice__reverts(token, funded_payer, operator):
    nonce = nonce_of("cancel")
    cv, cr, cs, _ = sign(funded_payer, token, "CancelAuthorization", CANCEL_FIELDS,
                         {"authorizer": funded_payer.address, "nonce": nonce})
    token.cancelAuthorization(funded_payer.address, nonce, cv, cr, cs, sender=operator)
    with boa.reverts("ai_token: authorization is used or canceled"):
        token.cancelAuthorization(funded_payer.address, nonce, cv, cr, cs, sender=operator)


def test_cancel_authorization__after_use__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
    cv, cr, cs, _ = sign(funded_payer, token, "CancelAuthorization", CANCEL_FIELDS,
                         {"authorizer": funded_payer.address, "nonce": message["nonce"]})
    with boa.reverts("ai_token: authorization is used or canceled"):
        token.cancelAuthorization(funded_payer.address, message["nonce"], cv, cr, cs, sender=operator)


def test_cancel_authorization__not_the_authorizer__reverts(token, funded_payer, operator):
    nonce = nonce_of("cancel")
    cv, cr, cs, _ = sign(signer_from(b"impostor"), token, "CancelAuthorization", CANCEL_FIELDS,
                         {"authorizer": funded_payer.address, "nonce": nonce})
    with boa.reverts("ai_token: invalid signature"):
        token.cancelAuthorization(funded_payer.address, nonce, cv, cr, cs, sender=operator)


# ------------------------------------- USDC v2.2 `bytes signature` overloads --


def test_transfer_with_authorization_bytes(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    *_, signature = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    raw_bytes_call(token, TRANSFER_BYTES, AUTH_BYTES_TYPES, [*auth_args(message), signature], operator)
    assert token.balanceOf(asker) == ONE_TOKEN
    assert token.authorizationState(funded_payer.address, message["nonce"])
    with pytest.raises(Exception) as replay:
        raw_bytes_call(token, TRANSFER_BYTES, AUTH_BYTES_TYPES, [*auth_args(message), signature], operator)
    assert revert_reason(replay.value) == "ai_token: authorization is used or canceled"


def test_transfer_with_authorization_bytes__short_signature__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    *_, signature = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
    with pytest.raises(Exception) as error:
        raw_bytes_call(token, TRANSFER_BYTES, AUTH_BYTES_TYPES, [*auth_args(message), signature[:64]], operator)
    assert revert_reason(error.value) == "ai_token: invalid signature length"


def test_receive_with_authorization_bytes(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    *_, signature = sign(funded_payer, token, "ReceiveWithAuthorization", AUTH_FIELDS, message)
    with pytest.raises(Exception) as error:
        raw_bytes_call(token, RECEIVE_BYTES, AUTH_BYTES_TYPES, [*auth_args(message), signature], operator)
    assert revert_reason(error.value) == "ai_token: caller must be the payee"
    raw_bytes_call(token, RECEIVE_BYTES, AUTH_BYTES_TYPES, [*auth_args(message), signature], asker)
    assert token.balanceOf(asker) == ONE_TOKEN


def test_cancel_authorization_bytes(token, funded_payer, operator):
    nonce = nonce_of("cancel")
    *_, signature = sign(funded_payer, token, "CancelAuthorization", CANCEL_FIELDS,
                         {"authorizer": funded_payer.address, "nonce": nonce})
    raw_bytes_call(token, CANCEL_BYTES, ["address", "bytes32", "bytes"], [funded_payer.address, nonce, signature],
                   operator)
    assert token.authorizationState(funded_payer.address, nonce)


def test_default__unknown_selector__reverts(token, operator):
    with pytest.raises(Exception) as error:
        boa.env.raw_call(token.address, sender=operator, data=b"\xde\xad\xbe\xef" + b"\x00" * 64)
    assert revert_reason(error.value) == "ai_token: unknown function"


def test_default__ether__reverts(token, operator):
    boa.env.set_balance(operator, 10**18)
    with pytest.raises(Exception):
        boa.env.raw_call(token.address, sender=operator, value=1)


# ------------------------------------------------------------------ fuzz --


@FUZZ
@given(
    value=st.integers(min_value=0, max_value=200 * ONE_TOKEN),
    after_offset=st.integers(min_value=-100, max_value=100),
    before_offset=st.integers(min_value=-100, max_value=100),
    nonce=st.binary(min_size=32, max_size=32),
)
def test_transfer_with_authorization__fuzz(token, funded_payer, operator, asker, value, after_offset,
                                           before_offset, nonce):
    """Succeeds exactly inside the window and within the balance, once;
    tokens are conserved either way."""
    with fresh_state():
        now = boa.env.timestamp
        message = authorization(funded_payer, asker, value, after=max(now + after_offset, 0),
                                before=now + before_offset, nonce=nonce)
        v, r, s, _ = sign(funded_payer, token, "TransferWithAuthorization", AUTH_FIELDS, message)
        supply = token.totalSupply()
        valid = message["validAfter"] < now < message["validBefore"] and value <= 100 * ONE_TOKEN
        if valid:
            token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
            assert token.balanceOf(asker) == value
            with boa.reverts("ai_token: authorization is used or canceled"):
                token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
        else:
            with boa.reverts():
                token.transferWithAuthorization(*auth_args(message), v, r, s, sender=operator)
            assert not token.authorizationState(funded_payer.address, nonce)
        assert token.balanceOf(asker) + token.balanceOf(funded_payer.address) == 100 * ONE_TOKEN
        assert token.totalSupply() == supply
