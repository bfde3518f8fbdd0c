"""The DAO from the SDK: stake AI tokens for votes, delegate, propose, vote, queue, execute.

Every call acts as `node`'s account. Each is checked against the chain before its
transaction, so a call that cannot succeed says why and what to do, and sends
nothing: voting before the snapshot has passed or after the deadline, twice, or
without votes at the snapshot; proposing below the threshold or an action that
would fail when the timelock runs it; queueing a defeated proposal; executing
before the timelock's delay. Proposals are read back from the governor's
`ProposalCreated` events and numbered from 1 in the order they were made;
`find` takes that number or the proposal's id.

Each proposal is counted one of three ways, fixed when it is made from the
governor's table of the calls it makes (`counting_table`; `set_counting` builds
the proposal that changes it): by staked tokens (the default), by creators'
reputation, or quadratically (commons-pool members at the snapshot, √ of their
staked votes); a proposal naming several takes the strictest, quadratic first.

On local chains (embedded, anvil) `wait=True` mines empty blocks up to the
block a step needs and waits out the timelock's delay (two seconds), so a
proposal runs its course in a demo; elsewhere the chain's own pace decides.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cached_property

from eth_utils import function_signature_to_4byte_selector, keccak
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from tantieme.amounts import format_amount, format_percent
from tantieme.chain.deploy import contract
from tantieme.chain.logs import event_logs
from tantieme.chain.transact import revert_reason
from tantieme.errors import ChainError, ConfigError, InputError
from tantieme.node import Node

__all__ = [
    "COUNTINGS", "STATES", "SUPPORT", "Action", "Counting", "Dao", "Member", "Proposal", "Status", "Vote",
    "call", "format_number", "format_weight", "set_commons", "set_counting", "set_split", "weight_unit",
]

STATES = ("pending", "active", "canceled", "defeated", "succeeded", "queued", "expired", "executed")
SUPPORT = ("against", "for", "abstain")
COUNTINGS = ("token", "reputation", "quadratic")  # the governor's numbers, in rising strictness
_TOKENS_ONLY = (
    "this DAO's governor was deployed before counting by reputation or quadratically: it counts every proposal "
    "by staked tokens"
)
_ROOT_OF_ONE_TOKEN = 10**9  # a quadratic weight is √(token wei): √(1 TAI) = 10**9
_MAX_BPS = 10_000
_MAX_DESCRIPTION = 4_096  # bytes (the governor's bound)
_MAX_CALLDATA = 1_024  # bytes (the timelock's bound)
_GAS = 3_000_000  # the most any DAO transaction here needs, with room


# -- actions: what a proposal asks the timelock to do ---------------------------------


@dataclass(frozen=True)
class Action:
    """One call the timelock makes when a proposal passes."""

    target: str
    value: int  # wei sent with the call
    calldata: bytes
    summary: str


def set_split(node: Node, commons_bps: int, operator_bps: int) -> Action:
    """The ledger's split: the commons pool's and the operator's shares of every batch, in basis points."""
    for name, bps in (("commons", commons_bps), ("operator", operator_bps)):
        if not 0 <= bps <= _MAX_BPS:
            raise InputError(f"the {name} share must be 0 to {_MAX_BPS:,} basis points, not {bps:,}")
    if commons_bps + operator_bps > _MAX_BPS:
        raise InputError(
            f"commons {commons_bps:,} + operator {operator_bps:,} basis points exceed {_MAX_BPS:,} (all of a batch)"
        )
    data = node.ledger.functions.setSplit(commons_bps, operator_bps)._encode_transaction_data()
    return Action(
        node.deployment.ledger, 0, bytes.fromhex(data[2:]),
        f"set the split: commons {format_percent(commons_bps)} %, operator {format_percent(operator_bps)} % "
        f"(now {format_percent(node.ledger.functions.commons_bps().call())} % and "
        f"{format_percent(node.ledger.functions.operator_bps().call())} %)",
    )


def set_commons(node: Node, commons: str) -> Action:
    """The ledger's commons pool: the account or contract that receives the machine tax."""
    data = node.ledger.functions.setCommons(commons)._encode_transaction_data()
    return Action(
        node.deployment.ledger, 0, bytes.fromhex(data[2:]),
        f"pay the machine tax to {commons} (now {node.ledger.functions.commons().call()})",
    )


