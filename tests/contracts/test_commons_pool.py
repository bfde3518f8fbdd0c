"""CommonsPool (`commons_pool.vy`): membership by work or by bonded
invitation, removal, the daily dividend, back-claims and the owner's
parameters (SPEC.md "CommonsPool")."""

from __future__ import annotations

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .commons_fixtures import (  # noqa: F401 (fixtures)
    BOND,
    CAP,
    CYCLE,
    DAY,
    POOL,
    RESERVE,
    WEALTH,
    commons,
    daily,
    next_day,
    pay_in,
)
from .conftest import FUZZ, ONE_TOKEN, ZERO_ADDRESS, events, fresh_state


@pytest.fixture
def pool(commons):
    return commons.pool


@pytest.fixture
def people(commons):
    return commons.people


def join(c, i: int) -> None:
    c.pool.join(c.works[i], sender=c.people[i])


def state(c) -> tuple:
    """Everything a refused call must leave as it was."""
    pool = c.pool
    return (
        tuple(c.token.balanceOf(p) for p in [pool.address, *c.people]),
        pool.memberCount(), pool.bondsHeld(), pool.totalClaimed(), pool.dailyAmount(),
        tuple(pool.members(p) for p in c.people),
    )


# -------------------------------------------------------------- deployment --


def test_deploy__parameters(commons, pool):
    assert (pool.token(), pool.registry(), pool.owner()) == (commons.token.address, commons.registry.address,
                                                            commons.owner)
    assert (pool.bond(), pool.cycleDays(), pool.reserveBps(), pool.backClaimCap()) == (BOND, CYCLE, RESERVE, CAP)
    assert (pool.memberCount(), pool.bondsHeld(), pool.totalClaimed(), pool.funds()) == (0, 0, 0, 0)
    assert pool.currentDay() == 1
    assert pool.dayStart(1) == pool.start() and pool.dayStart(2) == pool.start() + DAY
    assert pool.dailyAmount() == (0, 0, 0)


def test_deploy__registry_of_another_token__reverts(commons, token_deployer):
    other = token_deployer.deploy("x", "X", "x", "1", 0)
    with boa.reverts("commons_pool: registry uses another token"):
        POOL.deploy(other.address, commons.registry.address, BOND, CYCLE, RESERVE, CAP)


@pytest.mark.parametrize(("rules", "reason"), [
    ((0, RESERVE, 1), "commons_pool: cycle is zero"),
    ((CYCLE, 10_001, CAP), "commons_pool: reserve exceeds 10,000 bps"),
    ((CYCLE, RESERVE, 0), "commons_pool: back-claim cap is zero"),
    ((CYCLE, RESERVE, CYCLE + 1), "commons_pool: back-claim cap exceeds the cycle"),
])
def test_deploy__bad_rules__revert(commons, rules, reason):
    with boa.reverts(reason):
        POOL.deploy(commons.token.address, commons.registry.address, BOND, *rules)


def test_no_ether(commons, pool):
    assert [e for e in pool.abi if e.get("stateMutability") == "payable"] == []
    boa.env.set_balance(commons.owner, ONE_TOKEN)
    with pytest.raises(Exception):
        boa.env.raw_call(pool.address, sender=commons.owner, value=1)
    with boa.env.prank(commons.owner), pytest.raises(Exception):
        POOL.deploy(commons.token.address, commons.registry.address, BOND, CYCLE, RESERVE, CAP, value=1)
    assert boa.env.get_balance(commons.owner) == ONE_TOKEN


# ----------------------------------------------------------------- joining --


def test_join__by_a_work(commons, pool, people):
    pool.join(commons.works[0], sender=people[0])
    assert [(e.member, e.work) for e in events(pool, "Joined")] == [(people[0], commons.works[0])]
    assert pool.members(people[0]) == (True, 0, commons.works[0], ZERO_ADDRESS, 0)
    assert pool.workMember(commons.works[0]) == people[0]
    assert pool.memberCount() == 1


@pytest.mark.parametrize(("case", "reason"), [
    ("unknown", "commons_pool: unknown asset"),
    ("dataset", "commons_pool: asset is not a work"),
    ("someone else's", "commons_pool: caller does not own the work"),
    ("twice", "commons_pool: already a member"),
])
def test_join__refused(commons, pool, people, case, reason):
    asset = {"unknown": 999, "dataset": commons.dataset, "someone else's": commons.works[1],
             "twice": commons.works[0]}[case]
    if case == "twice":
        join(commons, 0)
    before = state(commons)
    with boa.reverts(reason):
        pool.join(asset, sender=people[0])
    assert state(commons) == before


