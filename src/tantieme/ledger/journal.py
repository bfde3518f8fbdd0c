"""The node's journal of interactions and batches, in SQLite under `TANTIEME_HOME`.

Every signed record is written here before anything else happens to it, and a
batch is written (with its records assigned to it) in the same transaction
that signs it, before it is sent: a crash at any point loses nothing, and the
journal always knows which batch to finish. Schema changes are append-only
named migrations.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tantieme import sqlitefile
from tantieme.config import home
from tantieme.errors import LedgerError
from tantieme.ledger.merkle import StandardMerkleTree
from tantieme.ledger.records import InteractionRecord, SignedBatch, SignedRecord, asset_tree


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run `;`-separated statements inside the caller's transaction (executescript would commit)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _m001_initial(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE records (
            id INTEGER PRIMARY KEY,
            digest TEXT NOT NULL UNIQUE,
            payer TEXT NOT NULL,
            chain_id INTEGER NOT NULL,
            ledger TEXT NOT NULL,
            model INTEGER NOT NULL,
            fee TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            signed TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            details TEXT NOT NULL,
            batch_id INTEGER REFERENCES batches(id)
        );
        CREATE INDEX records_pending ON records(payer, batch_id);
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            root TEXT NOT NULL UNIQUE,
            payer TEXT NOT NULL,
            chain_id INTEGER NOT NULL,
            ledger TEXT NOT NULL,
            batch_nonce INTEGER NOT NULL,
            signed TEXT NOT NULL,
            tree TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('signed', 'settled')),
            tx_hash TEXT,
            chain_batch_id INTEGER,
            created_at INTEGER NOT NULL,
            settled_at INTEGER
        );
        """
    )


def _m002_asset_trees(db: sqlite3.Connection) -> None:
    # Each batch pays the assets through its payer's pool with its operator:
    # what the batch owes each asset, and the pool's cumulative amounts after
    # it (the asset tree whose root the batch carries), as JSON objects of
    # decimal strings keyed by asset id.
    _script(
        db,
        """
        ALTER TABLE batches ADD COLUMN operator TEXT NOT NULL DEFAULT '';
        ALTER TABLE batches ADD COLUMN owed TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE batches ADD COLUMN cumulative TEXT NOT NULL DEFAULT '{}';
        CREATE INDEX batches_pool ON batches(payer, operator, chain_id, ledger)
        """,
    )


def _m003_deposit_mode(db: sqlite3.Connection) -> None:
    # Deposit mode (`tantieme.payments.deposit`): records a remote payer signed
    # itself (`deposit` = 1) settle through its latest voucher, never through
    # `pending`; an answer waits as an invoice (the record the payer is asked
    # to sign) until the payer signs it; the latest voucher per payer and
    # operator is the batch of all its unsettled records, signed by the payer
    # (on the node, the one it received; on the payer's machine, the one it
    # signed), with what that batch owes each asset and the pool's cumulative
    # amounts after it.
    _script(
        db,
        """
        ALTER TABLE records ADD COLUMN deposit INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE invoices (
            digest TEXT PRIMARY KEY,
            payer TEXT NOT NULL,
            chain_id INTEGER NOT NULL,
            ledger TEXT NOT NULL,
            record TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            details TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX invoices_payer ON invoices(payer, chain_id, ledger);
        CREATE TABLE vouchers (
            payer TEXT NOT NULL,
            operator TEXT NOT NULL,
            chain_id INTEGER NOT NULL,
            ledger TEXT NOT NULL,
            signed TEXT NOT NULL,
            owed TEXT NOT NULL,
            cumulative TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (payer, operator, chain_id, ledger)
        )
        """,
    )


def _m004_x402_payments(db: sqlite3.Connection) -> None:
    # A record answered for an x402 payment: the payment as JSON (payer, EIP-3009
    # authorization and signature, quote, refund), written before it settles; then
    # its settlement transaction and its refund's, each once sent.
    _script(
        db,
        """
        CREATE TABLE payments (
            record_id INTEGER PRIMARY KEY REFERENCES records(id),
            payment TEXT NOT NULL,
            settlement_tx TEXT,
            refund_tx TEXT
        )
        """,
    )


