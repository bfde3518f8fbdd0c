"""Where the node keeps its state: `TANTIEME_HOME` (default `~/.tantieme`); and what every node
on the machine shares: `TANTIEME_CACHE` (default `~/.cache/tantieme`)."""

from __future__ import annotations

import os
from pathlib import Path


ENV_HOME = "TANTIEME_HOME"
ENV_CACHE = "TANTIEME_CACHE"


def home() -> Path:
    """The node's home directory, created on first use."""
    path = Path(os.environ.get(ENV_HOME) or Path.home() / ".tantieme").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_root() -> Path:
    """The machine's cache of what can always be computed again (compiled contracts, weights' hashes)."""
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "tantieme").expanduser()
