"""Running the `tantieme` command in this process, as a user would type it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tantieme.cli import app

runner = CliRunner()


def run(*args: str, ok: bool = True):
    """Run `tantieme ARGS`; assert it succeeded (or, with ok=False, that it failed)."""
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def run_json(*args: str, ok: bool = True):
    """Run `tantieme ARGS --json` and parse its one JSON document."""
    return json.loads(run(*args, "--json", ok=ok).stdout)