def _m005_kept_records(db: sqlite3.Connection) -> None:
    # Deposit mode, on the payer's machine: the records it signed for its open batch
    # with each operator (`tantieme.payments.deposit.pay`), so the node need send only
    # the batch's count and root; dropped once a later batch is open (the batch settled).
    # Ids are never reused, so (count, last id) tells a reader whether they changed.
    _script(
        db,
        """
        CREATE TABLE kept_records (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            digest TEXT NOT NULL UNIQUE,
            payer TEXT NOT NULL,
            operator TEXT NOT NULL,
            chain_id INTEGER NOT NULL,
            ledger TEXT NOT NULL,
            batch_nonce TEXT NOT NULL,
            signed TEXT NOT NULL
        );
        CREATE INDEX kept_records_batch ON kept_records(payer, operator, chain_id, ledger)
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m001_initial, _m002_asset_trees, _m003_deposit_mode, _m004_x402_payments, _m005_kept_records,
]


@dataclass(frozen=True)
class RecordRow:
    """A journaled interaction: the signed record and what the user saw."""

    id: int
    signed: SignedRecord
    chain_id: int
    ledger: str
    question: str
    answer: str
    details: dict
    created_at: int
    batch_id: int | None

    @property
    def digest(self) -> str:
        return "0x" + self.signed.digest.hex()


@dataclass(frozen=True)
class InvoiceRow:
    """An answer delivered to a deposit-mode payer: the record it is asked to sign."""

    record: InteractionRecord
    question: str
    answer: str
    details: dict
    created_at: int


@dataclass(frozen=True)
class VoucherRow:
    """A payer's latest signed batch of all its unsettled records with an operator.

    `owed` is what the batch owes each asset, `cumulative` the pool's amounts
    after it (its `assetsRoot`'s tree).
    """

    payer: str
    operator: str
    chain_id: int
    ledger: str
    signed: SignedBatch
    owed: dict[int, int]
    cumulative: dict[int, int]
    updated_at: int


@dataclass(frozen=True)
class BatchRow:
    """A signed batch, its records' Merkle tree and what it owes the assets.

    `owed` is this batch's amount per asset; `cumulative` the payer's pool with
    the operator after it (asset → token wei), whose `asset_tree` root the
    batch carries. `settled` once the chain anchored it.
    """

    id: int
    root: str
    payer: str
    operator: str
    chain_id: int
    ledger: str
    batch_nonce: int
    signed: SignedBatch
    tree: dict
    owed: dict[int, int]
    cumulative: dict[int, int]
    status: str
    tx_hash: str | None
    chain_batch_id: int | None
    created_at: int
    settled_at: int | None

    def asset_tree(self) -> StandardMerkleTree:
        """The tree of the pool's cumulative amounts after this batch (its `assetsRoot`)."""
        return asset_tree(self.cumulative)


_PAID = "id NOT IN (SELECT record_id FROM payments WHERE settlement_tx IS NULL)"
"""A record that may settle in a batch: none of its x402 payment is still to settle."""


class Journal:
    """Records and batches of one node."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlitefile.connect(path, self._damaged, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a killed process loses no committed record (a power cut may lose the last few).
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _damaged(self, reason: str) -> LedgerError:
        return LedgerError(
            f"the journal {self.path} is damaged ({reason}); restore a backup with "
            "`tantieme restore FILE` (records signed since then are lost), or see `tantieme doctor`"
        )

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at INTEGER)")
        done = {row[0] for row in self.db.execute("SELECT name FROM _migrations")}
        for migration in MIGRATIONS:
            if migration.__name__ not in done:
                with self.transaction():
                    migration(self.db)
                    self.db.execute(
                        "INSERT INTO _migrations VALUES (?, ?)", (migration.__name__, int(time.time()))
                    )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: `BEGIN IMMEDIATE` ... `COMMIT`, rolled back on any error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # -- records --

    def add_record(
        self, signed: SignedRecord, chain_id: int, ledger: str, question: str, answer: str, details: dict,
        payment: dict | None = None,
    ) -> RecordRow:
        """Journal a record the node signed; with the x402 `payment` it is answered for (not settled
        yet: the record settles in no batch until its payment has, see `pending`), atomically."""
        with self.transaction() as db:
            row = self._insert_record(db, signed, chain_id, ledger, question, answer, details, deposit=False)
            if payment is not None:
                db.execute("INSERT INTO payments (record_id, payment) VALUES (?, ?)", (row.id, json.dumps(payment, sort_keys=True)))
            return row

    def _insert_record(
        self, db: sqlite3.Connection, signed: SignedRecord, chain_id: int, ledger: str, question: str, answer: str,
        details: dict, *, deposit: bool,
    ) -> RecordRow:
        record = signed.record
        created_at = record.timestamp
        cursor = db.execute(
            "INSERT INTO records (digest, payer, chain_id, ledger, model, fee, created_at, signed, "
            "question, answer, details, deposit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "0x" + signed.digest.hex(), record.payer, chain_id, ledger, record.model,
                str(record.fee), record.timestamp, signed.to_json(), question, answer,
                json.dumps(details, sort_keys=True), int(deposit),
            ),
        )
        return RecordRow(
            id=cursor.lastrowid, signed=signed, chain_id=chain_id, ledger=ledger, question=question,
            answer=answer, details=details, created_at=created_at, batch_id=None,
        )

    def record(self, key: int | str) -> RecordRow:
        """A record by local id, or by digest (0x hex, or a unique prefix of at least 8 digits)."""
        if isinstance(key, int) or str(key).isdigit():
            number = int(key)
            # SQLite ids are signed 64-bit: a larger number is no record (and no overflow).
            row = self.db.execute("SELECT * FROM records WHERE id = ?", (number,)).fetchone() if 0 < number < 2**63 else None
        else:
            prefix = str(key).lower()
            prefix = prefix if prefix.startswith("0x") else "0x" + prefix
            if len(prefix) < 10:
                raise LedgerError(f"record id {key!r} is too short: give 8 or more hex digits")
            rows = self.db.execute(
                "SELECT * FROM records WHERE digest LIKE ? LIMIT 2", (prefix + "%",)
            ).fetchall()
            if len(rows) > 1:
                raise LedgerError(f"record id {key!r} is ambiguous: give more digits")
            row = rows[0] if rows else None
        if row is None:
            raise LedgerError(f"no record {key} in this node's journal (see `tantieme history`)")
        return _record_row(row)

    def payment_settled(self, record_id: int, tx_hash: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE payments SET settlement_tx = ? WHERE record_id = ?", (tx_hash, record_id))

    def refunded(self, record_id: int, tx_hash: str) -> None:
        """The transaction that refunded the payer of a record's payment what its quote held above the fee."""
        with self.transaction() as db:
            db.execute("UPDATE payments SET refund_tx = ? WHERE record_id = ?", (tx_hash, record_id))

    def void_record(self, record_id: int) -> RecordRow | None:
        """Forget a record whose x402 payment did not settle, and the payment: its answer was not
        delivered. The record, or None if it is gone already; a record in a batch stays (LedgerError)."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
            if row is None:
                return None
            if row["batch_id"] is not None:
                raise LedgerError(f"record {row['digest']} is in batch {row['batch_id']} already: it cannot be voided")
            db.execute("DELETE FROM payments WHERE record_id = ?", (record_id,))
            db.execute("DELETE FROM records WHERE id = ?", (record_id,))
        return _record_row(row)

    def payment(self, record_id: int) -> dict | None:
        """A record's x402 payment with its transactions; None for a record without one."""
        row = self.db.execute("SELECT * FROM payments WHERE record_id = ?", (record_id,)).fetchone()
        return None if row is None else _payment(row)

    def unfinished_payments(self) -> list[tuple[int, dict]]:
        """Payments not settled yet, or settled and owing a refund not sent yet."""
        rows = self.db.execute(
            "SELECT * FROM payments WHERE settlement_tx IS NULL OR refund_tx IS NULL ORDER BY record_id"
        ).fetchall()
        owing = [(row["record_id"], _payment(row)) for row in rows]
        return [(rid, p) for rid, p in owing if p["settlement_tx"] is None or int(p["refund"]) > 0]

    def refund_txs(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT refund_tx FROM payments WHERE refund_tx IS NOT NULL")}

    def records(self, limit: int | None = None, pending: bool | None = None) -> list[RecordRow]:
        sql = "SELECT * FROM records"
        if pending is True:
            sql += " WHERE batch_id IS NULL"
        elif pending is False:
            sql += " WHERE batch_id IS NOT NULL"
        sql += " ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_record_row(r) for r in self.db.execute(sql)]

    def pending(self, payer: str, chain_id: int, ledger: str, limit: int) -> list[RecordRow]:
        """A payer's records not yet in a batch, oldest first (deposit-mode records settle
        through their voucher instead, and a record answered for an x402 payment only once
        the payment settled)."""
        rows = self.db.execute(
            "SELECT * FROM records WHERE batch_id IS NULL AND deposit = 0 AND payer = ? AND chain_id = ? "
            f"AND ledger = ? AND {_PAID} ORDER BY id LIMIT ?",
            (payer, chain_id, ledger, limit),
        )
        return [_record_row(r) for r in rows]

    def pending_payers(self, chain_id: int, ledger: str) -> list[tuple[str, int, int]]:
        """(payer, count, oldest created_at) of every payer with pending records."""
        rows = self.db.execute(
            "SELECT payer, COUNT(*), MIN(created_at) FROM records WHERE batch_id IS NULL AND deposit = 0 "
            f"AND chain_id = ? AND ledger = ? AND {_PAID} GROUP BY payer ORDER BY payer",
            (chain_id, ledger),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def owed(self, payer: str, chain_id: int, ledger: str) -> tuple[int, int]:
        """(fees in token wei, count) of `payer`'s records not yet settled: pending or in a signed batch."""
        rows = self.db.execute(
            "SELECT r.fee FROM records r LEFT JOIN batches b ON r.batch_id = b.id "
            "WHERE r.payer = ? AND r.chain_id = ? AND r.ledger = ? "
            "AND (r.batch_id IS NULL OR b.status = 'signed')",
            (payer, chain_id, ledger),
        ).fetchall()
        return sum(int(r[0]) for r in rows), len(rows)

    # -- deposit mode --

    def add_invoice(self, record: InteractionRecord, digest: bytes, chain_id: int, ledger: str, question: str,
                    answer: str, details: dict) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO invoices (digest, payer, chain_id, ledger, record, question, answer, details, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    "0x" + digest.hex(), record.payer, chain_id, ledger, record.to_json(), question, answer,
                    json.dumps(details, sort_keys=True), int(time.time()),
                ),
            )

    def invoices(self, payer: str, chain_id: int, ledger: str) -> dict[str, InvoiceRow]:
        """A payer's unsigned invoices by the digest it is asked to sign, oldest first."""
        rows = self.db.execute(
            "SELECT * FROM invoices WHERE payer = ? AND chain_id = ? AND ledger = ? ORDER BY created_at, digest",
            (payer, chain_id, ledger),
        )
        return {r["digest"]: _invoice_row(r) for r in rows}

    def invoice(self, digest: str) -> InvoiceRow | None:
        """The unsigned invoice whose record has this digest (0x hex), if any."""
        row = self.db.execute("SELECT * FROM invoices WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else _invoice_row(row)

    def drop_invoices(self, digests: list[str]) -> None:
        """Forget unsigned invoices (expired: the node no longer takes payment for them)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM invoices WHERE digest = ?", [(d,) for d in digests])

    def expired_invoices(self, chain_id: int, ledger: str, created_before: int) -> dict[str, InvoiceRow]:
        """Every payer's unsigned invoices made before `created_before` (unix seconds), by digest."""
        rows = self.db.execute(
            "SELECT * FROM invoices WHERE chain_id = ? AND ledger = ? AND created_at < ? ORDER BY created_at, digest",
            (chain_id, ledger, created_before),
        )
        return {r["digest"]: _invoice_row(r) for r in rows}

    def reissue_invoice(self, old_digest: str, record: InteractionRecord, digest: bytes) -> None:
        """Replace an unsigned invoice's record (a new nonce once its batch settled)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE invoices SET digest = ?, record = ? WHERE digest = ?",
                ("0x" + digest.hex(), record.to_json(), old_digest),
            )

    def add_paid_record(
        self, signed: SignedRecord, voucher: VoucherRow, question: str, answer: str, details: dict, *,
        open_records: int,
    ) -> RecordRow:
        """Journal a deposit-mode record with the voucher that now covers it and close its
        invoice, atomically, if the payer's open batch still holds `open_records` records."""
        with self.transaction() as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM records WHERE batch_id IS NULL AND deposit = 1 AND payer = ? AND chain_id = ? "
                "AND ledger = ?",
                (voucher.payer, voucher.chain_id, voucher.ledger),
            ).fetchone()
            if count != open_records:
                raise LedgerError(
                    "another record of this payer was accepted or settled meanwhile: fetch the terms again"
                )
            row = self._insert_record(
                db, signed, voucher.chain_id, voucher.ledger, question, answer, details, deposit=True
            )
            db.execute("DELETE FROM invoices WHERE digest = ?", ("0x" + signed.digest.hex(),))
            self._put_voucher(db, voucher)
        return row

    def put_voucher(self, voucher: VoucherRow) -> None:
        with self.transaction() as db:
            self._put_voucher(db, voucher)

    def _put_voucher(self, db: sqlite3.Connection, v: VoucherRow) -> None:
        db.execute(
            "INSERT OR REPLACE INTO vouchers (payer, operator, chain_id, ledger, signed, owed, cumulative, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                v.payer, v.operator, v.chain_id, v.ledger, v.signed.to_json(), _amounts_json(v.owed),
                _amounts_json(v.cumulative), v.updated_at,
            ),
        )

    def voucher(self, payer: str, operator: str, chain_id: int, ledger: str) -> VoucherRow | None:
        """The latest voucher of `payer` with `operator`, if any is open."""
        row = self.db.execute(
            "SELECT * FROM vouchers WHERE payer = ? AND operator = ? AND chain_id = ? AND ledger = ?",
            (payer, operator, chain_id, ledger),
        ).fetchone()
        return None if row is None else _voucher_row(row)

    def vouchers(self, operator: str, chain_id: int, ledger: str) -> list[VoucherRow]:
        """Every open voucher with `operator`."""
        rows = self.db.execute(
            "SELECT * FROM vouchers WHERE operator = ? AND chain_id = ? AND ledger = ? ORDER BY payer",
            (operator, chain_id, ledger),
        )
        return [_voucher_row(r) for r in rows]

    def open_records(self, payer: str, chain_id: int, ledger: str) -> list[RecordRow]:
        """A payer's deposit-mode records not yet in a batch: what its next voucher covers, in order."""
        rows = self.db.execute(
            "SELECT * FROM records WHERE batch_id IS NULL AND deposit = 1 AND payer = ? AND chain_id = ? "
            "AND ledger = ? ORDER BY id",
            (payer, chain_id, ledger),
        )
        return [_record_row(r) for r in rows]

    # -- the payer's side of deposit mode --

    def kept_records(self, payer: str, operator: str, chain_id: int, ledger: str, batch_nonce: int) -> list[SignedRecord]:
        """The records `payer` signed for its batch `batch_nonce` with `operator`, in the order kept."""
        rows = self.db.execute(
            "SELECT signed FROM kept_records WHERE payer = ? AND operator = ? AND chain_id = ? AND ledger = ? "
            "AND batch_nonce = ? ORDER BY id",
            (payer, operator, chain_id, ledger, str(batch_nonce)),
        )
        return [SignedRecord.from_json(row[0]) for row in rows]

    def kept_mark(self, payer: str, operator: str, chain_id: int, ledger: str, batch_nonce: int) -> tuple[int, int]:
        """(how many, the last id) of the records `kept_records` gives: they changed if it did."""
        return tuple(self.db.execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM kept_records WHERE payer = ? AND operator = ? "
            "AND chain_id = ? AND ledger = ? AND batch_nonce = ?",
            (payer, operator, chain_id, ledger, str(batch_nonce)),
        ).fetchone())

    def keep_records(
        self, payer: str, operator: str, chain_id: int, ledger: str, batch_nonce: int, records: list[SignedRecord],
        *, replace: bool = False,
    ) -> tuple[int, int]:
        """Keep `records` signed by `payer` for its batch `batch_nonce` with `operator`, atomically;
        those of any other batch are dropped (settled), and with `replace` this batch's too.
        Returns the batch's `kept_mark` after."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM kept_records WHERE payer = ? AND operator = ? AND chain_id = ? AND ledger = ? "
                + ("" if replace else "AND batch_nonce != ?"),
                (payer, operator, chain_id, ledger, *(() if replace else (str(batch_nonce),))),
            )
            db.executemany(
                "INSERT OR IGNORE INTO kept_records (digest, payer, operator, chain_id, ledger, batch_nonce, signed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [("0x" + r.digest.hex(), payer, operator, chain_id, ledger, str(batch_nonce), r.to_json()) for r in records],
            )
            return self.kept_mark(payer, operator, chain_id, ledger, batch_nonce)

    def close_voucher(self, voucher: VoucherRow, tree: dict, record_ids: list[int]) -> BatchRow:
        """Turn a voucher into a journaled batch of its records (to be settled), atomically."""
        with self.transaction() as db:
            batch_id = self._insert_batch(
                db, voucher.signed, voucher.payer, voucher.chain_id, voucher.ledger, tree, record_ids,
                voucher.owed, voucher.cumulative,
            )
            db.execute(
                "DELETE FROM vouchers WHERE payer = ? AND operator = ? AND chain_id = ? AND ledger = ?",
                (voucher.payer, voucher.operator, voucher.chain_id, voucher.ledger),
            )
        return self.batch(batch_id)

    # -- batches --

    def add_batch(
        self, signed: SignedBatch, payer: str, chain_id: int, ledger: str, tree: dict, record_ids: list[int],
        owed: dict[int, int], cumulative: dict[int, int],
    ) -> BatchRow:
        """Journal a signed batch and assign its records to it, atomically."""
        with self.transaction() as db:
            batch_id = self._insert_batch(db, signed, payer, chain_id, ledger, tree, record_ids, owed, cumulative)
        return self.batch(batch_id)

    def _insert_batch(
        self, db: sqlite3.Connection, signed: SignedBatch, payer: str, chain_id: int, ledger: str, tree: dict,
        record_ids: list[int], owed: dict[int, int], cumulative: dict[int, int],
    ) -> int:
        cursor = db.execute(
            "INSERT INTO batches (root, payer, operator, chain_id, ledger, batch_nonce, signed, tree, owed, "
            "cumulative, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'signed', ?)",
            (
                "0x" + signed.batch.root.hex(), payer, signed.batch.operator, chain_id, ledger,
                signed.batch.batch_nonce, signed.to_json(), json.dumps(tree), _amounts_json(owed),
                _amounts_json(cumulative), int(time.time()),
            ),
        )
        batch_id = cursor.lastrowid
        marks = ",".join("?" * len(record_ids))
        changed = db.execute(
            f"UPDATE records SET batch_id = ? WHERE batch_id IS NULL AND id IN ({marks})",
            (batch_id, *record_ids),
        ).rowcount
        if changed != len(record_ids):
            raise LedgerError("records were batched by another process meanwhile; settle again")
        return batch_id

    def resign(
        self, batch_id: int, signed: SignedBatch, owed: dict[int, int] | None = None,
        cumulative: dict[int, int] | None = None,
    ) -> None:
        """Keep a batch's fresh signature (same records and nonce; a later deadline, or the
        current split with the amounts it gives)."""
        row = self.batch(batch_id)
        owed = row.owed if owed is None else owed
        cumulative = row.cumulative if cumulative is None else cumulative
        with self.transaction() as db:
            db.execute(
                "UPDATE batches SET signed = ?, owed = ?, cumulative = ? WHERE id = ? AND status = 'signed'",
                (signed.to_json(), _amounts_json(owed), _amounts_json(cumulative), batch_id),
            )

    def mark_settled(self, batch_id: int, tx_hash: str | None, chain_batch_id: int) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE batches SET status = 'settled', tx_hash = ?, chain_batch_id = ?, settled_at = ? WHERE id = ?",
                (tx_hash, chain_batch_id, int(time.time()), batch_id),
            )

    def batch(self, batch_id: int) -> BatchRow:
        row = self.db.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if row is None:
            raise LedgerError(f"no batch {batch_id} in this node's journal")
        return _batch_row(row)

    def previous_in_pool(self, payer: str, operator: str, chain_id: int, ledger: str, before: int | None = None) -> BatchRow | None:
        """The pool's latest batch (before batch id `before`, if given): its cumulative
        amounts are where the next batch's start."""
        row = self.db.execute(
            "SELECT * FROM batches WHERE payer = ? AND operator = ? AND chain_id = ? AND ledger = ? AND id < ? "
            "ORDER BY id DESC LIMIT 1",
            (payer, operator, chain_id, ledger, before if before is not None else 2**62),
        ).fetchone()
        return None if row is None else _batch_row(row)

    def settled_pools(self, chain_id: int, ledger: str) -> list[BatchRow]:
        """The latest settled batch of each (payer, operator) pool: the router's current
        root of that pool is its asset tree's."""
        rows = self.db.execute(
            "SELECT * FROM batches WHERE id IN (SELECT MAX(id) FROM batches WHERE status = 'settled' "
            "AND chain_id = ? AND ledger = ? GROUP BY payer, operator) ORDER BY id",
            (chain_id, ledger),
        )
        return [_batch_row(r) for r in rows]

    def unsettled_batches(self) -> list[BatchRow]:
        rows = self.db.execute("SELECT * FROM batches WHERE status = 'signed' ORDER BY id")
        return [_batch_row(r) for r in rows]

    def batch_records(self, batch_id: int) -> list[RecordRow]:
        rows = self.db.execute("SELECT * FROM records WHERE batch_id = ? ORDER BY id", (batch_id,))
        return [_record_row(r) for r in rows]


