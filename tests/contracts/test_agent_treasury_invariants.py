"""AgentTreasury as a state machine: any sequence of agent, owner and stranger actions
against a Python model.

The agent (the current key or a former one) approves payments to allowed and other payees,
of any amount and validity; whoever holds an authorization submits it to the token, once or
again, signed by the current or a former key; approvals are released; the owner pauses,
resumes, changes the limits, the payees and the agent key, and withdraws; strangers try
everything; days pass. Every call the model refuses reverts with the reason it names, and
after every step:

- no day's approvals exceed the daily limit in force at each approval, no approval exceeds
  the cap in force, no payee was paid that was not allowed when the payment was approved,
  and each payee received exactly the approvals collected for it;
- nothing pending before a pause (or an agent change) is ever collected after it;
- conservation: the treasury's balance + paid + withdrawn = funded (`SPEC.md` "AgentTreasury").
"""

from __future__ import annotations

from dataclasses import dataclass

import boa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from .conftest import ONE_TOKEN
from .stateful import expect, run_steps
from .treasury_fixtures import DAY, OWNER_ONLY, Payment, agent_key, deploy_treasury, key_of, payment, signed, treasury_owner  # noqa: F401

STEPS = 10_000  # at least this many steps in all (SPEC.md)

_steps = [0]
_outcomes = dict.fromkeys(("approved", "collected", "released"), 0)
LIMITS = (2 * ONE_TOKEN, ONE_TOKEN)  # daily, per payment, as the treasury starts
KEYS = (key_of(b"tantieme treasury agent"), key_of(b"second agent"))


@dataclass
class Approval:
    payment: Payment
    digest: bytes
    day: int
    generation: int
    collected: bool = False
    released: bool = False


