"""The dispute module in the deployment, on the embedded chain and anvil: `init` deploys it
and wires the router to it; a record written without it gains the one its router names; a lost
record recovers it from the chain."""

from __future__ import annotations

from tantieme.chain.deploy import (
    DISPUTE_TAGS,
    LOCAL_DISPUTES,
    contract,
    ensure_deployed,
    load_deployment,
    tag_bytes,
)

from .records import record_without, recovered_by_doctor


def test_init__deploys_and_wires__an_older_record_gains_it_once(node):
    deployment = node.deployment
    module = contract(node.conn, "dispute_module", deployment.disputes).functions
    assert (module.token().call(), module.registry().call(), module.router().call(), module.owner().call()) == (
        deployment.token, deployment.registry, deployment.router, node.address)
    assert (module.bond().call(), module.cancelFeeBps().call()) == (LOCAL_DISPUTES.bond, LOCAL_DISPUTES.cancel_fee_bps)
    assert all(module.allowedTags(tag_bytes(tag)).call() for tag in DISPUTE_TAGS)
    assert node.router.functions.disputeModule().call() == deployment.disputes
    assert ensure_deployed(node.conn, local=True) == (deployment, False)

    # A record written without the module: its router names it, so nothing is deployed again.
    record_without(node, "disputes")
    upgraded, changed = ensure_deployed(node.conn, local=True)
    assert changed and upgraded == deployment
    assert load_deployment(node.conn) == deployment
    assert ensure_deployed(node.conn, local=True) == (deployment, False)


def test_doctor_repair__recovers_the_dispute_module_from_the_chain(node):
    recovered_by_doctor(node, "disputes")
