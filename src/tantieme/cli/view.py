"""The read view: read commands answer without loading web3 while the chain has not moved.

A read command (`assets`, `show`, `royalties`, `balance`) computes its JSON from the
chain once and keeps it in `TANTIEME_HOME/view/`, stamped with the chain's head block
hash and the node's settings and deployments. The next run reads the head cheaply (one
SQLite row of the embedded chain, or one JSON-RPC call) and reuses the JSON while the
stamp is unchanged. Any new block, whoever sent it, moves the head, so the view is
never stale: the first read after a change computes afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tantieme import __version__
from tantieme.cli.common import open_node
from tantieme.cli.output import to_json
from tantieme.config import home

if TYPE_CHECKING:
    from tantieme.node import Node

# Bump when a read command's JSON changes shape.
VIEW_FORMAT = 1
# Where `tantieme.chain.embedded` keeps the chain, and py-evm's key for its head block hash.
_EMBEDDED_DB = Path("chain") / "chain.sqlite3"
_CANONICAL_HEAD_KEY = b"v1:canonical_head_hash"
_RPC_TIMEOUT_S = 2.0


def read(query: str, compute: Callable[[Node], Any]) -> Any:
    """The JSON of `query`: from the view if the chain has not moved, else `compute(node)`."""
    stamp = _stamp()
    path = home() / "view" / f"{hashlib.sha256(query.encode()).hexdigest()[:24]}.json"
    if stamp is not None:
        try:
            kept = json.loads(path.read_text())
            if kept["stamp"] == stamp and kept["query"] == query:
                return kept["data"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    with open_node() as node:
        data = to_json(compute(node))
    if stamp is not None and _stamp() == stamp:  # nothing moved while computing
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".view-")
        with os.fdopen(fd, "w") as handle:
            json.dump({"query": query, "stamp": stamp, "data": data}, handle)
        os.replace(tmp, path)
    return data


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
    return digest.hexdigest()
