"""How commands print: rich for people, one JSON document for scripts, one line per error.

Errors are handled here for every command (`Group.main`): a usage error (unknown
option, bad value) exits 2 and a `TantiemeError` exits 1, each as one line on
stderr, or with `--json` as one JSON document `{"error", "kind"}` on stdout.
Anything else is a bug: one line saying so (exit 70), or the traceback when
`TANTIEME_DEBUG` is set (the tests set it, so bugs fail them).

JSON never holds a number that JavaScript would round (`tantieme.jsonsafe`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from tantieme.errors import TantiemeError
from tantieme.jsonsafe import to_json

console = Console()
err_console = Console(stderr=True)

JsonOption = typer.Option(False, "--json", help="Print one machine-readable JSON document.")

DEBUG_ENV = "TANTIEME_DEBUG"
EXIT_USAGE = 2
EXIT_BUG = 70


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print `data` as JSON, or hand it to `render` for people."""
    if as_json:
        sys.stdout.write(json.dumps(to_json(data), indent=2) + "\n")
    else:
        render(data)


def waiting(message: str) -> None:
    """Tell the user, on stderr, why a command has not started yet (one line)."""
    err_console.print(f"[yellow]{message}…[/]", soft_wrap=True)


def fail(message: str, kind: str, as_json: bool) -> None:
    """Report an error: one line on stderr, or one JSON document on stdout."""
    if as_json:
        sys.stdout.write(json.dumps({"error": message, "kind": kind}) + "\n")
    else:
        line = " ".join(message.split())
        err_console.print(Text.assemble(("error: ", "bold red"), line), soft_wrap=True)


def _usage_message(exc: UsageError) -> str:
    text = exc.format_message().rstrip(".")
    ctx = exc.ctx
    if ctx is None:
        return text
    return f"{text} (see `{ctx.command_path} --help`)"


class Group(TyperGroup):
    """The `tantieme` group: every error, whichever command raised it, as one line or JSON."""

    def main(self, args: Sequence[str] | None = None, *a: Any, standalone_mode: bool = True, **kw: Any) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
        try:
            code = super().main(args, *a, standalone_mode=False, **kw)
        except NoArgsIsHelpError as exc:
            console.print(exc.ctx.get_help(), markup=False, highlight=False)
            code = 0
        except UsageError as exc:
            fail(_usage_message(exc), "UsageError", as_json)
            code = EXIT_USAGE
        except ClickException as exc:
            fail(exc.format_message(), type(exc).__name__, as_json)
            code = exc.exit_code
        except typer.Abort:
            fail("aborted", "Aborted", as_json)
            code = 1
        except TantiemeError as exc:
            fail(str(exc), type(exc).__name__, as_json)
            code = 1
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            fail(
                f"unexpected {type(exc).__name__}: {exc} — this is a bug in tantieme; "
                f"run again with {DEBUG_ENV}=1 for the traceback and report it",
                "InternalError", as_json,
            )
            code = EXIT_BUG
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code
