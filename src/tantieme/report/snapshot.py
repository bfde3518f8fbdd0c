"""Read a node's `fairness.Snapshot`: its journal's records, and the chain's figures.

A settled batch is taken as the chain holds it: its `BatchSettled` event (commons
fee, operator fee, total, transaction) must match what the journal's records net
to, or the report refuses to guess. Records not settled yet are split as their
signed batch says, or while pending as the ledger's current rule would split them.
What the router holds claimable and has paid out per asset is read from the chain, and
so is the commons pool (`tantieme.commons.status`; its dividends paid from its `Claimed` events)
and which assets are disputed (the dispute module's `DisputeUpheld` and `TagCleared` events).

The registry's assets, the router's claims, the ledger's settlements and the disputed
assets are kept per head block (`tantieme.chain.headcache`): a dashboard read again
before the next block makes none of those calls. The commons pool's figures depend on
the day, so they are read each time.
"""

from __future__ import annotations

import time

from tantieme import commons, disputes
from tantieme.assets.registry import all_assets
from tantieme.chain.headcache import at_head
from tantieme.chain.logs import event_logs
from tantieme.errors import LedgerError
from tantieme.ledger.journal import Journal
from tantieme.ledger.netting import net
from tantieme.ledger.settlement import current_rules
from tantieme.node import Node
from tantieme.report.fairness import Answer, Batch, Commons, Snapshot

__all__ = ["read"]


def read(node: Node, book: Journal, now: int | None = None) -> Snapshot:
    """The snapshot of `node`'s journal `book` on its chain, at `now` (default: the time)."""
    chain_id, ledger = node.conn.chain_id, node.deployment.ledger
    settled_logs = at_head(node, "report: settled batches", lambda: {
        log["args"]["batch_id"]: log
        for log in event_logs(node.ledger.events.BatchSettled(), node.deployment.block)
    })
    commons, commons_bps, operator_bps = current_rules(node)
    answers: list[Answer] = []
    batches: dict[str, Batch] = {}
    rows = [r for r in reversed(book.records()) if r.chain_id == chain_id and r.ledger == ledger]
    members: dict[str, list] = {}
    for row in rows:
        record = row.signed.record
        if row.batch_id is None:
            key = f"pending {record.payer} {record.operator}"
            batches.setdefault(key, Batch(key, commons_bps, operator_bps, commons, settled=False))
        else:
            key = f"journal {row.batch_id}"
            if key not in batches:
                batches[key] = _batch(node, book, row.batch_id, settled_logs)
        answers.append(Answer(row.digest, record, batches[key].key, row.question))
        members.setdefault(batches[key].key, []).append(record)
    batches = {b.key: b for b in batches.values()}
    for key, batch in batches.items():
        if batch.settled:
            _check_against_chain(batch, members[key], settled_logs[batch.chain_batch_id])
    assets = at_head(node, "report: assets", lambda: all_assets(node))
    router = node.router.functions
    return Snapshot(
        now=int(time.time()) if now is None else now,
        answers=answers,
        batches=batches,
        assets=assets,
        claimable=at_head(node, "report: claimable", lambda: {a.id: router.claimable(a.id).call() for a in assets}),
        claimed=at_head(node, "report: claimed", lambda: _claimed(node)),
        commons=_commons(node),
        disputed=at_head(node, "report: disputed", lambda: disputes.tags_now(node)),
    )


def _claimed(node: Node) -> dict[int, int]:
    """What the router paid out per asset (its `Claimed` events)."""
    claimed: dict[int, int] = {}
    for log in event_logs(node.router.events.Claimed(), node.deployment.block):
        asset = log["args"]["asset_id"]
        claimed[asset] = claimed.get(asset, 0) + log["args"]["amount"]
    return claimed


def _commons(node: Node) -> Commons | None:
    if node.deployment.commons_pool is None:
        return None
    state = commons.status(node)
    paid = [log["args"]["amount"]
            for log in event_logs(commons.pool(node).events.Claimed(), node.deployment.block)]
    return Commons(
        pool=state.pool, receives_the_tax=state.receives_the_tax, balance=state.balance, funds=state.funds,
        bonds_held=state.bonds_held, members=state.members, day=state.day, today_amount=state.daily_amount,
        paid=sum(paid), claims=len(paid),
    )


def _batch(node: Node, book: Journal, batch_id: int, settled_logs: dict) -> Batch:
    row = book.batch(batch_id)
    signed = row.signed.batch
    log = settled_logs.get(row.chain_batch_id) if row.status == "settled" else None
    if log is None:
        return Batch(f"signed {row.id}", signed.commons_bps, signed.operator_bps, signed.commons, settled=False)
    tx = log["transactionHash"].to_0x_hex()
    gas = at_head(node, ("report: gas", tx), lambda: node.conn.w3.eth.get_transaction_receipt(tx)["gasUsed"])
    return Batch(
        f"#{row.chain_batch_id}", signed.commons_bps, signed.operator_bps, signed.commons, settled=True,
        chain_batch_id=row.chain_batch_id, tx_hash=tx, gas=gas,
    )


def _check_against_chain(batch: Batch, records: list, log) -> None:
    netted = net(records, batch.commons_bps, batch.operator_bps)
    args = log["args"]
    ours = (len(records), netted.total, netted.split.commons, netted.split.operator)
    chain = (args["count"], args["total"], args["commons"], args["operator_fee"])
    if ours != chain:
        raise LedgerError(
            f"batch {batch.key} on chain (records, total, commons, operator: {chain}) differs from this "
            f"node's journal ({ours}): the journal is not this chain's; see `tantieme doctor`"
        )
