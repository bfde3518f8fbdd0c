"""The governor's three ways to count, per proposal: the counting table
(`countingOf`, set by proposals only), the counting fixed at proposal time
(the strictest of its calls), quadratic votes of commons-pool members at
the snapshot and reputation votes, and the attacks each must withstand."""

from __future__ import annotations

import math

import boa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import ONE_TOKEN, ZERO_ADDRESS, events, fresh_state
from .dao_fixtures import (
    ACTIVE,
    AGAINST,
    DEFEATED,
    EXECUTED,
    FOR,
    QUORUM,
    SUCCEEDED,
    Proposal,
    close_voting,
    deploy_dao,
    mine,
    open_voting,
    pass_proposal,
    propose,
)
from .voting_fixtures import (  # noqa: F401 (fixtures)
    QUADRATIC,
    REPUTATION_COUNTING,
    TOKEN,
    approve_pool,
    settle_and_credit,
    stake,
    voting,
)
from .ledger_fixtures import ledger_deployer  # noqa: F401 (fixture)


def set_bond(v, bond: int, description: str = "set the bond") -> Proposal:
    return Proposal([v.pool.address], [0], [v.pool.setBond.prepare_calldata(bond)], description)


def set_counting_directly(v, target: str, selector: bytes, counting: int) -> None:
    """The table as a passed proposal sets it (the timelock calls)."""
    v.governor.setCounting(target, selector, counting, sender=v.dao.timelock.address)


def selector_of(function, *args) -> bytes:
    return function.prepare_calldata(*args)[:4]


@pytest.fixture
def quadratic(voting):
    """`setBond` on the pool counts quadratically; both people are members
    (by their works) with 100 and 1 TAI staked; the proposer stakes 1 TAI."""
    v = voting
    set_counting_directly(v, v.pool.address, selector_of(v.pool.setBond, 0), QUADRATIC)
    for person, work, amount in zip(v.people, v.world.assets[4:], (100, 1), strict=True):
        v.pool.join(work, sender=person)
        stake(v, person, amount * ONE_TOKEN)
    mine()
    return v


def staked_newcomer(v, name: str, amount: int) -> str:
    """A fresh account with `amount` staked, counted from the next block."""
    account = boa.env.generate_address(name)
    stake(v, account, amount)
    mine()
    return account


def active_proposal(v, proposal: Proposal, proposer: str) -> int:
    proposal_id = propose(v.dao, proposal, proposer)
    open_voting(v.dao, proposal_id)
    return proposal_id


# ------------------------------------------------------------ the table --


def test_set_counting__only_through_the_timelock(voting):
    v = voting
    with boa.reverts("governor: caller is not the timelock"):
        v.governor.setCounting(v.pool.address, b"\x01\x02\x03\x04", QUADRATIC, sender=v.people[0])
    with boa.reverts("governor: unknown counting"):
        set_counting_directly(v, v.pool.address, b"\x01\x02\x03\x04", 3)
    set_counting_directly(v, v.pool.address, b"\x01\x02\x03\x04", REPUTATION_COUNTING)
    [event] = events(v.governor, "CountingSet")
    assert (event.target, event.selector, event.counting) == (v.pool.address, b"\x01\x02\x03\x04", 1)


@pytest.mark.parametrize("pool, reputation", [(False, False), (True, False), (False, True)])
def test_set_counting__refuses_what_the_governor_cannot_read(voting, pool, reputation):
    """A governor deployed without a commons pool cannot count
    quadratically, one without reputation votes by reputation."""
    v = voting
    dao = deploy_dao(
        v.world.token, boa.env.generate_address("bare governor deployer"),
        v.pool.address if pool else ZERO_ADDRESS, v.reputation.address if reputation else ZERO_ADDRESS,
    )
    target, selector = v.pool.address, selector_of(v.pool.setBond, 0)
    for counting, present, reason in (
        (QUADRATIC, pool, "governor: no commons pool to count quadratically"),
        (REPUTATION_COUNTING, reputation, "governor: no reputation votes to count by"),
    ):
        if present:
            dao.governor.setCounting(target, selector, counting, sender=dao.timelock.address)
            assert dao.governor.countingOf(target, selector) == counting
        else:
            with boa.reverts(reason):
                dao.governor.setCounting(target, selector, counting, sender=dao.timelock.address)
    dao.governor.setCounting(target, selector, TOKEN, sender=dao.timelock.address)
    assert dao.governor.countingOf(target, selector) == TOKEN


