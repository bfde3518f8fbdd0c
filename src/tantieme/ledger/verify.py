"""`tantieme verify`: check an answer's record, proof, anchor and credential from scratch.

Every check recomputes from the data itself: the hashes of the question and the
answer, the payer's EIP-712 signature, the record's Merkle proof against the
root anchored on chain (locally and by the contract), and the C2PA credential
against the node's CA. Then the provenance chain: the model and its training
data, each source and its parents, and what each was paid by this record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from tantieme.assets import registry
from tantieme.assets.royalties import simulate
from tantieme.errors import LedgerError, ProvenanceError
from tantieme.ledger.journal import Journal, RecordRow
from tantieme.ledger.merkle import StandardMerkleTree
from tantieme.ledger.netting import net
from tantieme.ledger.records import Domain
from tantieme.node import Node
from tantieme.provenance import verify_credential


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Link:
    """An asset in the provenance chain and what this record paid it (token wei)."""

    asset: int
    title: str | None
    kind: str
    role: str
    depth: int
    paid: int


@dataclass
class Report:
    record: str
    checks: list[Check] = field(default_factory=list)
    provenance: list[Link] = field(default_factory=list)
    commons: int = 0
    operator: int = 0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok


def find_record(book: Journal, target: str, trust_anchor_pem: bytes) -> tuple[RecordRow, Path | None]:
    """A record by id or digest, or by an answer file whose credential names it."""
    path = Path(target)
    if not path.is_file():
        return book.record(target), None
    credential = verify_credential(path, trust_anchor_pem=trust_anchor_pem)
    record_id = (credential.interaction or {}).get("record_id")
    if not record_id:
        raise ProvenanceError(f"the content credential of {path} names no interaction record ({credential.status})")
    return book.record(record_id), path


def verify(node: Node, book: Journal, target: str, trust_anchor_pem: bytes) -> Report:
    from tantieme.interaction import answer_document, answer_file

    row, given_file = find_record(book, target, trust_anchor_pem)
    signed = row.signed
    rec = signed.record
    report = Report(record=row.digest)
    domain = Domain(chain_id=row.chain_id, verifying_contract=row.ledger)

    report.add("prompt hash", hashlib.sha256(row.question.encode()).digest() == rec.prompt_hash, "sha256 of the question")
    answer_path, document = answer_file(row), answer_document(row)
    if given_file is not None and given_file.suffix.lower() == ".json":
        document = given_file
    elif given_file is not None:
        answer_path = given_file
    answer_text = answer_path.read_text() if answer_path.is_file() else row.answer
    report.add(
        "output hash",
        hashlib.sha256(answer_text.encode()).digest() == rec.output_hash,
        f"sha256 of {answer_path.name}" if answer_path.is_file() else "sha256 of the journaled answer",
    )
    digest_ok = rec.digest(domain) == signed.digest
    try:
        signer = signed.recover(domain) if digest_ok else None
    except LedgerError as exc:
        signer = None
        report.add("payer signature", False, str(exc))
    else:
        report.add("payer signature", signer == rec.payer, f"EIP-712, signed by {signer}" if signer else "the record does not match its digest")

    if row.batch_id is None:
        report.add("anchored", False, "pending: not yet in a batch (run `tantieme settle`)")
    else:
        batch = book.batch(row.batch_id)
        tree = StandardMerkleTree.load(batch.tree)
        leaf = signed.leaf()
        try:
            proof = tree.get_proof(leaf)
        except Exception:  # noqa: BLE001  (the tree has no such leaf: tampered)
            proof = None
        local = proof is not None and StandardMerkleTree.verify(batch.root, tree.leaf_encoding, leaf, proof)
        report.add("merkle proof", local, f"{len(proof or [])} siblings to root {batch.root[:18]}…")
        if batch.chain_batch_id is None:
            report.add("anchored", False, f"batch {batch.id} signed but not yet settled (run `tantieme settle`)")
        else:
            anchor = node.ledger.functions.batches(batch.chain_batch_id).call()
            on_chain_root = "0x" + bytes(anchor[0]).hex()
            report.add("anchored", on_chain_root == batch.root, f"batch {batch.chain_batch_id} on chain {row.chain_id}")
            ok = proof is not None and node.ledger.functions.verifyRecord(
                batch.chain_batch_id, signed.digest, rec.model, rec.fee, [bytes.fromhex(p[2:]) for p in proof]
            ).call()
            report.add("proof on chain", ok, "InteractionLedger.verifyRecord")

    _check_credential(report, "content credential", answer_path, row, trust_anchor_pem)
    if document.is_file():
        _check_credential(report, "content credential (JSON)", document, row, trust_anchor_pem)

    _provenance(node, report, row)
    return report


def _check_credential(report: Report, name: str, path: Path, row: RecordRow, anchor: bytes) -> None:
    if not path.is_file():
        report.add(name, False, f"{path} is missing")
        return
    try:
        credential = verify_credential(path, trust_anchor_pem=anchor)
    except ProvenanceError as exc:
        report.add(name, False, str(exc))
        return
    named = (credential.interaction or {}).get("record_id") == row.digest
    detail = credential.status + ("" if named else ", names another record")
    if credential.reasons:
        detail += ": " + ", ".join(credential.reasons)
    report.add(name, credential.status == "Trusted" and named, f"C2PA {detail}")


def _provenance(node: Node, report: Report, row: RecordRow) -> None:
    rec = row.signed.record
    ledger = node.ledger.functions
    netted = net([rec], ledger.commons_bps().call(), ledger.operator_bps().call())
    report.commons, report.operator = netted.split.commons, netted.split.operator
    assets = registry.all_assets(node)
    by_id = {a.id: a for a in assets}
    flowing, final = simulate(assets, netted.owed(), {})
    seen: set[int] = set()

    def walk(asset_id: int, role: str, depth: int) -> None:
        if asset_id in seen or asset_id not in by_id:
            return
        seen.add(asset_id)
        asset = by_id[asset_id]
        report.provenance.append(
            Link(asset=asset_id, title=asset.title, kind=asset.kind, role=role, depth=depth, paid=final.get(asset_id, 0))
        )
        for parent in asset.parents:
            parent_role = "training data" if asset.kind == "model" else "upstream"
            walk(parent, parent_role, depth + 1)

    walk(rec.model, "model", 0)
    for source in rec.sources:
        walk(source, "source", 0)