def test_join__a_work_admits_one_member_at_a_time(commons, pool, people):
    join(commons, 0)
    commons.registry.transferFrom(people[0], people[1], commons.works[0], sender=people[0])
    with boa.reverts("commons_pool: work already admitted a member"):
        pool.join(commons.works[0], sender=people[1])
    pool.leave(sender=people[0])
    assert pool.workMember(commons.works[0]) == ZERO_ADDRESS
    pool.join(commons.works[0], sender=people[1])
    assert pool.workMember(commons.works[0]) == people[1]


# ---------------------------------------------------------------- inviting --


def test_invite__deposits_the_bond_and_admits(commons, pool, people):
    join(commons, 0)
    pool.invite(people[1], sender=people[0])
    assert [(e.member, e.inviter, e.bond) for e in events(pool, "Invited")] == [(people[1], people[0], BOND)]
    assert pool.members(people[1]) == (True, 0, 0, people[0], BOND)
    assert commons.token.balanceOf(people[0]) == WEALTH - BOND
    assert commons.token.balanceOf(pool.address) == BOND == pool.bondsHeld()
    assert (pool.memberCount(), pool.funds()) == (2, 0)


@pytest.mark.parametrize(("case", "reason"), [
    ("by a non-member", "commons_pool: caller is not a member"),
    ("oneself", "commons_pool: cannot invite oneself"),
    ("the zero address", "commons_pool: invitee is the zero address"),
    ("a member", "commons_pool: already a member"),
    ("without the bond", "erc20: insufficient allowance"),
    ("a removed account", "commons_pool: account was removed"),
])
def test_invite__refused__moves_nothing(commons, pool, people, case, reason):
    join(commons, 0)
    join(commons, 2)
    inviter, invitee = people[0], people[1]
    if case == "by a non-member":
        inviter = people[3]
    elif case == "oneself":
        invitee = inviter
    elif case == "the zero address":
        invitee = ZERO_ADDRESS
    elif case == "a member":
        invitee = people[2]
    elif case == "without the bond":
        commons.token.approve(pool.address, BOND - 1, sender=inviter)
    else:
        pool.remove(people[2], sender=commons.owner)
        invitee = people[2]
    before = state(commons)
    with boa.reverts(reason):
        pool.invite(invitee, sender=inviter)
    assert state(commons) == before


def test_invite__with_a_zero_bond_needs_no_tokens(commons, pool, people):
    join(commons, 0)
    pool.setBond(0, sender=commons.owner)
    commons.token.approve(pool.address, 0, sender=people[0])
    pool.invite(people[1], sender=people[0])
    assert pool.members(people[1]) == (True, 0, 0, people[0], 0)


# ------------------------------------------------------ leaving, removing --


def test_leave__returns_the_bond_to_the_inviter(commons, pool, people):
    join(commons, 0)
    pool.invite(people[1], sender=people[0])
    pool.leave(sender=people[1])
    assert [(e.member, e.inviter, e.bond) for e in events(pool, "Left")] == [(people[1], people[0], BOND)]
    assert commons.token.balanceOf(people[0]) == WEALTH
    assert (pool.bondsHeld(), pool.memberCount()) == (0, 1)
    assert pool.members(people[1]) == (False, 0, 0, ZERO_ADDRESS, 0)
    pool.invite(people[1], sender=people[0])  # may be invited again


def test_leave__not_a_member__reverts(commons, pool, people):
    with boa.reverts("commons_pool: not a member"):
        pool.leave(sender=people[0])


def test_remove__slashes_the_bond_into_the_funds(commons, pool, people):
    join(commons, 0)
    pool.invite(people[1], sender=people[0])
    pool.remove(people[1], sender=commons.owner)
    assert [(e.member, e.slashed) for e in events(pool, "Removed")] == [(people[1], BOND)]
    assert (pool.bondsHeld(), pool.funds(), pool.memberCount()) == (0, BOND, 1)
    assert pool.removed(people[1])
    with boa.reverts("commons_pool: not a member"):
        pool.claim(sender=people[1])
    with boa.reverts("commons_pool: account was removed"):
        pool.join(commons.works[1], sender=people[1])


def test_remove__the_work_stays_bound(commons, pool, people):
    join(commons, 0)
    pool.remove(people[0], sender=commons.owner)
    commons.registry.transferFrom(people[0], people[1], commons.works[0], sender=people[0])
    with boa.reverts("commons_pool: work already admitted a member"):
        pool.join(commons.works[0], sender=people[1])


def test_remove__refused(commons, pool, people):
    join(commons, 0)
    with boa.reverts("ownable: caller is not the owner"):
        pool.remove(people[0], sender=people[0])
    with boa.reverts("commons_pool: not a member"):
        pool.remove(people[1], sender=commons.owner)


