"""CommonsPool as a state machine: membership and dividends against a Python model.

Six people (each owning one work) join by works (theirs, others', a dataset),
invite each other (themselves, members, removed accounts, the zero address,
without the tokens for the bond), leave, are removed (by the owner and by
strangers) and claim, while the machine tax arrives, the owner changes the
bond and the dividend rules (valid and not) and days pass. Every call the
model refuses reverts with the reason it names; every claim pays exactly the
model's amount; after every step the pool's balance is what it received plus
the bonds it holds minus what it paid, so it never pays out more than it
received and never pays a bond as dividend (`SPEC.md` "CommonsPool").
"""

from __future__ import annotations

from dataclasses import dataclass

import boa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from .commons_fixtures import BOND, CAP, CYCLE, DAY, PEOPLE, RESERVE, WEALTH, commons, daily  # noqa: F401 (fixtures)
from .conftest import ONE_TOKEN, ZERO_ADDRESS
from .stateful import expect, run_steps

STEPS = 10_000  # at least this many steps in all (SPEC.md)

_steps = [0]


@dataclass
class Member:
    last: int
    work: int | None  # index of the work it joined by
    inviter: int | None
    bond: int


class CommonsMachine(RuleBasedStateMachine):
    """The pool against a model; one anchored state per run."""

    def __init__(self, commons, funder: str):
        super().__init__()
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.c, self.pool, self.funder = commons, commons.pool, funder
        self.members: dict[int, Member] = {}
        self.work_member: dict[int, int] = {}
        self.removed: set[int] = set()
        self.wealth = [WEALTH] * PEOPLE
        self.day = (0, 0, 0)  # the day whose amount was set, its amount and cap
        self.rules = (CYCLE, RESERVE, CAP)
        self.bond = BOND
        self.received = self.slashed = self.bonds = self.claimed = 0
        self.touched: int | None = None  # the person the last step paid or charged
        self.start = commons.pool.start()

    def teardown(self):
        try:
            assert (self.pool.bondsHeld(), self.pool.totalClaimed(), self.pool.memberCount()) == (
                self.bonds, self.claimed, len(self.members)
            )
            for i, person in enumerate(self.c.people):
                assert self.c.token.balanceOf(person) == self.wealth[i]
                member = self.pool.members(person)
                assert member.active == (i in self.members)
                if i in self.members:
                    m = self.members[i]
                    work = 0 if m.work is None else self.c.works[m.work]
                    inviter = ZERO_ADDRESS if m.inviter is None else self.c.people[m.inviter]
                    assert tuple(member) == (True, m.last, work, inviter, m.bond)
        finally:
            self.anchor.__exit__(None, None, None)

    def today(self) -> int:
        return (boa.env.timestamp - self.start) // DAY + 1

    def funds(self) -> int:
        return self.received + self.slashed - self.claimed

    @rule(amount=st.sampled_from([1, 999, 10**18, 10**24]))
    def receive(self, amount):
        self.c.token.transfer(self.pool.address, amount, sender=self.funder)
        self.received += amount

    @rule(i=st.integers(0, PEOPLE - 1), work=st.integers(0, PEOPLE))
    def join(self, i, work):
        asset = self.c.dataset if work == PEOPLE else self.c.works[work]
        reason = (
            "commons_pool: account was removed" if i in self.removed
            else "commons_pool: already a member" if i in self.members
            else "commons_pool: asset is not a work" if work == PEOPLE
            else "commons_pool: caller does not own the work" if work != i
            else "commons_pool: work already admitted a member" if work in self.work_member
            else None
        )
        if expect(reason, lambda: self.pool.join(asset, sender=self.c.people[i])):
            self.members[i] = Member(self.admitted_on(), work, None, 0)
            self.work_member[work] = i

    @rule(i=st.integers(0, PEOPLE - 1), j=st.integers(0, PEOPLE))
    def invite(self, i, j):
        invitee = ZERO_ADDRESS if j == PEOPLE else self.c.people[j]
        reason = (
            "commons_pool: caller is not a member" if i not in self.members
            else "commons_pool: invitee is the zero address" if j == PEOPLE
            else "commons_pool: cannot invite oneself" if j == i
            else "commons_pool: account was removed" if j in self.removed
            else "commons_pool: already a member" if j in self.members
            else "erc20: transfer amount exceeds balance" if self.wealth[i] < self.bond
            else None
        )
        if expect(reason, lambda: self.pool.invite(invitee, sender=self.c.people[i])):
            self.members[j] = Member(self.admitted_on(), None, i, self.bond)
            self.wealth[i] -= self.bond
            self.bonds += self.bond
            self.touched = i

    def admitted_on(self) -> int:
        today = self.today()
        return today if self.day[0] == today else today - 1

    @rule(i=st.integers(0, PEOPLE - 1))
    def leave(self, i):
        reason = None if i in self.members else "commons_pool: not a member"
        if expect(reason, lambda: self.pool.leave(sender=self.c.people[i])):
            m = self.members.pop(i)
            if m.work is not None:
                del self.work_member[m.work]
            if m.inviter is not None:
                self.wealth[m.inviter] += m.bond
                self.touched = m.inviter
            self.bonds -= m.bond

    @rule(i=st.integers(0, PEOPLE - 1), by_owner=st.booleans())
    def remove(self, i, by_owner):
        sender = self.c.owner if by_owner else self.c.people[i]
        reason = (
            "ownable: caller is not the owner" if not by_owner
            else None if i in self.members else "commons_pool: not a member"
        )
        if expect(reason, lambda: self.pool.remove(self.c.people[i], sender=sender)):
            m = self.members.pop(i)
            self.removed.add(i)
            self.bonds -= m.bond
            self.slashed += m.bond

    @rule(i=st.integers(0, PEOPLE - 1))
    def claim(self, i):
        today = self.today()
        if i not in self.members:
            reason, day = "commons_pool: not a member", self.day
        else:
            day = self.day
            if day[0] != today:
                cycle, reserve, cap = self.rules
                day = (today, daily(self.funds(), len(self.members), cycle, reserve), cap)
            m = self.members[i]
            amount = day[1] * min(today - m.last, day[2])
            reason = (
                "commons_pool: already claimed today" if m.last >= today
                else "commons_pool: nothing to claim" if amount == 0
                else None
            )
        if reason:
            with boa.reverts(reason):
                self.pool.claim(sender=self.c.people[i])
            return
        assert self.pool.claim(sender=self.c.people[i]) == amount
        self.day = day
        m.last = today
        self.wealth[i] += amount
        self.claimed += amount
        self.touched = i

    @rule(seconds=st.sampled_from([1, 3_600, DAY - 1, DAY, 3 * DAY, 20 * DAY]))
    def wait(self, seconds):
        boa.env.time_travel(seconds=seconds)

    @rule(cycle=st.sampled_from([0, 1, 7, 30]), reserve=st.sampled_from([0, 1_000, 10_000, 10_001]),
          cap=st.sampled_from([0, 1, 7, 14, 31]))
    def set_rules(self, cycle, reserve, cap):
        reason = (
            "commons_pool: cycle is zero" if cycle == 0
            else "commons_pool: reserve exceeds 10,000 bps" if reserve > 10_000
            else "commons_pool: back-claim cap is zero" if cap == 0
            else "commons_pool: back-claim cap exceeds the cycle" if cap > cycle
            else None
        )
        if expect(reason, lambda: self.pool.setDividendRules(cycle, reserve, cap, sender=self.c.owner)):
            self.rules = (cycle, reserve, cap)

    @rule(bond=st.sampled_from([0, 1, BOND, 400 * ONE_TOKEN, 2**96]))
    def set_bond(self, bond):
        reason = "commons_pool: bond too large" if bond >= 2**96 else None
        if expect(reason, lambda: self.pool.setBond(bond, sender=self.c.owner)):
            self.bond = bond

    @invariant()
    def conservation(self):
        """Σ received (slashed bonds included) + bonds held = balance + Σ
        claims, so claims never exceed what was received; the tokens of the
        person the step paid (the counters and everyone: `teardown`)."""
        _steps[0] += 1
        assert self.c.token.balanceOf(self.pool.address) == self.received + self.slashed + self.bonds - self.claimed
        assert self.claimed <= self.received + self.slashed
        if self.touched is not None:
            assert self.c.token.balanceOf(self.c.people[self.touched]) == self.wealth[self.touched]
            self.touched = None

def test_commons_invariants(commons):
    funder = boa.env.generate_address("commons funder")
    commons.token.mint(funder, 10**30, sender=commons.owner)
    run_steps(lambda: CommonsMachine(commons, funder), _steps, STEPS)
