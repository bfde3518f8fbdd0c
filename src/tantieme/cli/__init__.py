"""The `tantieme` command line: a thin layer over the library.

Each command module registers its commands on `app`; domain errors become clean
messages and exit code 1, anything else is a bug and propagates.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tantieme",
    help="Fair, verifiable AI: answers from consenting works, paid and anchored on chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Importing the command modules registers their commands on `app`.
from tantieme.cli import ai_cmd, assets_cmd, ledger_cmd, maint_cmd, node_cmd, quickstart_cmd, royalties_cmd  # noqa: E402,F401

__all__ = ["app"]
