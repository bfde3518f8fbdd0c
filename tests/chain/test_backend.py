"""`connect()` to each backend, and the rpc backend's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tantieme.chain import EMBEDDED_CHAIN_ID, connect, create_keystore, dev_account
from tantieme.chain.anvil import free_port
from tantieme.errors import ChainError, ConfigError


def test_connect__embedded__default(tantieme_home: Path) -> None:
    with connect() as conn:
        assert (conn.backend, conn.chain_id) == ("embedded", EMBEDDED_CHAIN_ID)
        assert conn.account.address == dev_account(0).address
        assert conn.embedded is not None and conn.embedded.directory == tantieme_home / "chain"
    assert conn.embedded is None
    conn.close()  # twice is harmless


def test_connect__embedded__keystore_signer() -> None:
    create_keystore("pw", private_key=dev_account(5).key, iterations=2**4)
    with connect(keystore="default", passphrase=lambda: "pw") as conn:
        assert conn.account.address == dev_account(5).address
        assert conn.transact({"to": dev_account(6).address, "value": 1})["status"] == 1


def test_connect__rpc__anvil(anvil: str) -> None:
    with connect("rpc", rpc_url=anvil, account=dev_account(1)) as conn:
        assert (conn.backend, conn.chain_id) == ("rpc", 31337)
        assert conn.w3.eth.default_account == dev_account(1).address


def test_connect__rpc__url_and_key_from_env(anvil: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANTIEME_RPC_URL", anvil)
    monkeypatch.setenv("TANTIEME_PRIVATE_KEY", dev_account(2).key.to_0x_hex())
    with connect("rpc") as conn:
        assert conn.account.address == dev_account(2).address


def test_connect__rpc__keystore_with_prompt(anvil: str) -> None:
    create_keystore("pw", private_key=dev_account(3).key, iterations=2**4)
    with connect("rpc", rpc_url=anvil, passphrase=lambda: "pw") as conn:
        assert conn.account.address == dev_account(3).address
        assert conn.transact({"to": dev_account(4).address, "value": 1})["status"] == 1


def test_connect__rpc__unreachable__chain_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainError) as raised:
        connect("rpc", rpc_url=url, account=dev_account())
    assert str(raised.value) == (
        f"cannot reach JSON-RPC at {url}: connection refused; is the node running?"
    )


def test_connect__rpc__not_http__chain_error() -> None:
    with pytest.raises(ChainError, match="unsupported JSON-RPC URL 'ws://x'"):
        connect("rpc", rpc_url="ws://x", account=dev_account())


def test_connect__rpc__no_url__config_error() -> None:
    with pytest.raises(ConfigError, match="needs a node URL: --rpc-url URL or TANTIEME_RPC_URL"):
        connect("rpc")


def test_connect__unknown_backend__config_error() -> None:
    with pytest.raises(ConfigError, match="unknown chain backend 'ganache'"):
        connect("ganache")
