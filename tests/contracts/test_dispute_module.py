"""DisputeModule (`dispute_module.vy`) and the router's `redirect` hook: raising
with a bond, cancelling, upholding (tag, royalties to the rightful party, bond
back), rejecting (bond to the owner), appeals and the owner's parameters
(SPEC.md "DisputeModule")."""

from __future__ import annotations

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ, ONE_TOKEN, ZERO_ADDRESS, events, fresh_state
from .dispute_fixtures import (  # noqa: F401 (fixtures)
    BOND,
    CANCEL_FEE,
    CANCELLED,
    COPIED,
    DISPUTES,
    EVIDENCE,
    EVIDENCE_URI,
    MISSING_DATA,
    OPEN_STATUS,
    PARENT_BPS,
    REJECTED,
    UPHELD,
    WEALTH,
    deploy_disputes,
    disputes,
    raise_dispute,
)

OTHER_TAG = b"SOMETHING_ELSE".ljust(32, b"\0")


@pytest.fixture
def d(disputes):
    return disputes


def balances(d) -> tuple:
    return tuple(d.token.balanceOf(a) for a in [d.module.address, d.router.address, *d.people])


def state(d) -> tuple:
    """Everything a refused call must leave as it was."""
    m = d.module
    return (
        balances(d), m.disputeCount(), m.bond(), m.cancelFeeBps(), m.arbiter(),
        tuple(m.disputes(i) for i in range(1, m.disputeCount() + 1)),
        tuple((m.isTagged(a), m.tagOf(a), m.rightfulParty(a)) for a in (d.work, d.derivative)),
        tuple((d.router.pending(a), d.router.claimable(a), d.router.isTagged(a)) for a in (d.work, d.derivative)),
    )


def refused(d, reason: str, call, sender: str, **arguments) -> None:
    """`call(*arguments, sender=sender)` reverts with `reason` and changes nothing
    (arguments named for reading, passed in order)."""
    before = state(d)
    with boa.reverts(reason):
        call(*arguments.values(), sender=sender)
    assert state(d) == before


# -------------------------------------------------------------- deployment --


def test_deploy__parameters(d):
    m = d.module
    assert (m.token(), m.registry(), m.router(), m.owner()) == (
        d.token.address, d.registry.address, d.router.address, d.owner)
    assert (m.bond(), m.cancelFeeBps(), m.arbiter(), m.disputeCount()) == (BOND, CANCEL_FEE, d.arbiter, 0)
    assert m.allowedTags(COPIED) and m.allowedTags(MISSING_DATA) and not m.allowedTags(OTHER_TAG)
    assert d.router.disputeModule() == m.address


def test_deploy__router_for_another_registry__reverts(d, token_deployer, registry_deployer, router_deployer):
    other = deploy_disputes(token_deployer, registry_deployer, router_deployer)
    with boa.reverts("disputes: router is for another registry"):
        DISPUTES.deploy(d.token.address, d.registry.address, other.router.address, BOND, 0, [])


def test_deploy__registry_of_another_token__reverts(d, token_deployer, registry_deployer, router_deployer):
    other = deploy_disputes(token_deployer, registry_deployer, router_deployer)
    with boa.reverts("disputes: registry uses another token"):
        DISPUTES.deploy(other.token.address, d.registry.address, d.router.address, BOND, 0, [])


def test_set_dispute_module__only_deployer_once_and_for_this_router(d, token_deployer, registry_deployer,
                                                                    router_deployer):
    fresh = deploy_disputes(token_deployer, registry_deployer, router_deployer, wire=False)
    assert fresh.router.disputeModule() == ZERO_ADDRESS
    with boa.reverts("router: caller is not the deployer"):
        fresh.router.setDisputeModule(fresh.module.address, sender=fresh.people[0])
    with boa.reverts("router: dispute module is for another router"):
        fresh.router.setDisputeModule(d.module.address, sender=fresh.owner)
    with boa.reverts("router: dispute module is the zero address"):
        fresh.router.setDisputeModule(ZERO_ADDRESS, sender=fresh.owner)
    fresh.router.setDisputeModule(fresh.module.address, sender=fresh.owner)
    assert events(fresh.router, "DisputeModuleSet")[0].module == fresh.module.address
    with boa.reverts("router: dispute module already set"):
        fresh.router.setDisputeModule(fresh.module.address, sender=fresh.owner)