# ---------------------------------------------------------------- dividend --


def test_claim__the_days_first_claim_sets_the_amount(commons, pool, people):
    join(commons, 0)
    join(commons, 1)
    pay_in(commons, 1_000 * ONE_TOKEN)
    expected = daily(1_000 * ONE_TOKEN, 2)
    assert pool.claimable(people[0]) == expected
    assert pool.claim(sender=people[0]) == expected
    (day,) = events(pool, "DailyAmountSet")
    (claimed,) = events(pool, "Claimed")
    assert (day.day, day.amount, day.members, day.funds) == (1, expected, 2, 1_000 * ONE_TOKEN)
    assert (claimed.member, claimed.day, claimed.days, claimed.amount) == (people[0], 1, 1, expected)
    assert pool.dailyAmount() == (1, expected, CAP)
    # The second claim of the day pays the same, whatever arrived since.
    pay_in(commons, 5_000 * ONE_TOKEN)
    assert pool.claim(sender=people[1]) == expected
    assert events(pool, "DailyAmountSet") == []
    assert commons.token.balanceOf(people[1]) == WEALTH + expected
    assert pool.totalClaimed() == 2 * expected


def test_claim__twice_in_a_day__reverts_and_moves_nothing(commons, pool, people):
    join(commons, 0)
    pay_in(commons, 1_000 * ONE_TOKEN)
    pool.claim(sender=people[0])
    before = state(commons)
    boa.env.time_travel(seconds=DAY - 1 - (boa.env.timestamp - pool.start()) % DAY)  # the day's last second
    with boa.reverts("commons_pool: already claimed today"):
        pool.claim(sender=people[0])
    assert state(commons) == before
    assert pool.claimable(people[0]) == 0
    next_day()
    assert pool.claim(sender=people[0]) > 0


def test_claim__non_member__reverts_and_moves_nothing(commons, pool, people):
    join(commons, 0)
    pay_in(commons, 1_000 * ONE_TOKEN)
    before = state(commons)
    with boa.reverts("commons_pool: not a member"):
        pool.claim(sender=people[1])
    assert state(commons) == before


def test_claim__empty_pool__reverts_and_sets_no_day(commons, pool, people):
    join(commons, 0)
    with boa.reverts("commons_pool: nothing to claim"):
        pool.claim(sender=people[0])
    assert pool.dailyAmount() == (0, 0, 0)
    pay_in(commons, 1_000 * ONE_TOKEN)  # later the same day
    assert pool.claim(sender=people[0]) == daily(1_000 * ONE_TOKEN, 1)


def test_claim__a_member_who_joins_after_the_day_is_set_waits_a_day(commons, pool, people):
    join(commons, 0)
    pay_in(commons, 1_000 * ONE_TOKEN)
    pool.claim(sender=people[0])
    join(commons, 1)
    assert pool.members(people[1]).last_claimed == 1
    with boa.reverts("commons_pool: already claimed today"):
        pool.claim(sender=people[1])
    next_day()
    assert pool.claim(sender=people[1]) == pool.dailyAmount()[1]
    assert pool.dailyAmount()[0] == 2


def test_claim__missed_days_up_to_the_cap(commons, pool, people):
    join(commons, 0)
    join(commons, 1)
    pay_in(commons, 1_000 * ONE_TOKEN)
    pool.claim(sender=people[0])
    next_day(5)
    funds = pool.funds()
    assert pool.claim(sender=people[0]) == 5 * daily(funds, 2)
    assert events(pool, "Claimed")[0].days == 5
    next_day(CAP + 10)
    funds = pool.funds()
    # people[1] never claimed: 1 + 5 + CAP + 10 days, capped.
    assert pool.claim(sender=people[1]) == CAP * daily(funds, 2)


def test_claim__bonds_are_never_dividend(commons, pool, people):
    join(commons, 0)
    pool.invite(people[1], sender=people[0])
    with boa.reverts("commons_pool: nothing to claim"):
        pool.claim(sender=people[0])
    pay_in(commons, 100)
    assert pool.claim(sender=people[0]) == daily(100, 2)
    assert commons.token.balanceOf(pool.address) == BOND + 100 - daily(100, 2)


def test_claim__dust_stays_in_the_funds(commons, pool, people):
    for i in range(3):
        join(commons, i)
    pay_in(commons, 1_000)
    share = daily(1_000, 3)
    for i in range(3):
        pool.claim(sender=people[i])
    assert share == 900 // 90
    assert pool.funds() == 1_000 - 3 * share == commons.token.balanceOf(pool.address)