class TreasuryMachine(RuleBasedStateMachine):
    def __init__(self, t, stranger: str, relayer: str):
        super().__init__()
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.t, self.c, self.stranger, self.relayer = t, t.contract, stranger, relayer
        self.people = (*t.payees, t.outsider)
        self.allowed = {t.payees[0]: True, t.payees[1]: True, t.outsider: False}
        self.limits = LIMITS
        self.agent = 0  # index in KEYS
        self.paused = False
        self.generation = 0
        self.spent: dict[int, int] = {}  # day -> approved that day, less released
        self.approvals: list[Approval] = []
        self.funded = t.token.balanceOf(self.c.address)
        self.paid = {person: 0 for person in self.people}
        self.withdrawn = 0
        self.touched: str | None = None  # the payee the last step paid
        self.dirty = False  # whether the last step moved tokens or counted spending

    def teardown(self):
        try:
            self.check()
            assert self.c.generation() == self.generation and self.c.paused() == self.paused
            assert self.c.agent() == KEYS[self.agent].address
            for person in self.people:
                assert self.t.token.balanceOf(person) == self.paid[person]
            for a in self.approvals:
                stored = tuple(self.c.approval(a.digest))
                assert stored == ((0, 0, 0, 0) if a.released else (a.payment.amount, a.payment.valid_before, a.day, a.generation))
                assert self.t.token.authorizationState(self.c.address, a.payment.nonce) == a.collected
        finally:
            self.anchor.__exit__(None, None, None)

    def today(self) -> int:
        return boa.env.timestamp // DAY

    def expect(self, reason: str | None, call) -> bool:
        self.dirty = expect(reason, call)  # a refused call moves nothing
        return self.dirty

    # ----------------------------------------------------------------- agent --

    @rule(
        current=st.sampled_from([True, True, True, False]), who=st.sampled_from([0, 1, 0, 1, 2]),
        amount=st.sampled_from([ONE_TOKEN // 3, ONE_TOKEN, 1, ONE_TOKEN // 3, 0, ONE_TOKEN + 1, 4 * ONE_TOKEN]),
        seconds=st.sampled_from([3_600, 60, 3_600, DAY, 1, 0, DAY + 1]),
    )
    def approve(self, current, who, amount, seconds):
        key = self.agent if current else 1 - self.agent
        to = self.people[who]
        p = payment(to, amount, seconds=seconds)
        daily, cap = self.limits
        spent = self.spent.get(self.today(), 0)
        reason = (
            "treasury: caller is not the agent" if key != self.agent
            else "treasury: paused" if self.paused
            else "treasury: payee not allowed" if not self.allowed[to]
            else "treasury: zero payment" if amount == 0
            else "treasury: above the per-payment cap" if amount > cap
            else "treasury: authorization is expired" if seconds == 0
            else "treasury: validity too long" if seconds > DAY
            else "treasury: above the daily limit" if spent + amount > daily
            else None
        )
        digest = []
        if self.expect(reason, lambda: digest.append(self.c.approvePayment(*p.args, sender=KEYS[key].address))):
            assert amount <= cap and spent + amount <= daily and self.allowed[to]
            self.spent[self.today()] = spent + amount
            self.approvals.append(Approval(p, digest[0], self.today(), self.generation))
            _outcomes["approved"] += 1

    @precondition(lambda self: self.approvals)
    @rule(i=st.sampled_from([0, 0, 1, 2, 7]), current=st.sampled_from([True, True, True, False]))
    def collect(self, i, current):
        """Whoever holds the authorization submits it (the latest approvals most often), signed
        by the current or a former key."""
        key = self.agent if current else 1 - self.agent
        a = self.approvals[-1 - i % len(self.approvals)]
        p = a.payment
        balance = self.t.token.balanceOf(self.c.address)
        reason = (
            "ai_token: authorization is expired" if boa.env.timestamp >= p.valid_before
            else "ai_token: authorization is used or canceled" if a.collected
            else "ai_token: invalid signature" if (
                self.paused or a.released or a.generation != self.generation or key != self.agent
            )
            else "erc20: transfer amount exceeds balance" if balance < p.amount
            else None
        )
        if self.expect(reason, lambda: self.t.collect(p, signed(KEYS[key], a.digest), self.relayer)):
            a.collected = True
            self.paid[p.to] += p.amount
            self.touched = p.to
            _outcomes["collected"] += 1

    @precondition(lambda self: self.approvals)
    @rule(i=st.sampled_from([0, 1, 3, 7]), who=st.sampled_from(["agent", "owner", "stranger"]))
    def release(self, i, who):
        a = self.approvals[-1 - i % len(self.approvals)]
        sender = {"agent": KEYS[self.agent].address, "owner": self.t.owner, "stranger": self.stranger}[who]
        stale = a.generation != self.generation
        reason = (
            "treasury: caller is not the agent or the owner" if who == "stranger"
            else "treasury: no such approval" if a.released
            else "treasury: approval still valid" if not stale and boa.env.timestamp < a.payment.valid_before
            else "treasury: payment was collected" if a.collected
            else None
        )
        if self.expect(reason, lambda: self.c.releasePayment(*a.payment.args, sender=sender)):
            a.released = True
            _outcomes["released"] += 1
            if a.day == self.today():
                self.spent[a.day] -= a.payment.amount

    # ----------------------------------------------------------------- owner --

    @rule(
        who=st.sampled_from(["owner", "owner", "agent", "stranger"]),
        action=st.sampled_from(["limits", "payee", "resume", "withdraw", "pause", "agent"]),
        pick=st.integers(0, 3),
    )
    def govern(self, who, action, pick):
        """The owner (or, refused, the agent or a stranger) pauses, resumes, sets the limits,
        a payee or the agent key, or withdraws; `pick` chooses the values."""
        c, sender = self.c, self.sender(who)
        balance = self.t.token.balanceOf(c.address)
        limits = (LIMITS, (3 * ONE_TOKEN, 4 * ONE_TOKEN), (ONE_TOKEN, ONE_TOKEN // 3), (0, 0))[pick]
        payee, allowed = self.people[pick % 3], pick < 3 or not self.allowed[self.people[0]]
        amount = (0, 1, 5 * ONE_TOKEN, 200 * ONE_TOKEN)[pick]
        call = {
            "limits": lambda: c.setLimits(*limits, sender=sender),
            "payee": lambda: c.setPayee(payee, allowed, sender=sender),
            "pause": lambda: c.pause(sender=sender),
            "resume": lambda: c.unpause(sender=sender),
            "agent": lambda: c.setAgent(KEYS[pick % 2].address, sender=sender),
            "withdraw": lambda: c.withdraw(self.t.owner, amount, sender=sender),
        }[action]
        reason = (
            OWNER_ONLY if who != "owner"
            else "erc20: transfer amount exceeds balance" if action == "withdraw" and amount > balance
            else None
        )
        if not self.expect(reason, call):
            return
        if action == "limits":
            self.limits = limits
        elif action == "payee":
            self.allowed[payee] = allowed
        elif action in ("pause", "resume"):
            self.paused = action == "pause"
            self.generation += action == "pause"
        elif action == "agent":
            self.agent = pick % 2
            self.generation += 1
        else:
            self.withdrawn += amount

    @rule(amount=st.sampled_from([1, ONE_TOKEN, 20 * ONE_TOKEN]))
    def fund(self, amount):
        self.t.token.transfer(self.c.address, amount, sender=self.relayer)
        self.funded += amount
        self.dirty = True

    @rule(seconds=st.sampled_from([59, 3_600, DAY // 2, 1, DAY]))
    def wait(self, seconds):
        boa.env.time_travel(seconds=seconds)
        self.dirty = True

    def sender(self, who: str) -> str:
        return {"owner": self.t.owner, "agent": KEYS[self.agent].address, "stranger": self.stranger}[who]

    # ------------------------------------------------------------ invariants --

    @invariant()
    def bounded_and_conserved(self):
        """After a step that moved tokens or counted spending (everything: `teardown`):
        balance + paid + withdrawn = funded, today's spending is the model's, and the payee
        the step paid received exactly its collected approvals."""
        _steps[0] += 1
        if self.dirty:
            self.check()
            self.dirty = False

    def check(self):
        c, token = self.c, self.t.token
        assert token.balanceOf(c.address) + sum(self.paid.values()) + self.withdrawn == self.funded
        assert c.spentToday() == self.spent.get(self.today(), 0)
        if self.touched is not None:
            assert token.balanceOf(self.touched) == self.paid[self.touched]
            self.touched = None


def test_treasury_invariants(token, deployer, treasury_owner, agent_key, stranger):  # noqa: F811
    t = deploy_treasury(token, deployer, treasury_owner, agent_key)
    t.contract.setLimits(*LIMITS, sender=treasury_owner)
    relayer = boa.env.generate_address("treasury relayer")
    token.mint(relayer, 10**30, sender=deployer)
    run_steps(lambda: TreasuryMachine(t, stranger, relayer), _steps, STEPS)
    print(_outcomes)
