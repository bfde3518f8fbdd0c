"""The ERC-8004 agent registries in the deployment, on the embedded chain and anvil: `init`
deploys and wires them once; an older record without them gains them; a lost record
recovers them from the chain."""

from __future__ import annotations

from tantieme.chain.deploy import contract, ensure_deployed, find_agents, from_ledger, load_deployment

from .records import record_without, recovered_by_doctor

AGENTS = ("identity", "reputation")


def test_init__deploys_and_wires_the_agent_registries(node):
    deployment = node.deployment
    identity = contract(node.conn, "agent_identity", deployment.identity).functions
    reputation = contract(node.conn, "agent_reputation", deployment.reputation).functions
    assert (identity.name().call(), identity.totalSupply().call()) == ("tantieme Agent Identity", 0)
    assert reputation.getIdentityRegistry().call() == deployment.identity
    assert (reputation.ledger().call(), reputation.token().call()) == (deployment.ledger, deployment.token)
    assert ensure_deployed(node.conn, local=True) == (deployment, False)


def test_record_without_the_agent_registries__gains_them_once(node):
    old = record_without(node, *AGENTS)
    upgraded, deployed = ensure_deployed(node.conn, local=True)
    assert deployed
    assert {k: getattr(upgraded, k) for k in old} == old  # the DAO is not deployed again
    assert None not in (upgraded.identity, upgraded.reputation) and upgraded.identity != node.deployment.identity
    assert load_deployment(node.conn) == upgraded
    assert ensure_deployed(node.conn, local=True) == (upgraded, False)
    # Two registries over the same ledger now: recovery takes the first deployed.
    assert find_agents(node.conn, node.deployment.ledger, node.deployment.block).identity == node.deployment.identity


def test_doctor_repair__recovers_the_agent_registries_from_the_chain(node):
    assert all(getattr(from_ledger(node.conn, node.deployment.ledger), k) is None for k in AGENTS)
    recovered_by_doctor(node, *AGENTS)
