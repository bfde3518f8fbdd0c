"""A DAO proposal's simulated effect, computed once per proposal and kept in the home.

The dashboard's proposal page shows what a proposal would change before people vote;
the default run takes about 20 s on two cores, so it is never run on a page load. The
first page that asks starts `tantieme simulate --proposal ID --json` in its own process
(the model computes in Python for seconds; the service keeps answering meanwhile) and
shows "simulating…" until it is done; every later page reads the kept document:

    TANTIEME_HOME/simulations/<chain id>-<governor>-<proposal id>.json

either the simulation's document (`tantieme simulate --json`) or `{"error": ...}` when
the proposal cannot be judged (it changes nothing the model holds). A run that fails
otherwise (the chain unreachable, ...) is remembered by this process only, so the page
does not start it again and again; a restarted service tries once more. Today's rules are
those of the chain when the run started (`computed_at`, `block`): an executed proposal
is still shown against the rules it would have replaced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tantieme.config import home
from tantieme.files import write_json

if TYPE_CHECKING:
    from tantieme.node import Node

__all__ = ["STEPS", "Effect", "effect"]

STEPS = 104
"""Weeks each run simulates (the command's default)."""

_running: set[Path] = set()
_failed: dict[Path, str] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Effect:
    """Where a proposal's simulation stands: running (`document` and `error` None), judged, or refused."""

    document: dict | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.document is None and self.error is None


def effect(node: Node, proposal_id: int, block: int) -> Effect:
    """The kept simulation of proposal `proposal_id` of `node`'s DAO (its chain at `block`), or start it (once)."""
    path = home() / "simulations" / f"{node.conn.chain_id}-{node.deployment.governor}-{proposal_id}.json"
    with _lock:
        if path in _running:
            return Effect()
        if path in _failed:
            return Effect(error=_failed[path])
        kept = _load(path)
        if kept is not None:
            return Effect(error=kept["error"]) if "error" in kept else Effect(document=kept)
        _running.add(path)
    threading.Thread(target=_run, args=(path, proposal_id, block), name=f"simulate {proposal_id}", daemon=True).start()
    return Effect()


def _run(path: Path, proposal_id: int, block: int) -> None:
    started = int(time.time())
    argv = [sys.executable, "-c", "from tantieme.cli import app; app()",
            "simulate", "--proposal", str(proposal_id), "--steps", str(STEPS), "--json"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "TANTIEME_HOME": str(home())})
        try:
            document = json.loads(done.stdout)
        except ValueError:
            document = {"error": f"the simulation stopped ({done.returncode}): {done.stderr.strip()[-300:]}"}
        if "error" not in document:
            _save(path, {**document, "computed_at": started, "block": block})
        elif document.get("kind") == "InputError":  # the proposal cannot be judged: that stays so
            _save(path, {"error": document["error"]})
        else:
            with _lock:
                _failed[path] = document["error"]
    finally:
        with _lock:
            _running.discard(path)


def _load(path: Path) -> dict | None:
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return kept if isinstance(kept, dict) else None


def _save(path: Path, document: dict) -> None:
    write_json(path, document, indent=None, durable=False)  # kept: unreadable after a crash, it runs again
