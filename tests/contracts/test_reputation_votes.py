"""Reputation votes: earned only from what the ledger's settlements
attributed to a creator's works (recorded from the router's credits),
never bought or moved, decaying with a half-life, read at past blocks."""

from __future__ import annotations

import boa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import ONE_TOKEN, events
from .dao_fixtures import mine
from .ledger_fixtures import credit_args, ledger_deployer, make_batch, settle, shares_tree  # noqa: F401 (fixture)
from .voting_fixtures import HALF_LIFE, REPUTATION, settle_and_credit, voting  # noqa: F401 (fixtures)

MAX_REPUTATION = 2**192 - 1


@pytest.fixture
def works(voting):
    return list(voting.world.assets[4:])


def record(v, works) -> int:
    return v.reputation.record(v.payer.address, v.world.operator, works)


# ------------------------------------------------------------- earning --


def test_record__credits_each_owner_once(voting, works):
    v = voting
    settle_and_credit(v, {works[0]: 30 * ONE_TOKEN, works[1]: 10 * ONE_TOKEN})
    assert record(v, works + works) == 40 * ONE_TOKEN
    logged = [(e.account, e.asset_id, e.amount) for e in events(v.reputation, "ReputationEarned")]
    assert logged == [(v.people[0], works[0], 30 * ONE_TOKEN), (v.people[1], works[1], 10 * ONE_TOKEN)]
    assert v.reputation.getVotes(v.people[0]) == 30 * ONE_TOKEN
    assert record(v, works) == 0
    # The next batch's cumulative amounts: only the increase counts.
    settle_and_credit(v, {works[0]: 35 * ONE_TOKEN, works[1]: 10 * ONE_TOKEN})
    assert record(v, works) == 5 * ONE_TOKEN
    assert v.reputation.getVotes(v.people[0]) == 35 * ONE_TOKEN
    assert v.reputation.recorded(v.world.ledger.assetPool(v.payer.address, v.world.operator), works[0]) == (
        35 * ONE_TOKEN
    )


def test_record__uncredited_earnings__count_only_once_credited(voting, works):
    v = voting
    tree = shares_tree({works[0]: 7 * ONE_TOKEN})
    settle(v.world, v.payer, make_batch(v.world, v.payer, 10 * ONE_TOKEN, tree=tree))
    assert record(v, works) == 0
    pool_id = v.world.ledger.assetPool(v.payer.address, v.world.operator)
    v.world.router.credit(pool_id, *credit_args(tree, [0]))
    assert record(v, works) == 7 * ONE_TOKEN


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
    assert v.world.router.pending(works[0]) == 100 * ONE_TOKEN
    for payer, operator in ((buyer, v.world.operator), (buyer, buyer), (v.payer.address, v.world.operator)):
        assert v.reputation.record(payer, operator, works) == 0
    assert v.reputation.getVotes(buyer) == 0


def test_reputation__cannot_be_transferred(voting, works):
    v = voting
    names = {e["name"] for e in v.reputation.abi if e.get("type") == "function"}
    assert not names & {"transfer", "transferFrom", "approve", "delegate", "delegateBySig"}
    settle_and_credit(v, {works[0]: 30 * ONE_TOKEN})
    record(v, works)
    buyer = boa.env.generate_address("work buyer")
    v.world.registry.transferFrom(v.people[0], buyer, works[0], sender=v.people[0])
    assert v.reputation.getVotes(buyer) == 0
    assert v.reputation.getVotes(v.people[0]) == 30 * ONE_TOKEN
    # What the work earns after the sale is its new owner's.
    settle_and_credit(v, {works[0]: 40 * ONE_TOKEN})
    record(v, works)
    assert v.reputation.getVotes(buyer) == 10 * ONE_TOKEN
    assert v.reputation.getVotes(v.people[0]) == 30 * ONE_TOKEN


def test_past_votes__read_at_past_blocks_and_decay(voting, works):
    v = voting
    settle_and_credit(v, {works[0]: 64 * ONE_TOKEN})
    record(v, works)
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
    record(v, works)
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