def test_redirect_hook__only_the_dispute_module(d):
    d.router.pay(d.work, ONE_TOKEN, sender=d.people[1])
    for caller in (d.people[0], d.owner, d.arbiter):
        refused(d, "router: caller is not the dispute module", d.router.redirect, asset_id=d.work, to=caller,
                sender=caller)


# ----------------------------------------------------------------- raising --


def test_raise__takes_the_bond_and_opens(d):
    raiser = d.people[1]
    dispute_id = d.module.raiseDispute(d.work, COPIED, EVIDENCE, EVIDENCE_URI, sender=raiser)
    (log,) = events(d.module, "DisputeRaised")
    assert dispute_id == 1
    assert (log.dispute_id, log.asset_id, log.raiser, log.tag, log.evidence_hash, log.evidence_uri, log.bond) == (
        1, d.work, raiser, COPIED, EVIDENCE, EVIDENCE_URI, BOND)
    assert d.module.disputes(1) == (d.work, raiser, BOND, COPIED, OPEN_STATUS)
    assert d.module.openDispute(d.work, raiser) == 1
    assert d.token.balanceOf(raiser) == WEALTH - BOND
    assert d.token.balanceOf(d.module.address) == BOND
    assert not d.module.isTagged(d.work)


def test_raise__unknown_asset__reverts(d):
    refused(d, "disputes: unknown asset", d.module.raiseDispute, asset_id=999, tag=COPIED, evidence_hash=EVIDENCE,
            evidence_uri="", sender=d.people[1])


def test_raise__tag_not_allowed__reverts(d):
    refused(d, "disputes: tag not allowed", d.module.raiseDispute, asset_id=d.work, tag=OTHER_TAG,
            evidence_hash=EVIDENCE, evidence_uri="", sender=d.people[1])


def test_raise__no_evidence__reverts(d):
    refused(d, "disputes: no evidence", d.module.raiseDispute, asset_id=d.work, tag=COPIED,
            evidence_hash=b"\0" * 32, evidence_uri="", sender=d.people[1])


def test_raise__without_the_bond__reverts(d):
    broke = boa.env.generate_address("broke")
    d.token.approve(d.module.address, 2**256 - 1, sender=broke)
    refused(d, "erc20: transfer amount exceeds balance", d.module.raiseDispute, asset_id=d.work, tag=COPIED,
            evidence_hash=EVIDENCE, evidence_uri="", sender=broke)


def test_raise__bond_not_approved__reverts(d):
    d.token.approve(d.module.address, BOND - 1, sender=d.people[1])
    refused(d, "erc20: insufficient allowance", d.module.raiseDispute, asset_id=d.work, tag=COPIED,
            evidence_hash=EVIDENCE, evidence_uri="", sender=d.people[1])


def test_raise__twice_on_one_asset__reverts_but_others_may(d):
    raise_dispute(d, d.people[1], d.work)
    refused(d, "disputes: caller has an open dispute on the asset", d.module.raiseDispute, asset_id=d.work,
            tag=MISSING_DATA, evidence_hash=EVIDENCE, evidence_uri="", sender=d.people[1])
    assert raise_dispute(d, d.people[1], d.derivative) == 2
    assert raise_dispute(d, d.people[2], d.work) == 3


