"""The offer registry in the deployment, on the embedded chain and anvil: `init` deploys it
over the agent identity registry; an older record without it gains it once; a lost record
recovers it from the chain."""

from __future__ import annotations

from tantieme.chain.deploy import contract, ensure_deployed, find_offers, load_deployment

from .records import record_without, recovered_by_doctor


def test_init__deploys_and_wires__an_older_record_gains_it_once(node):
    deployment = node.deployment
    offers = contract(node.conn, "offer_registry", deployment.offers).functions
    assert (offers.identityRegistry().call(), offers.assetRegistry().call()) == (deployment.identity, deployment.registry)
    assert offers.activeCount().call() == 0
    assert ensure_deployed(node.conn, local=True) == (deployment, False)

    # A record written before the offer registry: it gains one, once, over its identity registry.
    old = record_without(node, "offers")
    upgraded, deployed = ensure_deployed(node.conn, local=True)
    assert deployed
    assert {k: getattr(upgraded, k) for k in old} == old  # nothing else is deployed again
    assert upgraded.offers not in (None, deployment.offers)
    assert contract(node.conn, "offer_registry", upgraded.offers).functions.identityRegistry().call() == old["identity"]
    assert load_deployment(node.conn) == upgraded
    assert ensure_deployed(node.conn, local=True) == (upgraded, False)
    # Two registries over the same identity registry now: recovery takes the first deployed.
    assert find_offers(node.conn, deployment.identity, deployment.registry, deployment.block) == deployment.offers

    # A record written before the agent registries: the offers go over the new identity registry.
    record_without(node, "offers", "identity", "reputation")
    upgraded, deployed = ensure_deployed(node.conn, local=True)
    assert deployed and upgraded.identity not in (None, deployment.identity)
    assert contract(node.conn, "offer_registry", upgraded.offers).functions.identityRegistry().call() == upgraded.identity


def test_doctor_repair__recovers_the_offer_registry_from_the_chain(node):
    recovered_by_doctor(node, "offers")
