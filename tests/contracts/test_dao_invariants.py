"""The DAO as a hypothesis state machine: stakes, withdrawals, delegations,
proposals counted by tokens, quadratically or by reputation (the counting
table changes between proposals), votes, commons-pool members joining,
being invited, leaving and removed, works sold, earnings settled and
credited (the router tells the reputation votes: reputation that decays),
blocks and time, queueing and
execution, against a model; after every step (SPEC.md "DAO invariants"):

- D1 the votes of all delegates add up to the staked supply, and the
  staked-votes contract holds exactly the staked and pending tokens;
- D2 each proposal's For / Against / Abstain equal the model's: Σ stake
  (TOKEN), Σ √stake of its voters who were members at the snapshot
  (QUADRATIC), Σ their reputation at the snapshot decayed as SPEC.md
  says (REPUTATION), and equal the same sums read back from the votes,
  pool and reputation contracts; no voter without power at the snapshot;
- D3 each proposal's state and quorum are the model's (OpenZeppelin's
  rules; quorum by its counting);
- D4 the treasury (the timelock) paid exactly what executed proposals
  carried, to whom they named; the pool holds the bonds and the slashed
  bonds; no tokens appear or vanish;
- D5 members, bonds and reputation (each account's and the total, at any
  past block) are the model's; nobody has voted twice.

Every call that the model says must fail is made too, and must revert
with the exact reason and change nothing. Each step re-reads what it may
have changed (the totals and the people when tokens or votes moved, the
proposals it acted on, the state of every proposal not yet final when
blocks or time pass); `teardown` re-reads everything.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field

import boa
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from .conftest import MAX_UINT256, ONE_TOKEN
from .dao_fixtures import (
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
    pay_from_treasury,
)
from .ledger_fixtures import URI, credit_args, ledger_deployer  # noqa: F401 (fixture)
from .stateful import run_steps
from .voting_fixtures import (  # noqa: F401 (fixture)
    BOND,
    QUADRATIC,
    REPUTATION_COUNTING,
    TOKEN,
    Voting,
    decayed,
    earning,
    voting,
)

STEPS = 10_000  # at least this many steps in all (SPEC.md)
PEOPLE = 4  # people 0 and 1 own the two works at first
TREASURY = 10**9 * ONE_TOKEN
EARNED = (3 * ONE_TOKEN, ONE_TOKEN)  # what each settled batch adds to each work's earnings
TOTAL = PEOPLE  # the model's reputation key of the total
FINAL = (EXECUTED, CANCELED, DEFEATED, EXPIRED)  # no block or time changes these states
person = st.integers(0, PEOPLE - 1)
# The model's fields (`DaoMachine.model`).
MODEL = (
    "units", "delegate_of", "pending", "wallet", "paid", "history", "joined", "ended", "removed", "joined_by",
    "invited_by", "work_member", "slashed", "owner", "batches", "credited", "checkpoints", "counting",
)
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
    counting: int
    electorate: int  # members when proposed (QUADRATIC)
    tally: list[int] = field(default_factory=lambda: [0, 0, 0])  # against, for, abstain
    voters: dict[int, int] = field(default_factory=dict)  # person -> support
    canceled: bool = False
    eta: int = 0
    executed: bool = False


class DaoMachine(RuleBasedStateMachine):
    """StakedVotes + Governor + timelock, with the commons pool and the
    reputation votes its quadratic and reputation proposals read, against
    a model; one deployment (the module's, anchored) per run."""

    def __init__(self, v: Voting, people: list[str], start: dict | None = None):
        """A fresh model of the deployment as it stands, or of `start` (a
        prepared machine's `model()`, whose chain state the anchor keeps)."""
        super().__init__()
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.v = v
        self.votes, self.governor, self.timelock, self.token = v.dao.votes, v.governor, v.dao.timelock, v.world.token
        self.pool, self.reputation = v.pool, v.reputation
        self.people, self.deployer = people, v.deployer
        self.works = v.world.assets[4:]
        self.transfer = self.token.transfer.prepare_calldata(people[0], 0)[:4]
        # Staked votes.
        self.units = [0] * PEOPLE
        self.delegate_of: list[int | None] = [None] * PEOPLE
        self.pending = [(0, 0)] * PEOPLE  # (amount, unlocks at)
        self.wallet = [0] * PEOPLE  # AI tokens each person holds
        self.paid = [0] * PEOPLE  # AI tokens each person received from the treasury
        self.history: list[tuple[int, list[int]]] = []  # (block, votes per person) at each block's end
        # The commons pool.
        self.joined: list[int | None] = [None] * PEOPLE  # block of the current membership
        self.ended: list[list[tuple[int, int]]] = [[] for _ in range(PEOPLE)]  # (joined, ended) blocks
        self.removed = [False] * PEOPLE
        self.joined_by: list[int | None] = [None] * PEOPLE  # the work of a current membership
        self.invited_by: list[int | None] = [None] * PEOPLE  # the inviter of a current membership
        self.work_member: list[int | None] = [None, None]
        self.slashed = 0
        # Reputation.
        self.owner = [0, 1]  # of each work
        self.batches = 0  # settled
        self.credited = [0, 0]  # of each work, by the router
        self.checkpoints: list[list[tuple[int, int]]] = [[] for _ in range(PEOPLE + 1)]  # (block, value)
        self.counting = TOKEN  # of the treasury's `transfer`
        self.proposals: list[Prop] = []
        # What the last step may have changed; the rest cannot have moved.
        self.touched: set[int] = set()
        self.touched_proposals: set[int] = set()
        self.clock_moved = False  # blocks or time passed: open proposals may have changed state
        self.pool_touched = False
        self.earned: set[int] = set()  # whose reputation the step changed
        self.record()
        if start:
            self.__dict__.update(copy.deepcopy(start))

    def model(self) -> dict:
        """The model's state, to start other machines from."""
        return {name: value for name, value in self.__dict__.items() if name in MODEL}

    def teardown(self):
        try:
            self.touched = set(range(PEOPLE))
            self.touched_proposals = set(range(len(self.proposals)))
            self.clock_moved = self.pool_touched = True
            self.earned = set(range(PEOPLE))
            self.votes_add_up()
            self.tallies_are_past_votes()
            self.treasury_is_conserved()
            self.members_and_reputation_are_the_models()
            for prop in self.proposals:
                for who in range(PEOPLE):
                    assert self.governor.hasVoted(prop.id, self.people[who]) == (who in prop.voters)
                if prop.snapshot < self.block:
                    assert self.governor.proposalQuorum(prop.id) == self.quorum(prop)
                    for who in range(PEOPLE):
                        assert self.pool.memberAt(self.people[who], prop.snapshot) == self.member_at(who, prop.snapshot)
                        assert self.reputation.getPastVotes(self.people[who], prop.snapshot) == self.reputation_at(
                            who, prop.snapshot
                        )
                    assert self.reputation.getPastTotalSupply(prop.snapshot) == self.reputation_at(TOTAL, prop.snapshot)
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

    def member_at(self, who: int, timepoint: int) -> bool:
        """As the pool defines it: a member at the end of `timepoint` by its
        current membership or the last it ended, never removed. (Older
        memberships are forgotten: it may undercount, never overcount.)"""
        if self.removed[who]:
            return False
        if self.joined[who] is not None and self.joined[who] <= timepoint:
            return True
        return bool(self.ended[who]) and self.ended[who][-1][0] <= timepoint < self.ended[who][-1][1]

    def reputation_at(self, key: int, timepoint: int) -> int:
        """A person's (or the total's) reputation at the end of `timepoint`:
        its last checkpoint then, decayed since."""
        for block, value in reversed(self.checkpoints[key]):
            if block <= timepoint:
                return decayed(value, timepoint - block)
        return 0

    def add_reputation(self, key: int, amount: int) -> None:
        value = self.reputation_at(key, self.block) + amount
        if self.checkpoints[key] and self.checkpoints[key][-1][0] == self.block:
            self.checkpoints[key].pop()
        self.checkpoints[key].append((self.block, value))

    def pick(self, which: int) -> Prop:
        """A proposal, the newest first (the likeliest to be open)."""
        index = len(self.proposals) - 1 - which % len(self.proposals)
        self.touched_proposals.add(index)
        return self.proposals[index]

    def weight(self, prop: Prop, who: int) -> int:
        if prop.counting == REPUTATION_COUNTING:
            return self.reputation_at(who, prop.snapshot)
        votes = self.past_votes(prop.snapshot)[who]
        return math.isqrt(votes) if prop.counting == QUADRATIC else votes

    def quorum(self, prop: Prop) -> int:
        if prop.counting == REPUTATION_COUNTING:
            electorate = self.reputation_at(TOTAL, prop.snapshot)
        elif prop.counting == QUADRATIC:
            electorate = math.isqrt(sum(self.past_votes(prop.snapshot)) * prop.electorate)
        else:
            electorate = sum(self.past_votes(prop.snapshot))
        return electorate * QUORUM // 100

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
        if in_favour <= against or in_favour + abstain < self.quorum(prop):
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

    @rule(who=person, payee=person, amount=st.integers(1, 1_000),
          counting=st.sampled_from([TOKEN, REPUTATION_COUNTING, QUADRATIC]), then=st.sampled_from([0, 2, 2, 5]))
    def propose(self, who, payee, amount, counting, then):
        """A payment from the treasury, counted as the table says now (a
        passed proposal may have changed it since the last one, which
        keeps its counting); `then` blocks pass (2: voting opens)."""
        self.make_proposal(who, payee, amount, counting)
        if then:
            self.mine(then)

    def make_proposal(self, who, payee, amount, counting):
        if counting != self.counting:
            self.governor.setCounting(self.token.address, self.transfer, counting, sender=self.timelock.address)
            self.counting = counting
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
        members = sum(joined is not None for joined in self.joined)
        self.proposals.append(
            Prop(proposal, proposal_id, who, payee, amount * ONE_TOKEN, snapshot, snapshot + VOTING_PERIOD,
                 self.counting, members if self.counting == QUADRATIC else 0)
        )
        assert self.governor.proposalCounting(proposal_id) == self.counting

    @rule(which=st.integers(0, 3), who=person, support=st.sampled_from([0, 1, 2, 2, 1, 0, 3]), others=st.booleans())
    def vote(self, which, who, support, others):
        """`who` votes on a proposal (mostly an open one), and maybe
        everyone after it, the other way (some again)."""
        if not self.proposals:
            return
        active = [i for i, prop in enumerate(self.proposals) if self.state(prop) == ACTIVE]
        if active and which:  # mostly an open one
            self.touched_proposals.add(index := active[which % len(active)])
            prop = self.proposals[index]
        else:
            prop = self.pick(which)
        self.cast(prop, who, support)
        if others:
            for other in range(PEOPLE):
                self.cast(prop, other, (support + other) % 3)

    def cast(self, prop: Prop, who: int, support: int) -> None:
        account = self.people[who]
        if self.state(prop) != ACTIVE:
            reason = "governor: proposal is not active"
        elif who in prop.voters:
            reason = "governor: vote already cast"
        elif prop.counting == QUADRATIC and not self.member_at(who, prop.snapshot):
            reason = "governor: not a member at the snapshot"
        elif (weight := self.weight(prop, who)) == 0:
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
        prop = self.pick(which)
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
        prop = self.pick(which)
        if self.state(prop) != SUCCEEDED:
            with boa.reverts("governor: proposal has not succeeded"):
                self.governor.queue(*prop.proposal.args(), sender=self.people[who])
            return
        self.governor.queue(*prop.proposal.args(), sender=self.people[who])
        prop.eta = boa.env.timestamp + TIMELOCK_DELAY

    @precondition(lambda self: self.proposals)
    @rule(which=st.integers(0, 7), who=person)
    def execute(self, which, who):
        prop = self.pick(which)
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

    # ------------------------------------------------- the commons pool --

    @rule(action=st.sampled_from(["join", "invite", "leave", "remove", "sell"]), who=person, other=person)
    def membership(self, action, who, other):
        """One of the pool's moves (one rule, so that they do not crowd
        out the votes): `who` joins by work `other % 2`, invites `other`,
        leaves, is removed (persons 2 and 3 only: the others stay to vote),
        or work `who % 2` is sold to `other`."""
        if action == "join":
            self.join(who, other % 2)
        elif action == "invite":
            self.invite(who, other)
        elif action == "leave":
            self.leave(who)
        elif action == "remove":
            self.remove(2 + who % 2)
        else:
            self.sell(who % 2, other)

    def join(self, who, which):
        if self.removed[who]:
            reason = "commons_pool: account was removed"
        elif self.joined[who] is not None:
            reason = "commons_pool: already a member"
        elif self.owner[which] != who:
            reason = "commons_pool: caller does not own the work"
        elif self.work_member[which] is not None:
            reason = "commons_pool: work already admitted a member"
        else:
            self.pool.join(self.works[which], sender=self.people[who])
            self.joined[who], self.joined_by[who], self.work_member[which] = self.block, which, who
            self.touch_pool(who)
            return
        with boa.reverts(reason):
            self.pool.join(self.works[which], sender=self.people[who])

    def invite(self, who, invitee):
        self.token.mint(self.people[who], BOND, sender=self.deployer)
        self.wallet[who] += BOND
        self.touch(who)
        if self.joined[who] is None:
            reason = "commons_pool: caller is not a member"
        elif invitee == who:
            reason = "commons_pool: cannot invite oneself"
        elif self.removed[invitee]:
            reason = "commons_pool: account was removed"
        elif self.joined[invitee] is not None:
            reason = "commons_pool: already a member"
        else:
            self.pool.invite(self.people[invitee], sender=self.people[who])
            self.wallet[who] -= BOND
            self.joined[invitee], self.invited_by[invitee] = self.block, who
            self.touch_pool(invitee)
            return
        with boa.reverts(reason):
            self.pool.invite(self.people[invitee], sender=self.people[who])

    def touch_pool(self, *people: int | None) -> None:
        self.touch(*people)
        self.pool_touched = True

    def end_membership(self, who: int) -> None:
        self.ended[who].append((self.joined[who], self.block))
        self.joined[who] = None
        self.touch_pool(who, self.invited_by[who])

    def leave(self, who):
        if self.joined[who] is None:
            with boa.reverts("commons_pool: not a member"):
                self.pool.leave(sender=self.people[who])
            return
        self.pool.leave(sender=self.people[who])
        if self.joined_by[who] is not None:
            self.work_member[self.joined_by[who]] = None
        if self.invited_by[who] is not None:
            self.wallet[self.invited_by[who]] += BOND
        self.end_membership(who)
        self.joined_by[who] = self.invited_by[who] = None

    def remove(self, who):
        """The DAO removes a member for fraud: its bond is slashed, its
        work admits nobody again."""
        if self.joined[who] is None:
            with boa.reverts("commons_pool: not a member"):
                self.pool.remove(self.people[who], sender=self.pool.owner())
            return
        self.pool.remove(self.people[who], sender=self.pool.owner())
        if self.invited_by[who] is not None:
            self.slashed += BOND
        self.end_membership(who)
        self.removed[who] = True
        self.joined_by[who] = self.invited_by[who] = None

    def sell(self, which, to):
        """A work changes hands: its later earnings are the buyer's
        reputation, its membership stays with whoever joined by it."""
        seller = self.people[self.owner[which]]
        self.v.world.registry.transferFrom(seller, self.people[to], self.works[which], sender=seller)
        self.owner[which] = to

    # ---------------------------------------------------------- reputation --

    @rule(settle_next=st.booleans(), credit=st.sampled_from([[0], [1], [0, 1]]), forger=person)
    def earn_reputation(self, settle_next, credit, forger):
        """The works earn and anyone credits them: the router tells the
        reputation votes, and the owners now earn what was credited. Nobody
        else can tell them anything."""
        self.earn(settle_next, credit)
        with boa.reverts("reputation_votes: caller is not the router"):
            self.reputation.earn(self.works, [ONE_TOKEN, ONE_TOKEN], sender=self.people[forger])

    def earn(self, settle_next, credit):
        """Settle the payer's next batch (its works earn `EARNED` more) and
        credit some works from the ledger's pool, by proof: each credited
        increase is its owner's reputation now, and the total's."""
        world = self.v.world
        if settle_next or not self.batches:
            batch = earning(self.v, self.batches, dict(zip(self.works, EARNED, strict=True)))
            world.ledger.settle(batch.batch, self.v.payer.address, *batch.signature, URI, sender=world.operator)
            self.batches += 1
        tree = earning(self.v, self.batches - 1, dict(zip(self.works, EARNED, strict=True))).tree
        world.router.credit(world.ledger.assetPool(self.v.payer.address, world.operator), *credit_args(tree, credit))
        total = 0
        for which in credit:
            amount = self.batches * EARNED[which] - self.credited[which]
            if amount:
                self.add_reputation(self.owner[which], amount)
                self.earned.add(self.owner[which])
                total += amount
            self.credited[which] = self.batches * EARNED[which]
        if total:
            self.add_reputation(TOTAL, total)

    # --------------------------------------------------- blocks and time --

    @rule(blocks=st.integers(1, 2 * VOTING_PERIOD))
    def mine(self, blocks):
        boa.env.time_travel(blocks=blocks)
        self.clock_moved = True
        self.record()

    @rule(seconds=st.sampled_from([60, TIMELOCK_DELAY, WITHDRAWAL_DELAY, GRACE_PERIOD]))
    def wait(self, seconds):
        boa.env.time_travel(seconds=seconds)
        self.clock_moved = True
        self.record()

    # -------------------------------------------------------- invariants --

    @invariant()
    def after_every_step(self):
        _steps[0] += 1
        self.votes_add_up()
        self.tallies_are_past_votes()
        self.treasury_is_conserved()
        self.members_and_reputation_are_the_models()
        self.touched.clear()
        self.touched_proposals.clear()
        self.clock_moved = self.pool_touched = False
        self.earned.clear()

    def votes_add_up(self):  # D1
        if not self.touched:  # no tokens or votes moved
            return
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
            if prop.snapshot < self.block:
                assert [self.read_back(prop, support) for support in range(3)] == prop.tally
        for index, prop in enumerate(self.proposals):
            state = self.state(prop)
            if index in self.touched_proposals or (self.clock_moved and state not in FINAL):
                assert self.governor.state(prop.id) == state

    def read_back(self, prop: Prop, support: int) -> int:
        """The voters' weights at the snapshot, from the contracts they count by."""
        total = 0
        for who in (who for who, s in prop.voters.items() if s == support):
            account = self.people[who]
            if prop.counting == REPUTATION_COUNTING:
                weight = self.reputation.getPastVotes(account, prop.snapshot)
            else:
                weight = self.votes.getPastVotes(account, prop.snapshot)
                if prop.counting == QUADRATIC:  # a member then (`cast`), whatever became of it since
                    weight = math.isqrt(weight)
            assert weight > 0
            total += weight
        return total

    def treasury_is_conserved(self):  # D4
        if self.touched:  # tokens may have moved
            assert self.token.balanceOf(self.timelock.address) == TREASURY - sum(self.paid)
        for who in self.touched:
            assert self.token.balanceOf(self.people[who]) == self.wallet[who] + self.paid[who]
        if not self.pool_touched:
            return
        bonds = BOND * sum(inviter is not None for inviter in self.invited_by)
        assert self.pool.bondsHeld() == bonds
        assert self.token.balanceOf(self.pool.address) == bonds + self.slashed

    def members_and_reputation_are_the_models(self):  # D5
        if self.pool_touched:
            assert self.pool.memberCount() == sum(joined is not None for joined in self.joined)
            for who in self.touched:
                assert self.pool.members(self.people[who]).active == (self.joined[who] is not None)
        for who in self.earned:
            assert self.reputation.getVotes(self.people[who]) == self.reputation_at(who, self.block)


def prepared(v: Voting, people: list[str]) -> dict:
    """Every run starts where each way to count has voters: the treasury
    funded, everyone staked, persons 0 and 1 members by their works, person 2 invited,
    both works' earnings credited (reputation), a block later."""
    v.world.token.mint(v.dao.timelock.address, TREASURY, sender=v.deployer)
    for account in people:
        v.world.token.approve(v.pool.address, MAX_UINT256, sender=account)
    machine = DaoMachine(v, people)
    machine.anchor.__exit__(None, None, None)  # what it does here stays
    for who, amount in enumerate((100, 4, 25, 1)):
        machine.stake(who, amount)
    machine.join(0, 0)
    machine.join(1, 1)
    machine.invite(0, 2)
    machine.earn(True, [0, 1])
    machine.mine(1)
    return machine.model()


@pytest.mark.parametrize("half", [1, 2])
def test_dao_invariants(voting, half):
    """At least 10,000 steps in all, in two halves."""
    people = [*voting.people, *(boa.env.generate_address(f"dao person {i}") for i in (2, 3))]
    start = prepared(voting, people)
    run_steps(lambda: DaoMachine(voting, people, start), _steps, STEPS // 2)