def test_raise__griefing_costs_a_bond_each(d):
    """Many disputes on one asset: each raiser pays its own bond, and each rejection pays the owner."""
    owner = d.people[0]
    ids = [raise_dispute(d, raiser, d.work) for raiser in d.people[1:]]
    assert d.token.balanceOf(d.module.address) == BOND * len(ids)
    for dispute_id in ids:
        d.module.reject(dispute_id, sender=d.arbiter)
    assert d.token.balanceOf(owner) == WEALTH + BOND * len(ids)
    assert all(d.token.balanceOf(r) == WEALTH - BOND for r in d.people[1:])
    assert d.token.balanceOf(d.module.address) == 0


def test_raise__again_after_judgement(d):
    raise_dispute(d, d.people[1], d.work)
    d.module.reject(1, sender=d.arbiter)
    assert d.module.openDispute(d.work, d.people[1]) == 0
    assert raise_dispute(d, d.people[1], d.work) == 2


def test_raise__tagged_asset__reverts(d):
    raise_dispute(d, d.people[1], d.work)
    d.module.uphold(1, d.people[1], sender=d.arbiter)
    refused(d, "disputes: asset already tagged", d.module.raiseDispute, asset_id=d.work, tag=COPIED,
            evidence_hash=EVIDENCE, evidence_uri="", sender=d.people[2])


def test_raise__bond_changed_later__the_raised_bond_is_returned(d):
    raise_dispute(d, d.people[1], d.work)
    d.module.setBond(BOND * 3, sender=d.owner)
    d.module.uphold(1, d.people[1], sender=d.arbiter)
    assert d.token.balanceOf(d.people[1]) == WEALTH


def test_raise__zero_bond__moves_nothing(d):
    d.module.setBond(0, sender=d.owner)
    raise_dispute(d, d.people[1], d.work)
    assert d.token.balanceOf(d.people[1]) == WEALTH
    d.module.cancel(1, sender=d.people[1])
    assert d.module.disputes(1)[4] == CANCELLED


# -------------------------------------------------------------- cancelling --


def test_cancel__refund_less_fee_to_the_owner(d):
    raise_dispute(d, d.people[1], d.work)
    d.module.cancel(1, sender=d.people[1])
    fee = BOND * CANCEL_FEE // 10_000
    (log,) = events(d.module, "DisputeCancelled")
    assert (log.dispute_id, log.asset_id, log.refund, log.fee) == (1, d.work, BOND - fee, fee)
    assert d.token.balanceOf(d.people[1]) == WEALTH - fee
    assert d.token.balanceOf(d.people[0]) == WEALTH + fee
    assert d.module.disputes(1)[4] == CANCELLED
    assert d.module.openDispute(d.work, d.people[1]) == 0


def test_cancel__not_the_raiser__reverts(d):
    raise_dispute(d, d.people[1], d.work)
    for caller in (d.people[2], d.people[0], d.arbiter, d.owner):
        refused(d, "disputes: caller is not the raiser", d.module.cancel, dispute_id=1, sender=caller)


def test_cancel__after_judgement__reverts(d):
    raise_dispute(d, d.people[1], d.work)
    d.module.reject(1, sender=d.arbiter)
    refused(d, "disputes: dispute already closed", d.module.cancel, dispute_id=1, sender=d.people[1])


def test_cancel__unknown_dispute__reverts(d):
    refused(d, "disputes: unknown dispute", d.module.cancel, dispute_id=7, sender=d.people[1])


# --------------------------------------------------------------- upholding --