def set_counting(node: Node, target: str, function: str, counting: str) -> Action:
    """How the DAO counts proposals that call `function` (a name of the deployment's contract at
    `target`, or a 0x-selector) on `target`: "token", "reputation" or "quadratic"."""
    if counting not in COUNTINGS:
        raise InputError(f"{counting!r} is not a way to count: choose {', '.join(COUNTINGS)}")
    if node.deployment.reputation_votes is None:
        raise ConfigError(_TOKENS_ONLY)
    selector = _selector(node, target, function)
    governor = contract(node.conn, "governor", node.deployment.governor)
    data = governor.functions.setCounting(target, selector, COUNTINGS.index(counting))._encode_transaction_data()
    return Action(
        governor.address, 0, bytes.fromhex(data[2:]),
        f"count proposals calling {_call_name(node, target, selector)} by {counting} votes",
    )


def call(target: str, calldata: bytes, value: int = 0) -> Action:
    """Any call, ABI-encoded already (for experts)."""
    if len(calldata) > _MAX_CALLDATA:
        raise InputError(f"the calldata is {len(calldata):,} bytes; a proposal's call takes at most {_MAX_CALLDATA:,}")
    return Action(target, value, calldata, f"call {target} with 0x{calldata[:4].hex()}…, {value} wei")


def format_weight(counting: str, weight: int) -> str:
    """A vote's weight in its counting's unit: TAI staked, reputation (token wei
    earned, decayed) or √TAI (a quadratic voice)."""
    return f"{format_number(counting, weight)} {weight_unit(counting)}"


def format_number(counting: str, weight: int) -> str:
    """A weight's number, without its unit (`weight_unit`)."""
    return format_amount(weight * _ROOT_OF_ONE_TOKEN if counting == "quadratic" else weight)


def weight_unit(counting: str) -> str:
    return {"token": "TAI", "reputation": "reputation", "quadratic": "√TAI"}[counting]


def _named_contract(node: Node, target: str) -> tuple[str, Contract] | None:
    """The deployment's contract at `target`: its field in `Deployment` (as `decode.CONTRACTS`
    names them) and its binding; None for any other address."""
    from tantieme.dao.decode import CONTRACTS

    for field, _, artifact in CONTRACTS:
        address = getattr(node.deployment, field)
        if address is not None and address.lower() == target.lower():
            return field, contract(node.conn, artifact, address)
    return None


def _selectors(bound: Contract) -> dict[str, bytes]:
    """Function name → 4-byte selector, of `bound`'s ABI."""
    return {f.fn_name: function_signature_to_4byte_selector(f.signature) for f in bound.all_functions()}


def _selector(node: Node, target: str, function: str) -> bytes:
    """`function` (a name, or 0x and 8 hex digits) as a selector of the contract at `target`."""
    if function.startswith("0x"):
        try:
            selector = bytes.fromhex(function[2:])
        except ValueError:
            selector = b""
        if len(selector) != 4:
            raise InputError(f"{function!r} is not a 4-byte selector (0x and 8 hex digits)")
        return selector
    named = _named_contract(node, target)
    if named is None:
        raise InputError(
            f"{target} is not one of this deployment's contracts: give the function as its 4-byte selector (0x…)"
        )
    field, bound = named
    known = _selectors(bound)
    if function not in known:
        raise InputError(f"the {field} has no function {function!r}; it has {', '.join(sorted(known))}")
    return known[function]


def _call_name(node: Node, target: str, selector: bytes) -> str:
    """`contract.function` when the deployment knows them, else the address and selector."""
    named = _named_contract(node, target)
    if named is not None:
        field, bound = named
        for name, known in _selectors(bound).items():
            if known == selector:
                return f"{field}.{name}"
        return f"{field} 0x{selector.hex()}"
    return f"{target} 0x{selector.hex()}"


# -- what the chain holds -------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """A proposal as the governor announced it."""

    number: int  # its place among this governor's proposals, from 1
    id: int
    proposer: str
    targets: tuple[str, ...]
    values: tuple[int, ...]
    calldatas: tuple[bytes, ...]
    description: str
    snapshot: int  # votes count as they stood at the end of this block
    deadline: int  # the last block of voting

    @property
    def args(self) -> tuple:
        """What `queue` and `execute` take."""
        return list(self.targets), list(self.values), list(self.calldatas), keccak(text=self.description)