def test_set_counting__by_a_token_weighted_proposal(voting):
    v = voting
    stake(v, v.people[0], 10 * ONE_TOKEN)
    mine()
    selector = selector_of(v.pool.remove, v.people[1])
    calldata = v.governor.setCounting.prepare_calldata(v.pool.address, selector, QUADRATIC)
    proposal = Proposal([v.governor.address], [0], [calldata], "members decide removals")
    proposal_id = pass_proposal(v.dao, proposal, v.people[0], [v.people[0]])
    assert v.governor.proposalCounting(proposal_id) == TOKEN
    v.governor.execute(*proposal.args(), sender=v.people[0])
    assert v.governor.state(proposal_id) == EXECUTED
    assert v.governor.countingOf(v.pool.address, selector) == QUADRATIC


def test_counting__fixed_when_proposed(quadratic):
    v = quadratic
    proposal_id = propose(v.dao, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    set_counting_directly(v, v.pool.address, selector_of(v.pool.setBond, 0), TOKEN)
    open_voting(v.dao, proposal_id)
    assert v.governor.proposalCounting(proposal_id) == QUADRATIC
    assert v.governor.castVote(proposal_id, FOR, sender=v.people[0]) == math.isqrt(100 * ONE_TOKEN)
    later = propose(v.dao, set_bond(v, 3 * ONE_TOKEN, "again"), v.people[0])
    assert v.governor.proposalCounting(later) == TOKEN


def test_counting__default_token_and_unknown_proposal(voting):
    v = voting
    stake(v, v.people[0], ONE_TOKEN)
    mine()
    proposal_id = propose(v.dao, set_bond(v, 0), v.people[0])
    assert v.governor.proposalCounting(proposal_id) == TOKEN
    assert v.governor.proposalCounting(12345) == TOKEN


def test_counting__mixed_proposal_takes_the_strictest(voting):
    v = voting
    stake(v, v.people[0], ONE_TOKEN)
    mine()
    bond = v.pool.setBond.prepare_calldata(0)
    rules = v.pool.setDividendRules.prepare_calldata(30, 0, 14)
    plain = v.world.token.transfer.prepare_calldata(v.people[1], 1)
    set_counting_directly(v, v.pool.address, bond[:4], REPUTATION_COUNTING)
    set_counting_directly(v, v.pool.address, rules[:4], QUADRATIC)
    set_counting_directly(v, v.world.token.address, b"\x00" * 4, REPUTATION_COUNTING)
    cases = [
        ([v.world.token.address, v.pool.address], [plain, bond], REPUTATION_COUNTING),
        ([v.pool.address, v.pool.address, v.world.token.address], [bond, rules, plain], QUADRATIC),
        ([v.world.token.address], [plain], TOKEN),
        # Calldata shorter than a selector is looked up as 0x00000000.
        ([v.world.token.address], [b"\x01"], REPUTATION_COUNTING),
        # A selector counts on its own target only.
        ([v.world.token.address], [bond], TOKEN),
    ]
    for i, (targets, calldatas, expected) in enumerate(cases):
        proposal = Proposal(targets, [0] * len(targets), calldatas, f"mixed {i}")
        assert v.governor.proposalCounting(propose(v.dao, proposal, v.people[0])) == expected, i


# ------------------------------------------------------------ quadratic --


def test_quadratic__weight_is_the_root_of_the_stake(quadratic):
    v = quadratic
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    assert v.governor.castVote(proposal_id, FOR, sender=v.people[0]) == 10**10
    assert v.governor.castVote(proposal_id, AGAINST, sender=v.people[1]) == 10**9
    assert events(v.governor, "VoteCast")[-1].weight == 10**9
    assert v.governor.proposalVotes(proposal_id) == (10**9, 10**10, 0)
    # Quorum: 4 % of √(staked supply × members when proposed).
    supply = 101 * ONE_TOKEN
    assert v.governor.proposalQuorum(proposal_id) == math.isqrt(supply * 2) * QUORUM // 100
    assert v.governor.COUNTING_MODE() == "support=bravo&quorum=for,abstain"
    close_voting(v.dao, proposal_id)
    assert v.governor.state(proposal_id) == SUCCEEDED


def test_quadratic__below_quorum__defeated(quadratic):
    v = quadratic
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    # √1 TAI = 10**9 against a quorum of 4 % of √(101 TAI × 2) ≈ 5.7 * 10**8: met...
    v.governor.castVote(proposal_id, FOR, sender=v.people[1])
    close_voting(v.dao, proposal_id)
    assert v.governor.state(proposal_id) == SUCCEEDED
    # ...while by tokens 1 TAI of 101 is below 4 %.
    set_counting_directly(v, v.pool.address, selector_of(v.pool.setBond, 0), TOKEN)
    by_tokens = active_proposal(v, set_bond(v, 3 * ONE_TOKEN, "by tokens"), v.people[0])
    v.governor.castVote(by_tokens, FOR, sender=v.people[1])
    close_voting(v.dao, by_tokens)
    assert v.governor.state(by_tokens) == DEFEATED


def test_quadratic__sybil_split_over_non_members__gains_nothing(quadratic):
    """An attacker's 100 TAI: as one member, √100 TAI. Split over ten
    accounts that are not members: they cannot vote; delegated back to the
    member: √ of the sum again. Never more than √ of the whole."""
    v = quadratic
    whole = math.isqrt(100 * ONE_TOKEN)
    sybils = [boa.env.generate_address(f"sybil {i}") for i in range(10)]
    v.dao.votes.requestWithdrawal(90 * ONE_TOKEN, sender=v.people[0])
    for sybil in sybils[:9]:
        stake(v, sybil, 10 * ONE_TOKEN)
    mine()
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    for sybil in sybils[:9]:
        with boa.reverts("governor: not a member at the snapshot"):
            v.governor.castVote(proposal_id, FOR, sender=sybil)
    assert v.governor.castVote(proposal_id, FOR, sender=v.people[0]) == math.isqrt(10 * ONE_TOKEN) < whole
    # Delegated to the member before the snapshot: the root of the sum, no more.
    for sybil in sybils[:9]:
        v.dao.votes.delegate(v.people[1], sender=sybil)
    mine()
    again = active_proposal(v, set_bond(v, 3 * ONE_TOKEN, "again"), v.people[0])
    assert v.governor.castVote(again, FOR, sender=v.people[1]) == math.isqrt(91 * ONE_TOKEN)
    assert math.isqrt(91 * ONE_TOKEN) <= math.isqrt(90 * ONE_TOKEN) + math.isqrt(ONE_TOKEN)


def test_quadratic__member_joining_after_the_snapshot__cannot_vote(quadratic):
    v = quadratic
    late = staked_newcomer(v, "late member", 50 * ONE_TOKEN)
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    approve_pool(v, v.people[0])
    v.pool.invite(late, sender=v.people[0])
    with boa.reverts("governor: not a member at the snapshot"):
        v.governor.castVote(proposal_id, FOR, sender=late)


def test_quadratic__member_removed_after_the_snapshot__cannot_vote(quadratic):
    v = quadratic
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    v.pool.remove(v.people[1], sender=v.pool.owner())
    with boa.reverts("governor: not a member at the snapshot"):
        v.governor.castVote(proposal_id, FOR, sender=v.people[1])


def test_quadratic__member_leaving_after_the_snapshot__still_counts_once(quadratic):
    v = quadratic
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    v.pool.leave(sender=v.people[1])
    assert v.governor.castVote(proposal_id, FOR, sender=v.people[1]) == 10**9
    with boa.reverts("governor: vote already cast"):
        v.governor.castVote(proposal_id, FOR, sender=v.people[1])


def test_quadratic__stake_moved_after_the_snapshot__counts_nothing_twice(quadratic):
    v = quadratic
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    v.dao.votes.delegate(v.people[1], sender=v.people[0])
    assert v.governor.castVote(proposal_id, FOR, sender=v.people[1]) == 10**9
    assert v.governor.castVote(proposal_id, FOR, sender=v.people[0]) == 10**10
    assert v.governor.proposalVotes(proposal_id) == (0, 10**10 + 10**9, 0)


def test_quadratic__flash_join_stake_and_vote_in_one_block__fails(quadratic):
    """Beanstalk again: a work's owner with borrowed tokens joins, stakes
    and votes in the block voting opens; nothing counts."""
    v = quadratic
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    attacker = boa.env.generate_address("flash attacker")
    v.pool.leave(sender=v.people[1])
    v.world.registry.transferFrom(v.people[1], attacker, v.world.assets[5], sender=v.people[1])
    v.pool.join(v.world.assets[5], sender=attacker)
    stake(v, attacker, 10_000 * ONE_TOKEN)
    with boa.reverts("governor: not a member at the snapshot"):
        v.governor.castVote(proposal_id, FOR, sender=attacker)
    assert v.governor.proposalVotes(proposal_id) == (0, 0, 0)
    assert v.governor.state(proposal_id) == ACTIVE


def test_quadratic__member_without_stake__no_power(quadratic):
    v = quadratic
    v.dao.votes.requestWithdrawal(ONE_TOKEN, sender=v.people[1])
    mine()
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    with boa.reverts("governor: no voting power at the snapshot"):
        v.governor.castVote(proposal_id, FOR, sender=v.people[1])


@settings(max_examples=15, deadline=None)
@given(stakes=st.lists(st.integers(min_value=1, max_value=10**24), min_size=1, max_size=2))
def test_quadratic__tally_is_the_sum_of_roots(voting, stakes):
    with fresh_state():
        v = voting
        set_counting_directly(v, v.pool.address, selector_of(v.pool.setBond, 0), QUADRATIC)
        for person, work, amount in zip(v.people, v.world.assets[4:], stakes, strict=False):
            v.pool.join(work, sender=person)
            stake(v, person, amount)
        proposer = boa.env.generate_address("proposer")
        stake(v, proposer, ONE_TOKEN)
        mine()
        proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), proposer)
        for person in v.people[: len(stakes)]:
            v.governor.castVote(proposal_id, FOR, sender=person)
        assert v.governor.proposalVotes(proposal_id)[1] == sum(math.isqrt(s) for s in stakes)


