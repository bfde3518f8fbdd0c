"""The embedded chain: a real EVM (py-evm) in this process, persisted in SQLite.

web3.py talks to it through eth-tester's `PyEVMBackend` and an
`EthereumTesterProvider`, exactly as it talks to a JSON-RPC node: transactions
are signed locally and sent raw, and reverts come back as JSON-RPC errors shaped
like anvil's, so web3 raises the same `ContractLogicError` on both backends.

Persistence: py-evm's key-value store is a table in `TANTIEME_HOME/chain/chain.sqlite3`
(WAL). Every transaction is mined into its own block at once (auto-mining), and each
mined block is one SQLite transaction, so `kill -9` leaves the last committed block
and its state. Receipts, logs and the transaction-hash index are py-evm's own
(persisted tries and lookup keys), so they survive a restart; only eth-tester's
filters (`eth_newFilter`) and snapshots live in memory, as on a restarted node.

One writer, many readers: a writer locks the directory (`flock`) while open; a
second writer waits for it (up to `lock_timeout` seconds, `TANTIEME_LOCK_TIMEOUT`,
default 120), then gets a `ChainLockedError` naming the owner. Readers
(`readonly=True`) take no lock: they read the last committed block through
SQLite's WAL while a writer mines, and cannot write.

A damaged database (a truncated or overwritten file) raises `ChainError` saying
so, wherever py-evm first reads the damaged page.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, SignedTransactionAPI
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.exceptions import HeaderNotFound, VMError
from eth.exceptions import TransactionNotFound as EVMTransactionNotFound
from eth.vm.forks import PragueVM
from eth.vm.spoof import SpoofTransaction
from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_bloom import BloomFilter
from eth_keys import keys
from eth_tester import EthereumTester
from eth_tester.backends.pyevm.main import PyEVMBackend, get_default_genesis_params
from eth_tester.backends.pyevm.serializers import (
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import BlockNotFound, TransactionFailed, TransactionNotFound
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils import ValidationError as EVMValidationError
from eth_utils import encode_hex, to_wei
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.eth_tester.defaults import API_ENDPOINTS
from web3.types import RPCEndpoint, RPCResponse

from tantieme import sqlitefile
from tantieme.chain.accounts import DEV_PRIVATE_KEYS
from tantieme.locking import DirectoryLock
from tantieme.config import home
from tantieme.errors import ChainError, ConfigError

__all__ = [
    "CHAIN_ID",
    "DEV_BALANCE",
    "GAS_LIMIT",
    "EmbeddedChain",
    "SQLiteDB",
    "open_embedded",
]

# "TANTIEME" on a phone keypad; a local-only id, not in ethereum-lists/chains, so
# nothing signed here replays on a public chain (anvil's 31337 is left to anvil).
CHAIN_ID = 82_684_363
# Constant per block, like anvil's default: room for big settlement batches.
GAS_LIMIT = 30_000_000
# Per dev account, as on anvil.
DEV_BALANCE = to_wei(10_000, "ether")

SCHEMA_VERSION = 1
DB_FILE = "chain.sqlite3"
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


# ---------------------------------------------------------------- storage --


class SQLiteDB(BaseDB):
    """py-evm's key-value store in one SQLite table; writes stay uncommitted until `commit()`.

    `readonly` opens the file read-only (it must exist): reads see the last
    committed block, and any write raises `ChainError`.
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        # Autocommit mode: this class issues BEGIN / COMMIT itself.
        self._conn = sqlitefile.connect(
            path, self._damaged, readonly=readonly, isolation_level=None, check_same_thread=False
        )
        if not readonly:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a crashed process never loses a committed block; only a
            # power cut may drop the last few (never corrupts).
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS kv "
                "(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"
            )
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
        self._conn.execute("PRAGMA cache_size=-32000")  # 32 MB

    def _damaged(self, reason: str) -> ChainError:
        return ChainError(
            f"the embedded chain database {self.path} is damaged ({reason}); "
            "restore a backup with `tantieme restore FILE`, or see `tantieme doctor`"
        )

    def __getitem__(self, key: bytes) -> bytes:
        row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._begin()
        self._conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def __delitem__(self, key: bytes) -> None:
        self._begin()
        if self._conn.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self._conn.execute("SELECT 1 FROM kv WHERE key = ?", (key,)).fetchone() is not None

    def _begin(self) -> None:
        if self.readonly:
            raise ChainError(
                f"the embedded chain at {self.path.parent} is open read-only here; "
                "writing needs a node opened for writing"
            )
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN")

    def meta(self) -> dict[str, str]:
        """The chain's own settings (schema version, chain id), empty before genesis."""
        return dict(self._conn.execute("SELECT name, value FROM meta").fetchall())

    def set_meta(self, **values: str) -> None:
        self._begin()
        self._conn.executemany(
            "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", values.items()
        )

    def commit(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """A reader's reads in this block see one committed state of the chain, whatever a
        writer commits meanwhile (a WAL read transaction)."""
        if not self.readonly or self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self.rollback()
        self._conn.close()


CHAIN = "the embedded chain"
_SHARE = ", or use --chain rpc --rpc-url URL to share one node"


# ------------------------------------------------------------------ chain --


class _DevPragueVM(PragueVM):
    """Prague, except that a block may share its parent's second, as on anvil.

    With one block per transaction, strictly increasing timestamps would run the
    chain's clock ahead of the wall clock by a second a block (5 minutes after
    300 transactions), and permit / authorization deadlines would expire early.
    """

    @classmethod
    def validate_header(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        if parent_header is not None and header.timestamp == parent_header.timestamp:
            header = header.copy(timestamp=header.timestamp + 1)  # all other checks unchanged
        super().validate_header(header, parent_header)


class _PyEVMChain(MiningChain):
    """Post-merge Prague chain with a constant gas limit and wall-clock timestamps."""

    chain_id = CHAIN_ID
    vm_configuration = ((0, _DevPragueVM),)

    def create_header_from_parent(
        self, parent_header: BlockHeaderAPI, **header_params: Any
    ) -> BlockHeaderAPI:
        header_params["gas_limit"] = parent_header.gas_limit
        header_params.setdefault("timestamp", max(int(time.time()), parent_header.timestamp))
        return super().create_header_from_parent(parent_header, **header_params)

    def apply_transaction(self, transaction: SignedTransactionAPI) -> Any:
        if self.header.gas_used == 0:  # first of its block: stamp the block now, not when
            # the previous block was mined (the node may have been idle since)
            parent = self.get_canonical_head().timestamp
            self.header = self.header.copy(timestamp=max(int(time.time()), parent))
        return super().apply_transaction(transaction)

    def get_transaction_builder(self) -> Any:
        # eth-tester builds call / estimate transactions through this.
        return self.get_vm().get_transaction_builder()


def _genesis_state() -> dict[bytes, dict[str, Any]]:
    return {
        keys.PrivateKey(bytes.fromhex(k[2:])).public_key.to_canonical_address(): {
            "balance": DEV_BALANCE,
            "nonce": 0,
            "code": b"",
            "storage": {},
        }
        for k in DEV_PRIVATE_KEYS
    }


class _SQLiteBackend(PyEVMBackend):
    """eth-tester's py-evm backend over an existing chain, committing once per block.

    Transactions and receipts are found through py-evm's persisted hash index
    instead of eth-tester's scan of every block, and `eth_call` keeps the raw
    revert data so that the provider can return it like a JSON-RPC node.
    """

    def __init__(self, chain: _PyEVMChain, db: SQLiteDB) -> None:
        # Deliberately not PyEVMBackend.__init__: it would build a throwaway
        # in-memory chain. These are the two attributes the base class uses.
        self.chain = chain
        self.account_keys = tuple(keys.PrivateKey(bytes.fromhex(k[2:])) for k in DEV_PRIVATE_KEYS)
        self._db = db

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "the embedded chain cannot be reset; delete TANTIEME_HOME/chain instead"
        )

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = b"\x00" * 20) -> tuple:
        hashes: list[bytes] = []
        for _ in range(num_blocks):
            hashes.extend(super().mine_blocks(1, coinbase))
            self._db.commit()
        return tuple(hashes)

    def follow_head(self) -> None:
        """Build on the committed head, if another process has mined since (readers)."""
        head = self.chain.get_canonical_head()
        if self.chain.header.parent_hash != head.hash:
            self.chain.header = self.chain.create_header_from_parent(head)

    def revert_to_snapshot(self, snapshot: bytes) -> None:
        super().revert_to_snapshot(snapshot)
        self._db.commit()

    def _locate(self, transaction_hash: bytes) -> tuple[BlockAPI, SignedTransactionAPI, int]:
        pending = self.chain.get_block()
        for index, transaction in enumerate(pending.transactions):
            if transaction.hash == transaction_hash:
                return pending, transaction, index
        try:
            number, index = self.chain.chaindb.get_transaction_index(transaction_hash)
        except EVMTransactionNotFound:
            raise TransactionNotFound(
                f"No transaction found for transaction hash: {encode_hex(transaction_hash)}"
            ) from None
        block = self.chain.get_canonical_block_by_number(number)
        return block, block.transactions[index], index

    def get_transaction_by_hash(self, transaction_hash: bytes) -> dict:
        block, transaction, index = self._locate(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        return serialize_transaction(block, transaction, index, is_pending)

    def get_transaction_receipt(self, transaction_hash: bytes) -> dict:
        block, transaction, index = self._locate(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        receipts = block.get_receipts(self.chain.chaindb)
        return serialize_transaction_receipt(
            block, receipts, transaction, index, is_pending, self.chain.get_vm()
        )

    def _header_at(self, block_number: Any) -> BlockHeaderAPI:
        pending = self.chain.header
        if block_number in ("latest", "safe", "finalized"):
            return self.chain.get_canonical_head()
        if block_number == "earliest":
            return self.chain.get_canonical_block_header_by_number(0)
        if block_number == "pending":
            return pending
        if isinstance(block_number, int) and block_number < pending.block_number:
            return self.chain.get_canonical_block_header_by_number(block_number)
        raise BlockNotFound(f"No block found for block number: {block_number}")

    def call(self, transaction: dict, block_number: Any = "latest") -> bytes:
        transaction = dict(transaction)
        transaction.setdefault("gas", self._max_available_gas())
        unsigned = self._get_normalized_and_unsigned_evm_transaction(transaction, block_number)
        header = self._header_at(block_number)
        state = self.chain.get_vm(at_header=header).state
        snapshot = state.snapshot()
        try:
            computation = state.apply_transaction(
                SpoofTransaction(unsigned, from_=transaction["from"])
            )
        finally:
            state.revert(snapshot)
        if computation.is_error:
            # The error's first argument is the revert data for REVERT, a
            # message for other failures (out of gas, invalid opcode).
            raise TransactionFailed(computation.error)
        return computation.output


class _Tester(EthereumTester):
    """`EthereumTester` whose `get_logs` skips blocks by their logs bloom, as nodes do.

    eth-tester reads every block and receipt of the range (~1 ms a block); the
    bloom in the header rules out most blocks for an address or topic query.
    """

    def get_logs(
        self, from_block: Any = None, to_block: Any = None, address: Any = None, topics: Any = None
    ) -> tuple:
        self.validator.validate_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        raw_from, raw_to, raw_address, raw_topics = self.normalizer.normalize_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        chain = self.backend.chain
        head = chain.get_canonical_head().block_number
        wanted = _bloom_terms(raw_address, raw_topics)
        logs: list = []
        # Up to the head only: blocks are mined at once, so the pending one has no logs.
        for number in range(self._number(raw_from), min(self._number(raw_to), head) + 1):
            bits = chain.get_canonical_block_header_by_number(number).bloom
            bloom = BloomFilter(bits)
            if bits == 0 or not all(any(t in bloom for t in terms) for terms in wanted):
                continue
            logs.extend(super().get_logs(number, number, address, topics))
        return tuple(logs)

    def _number(self, block: Any) -> int:
        if isinstance(block, int):
            return block
        return self.get_block_by_number("latest" if block is None else block)["number"]


def _bloom_terms(address: Any, topics: Any) -> list[tuple[bytes, ...]]:
    """What a matching block's bloom must hold: one of each tuple's items."""
    terms: list[tuple[bytes, ...]] = []
    if isinstance(address, bytes):
        terms.append((address,))
    elif address:
        terms.append(tuple(address))
    for topic in topics or ():
        if isinstance(topic, bytes):
            terms.append((topic,))
        elif topic:  # a list of alternatives; None matches anything
            terms.append(tuple(topic))
    return terms


# --------------------------------------------------------------- provider --


def _revert_error(exc: TransactionFailed) -> dict[str, Any]:
    """A JSON-RPC error object for a failed call, shaped like anvil's."""
    inner = exc.args[0] if exc.args else None
    data = inner.args[0] if isinstance(inner, Exception) and inner.args else inner
    if not isinstance(data, bytes):
        # Not a REVERT: out of gas, invalid opcode... anvil answers code -32603.
        return {"code": -32603, "message": f"EVM error {inner!r}"}
    message = "execution reverted"
    if data[:4] == ERROR_SELECTOR:
        try:
            message += ": " + abi.decode(["string"], data[4:])[0]
        except (DecodingError, UnicodeDecodeError):
            pass
    return {"code": 3, "message": message, "data": encode_hex(data)}


class EmbeddedProvider(EthereumTesterProvider):
    """`EthereumTesterProvider` that answers errors as a JSON-RPC node does.

    Requests are serialised with a lock: py-evm is not thread-safe, and an API
    server may call from several threads. A reader's provider first catches up
    with the blocks that a writer has committed since (`follow_head`), and answers
    each request from one committed state (`snapshot`), so a block committed
    meanwhile never mixes into it.
    """

    def __init__(
        self,
        tester: EthereumTester,
        chain_id: int,
        follow_head: Callable[[], None] | None = None,
        snapshot: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        endpoints = copy.copy(API_ENDPOINTS)
        endpoints["eth"] = {**API_ENDPOINTS["eth"], "chainId": lambda *_: chain_id}
        endpoints["net"] = {**API_ENDPOINTS["net"], "version": lambda *_: str(chain_id)}
        super().__init__(ethereum_tester=tester, api_endpoints=endpoints)
        self._lock = threading.RLock()
        self._follow_head = follow_head
        self._snapshot = snapshot

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock, self._snapshot():
            if self._follow_head is not None:
                self._follow_head()
            request_id = self._current_request_id
            self._current_request_id += 1
            namespace, _, endpoint = method.partition("_")
            delegator = (self.api_endpoints or {}).get(namespace, {}).get(endpoint)
            error: dict[str, Any]
            if delegator is None:
                error = {"code": -32601, "message": f"method not found: {method}"}
            else:
                try:
                    result = delegator(self.ethereum_tester, params)
                except NotImplementedError:
                    error = {"code": -32601, "message": f"method not implemented: {method}"}
                except TransactionFailed as e:
                    error = _revert_error(e)
                except (TesterValidationError, EVMValidationError) as e:
                    # Invalid transaction (nonce, funds, gas...): what a node rejects.
                    error = {"code": -32000, "message": str(e)}
                except VMError as e:  # an estimate that fails even at the block gas limit
                    error = {"code": -32603, "message": f"EVM error {e!r}"}
                else:
                    return {"jsonrpc": "2.0", "id": request_id, "result": result}
            return {"jsonrpc": "2.0", "id": request_id, "error": error}


# ------------------------------------------------------------ front door --


class EmbeddedChain:
    """An open embedded chain: `w3` to use it, `close()` to release the lock.

    Use `open_embedded()` to get one; use it as a context manager.
    """

    def __init__(
        self, directory: Path, lock: DirectoryLock | None, db: SQLiteDB, chain: _PyEVMChain
    ) -> None:
        self.directory = directory
        self._lock = lock
        self._db = db
        self.backend = _SQLiteBackend(chain, db)
        self.tester = _Tester(backend=self.backend, auto_mine_transactions=True)
        if db.readonly:
            provider = EmbeddedProvider(self.tester, CHAIN_ID, self.backend.follow_head, db.snapshot)
        else:
            provider = EmbeddedProvider(self.tester, CHAIN_ID)
        self.w3 = Web3(provider)

    @property
    def readonly(self) -> bool:
        return self._db is not None and self._db.readonly

    @property
    def block_number(self) -> int:
        """Number of the last mined block."""
        return self.backend.chain.get_canonical_head().block_number

    def close(self) -> None:
        """Drop uncommitted (unmined) state, close the database and release the lock."""
        if self._db is not None:
            self._db.close()
            self._db = None  # type: ignore[assignment]
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> EmbeddedChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_embedded(
    directory: str | Path | None = None,
    *,
    readonly: bool = False,
    lock_timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> EmbeddedChain:
    """Open the embedded chain in `directory` (default `TANTIEME_HOME/chain`).

    For writing (the default) the chain is created if missing and locked; a
    lock held by another process is waited for up to `lock_timeout` seconds
    (default `TANTIEME_LOCK_TIMEOUT`, 120), telling `on_wait` once, then `ChainLockedError`.
    `readonly=True` takes no lock and never creates: the chain must exist.
    """
    directory = Path(directory) if directory is not None else home() / "chain"
    if readonly:
        if not (directory / DB_FILE).is_file():
            raise ConfigError(f"there is no embedded chain at {directory}: run `tantieme init` first")
        return _open(directory, None, SQLiteDB(directory / DB_FILE, readonly=True))
    directory.mkdir(parents=True, exist_ok=True)
    lock = DirectoryLock(directory, CHAIN, lock_timeout, on_wait, advice=_SHARE)
    try:
        db = SQLiteDB(directory / DB_FILE)
    except BaseException:
        lock.release()
        raise
    return _open(directory, lock, db)


def _open(directory: Path, lock: DirectoryLock | None, db: SQLiteDB) -> EmbeddedChain:
    """The chain in `db` (made at genesis if empty and writable); closes `db` and `lock` on failure."""
    try:
        meta = db.meta()
        if not meta and db.readonly:
            raise ConfigError(f"the embedded chain at {directory} is empty: run `tantieme init` first")
        if not meta:
            params = get_default_genesis_params(
                {"gas_limit": GAS_LIMIT, "timestamp": int(time.time())}
            )
            chain = _PyEVMChain.from_genesis(AtomicDB(db), params, _genesis_state())
            db.set_meta(
                schema_version=str(SCHEMA_VERSION),
                chain_id=str(CHAIN_ID),
                genesis=json.dumps({"gas_limit": GAS_LIMIT, "fork": "prague"}),
            )
            db.commit()
        else:
            if meta.get("schema_version") != str(SCHEMA_VERSION) or meta.get("chain_id") != str(
                CHAIN_ID
            ):
                raise ConfigError(
                    f"the embedded chain at {directory} was made by another version "
                    f"(schema {meta.get('schema_version')}, chain id {meta.get('chain_id')}); "
                    "move it away to start a new chain"
                )
            try:
                chain = _PyEVMChain(AtomicDB(db))
            except HeaderNotFound as e:
                raise ChainError(
                    f"the embedded chain at {directory} is damaged ({e}); restore a backup "
                    "with `tantieme restore FILE`, or see `tantieme doctor`"
                ) from None
        return EmbeddedChain(directory, lock, db, chain)
    except BaseException:
        db.close()
        if lock is not None:
            lock.release()
        raise
