"""The DAO as a hypothesis state machine: stakes, withdrawals, delegations,
proposals, votes, blocks and time, queueing and execution, against a
model; after every step (SPEC.md "DAO invariants"):

- D1 the votes of all delegates add up to the staked supply, and the
  staked-votes contract holds exactly the staked and pending tokens;
- D2 each proposal's For / Against / Abstain equal the sum of its voters'
  past votes at the snapshot, read back from the votes contract;
- D3 each proposal's state is the model's (OpenZeppelin's rules);
- D4 the treasury (the timelock) paid exactly what executed proposals
  carried, to whom they named; no tokens appear or vanish.

Every call that the model says must fail is made too, and must revert
with the exact reason and change nothing. Each step re-reads what it may
have changed (the people and proposals it touched; every proposal's state
when blocks or time pass); `teardown` re-reads everything.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import boa
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from .conftest import ONE_TOKEN
from .dao_fixtures import (  # noqa: F401 (fixtures)
    ACTIVE,
    CANCELED,
    DEFEATED,
    EXECUTED,
    EXPIRED,
    GRACE_PERIOD,
    PENDING,
    QUEUED,
    QUORUM,
    SUCCEEDED,
    THRESHOLD,
    TIMELOCK_DELAY,
    VOTING_DELAY,
    VOTING_PERIOD,
    WITHDRAWAL_DELAY,
    Proposal,
    dao,
    dao_deployer,
    pay_from_treasury,
)
from .stateful import run_steps

STEPS = 10_000  # at least this many steps in all (SPEC.md)
PEOPLE = 4
TREASURY = 10**9 * ONE_TOKEN
person = st.integers(0, PEOPLE - 1)
_steps = [0]
_descriptions = itertools.count()


@dataclass
class Prop:
    proposal: Proposal
    id: int
    proposer: int
    payee: int
    amount: int
    snapshot: int
    deadline: int
    tally: list[int] = field(default_factory=lambda: [0, 0, 0])  # against, for, abstain
    voters: dict[int, int] = field(default_factory=dict)  # person -> support
    canceled: bool = False
    eta: int = 0
    executed: bool = False


class DaoMachine(RuleBasedStateMachine):
    """StakedVotes + Governor + timelock against a model; one fresh
    deployment (the session's, anchored) per run."""

    def __init__(self, dao, token, people: list[str], deployer: str):
        super().__init__()
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.votes, self.governor, self.timelock, self.token = dao.votes, dao.governor, dao.timelock, token
        self.people, self.deployer = people, deployer
        token.mint(self.timelock.address, TREASURY, sender=deployer)
        self.units = [0] * PEOPLE
        self.delegate_of: list[int | None] = [None] * PEOPLE
        self.pending = [(0, 0)] * PEOPLE  # (amount, unlocks at)
        self.wallet = [0] * PEOPLE  # AI tokens each person holds
        self.paid = [0] * PEOPLE  # AI tokens each person received from the treasury
        self.history: list[tuple[int, list[int]]] = []  # (block, votes per person) at each block's end
        self.proposals: list[Prop] = []
        # What the last step may have changed; the rest cannot have moved.
        self.touched: set[int] = set()
        self.touched_proposals: set[int] = set()
        self.record()

    def teardown(self):
        try:
            self.touched = set(range(PEOPLE))
            self.touched_proposals = set(range(len(self.proposals)))
            self.votes_add_up()
            self.tallies_are_past_votes()
            self.treasury_is_conserved()
        finally:
            self.anchor.__exit__(None, None, None)

    # ------------------------------------------------------------- model --

    @property
    def block(self) -> int:
        return boa.env.evm.patch.block_number

    def delegated_votes(self) -> list[int]:
        votes = [0] * PEOPLE
        for who, units in enumerate(self.units):
            if self.delegate_of[who] is not None:
                votes[self.delegate_of[who]] += units
        return votes

    def touch(self, *people: int | None) -> None:
        self.touched.update(p for p in people if p is not None)

    def record(self) -> None:
        """Note everyone's votes as they stand at the end of this block."""
        if self.history and self.history[-1][0] == self.block:
            self.history.pop()
        self.history.append((self.block, self.delegated_votes()))

    def past_votes(self, timepoint: int) -> list[int]:
        for block, votes in reversed(self.history):
            if block <= timepoint:
                return votes
        return [0] * PEOPLE

    def state(self, prop: Prop) -> int:
        if prop.executed:
            return EXECUTED
        if prop.canceled:
            return CANCELED
        if prop.snapshot >= self.block:
            return PENDING
        if prop.deadline >= self.block:
            return ACTIVE
        against, in_favour, abstain = prop.tally
        quorum = sum(self.past_votes(prop.snapshot)) * QUORUM // 100
        if in_favour <= against or in_favour + abstain < quorum:
            return DEFEATED
        if not prop.eta:
            return SUCCEEDED
        if boa.env.timestamp > prop.eta + GRACE_PERIOD:
            return EXPIRED
        return QUEUED

    # -------------------------------------------------------------- rules --

    @rule(who=person, amount=st.integers(1, 100))
    def stake(self, who, amount):
        amount *= ONE_TOKEN
        account = self.people[who]
        self.token.mint(account, amount, sender=self.deployer)
        self.token.approve(self.votes.address, amount, sender=account)
        self.votes.stake(amount, sender=account)
        self.units[who] += amount
        if self.delegate_of[who] is None:
            self.delegate_of[who] = who
        self.touch(who, self.delegate_of[who])
        self.record()

    @rule(who=person, share=st.integers(0, 100))
    def request_withdrawal(self, who, share):
        amount = self.units[who] * share // 100
        account = self.people[who]
        if amount == 0:
            with boa.reverts("staked_votes: zero amount"):
                self.votes.requestWithdrawal(0, sender=account)
            return
        self.votes.requestWithdrawal(amount, sender=account)
        self.units[who] -= amount
        self.pending[who] = (self.pending[who][0] + amount, boa.env.timestamp + WITHDRAWAL_DELAY)
        self.touch(who, self.delegate_of[who])
        self.record()

    @rule(who=person)
    def withdraw(self, who):
        amount, unlocks_at = self.pending[who]
        account = self.people[who]
        if amount == 0:
            with boa.reverts("staked_votes: nothing to withdraw"):
                self.votes.withdraw(sender=account)
        elif boa.env.timestamp < unlocks_at:
            with boa.reverts("staked_votes: withdrawal is locked"):
                self.votes.withdraw(sender=account)
        else:
            assert self.votes.withdraw(sender=account) == amount
            self.pending[who] = (0, 0)
            self.wallet[who] += amount
            self.touch(who)

    @rule(who=person, to=person)
    def delegate(self, who, to):
        self.votes.delegate(self.people[to], sender=self.people[who])
        self.touch(who, to, self.delegate_of[who])
        self.delegate_of[who] = to
        self.record()

    @rule(who=person, payee=person, amount=st.integers(1, 1_000))
    def propose(self, who, payee, amount):
        proposal = pay_from_treasury(self.token, self.people[payee], amount * ONE_TOKEN,
                                     f"proposal {next(_descriptions)}")
        args = (proposal.targets, proposal.values, proposal.calldatas, proposal.description)
        if self.past_votes(self.block - 1)[who] < THRESHOLD:
            with boa.reverts("governor: proposer votes below threshold"):
                self.governor.propose(*args, sender=self.people[who])
            return
        proposal_id = self.governor.propose(*args, sender=self.people[who])
        snapshot = self.block + VOTING_DELAY
        self.touched_proposals.add(len(self.proposals))
        self.proposals.append(
            Prop(proposal, proposal_id, who, payee, amount * ONE_TOKEN, snapshot, snapshot + VOTING_PERIOD)
        )

    @precondition(lambda self: self.proposals)
    @rule(who=person, which=st.integers(0, 7), support=st.sampled_from([0, 1, 2, 2, 1, 0, 3]))
    def vote(self, who, which, support):
        prop = self.proposals[which % len(self.proposals)]
        self.touched_proposals.add(which % len(self.proposals))
        account = self.people[who]
        weight = self.past_votes(prop.snapshot)[who]
        if self.state(prop) != ACTIVE:
            reason = "governor: proposal is not active"
        elif who in prop.voters:
            reason = "governor: vote already cast"
        elif weight == 0:
            reason = "governor: no voting power at the snapshot"
        elif support == 3:
            reason = "governor: invalid vote type"
        else:
            assert self.governor.castVote(prop.id, support, sender=account) == weight
            prop.voters[who] = support
            prop.tally[support] += weight
            return
        with boa.reverts(reason):
            self.governor.castVote(prop.id, support, sender=account)

    @precondition(lambda self: self.proposals)
    @rule(who=person, which=st.integers(0, 7))
    def cancel(self, who, which):
        prop = self.proposals[which % len(self.proposals)]
        self.touched_proposals.add(which % len(self.proposals))
        if self.state(prop) != PENDING:
            with boa.reverts("governor: proposal is not pending"):
                self.governor.cancel(*prop.proposal.args(), sender=self.people[who])
        elif who != prop.proposer:
            with boa.reverts("governor: caller is not the proposer"):
                self.governor.cancel(*prop.proposal.args(), sender=self.people[who])
        else:
            self.governor.cancel(*prop.proposal.args(), sender=self.people[who])
            prop.canceled = True

    @precondition(lambda self: self.proposals)
    @rule(which=st.integers(0, 7), who=person)
    def queue(self, which, who):
        prop = self.proposals[which % len(self.proposals)]
        self.touched_proposals.add(which % len(self.proposals))
        if self.state(prop) != SUCCEEDED:
            with boa.reverts("governor: proposal has not succeeded"):
                self.governor.queue(*prop.proposal.args(), sender=self.people[who])
            return
        self.governor.queue(*prop.proposal.args(), sender=self.people[who])
        prop.eta = boa.env.timestamp + TIMELOCK_DELAY

    @precondition(lambda self: self.proposals)
    @rule(which=st.integers(0, 7), who=person)
    def execute(self, which, who):
        prop = self.proposals[which % len(self.proposals)]
        self.touched_proposals.add(which % len(self.proposals))
        if self.state(prop) != QUEUED:
            with boa.reverts("governor: proposal is not queued"):
                self.governor.execute(*prop.proposal.args(), sender=self.people[who])
        elif boa.env.timestamp < prop.eta:
            with boa.reverts("timelock_controller: operation is not ready"):
                self.governor.execute(*prop.proposal.args(), sender=self.people[who])
        else:
            self.governor.execute(*prop.proposal.args(), sender=self.people[who])
            prop.executed = True
            self.paid[prop.payee] += prop.amount
            self.touch(prop.payee)

    @rule(blocks=st.integers(1, 2 * VOTING_PERIOD))
    def mine(self, blocks):
        boa.env.time_travel(blocks=blocks)
        self.touched_proposals = set(range(len(self.proposals)))
        self.record()

    @rule(seconds=st.sampled_from([60, TIMELOCK_DELAY, WITHDRAWAL_DELAY, GRACE_PERIOD]))
    def wait(self, seconds):
        boa.env.time_travel(seconds=seconds)
        self.touched_proposals = set(range(len(self.proposals)))
        self.record()

    # -------------------------------------------------------- invariants --

    @invariant()
    def after_every_step(self):
        _steps[0] += 1
        self.votes_add_up()
        self.tallies_are_past_votes()
        self.treasury_is_conserved()
        self.touched.clear()
        self.touched_proposals.clear()

    def votes_add_up(self):  # D1
        supply = sum(self.units)
        votes = self.delegated_votes()
        for who in self.touched:
            assert self.votes.getVotes(self.people[who]) == votes[who]
            assert self.votes.balanceOf(self.people[who]) == self.units[who]
        assert sum(votes) == supply == self.votes.totalSupply()
        assert self.token.balanceOf(self.votes.address) == supply + sum(a for a, _ in self.pending)

    def tallies_are_past_votes(self):  # D2, D3
        for prop in (self.proposals[i] for i in self.touched_proposals):
            assert list(self.governor.proposalVotes(prop.id)) == prop.tally
            if prop.voters and prop.snapshot < self.block:
                from_votes = [0, 0, 0]
                for who, support in prop.voters.items():
                    from_votes[support] += self.votes.getPastVotes(self.people[who], prop.snapshot)
                assert from_votes == prop.tally
            assert self.governor.state(prop.id) == self.state(prop)

    def treasury_is_conserved(self):  # D4
        assert self.token.balanceOf(self.timelock.address) == TREASURY - sum(self.paid)
        for who in self.touched:
            assert self.token.balanceOf(self.people[who]) == self.wallet[who] + self.paid[who]


@pytest.mark.parametrize("half", [1, 2])
def test_dao_invariants(dao, token, deployer, creator, operator, asker, stranger, half):
    """At least 10,000 steps in all, in two halves."""
    run_steps(lambda: DaoMachine(dao, token, [creator, operator, asker, stranger], deployer), _steps, STEPS // 2)