def _record_row(row: sqlite3.Row) -> RecordRow:
    return RecordRow(
        id=row["id"],
        signed=SignedRecord.from_json(row["signed"]),
        chain_id=row["chain_id"],
        ledger=row["ledger"],
        question=row["question"],
        answer=row["answer"],
        details=json.loads(row["details"]),
        created_at=row["created_at"],
        batch_id=row["batch_id"],
    )


def _batch_row(row: sqlite3.Row) -> BatchRow:
    return BatchRow(
        id=row["id"],
        root=row["root"],
        payer=row["payer"],
        operator=row["operator"],
        chain_id=row["chain_id"],
        ledger=row["ledger"],
        batch_nonce=row["batch_nonce"],
        signed=SignedBatch.from_json(row["signed"]),
        tree=json.loads(row["tree"]),
        owed=_amounts(row["owed"]),
        cumulative=_amounts(row["cumulative"]),
        status=row["status"],
        tx_hash=row["tx_hash"],
        chain_batch_id=row["chain_batch_id"],
        created_at=row["created_at"],
        settled_at=row["settled_at"],
    )


def _invoice_row(row: sqlite3.Row) -> InvoiceRow:
    return InvoiceRow(
        InteractionRecord.from_json(row["record"]), row["question"], row["answer"], json.loads(row["details"]),
        row["created_at"],
    )


def _voucher_row(row: sqlite3.Row) -> VoucherRow:
    return VoucherRow(
        payer=row["payer"],
        operator=row["operator"],
        chain_id=row["chain_id"],
        ledger=row["ledger"],
        signed=SignedBatch.from_json(row["signed"]),
        owed=_amounts(row["owed"]),
        cumulative=_amounts(row["cumulative"]),
        updated_at=row["updated_at"],
    )


def _payment(row: sqlite3.Row) -> dict:
    return {**json.loads(row["payment"]), "settlement_tx": row["settlement_tx"], "refund_tx": row["refund_tx"]}


def _amounts_json(amounts: dict[int, int]) -> str:
    return json.dumps({str(asset): str(amount) for asset, amount in sorted(amounts.items())})


def _amounts(text: str) -> dict[int, int]:
    return {int(asset): int(amount) for asset, amount in json.loads(text).items()}


def journal() -> Journal:
    """This node's journal, `TANTIEME_HOME/ledger.db`."""
    return Journal(home() / "ledger.db")