@dataclass(frozen=True)
class Vote:
    """One vote cast, as the governor logged it."""

    voter: str
    support: str
    weight: int  # in the proposal's counting's unit (see `format_weight`)
    reason: str


@dataclass(frozen=True)
class Status:
    """Where a proposal stands."""

    proposal: Proposal
    state: str
    counting: str  # how its votes count: token, reputation or quadratic
    against: int  # votes, in the counting's unit
    for_: int
    abstain: int
    quorum: int | None  # For + Abstain needed (known once the snapshot block is past)
    eta: int | None  # when the timelock lets it run (unix time), once queued
    block: int  # the chain's latest block
    votes: tuple[Vote, ...] | None = None  # each vote, when asked for


@dataclass(frozen=True)
class Counting:
    """A row of the governor's counting table: proposals calling `function` on `target` count so."""

    target: str
    selector: bytes
    function: str  # `contract.function`, or the address and selector
    counting: str


@dataclass(frozen=True)
class Member:
    """An account's standing in the DAO."""

    address: str
    balance: int  # AI tokens held (wei)
    staked: int
    votes: int  # votes delegated to it now
    delegate: str | None
    withdrawing: int
    unlocks_at: int | None


class Dao:
    """The DAO of `node`'s deployment, acting as `node`'s account."""

    def __init__(self, node: Node) -> None:
        if node.deployment.governor is None:
            raise ConfigError("this deployment has no DAO yet: run `tantieme init` to deploy it")
        self.node = node

    @cached_property
    def votes(self) -> Contract:
        return contract(self.node.conn, "staked_votes", self.node.deployment.votes)

    @cached_property
    def governor(self) -> Contract:
        return contract(self.node.conn, "governor", self.node.deployment.governor)

    @cached_property
    def timelock(self) -> Contract:
        return contract(self.node.conn, "timelock", self.node.deployment.timelock)

    # -- votes ------------------------------------------------------------------------

    def member(self, address: str | None = None) -> Member:
        address = address or self.node.address
        v = self.votes.functions
        delegate = v.delegates(address).call()
        withdrawing, unlocks_at = v.pendingWithdrawal(address).call()
        return Member(
            address=address, balance=self.node.balance(address), staked=v.balanceOf(address).call(),
            votes=v.getVotes(address).call(), delegate=None if int(delegate, 16) == 0 else delegate,
            withdrawing=withdrawing, unlocks_at=unlocks_at or None,
        )

    def stake(self, amount: int) -> Member:
        """Stake `amount` token wei for votes (the first stake delegates them to the staker)."""
        node = self.node
        held = node.balance()
        if held < amount:
            raise InputError(
                f"{node.address} holds {format_amount(held)} TAI, less than the {format_amount(amount)} TAI to stake"
            )
        if node.token.functions.allowance(node.address, self.votes.address).call() < amount:
            self._send(node.token.functions.approve(self.votes.address, amount))
        self._send(self.votes.functions.stake(amount))
        return self.member()

    def unstake(self, amount: int) -> Member:
        """Take `amount` out of the stake: its votes go now, the tokens after the withdrawal delay."""
        staked = self.votes.functions.balanceOf(self.node.address).call()
        if amount > staked:
            raise InputError(f"{self.node.address} has {format_amount(staked)} TAI staked, less than {format_amount(amount)} TAI")
        self._send(self.votes.functions.requestWithdrawal(amount))
        return self.member()

    def withdraw(self) -> int:
        """Take back the unstaked tokens once their delay is over; returns the amount."""
        amount, unlocks_at = self.votes.functions.pendingWithdrawal(self.node.address).call()
        if amount == 0:
            raise InputError("nothing to withdraw: `tantieme dao unstake AMOUNT` first")
        if self._now() < unlocks_at:
            raise InputError(f"the {format_amount(amount)} TAI unstaked unlock at {_utc(unlocks_at)}: withdraw then")
        self._send(self.votes.functions.withdraw())
        return amount

    def delegate(self, to: str) -> Member:
        """Lend this account's votes (all of its stake, now and later) to `to`; itself to take them back."""
        if int(to, 16) == 0:
            raise InputError("votes cannot be delegated to the zero address")
        self._send(self.votes.functions.delegate(to))
        return self.member()

    # -- proposals --------------------------------------------------------------------

    def proposals(self) -> list[Proposal]:
        logs = event_logs(self.governor.events.ProposalCreated(), self.node.deployment.block)
        return [
            Proposal(
                number=n, id=e.args.proposalId, proposer=e.args.proposer, targets=tuple(e.args.targets),
                values=tuple(e.args["values"]), calldatas=tuple(bytes(c) for c in e.args.calldatas),
                description=e.args.description, snapshot=e.args.voteStart, deadline=e.args.voteEnd,
            )
            for n, e in enumerate(logs, start=1)
        ]

    def find(self, ref: int) -> Proposal:
        """The proposal numbered `ref` (from 1, as `proposals` lists them), or of id `ref`."""
        known = self.proposals()
        if 1 <= ref <= len(known):
            return known[ref - 1]
        for proposal in known:
            if proposal.id == ref:
                return proposal
        raise InputError(f"there is no proposal {ref}: `tantieme dao proposals` lists them ({len(known)} so far)")

    @property
    def counts_three_ways(self) -> bool:
        """Whether this DAO's governor has the counting table (one deployed before it counts by tokens only)."""
        return self.node.deployment.reputation_votes is not None

    def counting(self, proposal: Proposal) -> str:
        """How `proposal`'s votes count."""
        if not self.counts_three_ways:
            return "token"
        return COUNTINGS[self.governor.functions.proposalCounting(proposal.id).call()]

    def status(self, proposal: Proposal, *, votes: bool = False) -> Status:
        """Where `proposal` stands; with each vote cast (`votes`: reads the governor's logs)."""
        g = self.governor.functions
        block = self.node.conn.w3.eth.block_number
        against, for_, abstain = g.proposalVotes(proposal.id).call()
        eta = g.proposalEta(proposal.id).call()
        quorum = None
        if proposal.snapshot < block:
            quorum = (g.proposalQuorum(proposal.id) if self.counts_three_ways else g.quorum(proposal.snapshot)).call()
        return Status(
            proposal=proposal, state=STATES[g.state(proposal.id).call()], counting=self.counting(proposal),
            against=against, for_=for_, abstain=abstain, quorum=quorum, eta=eta or None, block=block,
            votes=self._votes(proposal, block) if votes else None,
        )

    def _votes(self, proposal: Proposal, block: int) -> tuple[Vote, ...]:
        """The votes cast on `proposal` (none before voting opens: the block after its snapshot)."""
        if proposal.snapshot >= block:
            return ()
        logs = event_logs(self.governor.events.VoteCast(), proposal.snapshot + 1, block)
        return tuple(
            Vote(voter=e.args.voter, support=SUPPORT[e.args.support], weight=e.args.weight, reason=e.args.reason)
            for e in logs
            if e.args.proposalId == proposal.id
        )

    def counting_table(self) -> list[Counting]:
        """The governor's counting table as its `CountingSet` events set it (calls not in it count by
        tokens); `ConfigError` for a governor without one."""
        if not self.counts_three_ways:
            raise ConfigError(_TOKENS_ONLY)
        rows: dict[tuple[str, bytes], int] = {}
        for e in event_logs(self.governor.events.CountingSet(), self.node.deployment.block):
            rows[(e.args.target, bytes(e.args.selector))] = e.args.counting
        return [
            Counting(target=t, selector=s, function=_call_name(self.node, t, s), counting=COUNTINGS[c])
            for (t, s), c in rows.items()
            if c != 0
        ]

    def voting_power(self, proposal: Proposal, voter: str) -> int:
        """`voter`'s weight on `proposal`: 0 if it had none at the snapshot. `InputError` if quadratic
        and it was no commons-pool member then (or was removed since)."""
        counting = self.counting(proposal)
        if counting == "reputation":
            reputation = contract(self.node.conn, "reputation_votes", self.node.deployment.reputation_votes)
            return reputation.functions.getPastVotes(voter, proposal.snapshot).call()
        staked = self.votes.functions.getPastVotes(voter, proposal.snapshot).call()
        if counting == "token":
            return staked
        pool = contract(self.node.conn, "commons_pool", self.governor.functions.commons().call())
        if not pool.functions.memberAt(voter, proposal.snapshot).call():
            raise InputError(
                f"proposal #{proposal.number} is counted quadratically, one voice per commons-pool member, and "
                f"{voter} was no member at its snapshot (block {proposal.snapshot}) or was removed since: join "
                "(`tantieme commons join`) before the next proposal"
            )
        return math.isqrt(staked)

    def propose(self, actions: list[Action], description: str) -> Proposal:
        """Propose that the timelock run `actions` (on contracts of the deployment: once the DAO owns them)."""
        node, g = self.node, self.governor.functions
        if not description.strip():
            raise InputError("a proposal needs a description: say what it changes and why (--description)")
        if len(description.encode()) > _MAX_DESCRIPTION:
            raise InputError(f"the description is {len(description.encode()):,} bytes; at most {_MAX_DESCRIPTION:,}")
        threshold, votes = g.proposalThreshold().call(), self.votes.functions.getVotes(node.address).call()
        if votes < threshold:
            raise InputError(
                f"proposing takes {format_amount(threshold)} TAI of votes at the previous block; {node.address} has "
                f"{format_amount(votes)}: stake (`tantieme dao stake AMOUNT`) or have votes delegated to it first"
            )
        for action in actions:
            self._owned_by_the_dao(action)
        targets, values, calldatas = [a.target for a in actions], [a.value for a in actions], [a.calldata for a in actions]
        proposal_id = g.hashProposal(targets, values, calldatas, keccak(text=description)).call()
        if any(p.id == proposal_id for p in self.proposals()):
            raise InputError("this proposal exists already (same actions and description): change the description to propose it again")
        self._send(g.propose(targets, values, calldatas, description))
        return self.find(proposal_id)

    def vote(self, proposal: Proposal, support: str, reason: str = "", *, wait: bool = False) -> Status:
        """Vote `support` ("for", "against", "abstain") with this account's votes at the snapshot."""
        g, voter = self.governor.functions, self.node.address
        if support not in SUPPORT:
            raise InputError(f"{support!r} is not a vote: choose for, against or abstain")
        self._reach(proposal.snapshot + 1, f"voting on proposal #{proposal.number} opens at block", wait)
        status = self.status(proposal)
        if status.state == "canceled":
            raise InputError(f"proposal #{proposal.number} was canceled: it takes no votes")
        if status.block >= proposal.deadline:  # the vote would land after the deadline
            raise InputError(
                f"voting on proposal #{proposal.number} closed with block {proposal.deadline}; "
                f"the chain is at block {status.block}"
            )
        if g.hasVoted(proposal.id, voter).call():
            raise InputError(f"{voter} already voted on proposal #{proposal.number}: one vote per account")
        if self.voting_power(proposal, voter) == 0:
            how = (
                "it is counted by creators' reputation, what settled answers paid their works (earned when "
                "`tantieme claim` credits them)"
                if status.counting == "reputation"
                else "votes count as staked and delegated before it; stake (`tantieme dao stake AMOUNT`) and "
                "delegate before the next proposal"
            )
            raise InputError(
                f"{voter} had no voting power at the snapshot of proposal #{proposal.number} (block "
                f"{proposal.snapshot}): {how}"
            )
        choice = SUPPORT.index(support)
        fn = g.castVoteWithReason(proposal.id, choice, reason) if reason else g.castVote(proposal.id, choice)
        self._send(fn)
        return self.status(proposal)

    def queue(self, proposal: Proposal, *, wait: bool = False) -> Status:
        """Queue a proposal that passed in the timelock; it runs once the timelock's delay is over."""
        self._reach(proposal.deadline + 1, f"voting on proposal #{proposal.number} ends after block", wait, proposal.deadline)
        status = self.status(proposal)
        if status.state != "succeeded":
            raise InputError(self._not(status, "queued"))
        self._send(self.governor.functions.queue(*proposal.args))
        return self.status(proposal)

    def execute(self, proposal: Proposal, *, wait: bool = False) -> Status:
        """Run a queued proposal's actions through the timelock, once its delay is over."""
        status = self.status(proposal)
        if status.state != "queued":
            raise InputError(self._not(status, "executed"))
        delay = status.eta - self._now()
        if delay > 0:
            if not (wait and self.node.is_local):
                raise InputError(
                    f"the timelock holds proposal #{proposal.number} until {_utc(status.eta)} ({delay} s from now): "
                    f"execute it then{self._wait_hint(wait, 'waits for it')}"
                )
            time.sleep(delay)
            self._mine(1)  # a block at the new time: the next one is stamped after the eta
        self._send(self.governor.functions.execute(*proposal.args))
        return self.status(proposal)

    # -- helpers ----------------------------------------------------------------------

    def _not(self, status: Status, step: str) -> str:
        """Why a proposal in `status` cannot be `step` (queued or executed)."""
        n, state = status.proposal.number, status.state
        if state == "defeated":
            def number(w: int) -> str:
                return format_number(status.counting, w)

            unit = weight_unit(status.counting)
            return (
                f"proposal #{n} was defeated (For {number(status.for_)}, Against {number(status.against)}, "
                f"Abstain {number(status.abstain)} {unit}; it needed more For than Against and For + Abstain "
                f"≥ the quorum of {number(status.quorum or 0)} {unit}): it cannot be {step}"
            )
        if state == "succeeded":
            return f"proposal #{n} passed but is not queued: `tantieme dao queue {n}` first"
        if state == "queued":
            return f"proposal #{n} is queued already: `tantieme dao execute {n}` from {_utc(status.eta)}"
        if state == "executed":
            return f"proposal #{n} was executed already"
        if state in ("pending", "active"):
            return f"proposal #{n} is {state}: voting ends after block {status.proposal.deadline} (now {status.block})"
        return f"proposal #{n} is {state}: it cannot be {step}"

    def _owned_by_the_dao(self, action: Action) -> None:
        """Refuse an action on a contract of the deployment whose parameters the DAO does not own yet."""
        from tantieme.dao.handover import state

        for held in state(self.node):
            if held.address == action.target and not held.dao:
                raise InputError(
                    f"the DAO does not own the {held.name} yet ({held.owner} does), so it could not "
                    f"{action.summary}: `tantieme dao handover` gives it the deployment's parameters"
                )

    def _reach(self, block: int, what: str, wait: bool, shown: int | None = None) -> None:
        """Make sure the chain is at `block` or later: mine up to it (`wait`, local chains) or refuse.

        The latest block, not the next: a transaction's gas is estimated on the one, mined in the other.
        """
        missing = block - self.node.conn.w3.eth.block_number
        if missing <= 0:
            return
        if wait and self.node.is_local:
            self._mine(missing)
            return
        now = self.node.conn.w3.eth.block_number
        raise InputError(f"{what} {block if shown is None else shown}; the chain is at block {now}{self._wait_hint(wait)}")

    def _wait_hint(self, wait: bool, does: str = "mines the blocks") -> str:
        if not self.node.is_local:
            return " (--wait works on local chains only: this one moves at its own pace)" if wait else ""
        return f" (`--wait` {does} on this local chain)"

    def _now(self) -> int:
        """The time the next block will carry: local chains follow the wall clock, or run ahead of it."""
        return max(int(time.time()), self.node.conn.w3.eth.get_block("latest")["timestamp"])

    def _mine(self, blocks: int) -> None:
        for _ in range(blocks):
            self.node.conn.w3.provider.make_request("evm_mine", [])

    def _send(self, fn) -> str:
        """Send `fn`, tried first as a call: one that would revert is refused before it is sent.

        Explicit gas, no estimate (py-evm's binary search costs ~0.2 s a transaction): a
        proposal of several calls is queued and executed by the timelock's batch functions,
        about 1.6 million gas each.
        """
        try:
            fn.call({"from": self.node.address}, block_identifier="pending")  # the block it lands in
        except ContractLogicError as e:
            raise ChainError(f"the chain refused it: {revert_reason(e)}") from None
        try:
            return self.node.conn.transact(fn, gas=_GAS)["transactionHash"].to_0x_hex()
        except ChainError as e:
            raise ChainError(f"the chain refused it: {e}") from None


def _utc(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
