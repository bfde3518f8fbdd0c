"""Chain reads kept while the chain's head block stays the same, in this process.

A long-running process (`tantieme serve`) reads the same views again and again: the
report reads every asset of the registry (about ten calls each), the router's claims,
the ledger's settlements. `at_head(node, key, read)` runs `read()` once per head
block of `node`'s chain and keeps its value until the head moves. Any new block,
whoever sent it, moves the head hash (a re-organised chain too), so a kept value is
never older than the chain it answers for. One head is kept per deployment: the
values of an older head are dropped when a newer one is seen.

Not for values that change without a block (what a call computes from the wall
clock, such as the commons pool's day): read those afresh.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, TypeVar

from tantieme.config import home

if TYPE_CHECKING:
    from tantieme.node import Node

__all__ = ["at_head", "clear"]

T = TypeVar("T")

# (home, chain id, ledger address) → (head block hash, {key: value}). The home is part of the
# key because values may hold what the home keeps beside the chain (assets' titles).
_kept: dict[tuple[str, int, str], tuple[bytes, dict[Hashable, object]]] = {}
_lock = threading.Lock()


def at_head(node: Node, key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, run once per head block of `node`'s chain (and deployment) in this process."""
    head = bytes(node.conn.w3.eth.get_block("latest")["hash"])
    where = (str(home()), node.conn.chain_id, node.deployment.ledger)
    with _lock:
        kept_head, values = _kept.get(where, (b"", {}))
        if kept_head != head:
            values = {}
            _kept[where] = (head, values)
        if key in values:
            return values[key]  # type: ignore[return-value]
    value = read()  # outside the lock: other keys are read meanwhile; a read begun at this head sees it or a later one
    with _lock:
        if _kept.get(where, (b"",))[0] == head:
            values[key] = value
    return value


def clear() -> None:
    """Forget every kept value (tests; a process that switches homes)."""
    with _lock:
        _kept.clear()