def test_uphold__tags_redirects_royalties_and_returns_the_bond(d):
    rightful = d.people[3]
    payer = d.people[2]
    d.router.pay(d.derivative, 1_000, sender=payer)  # pending
    d.router.pay(d.derivative, 2_000, sender=payer)
    d.router.distribute(d.derivative)  # 2,700 claimable, 300 to the work
    d.router.pay(d.derivative, 500, sender=payer)  # pending again
    raise_dispute(d, d.people[1], d.derivative)
    redirected = d.module.uphold(1, rightful, sender=d.arbiter)
    (log,) = events(d.module, "DisputeUpheld")
    to_parent = 3_500 * PARENT_BPS // 10_000
    assert redirected == 3_500 - to_parent
    assert (log.dispute_id, log.asset_id, log.rightful_party, log.tag, log.redirected) == (
        1, d.derivative, rightful, COPIED, redirected)
    assert d.token.balanceOf(rightful) == WEALTH + redirected
    assert d.token.balanceOf(d.people[1]) == WEALTH
    assert (d.router.pending(d.derivative), d.router.claimable(d.derivative)) == (0, 0)
    assert d.router.pending(d.work) == to_parent  # the parent keeps its share
    assert d.router.totalClaimed() == redirected
    assert d.module.isTagged(d.derivative) and d.module.tagOf(d.derivative) == COPIED
    assert d.module.rightfulParty(d.derivative) == rightful
    assert d.module.disputes(1)[4] == UPHELD
    assert d.router.isTagged(d.derivative) and not d.router.isTagged(d.work)
    # the old owner can claim nothing of it any more
    refused(d, "router: asset is tagged by a dispute", d.router.claim, asset_id=d.derivative, sender=d.people[0])


def test_uphold__later_royalties_follow_by_redirect(d):
    raise_dispute(d, d.people[1], d.work)
    d.module.uphold(1, d.people[1], sender=d.owner)
    d.router.pay(d.work, 777, sender=d.people[2])  # a record settled after the judgement
    assert d.module.redirect(d.work, sender=d.people[3]) == 777
    (log,) = events(d.module, "RoyaltiesRedirected")
    assert (log.asset_id, log.rightful_party, log.amount) == (d.work, d.people[1], 777)
    assert d.token.balanceOf(d.people[1]) == WEALTH + 777
    assert d.module.redirect(d.work, sender=d.people[3]) == 0


def test_uphold__credit_then_owner_claims__refused_rightful_party_receives(d):
    """The claim gap closed: a record settled after the judgement credits the
    tagged work; its owner distributes and claims before anyone redirects."""
    owner, rightful = d.people[0], d.people[1]
    raise_dispute(d, rightful, d.work)
    d.module.uphold(1, rightful, sender=d.arbiter)
    d.router.pay(d.work, 900, sender=d.people[2])
    d.router.distribute(d.work)
    assert d.router.claimable(d.work) == 900
    refused(d, "router: asset is tagged by a dispute", d.router.claim, asset_id=d.work, sender=owner)
    refused(d, "router: asset is tagged by a dispute", d.router.claimMany,
            asset_ids=[d.derivative, d.work], sender=owner)
    refused(d, "router: caller is not the asset owner", d.router.claim, asset_id=d.work, sender=rightful)
    assert d.module.redirect(d.work, sender=d.people[3]) == 900
    assert d.token.balanceOf(rightful) == WEALTH + 900
    assert d.token.balanceOf(owner) == WEALTH
    assert d.router.isTagged(d.work)  # and later credits wait for the next redirect
    assert d.router.claimMany([d.derivative], sender=owner) == 0  # its other assets stay its own


def test_untag_hook__only_the_dispute_module(d):
    for caller in (d.owner, d.arbiter, d.people[0]):
        refused(d, "router: caller is not the dispute module", d.router.untag, asset_id=d.work, sender=caller)


def test_redirect__untagged__reverts(d):
    refused(d, "disputes: asset not tagged", d.module.redirect, asset_id=d.work, sender=d.people[1])


def test_uphold__not_the_arbiter_or_owner__reverts(d):
    raise_dispute(d, d.people[1], d.work)
    for caller in (d.people[1], d.people[0], d.people[2]):
        refused(d, "disputes: caller is not the arbiter or the owner", d.module.uphold, dispute_id=1,
                rightful_party=caller, sender=caller)
        refused(d, "disputes: caller is not the arbiter or the owner", d.module.reject, dispute_id=1,
                sender=caller)


