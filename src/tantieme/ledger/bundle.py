"""Bundles: an answer with all anyone needs to verify it against the chain, in one JSON document.

A bundle (`BUNDLE_FORMAT`) holds:

- the record as EIP-712 typed data, the payer's signature and the digest;
- the question, the answer as text and as a JSON document, and each one's
  C2PA credential (base64; the credentials carry the question too);
- the batch as EIP-712 typed data with the payer's signature, and the record's
  Merkle proof to the batch's root (none while the record is pending);
- the anchor: chain id, ledger, batch id, settlement transaction;
- for an answer paid over x402, the payment: payer, EIP-3009 authorization and
  signature, quote, settlement transaction, refund and its transaction (none otherwise);
- the answering node's own CA certificate, the trust anchor of the credentials.

Large integers are decimal strings (JavaScript reads them exactly); eth-account
and this package read both forms. `tantieme.ledger.verify` checks a bundle.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tantieme.errors import LedgerError, ProvenanceError
from tantieme.ledger.journal import Journal, RecordRow
from tantieme.ledger.merkle import StandardMerkleTree
from tantieme.ledger.records import Domain

if TYPE_CHECKING:
    from tantieme.chain import Connection
    from tantieme.node import Node

__all__ = ["BUNDLE_FORMAT", "CA_NOTE", "export", "fetch", "find_record", "is_bundle", "record_entry", "settlement_tx"]

BUNDLE_FORMAT = "tantieme-bundle/1"
CA_NOTE = (
    "the answering node's own certificate authority: a credential that chains to it was "
    "signed by that node, and is worth as much as your trust in that node"
)
_JS_SAFE = 2**53


def find_record(book: Journal, target: str, trust_anchor_pem: bytes) -> tuple[RecordRow, Path | None]:
    """A record by id or digest, or by an answer file whose credential names it."""
    from tantieme.provenance import verify_credential

    path = Path(target)
    if not path.is_file():
        return book.record(target), None
    credential = verify_credential(path, trust_anchor_pem=trust_anchor_pem)
    record_id = (credential.interaction or {}).get("record_id")
    if not record_id:
        raise ProvenanceError(f"the content credential of {path} names no interaction record ({credential.status})")
    try:
        return book.record(record_id), path
    except LedgerError:
        raise LedgerError(
            f"{path} names record {record_id}, which this node's journal does not hold: verify the "
            "answer's bundle instead (`tantieme export` on the node that answered writes it)"
        ) from None


def record_entry(book: Journal, row: RecordRow, node: Node | None = None) -> dict[str, Any]:
    """The full record as JSON-ready data: typed data and signature, batch, proof and anchor.

    With `node`, a settlement transaction the journal does not know is looked up on chain.
    """
    domain = Domain(chain_id=row.chain_id, verifying_contract=row.ledger)
    entry: dict[str, Any] = {
        "record": _signed(row.signed.record.to_typed_data(domain), row.signed.signature, row.signed.digest),
        "batch": None,
        "proof": None,
        "anchor": {"chain_id": row.chain_id, "ledger": row.ledger, "batch_id": None, "tx_hash": None, "root": None},
        "status": "pending",
        "payment": book.payment(row.id),
    }
    if row.batch_id is None:
        return _js_safe(entry)
    batch = book.batch(row.batch_id)
    signed = batch.signed
    entry["batch"] = {**_signed(signed.batch.to_typed_data(domain), signed.signature, signed.digest), "payer": batch.payer}
    try:
        entry["proof"] = StandardMerkleTree.load(batch.tree).get_proof(row.signed.leaf())
    except LedgerError:
        entry["proof"] = None  # the record is not in its batch's tree: verify says so
    tx_hash = batch.tx_hash
    if batch.chain_batch_id is not None and tx_hash is None and node is not None:
        since = node.deployment.block if node.deployment.ledger == row.ledger else 0
        tx_hash = settlement_tx(node.conn, row.ledger, batch.chain_batch_id, since)
    entry["anchor"].update(batch_id=batch.chain_batch_id, tx_hash=tx_hash, root=batch.root)
    entry["status"] = batch.status
    return _js_safe(entry)


def export(node: Node, book: Journal, target: str) -> dict[str, Any]:
    """The bundle of a record (local id, digest prefix, or an answer file of this node)."""
    from tantieme.interaction import answer_document, answer_file, node_ca

    ca = node_ca().root_cert_pem
    row, given = find_record(book, target, ca)
    text_path, document_path = answer_file(row), answer_document(row)
    if given is not None and given.suffix.lower() == ".json":
        document_path = given
    elif given is not None:
        text_path = given
    bundle = record_entry(book, row, node)
    bundle = {
        "format": BUNDLE_FORMAT,
        **bundle,
        "question": row.question,
        "answer": {
            "text": _read_text(text_path, row.answer),
            "text_credential": _b64(_sidecar(text_path)),
            "document": _read_text(document_path, None),
            "document_credential": _b64(_sidecar(document_path)),
        },
        "ca": {"root_certificate": ca.decode(), "note": CA_NOTE},
    }
    bundle["anchor"]["registry"] = node.deployment.registry
    return bundle


def fetch(url: str, record: str) -> dict[str, Any]:
    """The bundle of `record` from the node at `url` (`GET /records/ID`)."""
    import httpx

    from tantieme.errors import ConfigError

    where = f"{url.rstrip('/')}/records/{record}"
    try:
        response = httpx.get(where, timeout=30)
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach the node at {url}: {exc}") from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code != 200:
        message = (data or {}).get("error", {}).get("message") if isinstance(data, dict) else None
        raise LedgerError(f"{where} answered {response.status_code}: {message or response.reason_phrase}")
    if not is_bundle(data):
        raise LedgerError(f"{where} did not answer with a tantieme bundle")
    return data


def is_bundle(data: Any) -> bool:
    return isinstance(data, Mapping) and data.get("format") == BUNDLE_FORMAT


def settlement_tx(conn: Connection, ledger: str, batch_id: int, from_block: int = 0) -> str | None:
    """The hash of the transaction that settled `batch_id` on `ledger`, from its logs."""
    from tantieme.chain.deploy import contract
    from tantieme.chain.logs import event_logs

    event = contract(conn, "interaction_ledger", ledger).events.BatchSettled()
    logs = event_logs(event, from_block, batch_id=batch_id)
    return logs[0]["transactionHash"].to_0x_hex() if logs else None


def _signed(typed_data: dict[str, Any], signature: bytes, digest: bytes) -> dict[str, Any]:
    return {"typed_data": typed_data, "signature": "0x" + signature.hex(), "digest": "0x" + digest.hex()}


def _js_safe(data: Any) -> Any:
    """Integers JavaScript cannot hold exactly (≥ 2**53) as decimal strings."""
    if isinstance(data, dict):
        return {k: _js_safe(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_js_safe(v) for v in data]
    if isinstance(data, int) and not isinstance(data, bool) and abs(data) >= _JS_SAFE:
        return str(data)
    return data


def _read_text(path: Path, default: str | None) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return default


def _sidecar(path: Path) -> bytes | None:
    from tantieme.provenance import sidecar_path

    try:
        return sidecar_path(path).read_bytes()
    except OSError:
        return None


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None
