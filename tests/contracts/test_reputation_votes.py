"""Reputation votes: earned only from what the ledger's settlements
attributed to a creator's works (told by the router as it credits them),
never bought or moved, decaying with a half-life, read at past blocks."""

from __future__ import annotations

import boa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tantieme.addresses import ZERO_ADDRESS

from .conftest import ONE_TOKEN, events
from .dao_fixtures import mine
from .ledger_fixtures import credit_args, ledger_deployer, make_batch, settle, shares_tree  # noqa: F401 (fixture)
from .voting_fixtures import HALF_LIFE, REPUTATION, deploy_voting, settle_and_credit, voting  # noqa: F401 (fixtures)

MAX_REPUTATION = 2**192 - 1


@pytest.fixture
def works(voting):
    return list(voting.world.assets[4:])


def earned(v) -> list[tuple[str, int]]:
    """(account, amount) of each `ReputationEarned` of the router's last call."""
    return [(e.account, e.amount) for e in events(v.world.router, "ReputationEarned")]


# ------------------------------------------------------------- earning --


def test_credit__earns_each_owner_once(voting, works):
    v = voting
    pool_id = settle_and_credit(v, {works[0]: 30 * ONE_TOKEN, works[1]: 10 * ONE_TOKEN})
    assert sorted(earned(v)) == sorted([(v.people[0], 30 * ONE_TOKEN), (v.people[1], 10 * ONE_TOKEN)])
    assert v.reputation.getVotes(v.people[0]) == 30 * ONE_TOKEN
    assert v.reputation.getVotes(v.people[1]) == 10 * ONE_TOKEN
    # The same proof again credits nothing, and earns nothing.
    tree = shares_tree({works[0]: 30 * ONE_TOKEN, works[1]: 10 * ONE_TOKEN})
    assert v.world.router.credit(pool_id, *credit_args(tree, [0, 1])) == 0
    assert earned(v) == []
    # The next batch's cumulative amounts: only the increase counts.
    settle_and_credit(v, {works[0]: 35 * ONE_TOKEN, works[1]: 10 * ONE_TOKEN})
    assert earned(v) == [(v.people[0], 5 * ONE_TOKEN)]
    assert v.reputation.getVotes(v.people[0]) == 35 * ONE_TOKEN
    mine(1)
    assert v.reputation.getPastTotalSupply(boa.env.evm.patch.block_number - 1) == 45 * ONE_TOKEN


def test_credit__one_owner_s_works__one_earning(voting, works):
    """Works of one owner credited together earn in one checkpoint."""
    v = voting
    v.world.registry.transferFrom(v.people[1], v.people[0], works[1], sender=v.people[1])
    settle_and_credit(v, {works[0]: 30 * ONE_TOKEN, works[1]: 10 * ONE_TOKEN})
    assert earned(v) == [(v.people[0], 40 * ONE_TOKEN)]
    assert v.reputation.getVotes(v.people[0]) == 40 * ONE_TOKEN


def test_credit__uncredited_earnings__count_only_once_credited(voting, works):
    v = voting
    tree = shares_tree({works[0]: 7 * ONE_TOKEN})
    settle(v.world, v.payer, make_batch(v.world, v.payer, 10 * ONE_TOKEN, tree=tree))
    assert v.reputation.getVotes(v.people[0]) == 0
    pool_id = v.world.ledger.assetPool(v.payer.address, v.world.operator)
    v.world.router.credit(pool_id, *credit_args(tree, [0]))
    assert v.reputation.getVotes(v.people[0]) == 7 * ONE_TOKEN


def test_reputation__cannot_be_bought(voting, works):
    """Paying one's own work at the router, or funding a pool of one's own
    whose tree names it, moves tokens but earns no reputation."""
    v = voting
    buyer = v.people[0]
    v.world.token.mint(buyer, 100 * ONE_TOKEN, sender=v.deployer)
    v.world.token.approve(v.world.router.address, 100 * ONE_TOKEN, sender=buyer)
    v.world.router.pay(works[0], 50 * ONE_TOKEN, sender=buyer)
    tree = shares_tree({works[0]: 50 * ONE_TOKEN})
    own_pool = v.world.router.fund(b"\x01" * 32, bytes.fromhex(tree.root[2:]), 50 * ONE_TOKEN, sender=buyer)
    v.world.router.credit(own_pool, *credit_args(tree, [0]))
    assert earned(v) == []
    assert v.world.router.pending(works[0]) == 100 * ONE_TOKEN
    assert v.reputation.getVotes(buyer) == 0


def test_set_reputation__only_the_router_s_deployer__once__for_this_router(
    voting, token_deployer, registry_deployer, router_deployer, ledger_deployer
):
    """Before the wiring the ledger's credits earn nothing; after it, a ledger
    pool earns from its next batch on (`fund` marks it)."""
    fresh = deploy_voting(token_deployer, registry_deployer, router_deployer, ledger_deployer, wire=False)
    router, work = fresh.world.router, fresh.world.assets[4]
    assert router.reputation() == ZERO_ADDRESS
    settle_and_credit(fresh, {work: 30 * ONE_TOKEN})
    assert earned(fresh) == []
    with boa.reverts("router: caller is not the deployer"):
        router.setReputation(fresh.reputation.address, sender=fresh.people[0])
    with boa.reverts("router: reputation is for another router"):
        router.setReputation(voting.reputation.address, sender=fresh.deployer)
    with boa.reverts("router: reputation is the zero address"):
        router.setReputation(ZERO_ADDRESS, sender=fresh.deployer)
    router.setReputation(fresh.reputation.address, sender=fresh.deployer)
    assert [(e.reputation, e.ledger) for e in events(router, "ReputationSet")] == [
        (fresh.reputation.address, fresh.world.ledger.address)
    ]
    with boa.reverts("router: reputation already set"):
        router.setReputation(fresh.reputation.address, sender=fresh.deployer)
    settle_and_credit(fresh, {work: 50 * ONE_TOKEN})
    assert earned(fresh) == [(fresh.people[0], 20 * ONE_TOKEN)]
    assert fresh.reputation.getVotes(fresh.people[0]) == 20 * ONE_TOKEN