def test_uphold__zero_rightful_party__reverts(d):
    raise_dispute(d, d.people[1], d.work)
    refused(d, "disputes: rightful party is the zero address", d.module.uphold, dispute_id=1,
            rightful_party=ZERO_ADDRESS, sender=d.arbiter)


def test_judge__twice__reverts(d):
    """A resolved dispute cannot be resolved again, either way (no replay of the bond)."""
    raise_dispute(d, d.people[1], d.work)
    raise_dispute(d, d.people[2], d.derivative)
    d.module.uphold(1, d.people[1], sender=d.arbiter)
    d.module.reject(2, sender=d.arbiter)
    for dispute_id in (1, 2):
        refused(d, "disputes: dispute already closed", d.module.uphold, dispute_id=dispute_id,
                rightful_party=d.people[1], sender=d.owner)
        refused(d, "disputes: dispute already closed", d.module.reject, dispute_id=dispute_id, sender=d.owner)


def test_judge__unknown_dispute__reverts(d):
    refused(d, "disputes: unknown dispute", d.module.reject, dispute_id=1, sender=d.arbiter)


def test_uphold__router_without_the_hook__tags_only(d, token_deployer, registry_deployer, router_deployer):
    old = deploy_disputes(token_deployer, registry_deployer, router_deployer)
    with boa.env.prank(old.owner):
        module = DISPUTES.deploy(old.token.address, old.registry.address, ZERO_ADDRESS, BOND, 0, [COPIED])
    old.token.approve(module.address, 2**256 - 1, sender=old.people[1])
    old.router.pay(old.work, 100, sender=old.people[2])
    module.raiseDispute(old.work, COPIED, EVIDENCE, "", sender=old.people[1])
    assert module.uphold(1, old.people[1], sender=old.owner) == 0
    assert module.isTagged(old.work)
    assert old.router.pending(old.work) == 100
    with boa.reverts("disputes: router has no redirect hook"):
        module.redirect(old.work)


# --------------------------------------------------------------- rejecting --


def test_reject__bond_to_the_current_owner(d):
    raise_dispute(d, d.people[1], d.work)
    d.registry.transferFrom(d.people[0], d.people[3], d.work, sender=d.people[0])
    d.module.reject(1, sender=d.arbiter)
    (log,) = events(d.module, "DisputeRejected")
    assert (log.dispute_id, log.asset_id, log.asset_owner, log.bond) == (1, d.work, d.people[3], BOND)
    assert d.token.balanceOf(d.people[3]) == WEALTH + BOND
    assert d.module.disputes(1)[4] == REJECTED
    assert not d.module.isTagged(d.work)


# ------------------------------------------------------------ owner, appeal --


def test_clear_tag__owner_only_then_royalties_are_the_owners_again(d):
    raise_dispute(d, d.people[1], d.work)
    d.module.uphold(1, d.people[1], sender=d.arbiter)
    for caller in (d.arbiter, d.people[1]):
        refused(d, "ownable: caller is not the owner", d.module.clearTag, asset_id=d.work, sender=caller)
    d.router.pay(d.work, 30, sender=d.people[2])  # credited since the judgement, not redirected
    d.router.distribute(d.work)
    d.module.clearTag(d.work, sender=d.owner)
    assert events(d.module, "TagCleared")[0].tag == COPIED
    assert [log.asset_id for log in events(d.module, "Untagged")] == [d.work]  # the router's, in the call
    assert not d.module.isTagged(d.work) and d.module.rightfulParty(d.work) == ZERO_ADDRESS
    assert not d.router.isTagged(d.work)
    refused(d, "disputes: asset not tagged", d.module.clearTag, asset_id=d.work, sender=d.owner)
    d.router.pay(d.work, 50, sender=d.people[2])
    d.router.distribute(d.work)
    assert d.router.claim(d.work, sender=d.people[0]) == 80