def test_claim__leaving_forfeits_unclaimed_days(commons, pool, people):
    join(commons, 0)
    join(commons, 1)
    pay_in(commons, 1_000 * ONE_TOKEN)
    next_day(3)
    pool.leave(sender=people[1])
    assert pool.claimable(people[1]) == 0
    assert pool.claim(sender=people[0]) == 4 * daily(1_000 * ONE_TOKEN, 1)


@FUZZ
@given(
    funds=st.integers(0, 10**30),
    members=st.integers(1, 6),
    claims=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3 * DAY)), max_size=20),
)
def test_claims__never_exceed_the_funds(commons, funds, members, claims):
    """Whatever the timing, the pool pays out no more than it received and
    keeps every bond; each member's claims add up to the Claimed events."""
    with fresh_state():
        c, pool = commons, commons.pool
        for i in range(members):
            join(c, i)
        if members < 6:
            pool.invite(c.people[members], sender=c.people[0])
        bonds = pool.bondsHeld()
        pay_in(c, funds)
        paid = [0] * 6
        for who, wait in claims:
            boa.env.time_travel(seconds=wait)
            expected = pool.claimable(c.people[who])
            if expected == 0:
                with boa.reverts():
                    pool.claim(sender=c.people[who])
                continue
            assert pool.claim(sender=c.people[who]) == expected
            paid[who] += expected
        assert sum(paid) == pool.totalClaimed() <= funds
        assert c.token.balanceOf(pool.address) == funds + bonds - sum(paid)


# ------------------------------------------------------------------- owner --


def test_set_bond(commons, pool, people):
    pool.setBond(3 * ONE_TOKEN, sender=commons.owner)
    assert [e.bond for e in events(pool, "BondChanged")] == [3 * ONE_TOKEN]
    join(commons, 0)
    pool.invite(people[1], sender=people[0])
    assert pool.members(people[1]).bond == 3 * ONE_TOKEN
    with boa.reverts("commons_pool: bond too large"):
        pool.setBond(2**96, sender=commons.owner)
    with boa.reverts("ownable: caller is not the owner"):
        pool.setBond(0, sender=people[0])


def test_set_dividend_rules__apply_from_the_next_day(commons, pool, people):
    join(commons, 0)
    join(commons, 1)
    pay_in(commons, 1_000 * ONE_TOKEN)
    first = pool.claim(sender=people[0])
    pool.setDividendRules(10, 0, 2, sender=commons.owner)
    e = events(pool, "DividendRulesChanged")[0]
    assert (e.cycle_days, e.reserve_bps, e.back_claim_cap) == (10, 0, 2)
    assert pool.claim(sender=people[1]) == first  # today's amount stands
    next_day(5)
    funds = pool.funds()
    assert pool.claim(sender=people[0]) == 2 * daily(funds, 2, cycle=10, reserve=0)


@pytest.mark.parametrize(("rules", "reason"), [
    ((0, 0, 1), "commons_pool: cycle is zero"),
    ((CYCLE, 10_001, CAP), "commons_pool: reserve exceeds 10,000 bps"),
    ((CYCLE, RESERVE, 0), "commons_pool: back-claim cap is zero"),
    ((7, RESERVE, 8), "commons_pool: back-claim cap exceeds the cycle"),
])
def test_set_dividend_rules__refused(commons, pool, people, rules, reason):
    with boa.reverts(reason):
        pool.setDividendRules(*rules, sender=commons.owner)
    with boa.reverts("ownable: caller is not the owner"):
        pool.setDividendRules(CYCLE, RESERVE, CAP, sender=people[0])


def test_transfer_ownership__the_new_owner_removes(commons, pool, people):
    dao = boa.env.generate_address("commons dao")
    join(commons, 0)
    pool.transfer_ownership(dao, sender=commons.owner)
    with boa.reverts("ownable: caller is not the owner"):
        pool.remove(people[0], sender=commons.owner)
    pool.remove(people[0], sender=dao)
    assert pool.owner() == dao


def test_today_amount__what_the_next_claim_sets_then_what_it_set(commons, pool, people):
    join(commons, 0)
    join(commons, 1)
    assert pool.todayAmount() == 0
    pay_in(commons, 1_000 * ONE_TOKEN)
    assert pool.todayAmount() == daily(1_000 * ONE_TOKEN, 2) == pool.claimable(people[0])
    pool.claim(sender=people[0])
    pay_in(commons, 1_000 * ONE_TOKEN)
    assert pool.todayAmount() == daily(1_000 * ONE_TOKEN, 2)  # set for the day
    next_day()
    assert pool.todayAmount() == daily(pool.funds(), 2)
