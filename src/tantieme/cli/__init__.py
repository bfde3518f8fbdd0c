"""The `tantieme` command line: a thin layer over the library.

Each command module registers its commands on `app`, and imports the library
inside the commands that need it: `tantieme --help`, shell completion and the
read commands start without loading web3, the EVM or a model. Errors are
handled once, in `output.Group`: one line (or one JSON document) per error.
"""

from __future__ import annotations

import typer

from tantieme import __version__
from tantieme.cli.output import Group

app = typer.Typer(
    name="tantieme",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"tantieme {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Fair, verifiable AI: answers from consenting works, paid and anchored on chain.

    Start with `tantieme init`, or see everything at work with `tantieme quickstart`.
    """


# Importing the command modules registers their commands on `app`.
from tantieme.cli import node_cmd, assets_cmd, ai_cmd, ledger_cmd, royalties_cmd, quickstart_cmd, maint_cmd, serve_cmd, deposit_cmd, simulate_cmd, report_cmd, agent_cmd  # noqa: E402,F401,I001
from tantieme.cli import dao_cmd, commons_cmd, offers_cmd, dispute_cmd, treasury_cmd, demo_cmd  # noqa: E402,F401,I001

__all__ = ["app"]