# ----------------------------------------------------------- reputation --


@pytest.fixture
def reputable(voting):
    """`setBond` counts by reputation; person 0's work earned 30 TAI and
    person 1's 10 TAI from settled answers, credited."""
    v = voting
    set_counting_directly(v, v.pool.address, selector_of(v.pool.setBond, 0), REPUTATION_COUNTING)
    works = v.world.assets[4:]
    settle_and_credit(v, {works[0]: 30 * ONE_TOKEN, works[1]: 10 * ONE_TOKEN})
    assert v.reputation.getVotes(v.people[0]) + v.reputation.getVotes(v.people[1]) == 40 * ONE_TOKEN
    stake(v, v.people[0], ONE_TOKEN)
    mine()
    return v


def test_reputation__votes_weigh_reputation_at_the_snapshot(reputable):
    v = reputable
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    snapshot = v.governor.proposalSnapshot(proposal_id)
    expected = v.reputation.getPastVotes(v.people[1], snapshot)
    assert 0 < expected < 10 * ONE_TOKEN
    assert v.governor.castVote(proposal_id, AGAINST, sender=v.people[1]) == expected
    with boa.reverts("governor: vote already cast"):
        v.governor.castVote(proposal_id, FOR, sender=v.people[1])
    v.governor.castVote(proposal_id, FOR, sender=v.people[0])
    total = v.reputation.getPastTotalSupply(snapshot)
    assert v.governor.proposalQuorum(proposal_id) == total * QUORUM // 100
    close_voting(v.dao, proposal_id)
    assert v.governor.state(proposal_id) == SUCCEEDED


def test_reputation__staker_without_reputation__no_power(reputable):
    v = reputable
    rich = staked_newcomer(v, "rich staker", 10_000 * ONE_TOKEN)
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    with boa.reverts("governor: no voting power at the snapshot"):
        v.governor.castVote(proposal_id, FOR, sender=rich)


def test_reputation__work_sold_after_the_snapshot__counts_nothing_twice(reputable):
    v = reputable
    proposal_id = active_proposal(v, set_bond(v, 2 * ONE_TOKEN), v.people[0])
    buyer = boa.env.generate_address("buyer")
    v.world.registry.transferFrom(v.people[1], buyer, v.world.assets[5], sender=v.people[1])
    with boa.reverts("governor: no voting power at the snapshot"):
        v.governor.castVote(proposal_id, FOR, sender=buyer)
    assert v.governor.castVote(proposal_id, FOR, sender=v.people[1]) > 0
