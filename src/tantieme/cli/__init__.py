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


def run() -> None:
    """The `tantieme` executable: run the command, then leave without tearing the interpreter down.

    Tearing down web3, the EVM and llama.cpp object by object took a cold `ask` 0.2-0.35 s of
    CPU after its answer was printed. The command's own clean-up has run by then (files closed,
    the node and the chain closed); the streams are flushed and the exit handlers run (the
    model's memory, temporary directories), then the process ends. A thread still running
    (none of the commands leaves one) gets the usual interpreter shutdown, which waits for it.
    """
    import atexit
    import os
    import sys
    import threading

    code = app(standalone_mode=False)
    code = code if isinstance(code, int) else 0
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code)


# Importing the command modules registers their commands on `app`.
from tantieme.cli import node_cmd, assets_cmd, ai_cmd, ledger_cmd, royalties_cmd, quickstart_cmd, maint_cmd, serve_cmd, deposit_cmd, simulate_cmd, report_cmd, agent_cmd  # noqa: E402,F401,I001
from tantieme.cli import dao_cmd, commons_cmd, offers_cmd, dispute_cmd, treasury_cmd, demo_cmd  # noqa: E402,F401,I001

__all__ = ["app", "run"]
