"""How commands print: rich for people, one JSON document for scripts."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import typer
from rich.console import Console

from tantieme.errors import TantiemeError

console = Console()
err_console = Console(stderr=True)

JsonOption = typer.Option(False, "--json", help="Print one machine-readable JSON document.")


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print `data` as JSON, or hand it to `render` for people."""
    if as_json:
        sys.stdout.write(json.dumps(_plain(data), indent=2, default=str) + "\n")
    else:
        render(data)


def _plain(data: Any) -> Any:
    """Dataclasses (and what they hold) as JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return {f.name: _plain(getattr(data, f.name)) for f in dataclasses.fields(data)}
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    if isinstance(data, bytes):
        return "0x" + data.hex()
    return data


def waiting(message: str) -> None:
    """Tell the user, on stderr, why a command has not started yet."""
    err_console.print(f"[yellow]{message}…[/]", soft_wrap=True)  # one line, whatever the width


@contextlib.contextmanager
def user_errors(as_json: bool = False) -> Iterator[None]:
    """Turn a `TantiemeError` into a one-line message and exit code 1."""
    try:
        yield
    except TantiemeError as exc:
        if as_json:
            sys.stdout.write(json.dumps({"error": str(exc), "kind": type(exc).__name__}) + "\n")
        else:
            err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
