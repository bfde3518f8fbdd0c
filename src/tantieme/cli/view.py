"""The read view: read commands answer without loading web3 while the chain has not moved.

A read command (`assets`, `show`, `royalties`, `balance`) is a named query whose JSON is
kept in `TANTIEME_HOME/view/`, stamped with the chain's head block hash, the node's
settings and deployments, and the journal's batches. A run reads the head cheaply (one
SQLite row of the embedded chain, or one JSON-RPC call) and answers from the view while
the stamp is unchanged. Any new block, whoever sent it, moves the head, and the stamp also holds the journal's
batches and their states (`royalties` counts the fees of settled pools), so the view
is never stale.

Every command that opened the node refreshes the recently used queries before it
closes (web3 is loaded by then; a small budget bounds the time it adds), so reads stay
fast after this node's own writes. A block from elsewhere makes the next read compute
afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tantieme import __version__
from tantieme.cli.common import open_node
from tantieme.jsonsafe import to_json
from tantieme.config import home
from tantieme.errors import TantiemeError
from tantieme.files import write_json

if TYPE_CHECKING:
    from tantieme.node import Node

# Bump when a read command's JSON changes shape.
VIEW_FORMAT = 2
# What a command may spend refreshing recently used queries before it closes the node.
REFRESH_BUDGET_S = 0.3
_RECENT = 8
# Where `tantieme.chain.embedded` keeps the chain, and py-evm's key for its head block hash.
_EMBEDDED_DB = Path("chain") / "chain.sqlite3"
_CANONICAL_HEAD_KEY = b"v1:canonical_head_hash"
_RPC_TIMEOUT_S = 2.0
# `tantieme.ledger.journal`'s database, under the home.
_JOURNAL = "ledger.db"

_QUERIES: dict[str, Callable[..., Any]] = {}


def query(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `fn(node, **args)` as the read query `name`."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _QUERIES[name] = fn
        return fn

    return register


def read(name: str, **args: Any) -> Any:
    """The JSON of query `name`: from the view if the chain has not moved, else computed."""
    path = _path(name, args)
    stamp = _stamp()
    if stamp is not None:
        kept = _load(path)
        if kept is not None and kept["stamp"] == stamp:
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: refreshed by the next command that opens the node
            return kept["data"]
    with open_node(readonly=True) as node:
        data, cost = _compute(node, name, args)
        if stamp is not None and _stamp() == stamp:  # nothing moved while computing
            _save(path, name, args, stamp, data, cost)
    return data


def refresh(node: Node) -> None:
    """Recompute the recently used queries for the chain as it is now, within the budget."""
    stamp = _stamp()
    if stamp is None:
        return
    entries = sorted((home() / "view").glob("*.json"), key=_mtime, reverse=True)[:_RECENT]
    spent, fresh = 0.0, []
    for path in entries:
        kept = _load(path)
        if kept is None or kept["stamp"] == stamp or kept["name"] not in _QUERIES:
            continue
        if spent + kept["cost_s"] > REFRESH_BUDGET_S:
            break
        try:
            data, cost = _compute(node, kept["name"], kept["args"])
        except TantiemeError:
            path.unlink(missing_ok=True)  # e.g. an owner that no longer parses: read afresh
            continue
        spent += cost
        fresh.append((path, kept, data, cost))
    if _stamp() == stamp:  # nothing moved while refreshing
        for path, kept, data, cost in fresh:
            _save(path, kept["name"], kept["args"], stamp, data, cost)


def head(settings: dict) -> str | None:
    """The head block hash of the node's chain, read without web3; None if it cannot be read."""
    if settings.get("chain") == "embedded":
        db = home() / _EMBEDDED_DB
        if not db.is_file():
            return None
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT value FROM kv WHERE key = ?", (_CANONICAL_HEAD_KEY,)).fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            return None
        return "0x" + bytes(row[0]).hex() if row else None
    import urllib.request  # only for a JSON-RPC node: the embedded chain needs none of it

    url = settings.get("rpc_url") or os.environ.get("TANTIEME_RPC_URL")
    if not url or not url.startswith(("http://", "https://")):
        return None
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["latest", False]})
    request = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=_RPC_TIMEOUT_S) as response:
            return json.loads(response.read())["result"]["hash"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _compute(node: Node, name: str, args: dict) -> tuple[Any, float]:
    start = time.perf_counter()
    data = to_json(_QUERIES[name](node, **args))
    return data, time.perf_counter() - start


def _path(name: str, args: dict) -> Path:
    key = json.dumps([name, args], sort_keys=True)
    return home() / "view" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def _load(path: Path) -> dict | None:
    try:
        kept = json.loads(path.read_text())
        if isinstance(kept, dict) and {"name", "args", "stamp", "data", "cost_s"} <= kept.keys():
            return kept
    except (OSError, ValueError):
        pass
    return None


def _save(path: Path, name: str, args: dict, stamp: str, data: Any, cost: float) -> None:
    """Keep an answer; a view that cannot be written (a read-only home) is simply not kept."""
    try:
        write_json(path, {"name": name, "args": args, "stamp": stamp, "data": data, "cost_s": cost}, indent=None,
                   durable=False)  # a cache: unreadable after a crash, it is computed again
    except OSError:
        pass


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _stamp() -> str | None:
    """What the view's answers depend on: the head, the node's settings and deployments."""
    root = home()
    try:
        settings_bytes = (root / "node.json").read_bytes()
        settings = json.loads(settings_bytes)
    except (OSError, ValueError):
        return None
    if not isinstance(settings, dict):
        return None
    block = head(settings)
    if block is None:
        return None
    digest = hashlib.sha256(f"{__version__}/{VIEW_FORMAT}/{block}".encode() + settings_bytes)
    for path in sorted((root / "deployments").glob("*.json")):
        digest.update(path.name.encode() + path.read_bytes())
    digest.update(_journal_batches(root / _JOURNAL).encode())
    return digest.hexdigest()


def _journal_batches(path: Path) -> str:
    """The journal's batches and their states: `royalties` counts the settled pools' fees."""
    if not path.is_file():
        return ""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT id, status FROM batches ORDER BY id").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return "unreadable"
    return ",".join(f"{batch}:{status}" for batch, status in rows)
