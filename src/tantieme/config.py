"""Where the node keeps its state: `TANTIEME_HOME` (default `~/.tantieme`)."""

from __future__ import annotations

import os
from pathlib import Path


ENV_HOME = "TANTIEME_HOME"


def home() -> Path:
    """The node's home directory, created on first use."""
    path = Path(os.environ.get(ENV_HOME) or Path.home() / ".tantieme").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
