"""AgentReputation as a state machine: paid feedback against a Python model.

Two paying clients (one also paying over x402), a Sybil that never paid and
the agent's own node prove records, rate them, revoke and respond, in any
order, for two agents. After every step, what it changed (the agent's
summaries over every client for the tags its feedback carries, its new
client, the rater's last index, the response count), and for both agents
at the end of each run everything (every tag's summary, the clients, every
caller's last index, the response count), equal the model's; every call
the model refuses reverts with the reason it names (`SPEC.md`
"AgentReputation").
"""

from __future__ import annotations

from collections import defaultdict

import boa
import pytest
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from .agent_fixtures import deposit_paid, market, model_summary, node, rival_node, x402_paid  # noqa: F401 (fixtures)
from .conftest import ZERO_ADDRESS
from .ledger_fixtures import commons_pool, ledger_deployer, payer_b  # noqa: F401 (fixtures)
from .stateful import run_steps

STEPS = 10_000  # at least this many steps in all (SPEC.md)
TAGS = ("", "starred", "uptime")

_steps = [0]
_rated = [0]  # feedback the registry accepted, over all runs


@pytest.fixture(scope="module")
def stock(market, payer, payer_b):
    """Paid records, none proved: twelve per client in deposit mode and four
    of `payer`'s over x402, as (client index, Paid)."""
    return (
        [(0, paid) for paid in deposit_paid(market, payer, 12)]
        + [(1, paid) for paid in deposit_paid(market, payer_b, 12)]
        + [(0, paid) for paid in x402_paid(market, payer, 4)]
    )


