"""The commons pool in the deployment, on the real chains (the embedded py-evm
chain and anvil): `init` deploys it as the ledger's commons, so settled
batches pay their machine tax into it; an older record without it gains it
once (and the ledger's commons moves to it); a lost record recovers it from
the ledger."""

from __future__ import annotations

from tantieme.chain.deploy import LOCAL_COMMONS, contract, ensure_deployed, from_ledger, load_deployment

from .records import record_without


def test_init__deploys_the_pool_as_the_ledgers_commons(node):
    deployment = node.deployment
    assert deployment.commons_pool is not None
    assert deployment.commons == deployment.commons_pool == node.ledger.functions.commons().call()
    pool = contract(node.conn, "commons_pool", deployment.commons_pool).functions
    assert (pool.token().call(), pool.registry().call(), pool.owner().call()) == (
        deployment.token, deployment.registry, node.address)
    assert (pool.bond().call(), pool.cycleDays().call(), pool.reserveBps().call(), pool.backClaimCap().call()) == (
        LOCAL_COMMONS.bond, LOCAL_COMMONS.cycle_days, LOCAL_COMMONS.reserve_bps, LOCAL_COMMONS.back_claim_cap)
    assert ensure_deployed(node.conn, local=True) == (deployment, False)


def test_record_without_the_pool__gains_it_once(node):
    """A home recorded before the pool existed, whose ledger pays the machine
    tax to a plain account: the next `ensure_deployed` deploys a pool and
    makes it the ledger's commons, once."""
    account = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
    node.conn.transact(node.ledger.functions.setCommons(account), gas=200_000)
    old = record_without(node, "commons_pool", commons=account)
    upgraded, deployed = ensure_deployed(node.conn, local=True)
    assert deployed
    assert upgraded.commons_pool not in (None, node.deployment.commons_pool)
    assert upgraded.commons == upgraded.commons_pool == node.ledger.functions.commons().call()
    assert {k: getattr(upgraded, k) for k in old if k != "commons"} == {k: v for k, v in old.items() if k != "commons"}
    assert load_deployment(node.conn) == upgraded
    assert ensure_deployed(node.conn, local=True) == (upgraded, False)


def test_from_ledger__recovers_the_pool(node):
    recovered = from_ledger(node.conn, node.deployment.ledger)
    assert recovered.commons_pool == node.deployment.commons_pool
    node.conn.transact(node.ledger.functions.setCommons(node.address), gas=200_000)
    assert from_ledger(node.conn, node.deployment.ledger).commons_pool is None  # a plain account is no pool


def test_record_without_the_pool__a_ledger_the_dao_owns_keeps_its_commons(node):
    """After the handover only a proposal can move the ledger's commons: the
    pool is deployed and recorded, the ledger is left alone."""
    node.conn.transact(node.ledger.functions.transfer_ownership(node.deployment.timelock), gas=200_000)
    record_without(node, "commons_pool")
    upgraded, deployed = ensure_deployed(node.conn, local=True)
    assert deployed and upgraded.commons_pool not in (None, node.deployment.commons_pool)
    assert upgraded.commons == node.deployment.commons == node.ledger.functions.commons().call()
