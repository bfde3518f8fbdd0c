"""A node on each backend, and creators with funds: the SDK must behave the same on both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tantieme import node as node_mod
from tantieme.chain.accounts import dev_account
from tantieme.node import Node


@pytest.fixture(params=["embedded", "anvil"])
def node(request: pytest.FixtureRequest) -> Iterator[Node]:
    """An initialised node (contracts deployed, operator funded) on the embedded chain or anvil."""
    if request.param == "embedded":
        node_mod.init("embedded")
    else:
        node_mod.init("rpc", request.getfixturevalue("anvil"))
    with Node.open() as opened:
        yield opened


@pytest.fixture
def creator(node: Node) -> Node:
    """The node acting as a funded creator (dev account 1)."""
    account = dev_account(1)
    node.faucet(account.address)
    return node.as_account(account)


@pytest.fixture
def other(node: Node) -> Node:
    """A second funded creator (dev account 2)."""
    account = dev_account(2)
    node.faucet(account.address)
    return node.as_account(account)


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str], Path]:
    """A fresh text file with the given content."""
    counter = iter(range(10**6))

    def make(text: str) -> Path:
        path = tmp_path / f"work-{next(counter)}.md"
        path.write_text(text)
        return path

    return make