class ReputationMachine(RuleBasedStateMachine):
    """The registry against a model; one anchored state per run."""

    def __init__(self, market, stock, callers: list[str]):
        super().__init__()
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.m, self.stock, self.callers = market, stock, callers  # payer, payer_b, sybil, node
        self.agents = [market.agent, market.rival]
        self.proven: dict[bytes, tuple[int, int]] = {}  # digest → (caller, agent)
        self.rated: set[bytes] = set()
        # agent → caller → [[value, decimals, tag, revoked, responses]]
        self.feedback = defaultdict(lambda: defaultdict(list))
        self.clients = defaultdict(list)
        # What the last step changed, per agent: "clients", "responses",
        # ("tag", tag) summaries and ("index", caller) last indexes.
        self.dirty: dict[int, set] = defaultdict(set)

    def teardown(self):
        try:
            everything = {"clients", "responses", *(("tag", tag) for tag in TAGS), *(("index", c) for c in range(4))}
            for agent in (0, 1):
                self.check(agent, everything)
        finally:
            self.anchor.__exit__(None, None, None)

    def refused(self, caller: int, agent: int) -> str | None:
        """Why the registry refuses this caller anything on this agent, if it does."""
        return "reputation: self-feedback not allowed" if caller == 3 and agent == 0 else None

    @rule(caller=st.integers(0, 3), which=st.integers(0, 27), agent=st.integers(0, 1), by_payer=st.booleans())
    def prove(self, caller, which, agent, by_payer):
        """Anyone proves a record for either agent; half the time its payer
        for the node's agent (random picks rarely line up). One rule for
        both: a proof costs the registry its record digest and proof check
        whatever the outcome, the machine's dearest step."""
        client, paid = self.stock[which]
        if by_payer:
            caller, agent = client, 0
        reason = self.refused(caller, agent)
        if reason is None and agent == 1:
            reason = "reputation: record of another agent"
        if reason is None and caller != client:
            reason = "reputation: caller is not the payer"
        if reason is None and paid.digest in self.proven:
            reason = "reputation: payment already proved"
        if reason:
            with boa.reverts(reason):
                paid.prove(self.m, self.callers[caller], agent=self.agents[agent])
            return
        assert paid.prove(self.m, self.callers[caller], agent=self.agents[agent]) == paid.digest
        self.proven[paid.digest] = (caller, agent)  # read back by `rate`, which accepts exactly these

    @rule(caller=st.integers(0, 3), which=st.integers(0, 28), agent=st.integers(0, 1),
          value=st.integers(-(10**38), 10**38) | st.integers(-100, 100), decimals=st.integers(0, 18),
          tag=st.sampled_from(TAGS))
    def give(self, caller, which, agent, value, decimals, tag):
        digest = self.stock[which][1].digest if which < 28 else keccak(b"a record nobody paid")
        self.rate(caller, digest, agent, value, decimals, tag)

    @precondition(lambda self: any(digest not in self.rated for digest in self.proven))
    @rule(pick=st.integers(0, 27), value=st.integers(-100, 100), decimals=st.integers(0, 2), tag=st.sampled_from(TAGS))
    def give_paid(self, pick, value, decimals, tag):
        """The payer of a proved, unrated record rates it (random picks rarely line up)."""
        waiting = [digest for digest in self.proven if digest not in self.rated]
        digest = waiting[pick % len(waiting)]
        caller, agent = self.proven[digest]
        self.rate(caller, digest, agent, value, decimals, tag)

    def rate(self, caller: int, digest: bytes, agent: int, value: int, decimals: int, tag: str) -> None:
        """`giveFeedback` for `digest`, refused exactly when the model refuses it."""
        reason = self.refused(caller, agent)
        if reason is None and digest in self.rated:
            reason = "reputation: interaction already rated"
        if reason is None and self.proven.get(digest) != (caller, agent):
            reason = "reputation: no paid interaction"
        args = (self.agents[agent], value, decimals, tag, "", "", "", digest)
        if reason:
            with boa.reverts(reason):
                self.m.reputation.giveFeedback(*args, sender=self.callers[caller])
            return
        self.m.reputation.giveFeedback(*args, sender=self.callers[caller])
        self.rated.add(digest)
        _rated[0] += 1
        if caller not in self.clients[agent]:
            self.clients[agent].append(caller)
            self.dirty[agent].add("clients")
        self.feedback[agent][caller].append([value, decimals, tag, False, 0])
        self.dirty[agent] |= {("tag", ""), ("tag", tag), ("index", caller)}

    @rule(caller=st.integers(0, 3), agent=st.integers(0, 1), index=st.integers(0, 4))
    def revoke(self, caller, agent, index):
        rows = self.feedback[agent][caller]
        reason = (
            "reputation: feedback index is zero" if index == 0
            else "reputation: feedback index out of bounds" if index > len(rows)
            else "reputation: feedback already revoked" if rows[index - 1][3] else None
        )
        if reason:
            with boa.reverts(reason):
                self.m.reputation.revokeFeedback(self.agents[agent], index, sender=self.callers[caller])
            return
        self.m.reputation.revokeFeedback(self.agents[agent], index, sender=self.callers[caller])
        rows[index - 1][3] = True
        self.dirty[agent] |= {("tag", ""), ("tag", rows[index - 1][2])}

    @rule(responder=st.integers(0, 3), client=st.integers(0, 3), agent=st.integers(0, 1), index=st.integers(0, 3))
    def respond(self, responder, client, agent, index):
        rows = self.feedback[agent][client]
        args = (self.agents[agent], self.callers[client], index, "ipfs://response", bytes(32))
        if index == 0 or index > len(rows):
            with boa.reverts("reputation: feedback index is zero" if index == 0 else "reputation: feedback index out of bounds"):
                self.m.reputation.appendResponse(*args, sender=self.callers[responder])
            return
        self.m.reputation.appendResponse(*args, sender=self.callers[responder])
        rows[index - 1][4] += 1
        self.dirty[agent].add("responses")

    @invariant()
    def registry_matches_the_model(self):
        """What a step changed (a refused call changes nothing: `teardown`
        checks everything of both agents at the end of each run)."""
        _steps[0] += 1
        for agent, parts in sorted(self.dirty.items()):
            self.check(agent, parts)
        self.dirty.clear()

    def check(self, agent: int, parts: set) -> None:
        reputation, agent_id = self.m.reputation, self.agents[agent]
        if "clients" in parts:
            assert list(reputation.getClients(agent_id)) == [self.callers[c] for c in self.clients[agent]]
        rows = [
            (self.callers[c], value, decimals, tag, "", revoked)
            for c in range(4) for value, decimals, tag, revoked, _ in self.feedback[agent][c]
        ]
        for tag in TAGS:
            if ("tag", tag) in parts:
                assert reputation.getSummary(agent_id, self.callers, tag, "") == model_summary(rows, self.callers, tag, "")
        if "responses" in parts:
            assert reputation.getResponseCount(agent_id, ZERO_ADDRESS, 0, []) == sum(
                row[4] for c in range(4) for row in self.feedback[agent][c]
            )
        for c, caller in enumerate(self.callers):  # the Sybil (2) never paid: its index stays 0
            if ("index", c) in parts:
                assert reputation.getLastIndex(agent_id, caller) == len(self.feedback[agent][c])


def test_reputation_invariants(market, stock, payer, payer_b):
    callers = [payer.address, payer_b.address, boa.env.generate_address("sybil"), market.node.address]
    _rated[0] = 0
    run_steps(lambda: ReputationMachine(market, stock, callers), _steps, STEPS)
    # The accepting path is exercised, not only the refusals.
    assert _rated[0] >= STEPS // 100, _rated[0]
