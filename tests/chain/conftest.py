"""Chain fixtures: both backends behind one `conn` fixture, and a tiny contract."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import vyper
from web3.contract import Contract

from tantieme.chain import Connection, connect, dev_account

STORE_SOURCE = '''# pragma version 0.4.3
"""A stand-in for a registry: stores a value, logs it, reverts like the real one."""

event Stored:
    who: indexed(address)
    value: uint256

value: public(uint256)


@external
def store(v: uint256):
    assert v != 13, "registry: parent forbids derivatives"
    assert v != 7  # no reason given
    self.value = v
    log Stored(who=msg.sender, value=v)
'''

FORBIDDEN = 13  # store(13) reverts with a reason
SILENT = 7  # store(7) reverts without one


@cache
def store_artifact() -> dict[str, Any]:
    """ABI and bytecode of the stand-in contract (compiled once)."""
    out = vyper.compile_code(STORE_SOURCE, output_formats=["abi", "bytecode"])
    return {"abi": out["abi"], "bytecode": out["bytecode"]}


@pytest.fixture
def artifact_file(tmp_path: Path) -> Path:
    """The artifact as JSON, for subprocesses."""
    path = tmp_path / "store.json"
    path.write_text(json.dumps(store_artifact()))
    return path


@pytest.fixture
def embedded() -> Iterator[Connection]:
    """The embedded chain in `TANTIEME_HOME/chain`, signed for by dev account 0."""
    with connect() as conn:
        yield conn


@pytest.fixture
def rpc(anvil: str) -> Iterator[Connection]:
    """A fresh anvil node through the rpc backend, signed for by dev account 0."""
    with connect("rpc", rpc_url=anvil, account=dev_account(0)) as conn:
        yield conn


@pytest.fixture(params=["embedded", "rpc"])
def conn(request: pytest.FixtureRequest) -> Connection:
    """Each backend in turn: what passes on one must pass on the other."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def deploy_store() -> Callable[[Connection], Contract]:
    """Deploy a fresh stand-in contract on a connection."""

    def deploy(conn: Connection) -> Contract:
        artifact = store_artifact()
        receipt = conn.transact({"data": artifact["bytecode"]})
        return conn.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    return deploy