@pytest.mark.parametrize("call,kwargs", [
    ("setArbiter", {"arbiter_": "0x" + "11" * 20}),
    ("setBond", {"bond_": 1}),
    ("setCancelFee", {"bps": 1}),
    ("setTagAllowed", {"tag": OTHER_TAG, "allowed": True}),
])
def test_owner_setters__others__revert(d, call, kwargs):
    for caller in (d.arbiter, d.people[0]):
        refused(d, "ownable: caller is not the owner", getattr(d.module, call), **kwargs, sender=caller)


def test_owner_setters__set_and_log(d):
    m = d.module
    m.setArbiter(d.people[3], sender=d.owner)
    assert events(m, "ArbiterSet")[0].arbiter == d.people[3] and m.arbiter() == d.people[3]
    m.setBond(7, sender=d.owner)
    assert events(m, "BondSet")[0].bond == 7 and m.bond() == 7
    m.setCancelFee(10_000, sender=d.owner)
    assert events(m, "CancelFeeSet")[0].bps == 10_000 and m.cancelFeeBps() == 10_000
    m.setTagAllowed(COPIED, False, sender=d.owner)
    assert events(m, "TagAllowed")[0].allowed is False and not m.allowedTags(COPIED)
    # the old arbiter no longer judges
    raise_dispute(d, d.people[1], d.work, MISSING_DATA)
    refused(d, "disputes: caller is not the arbiter or the owner", m.reject, dispute_id=1, sender=d.arbiter)
    m.reject(1, sender=d.people[3])


def test_owner_setters__bounds(d):
    refused(d, "disputes: bond too large", d.module.setBond, bond_=2**96, sender=d.owner)
    refused(d, "disputes: fee exceeds 10,000 bps", d.module.setCancelFee, bps=10_001, sender=d.owner)
    refused(d, "disputes: empty tag", d.module.setTagAllowed, tag=b"\0" * 32, allowed=True, sender=d.owner)


# ------------------------------------------------------------------- fuzz --


@FUZZ
@given(bond=st.integers(0, 2**96 - 1), fee=st.integers(0, 10_000), outcome=st.sampled_from(["up", "down", "cancel"]))
def test_bond__always_conserved(d, bond, fee, outcome):
    with fresh_state():
        raiser, owner = d.people[1], d.people[0]
        d.token.mint(raiser, bond, sender=d.owner)
        d.module.setBond(bond, sender=d.owner)
        d.module.setCancelFee(fee, sender=d.owner)
        total = d.token.balanceOf(raiser) + d.token.balanceOf(owner)
        raise_dispute(d, raiser, d.work)
        assert d.token.balanceOf(raiser) + d.token.balanceOf(owner) + d.token.balanceOf(d.module.address) == total
        if outcome == "up":
            d.module.uphold(1, raiser, sender=d.arbiter)
            assert d.token.balanceOf(owner) == WEALTH
        elif outcome == "down":
            d.module.reject(1, sender=d.arbiter)
            assert d.token.balanceOf(owner) == WEALTH + bond
        else:
            d.module.cancel(1, sender=raiser)
            assert d.token.balanceOf(owner) == WEALTH + bond * fee // 10_000
        assert d.token.balanceOf(d.module.address) == 0
        assert d.token.balanceOf(raiser) + d.token.balanceOf(owner) == total


def test_no_ether__abi_call_and_constructor(d):
    assert [e.get("name", e["type"]) for e in d.module.abi if e.get("stateMutability") == "payable"] == []
    boa.env.set_balance(d.people[1], ONE_TOKEN)
    with pytest.raises(Exception):
        boa.env.raw_call(d.module.address, sender=d.people[1], value=1)
    with boa.env.prank(d.people[1]), pytest.raises(Exception):
        DISPUTES.deploy(d.token.address, d.registry.address, d.router.address, BOND, 0, [], value=1)
    assert boa.env.get_balance(d.people[1]) == ONE_TOKEN