@pytest.mark.parametrize("caller", ["person", "router deployer", "ledger"])
def test_earn__anyone_but_the_router__reverts(voting, works, caller):
    v = voting
    sender = {"person": v.people[0], "router deployer": v.deployer, "ledger": v.world.ledger.address}[caller]
    with boa.reverts("reputation_votes: caller is not the router"):
        v.reputation.earn(works, [ONE_TOKEN, ONE_TOKEN], sender=sender)
    assert v.reputation.getVotes(v.people[0]) == 0


def test_reputation__cannot_be_transferred(voting, works):
    v = voting
    names = {e["name"] for e in v.reputation.abi if e.get("type") == "function"}
    assert not names & {"transfer", "transferFrom", "approve", "delegate", "delegateBySig"}
    settle_and_credit(v, {works[0]: 30 * ONE_TOKEN})
    buyer = boa.env.generate_address("work buyer")
    v.world.registry.transferFrom(v.people[0], buyer, works[0], sender=v.people[0])
    assert v.reputation.getVotes(buyer) == 0
    assert v.reputation.getVotes(v.people[0]) == 30 * ONE_TOKEN
    # What the work earns after the sale is its new owner's.
    settle_and_credit(v, {works[0]: 40 * ONE_TOKEN})
    assert v.reputation.getVotes(buyer) == 10 * ONE_TOKEN
    assert v.reputation.getVotes(v.people[0]) == 30 * ONE_TOKEN


def test_past_votes__read_at_past_blocks_and_decay(voting, works):
    v = voting
    settle_and_credit(v, {works[0]: 64 * ONE_TOKEN})
    earned_at = boa.env.evm.patch.block_number
    mine(2 * HALF_LIFE + 1)
    assert v.reputation.getPastVotes(v.people[0], earned_at - 1) == 0
    assert v.reputation.getPastVotes(v.people[0], earned_at) == 64 * ONE_TOKEN
    assert v.reputation.getPastVotes(v.people[0], earned_at + HALF_LIFE) == 32 * ONE_TOKEN
    assert v.reputation.getPastVotes(v.people[0], earned_at + 2 * HALF_LIFE) == 16 * ONE_TOKEN
    assert v.reputation.getPastTotalSupply(earned_at + HALF_LIFE) == 32 * ONE_TOKEN
    now = boa.env.evm.patch.block_number
    with boa.reverts("reputation_votes: future lookup"):
        v.reputation.getPastVotes(v.people[0], now)
    with boa.reverts("reputation_votes: future lookup"):
        v.reputation.getPastTotalSupply(now)
    # A later earning adds to what is left, and decays from then on.
    settle_and_credit(v, {works[0]: 80 * ONE_TOKEN})
    left = v.reputation.decay(64 * ONE_TOKEN, now - earned_at)
    assert v.reputation.getVotes(v.people[0]) == left + 16 * ONE_TOKEN
    assert v.reputation.clock() == now
    assert v.reputation.CLOCK_MODE() == "mode=blocknumber&from=default"


@pytest.mark.parametrize(("half_life", "reason"), [
    (0, "reputation_votes: half-life is zero"),
    (2**48 + 1, "reputation_votes: half-life too long"),
])
def test_deployment__bad_half_life__reverts(voting, half_life, reason):
    w = voting.world
    with boa.reverts(reason):
        REPUTATION.deploy(w.ledger.address, w.router.address, w.registry.address, half_life)


# ---------------------------------------------------------------- decay --


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=MAX_REPUTATION),
    elapsed=st.integers(min_value=0, max_value=300 * HALF_LIFE),
    later=st.integers(min_value=0, max_value=3 * HALF_LIFE),
)
def test_decay__monotone(voting, amount, elapsed, later):
    decay = voting.reputation.decay
    assert decay(amount, elapsed) >= decay(amount, elapsed + later)
    assert decay(amount, elapsed) <= amount


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=MAX_REPUTATION),
    elapsed=st.integers(min_value=0, max_value=50 * HALF_LIFE),
)
def test_decay__halves_per_half_life(voting, amount, elapsed):
    decay = voting.reputation.decay
    now, later = decay(amount, elapsed), decay(amount, elapsed + HALF_LIFE)
    assert abs(later - now // 2) <= 1


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=MAX_REPUTATION),
    elapsed=st.integers(min_value=0, max_value=HALF_LIFE * 4),
)
def test_decay__follows_the_exponential(voting, amount, elapsed):
    """amount × 2^(-elapsed / half-life) to 1.1 parts in 10^5 (the
    half-life is cut in 65,536 steps, the fraction rounded down, so the
    decay never runs ahead of the exponential), rounded down."""
    exact = amount * 2 ** (-elapsed / HALF_LIFE)
    got = voting.reputation.decay(amount, elapsed)
    assert got <= exact * (1 + 1.1e-5) + 1
    assert got >= exact * (1 - 1e-12) - 2
