"""Who profits from a node's answers: fairness analytics (`fairness`, pure) over a snapshot
of the journal and the chain (`snapshot`); `tantieme report` and the dashboard show it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tantieme.node import Node

__all__ = ["report"]


def report(node: Node, periods: Sequence[str] | None = None, works_period: str = "all", now: int | None = None) -> dict:
    """The fairness report of `node` (see `fairness.summary`): amounts in token wei as
    decimal strings, settled figures as the chain holds them."""
    from tantieme.ledger.journal import journal
    from tantieme.report import fairness, snapshot

    book = journal()
    try:
        snap = snapshot.read(node, book, now)
    finally:
        book.close()
    data = fairness.summary(snap, periods or tuple(fairness.PERIODS), works_period)
    return {"chain_id": node.conn.chain_id, "ledger": node.deployment.ledger, **data}
