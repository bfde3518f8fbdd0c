"""The offer registry in the deployment, on the embedded chain and anvil: `init` deploys it
over the agent identity registry; an older record without it gains it once; a lost record
recovers it from the chain."""

from __future__ import annotations

import json

from tantieme.chain.deploy import contract, deployment_path, ensure_deployed, find_offers, load_deployment
from tantieme.maintenance import doctor
from tantieme.node import Node


def test_init__deploys_and_wires__an_older_record_gains_it_once(node):
    deployment = node.deployment
    offers = contract(node.conn, "offer_registry", deployment.offers).functions
    assert (offers.identityRegistry().call(), offers.assetRegistry().call()) == (deployment.identity, deployment.registry)
    assert offers.activeCount().call() == 0
    assert ensure_deployed(node.conn, local=True) == (deployment, False)

    # A record written before the offer registry: it gains one, once, over its identity registry.
    path = deployment_path(node.conn.chain_id)
    old = {k: v for k, v in json.loads(path.read_text()).items() if k != "offers"}
    path.write_text(json.dumps(old))
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
    path.write_text(json.dumps({k: v for k, v in old.items() if k not in ("identity", "reputation")}))
    upgraded, deployed = ensure_deployed(node.conn, local=True)
    assert deployed and upgraded.identity not in (None, deployment.identity)
    assert contract(node.conn, "offer_registry", upgraded.offers).functions.identityRegistry().call() == upgraded.identity


def test_doctor_repair__recovers_the_offer_registry_from_the_chain(node):
    deployment_path(node.conn.chain_id).unlink()
    node.close()
    assert {f.name: f for f in doctor.run(repair=True).findings}["deployment"].repaired
    with Node.open() as reopened:
        assert reopened.deployment.offers == node.deployment.offers
        assert ensure_deployed(reopened.conn, local=True)[1] is False
