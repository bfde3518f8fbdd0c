"""The front door: `connect()` gives a `Connection` (web3 + signing account) to either backend."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxReceipt

from tantieme.chain.accounts import dev_account, load_account
from tantieme.chain.embedded import EmbeddedChain, open_embedded
from tantieme.chain.rpc import open_rpc
from tantieme.chain.transact import transact
from tantieme.errors import ChainError, ConfigError

__all__ = ["BACKENDS", "ENV_RPC_URL", "Backend", "Connection", "connect"]

Backend = Literal["embedded", "rpc"]
BACKENDS: tuple[Backend, ...] = ("embedded", "rpc")
ENV_RPC_URL = "TANTIEME_RPC_URL"


@dataclass
class Connection:
    """A chain to talk to (`w3`) and the account that signs for this node."""

    w3: Web3
    account: LocalAccount
    chain_id: int
    backend: Backend
    embedded: EmbeddedChain | None = field(default=None, repr=False)
    readonly: bool = False
    """Opened for reading: `transact` refuses, whatever `account` is."""

    def transact(self, fn_or_tx: Any, gas: int | None = None) -> TxReceipt:
        """`tantieme.chain.transact` with this connection's account."""
        if self.readonly:
            raise ChainError("this connection to the chain is read-only: open the node for writing to send transactions")
        return transact(self.w3, self.account, fn_or_tx, gas)

    def close(self) -> None:
        """Release the embedded chain's lock (a no-op for rpc)."""
        if self.embedded is not None:
            self.embedded.close()
            self.embedded = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    backend: str = "embedded",
    *,
    rpc_url: str | None = None,
    account: LocalAccount | None = None,
    directory: str | Path | None = None,
    keystore: str | Path | None = None,
    passphrase: Callable[[], str] | None = None,
    readonly: bool = False,
    lock_timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Connection:
    """Open the embedded chain or a JSON-RPC node, with a signing account.

    embedded: the chain under `directory` (default `TANTIEME_HOME/chain`), signed
    for by `account`, else the `keystore` if given, else dev account 0, the
    chain's funded faucet (DEV ONLY). A writer waits for another process's lock
    (see `open_embedded`: `lock_timeout`, `on_wait`); `readonly` reads alongside
    a writer and cannot send transactions, on either backend.
    rpc: the node at `rpc_url` (default `TANTIEME_RPC_URL`), signed for by `account`
    or else `accounts.load_account(keystore, passphrase)` (`TANTIEME_PRIVATE_KEY`,
    or a keystore unlocked by `TANTIEME_PASSPHRASE` or the `passphrase` callback).

        with connect() as conn:
            conn.transact({"to": addr, "value": 1})
    """
    if backend == "embedded":
        if account is None:
            account = dev_account(0) if keystore is None else load_account(keystore, passphrase)
        chain = open_embedded(
            directory, readonly=readonly, lock_timeout=lock_timeout, on_wait=on_wait
        )
        conn = Connection(
            w3=chain.w3,
            account=account,
            chain_id=chain.w3.eth.chain_id,
            backend="embedded",
            embedded=chain,
            readonly=readonly,
        )
    elif backend == "rpc":
        url = rpc_url or os.environ.get(ENV_RPC_URL)
        if not url:
            raise ConfigError(f"the rpc backend needs a node URL: --rpc-url URL or {ENV_RPC_URL}")
        w3 = open_rpc(url)
        signer = account or load_account(keystore, passphrase)
        conn = Connection(w3=w3, account=signer, chain_id=w3.eth.chain_id, backend="rpc", readonly=readonly)
    else:
        raise ConfigError(f"unknown chain backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    conn.w3.eth.default_account = conn.account.address
    return conn
