"""What the commands share: opening the node, and parameters checked before anything runs."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import typer

from tantieme.amounts import MAX_UINT256

if TYPE_CHECKING:
    from tantieme.node import Node


def passphrase_prompt(new: bool = False) -> Callable[[], str] | None:
    """A prompt for the keystore passphrase, or None when nobody can answer it."""
    if os.environ.get("CI") or not os.isatty(0):
        return None
    text = "Passphrase for the new keystore" if new else "Keystore passphrase"
    return lambda: typer.prompt(text, hide_input=True, confirmation_prompt=new)


@contextlib.contextmanager
def open_node(readonly: bool = False) -> Iterator[Node]:
    """The node `tantieme init` set up (web3 and the chain load here, not at start-up).

    A reader (`readonly`) runs beside a command that writes, and needs no key; a
    writer waits for another writer of this home, saying on stderr whom it waits for.
    When the command is done with the node, the read view is refreshed for the chain
    as the command left it (see `view`), so the next read starts without web3.
    """
    from tantieme.cli import view
    from tantieme.cli.output import waiting
    from tantieme.node import Node

    on_wait = None if readonly else waiting
    with Node.open(None if readonly else passphrase_prompt(), readonly=readonly, on_wait=on_wait) as node:
        yield node
        view.refresh(node)


def completes(*values: str) -> Callable[[str], list[str]]:
    """Shell completion of an option's value among `values`."""
    return lambda incomplete: [v for v in values if v.startswith(incomplete)]


AI_USES = ("training", "fine-tuning", "retrieval", "output-commercial")


def parse_id(text: str) -> int:
    """An on-chain id: a whole number from 1 to 2^256 - 1."""
    if not (text.isascii() and text.isdigit()) or int(text) == 0:
        raise typer.BadParameter(f"{text!r} is not an id: ids are whole numbers from 1 up")
    if int(text) > MAX_UINT256:
        raise typer.BadParameter(f"{text} is larger than any id (2^256 - 1)")
    return int(text)


def IdArgument(default: Any = ..., help: str = "Asset id.") -> Any:  # noqa: N802 (a typer parameter)
    return typer.Argument(default, help=help, parser=parse_id, metavar="ID", show_default=False)


def IdOption(default: Any, *names: str, help: str) -> Any:  # noqa: N802 (a typer parameter)
    return typer.Option(default, *names, help=help, parser=parse_id, metavar="ID", show_default=False)
