"""`tantieme verify`: check a bundle (`tantieme.ledger.bundle`) from itself and the chain alone.

`verify` recomputes everything from the bundle and checks it against the chain
(no journal): the hashes of the question and the answer, the record's EIP-712
digest (with eth-account, independently of this package's encoder) and the
payer it recovers to, the batch's signature, the Merkle proof locally and
through the ledger's `verifyRecord`, the anchored root, the settlement
transaction's `BatchSettled` event, and the credentials. A record that is
signed but not yet settled is *pending*: every check that can run passes, and
the anchor comes with settlement. Then the provenance: the model and its
training data, each source and its parents, and what each was paid.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from web3.exceptions import Web3Exception
from web3.logs import DISCARD

from tantieme.assets import registry
from tantieme.assets.royalties import simulate
from tantieme.chain import Connection
from tantieme.chain.permit import TRANSFER_AUTHORIZATION_TYPES
from tantieme.chain.deploy import from_ledger
from tantieme.errors import LedgerError, ProvenanceError, TantiemeError
from tantieme.ledger.bundle import settlement_tx
from tantieme.ledger.merkle import StandardMerkleTree
from tantieme.ledger.netting import net
from tantieme.ledger.records import RECORD_LEAF_ENCODING, Batch, Domain, InteractionRecord
from tantieme.node import Node, Settings
from tantieme.provenance import verify_credential

__all__ = ["EXIT_FAILED", "EXIT_PENDING", "EXIT_VERIFIED", "Check", "Link", "Report", "verify"]

EXIT_VERIFIED, EXIT_FAILED, EXIT_PENDING = 0, 1, 3
"""`tantieme verify` exit codes (2 is a usage error)."""


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
    status: str = "failed"
    """"verified", "pending" (signed, not yet settled: no anchor yet) or "failed"."""
    checks: list[Check] = field(default_factory=list)
    provenance: list[Link] = field(default_factory=list)
    commons: int = 0
    operator: int = 0
    trust_anchor: str = ""
    """What the credentials were trusted against, and its SHA-256 fingerprint."""

    @property
    def ok(self) -> bool:
        """Every check passed (a pending record is ok, and not yet anchored)."""
        return all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        return {"verified": EXIT_VERIFIED, "pending": EXIT_PENDING}.get(self.status, EXIT_FAILED)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok


# -- verify -------------------------------------------------------------------


def verify(conn: Connection, bundle: Mapping[str, Any], *, trust_anchor_pem: bytes | None = None) -> Report:
    """Check `bundle` against the chain `conn` is connected to (reads only).

    The contracts are the ones the bundle's ledger names on chain, whichever
    deployment the verifier's own node uses. `trust_anchor_pem` replaces the
    CA certificate that travels in the bundle.
    """
    try:
        record, signature, digest, domain = _parse_record(bundle)
    except (TantiemeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        report = Report(record="?")
        report.add("bundle", False, f"the record in the bundle is malformed: {exc}")
        return report
    report = Report(record="0x" + digest.hex())
    if conn.chain_id != domain.chain_id:
        raise LedgerError(
            f"the record is anchored on chain {domain.chain_id} but this node is on chain "
            f"{conn.chain_id}: verify against that chain (--rpc-url URL, or --chain-dir DIR)"
        )
    on_chain = _deployment(conn, domain, report)
    _check_hashes(report, bundle, record)
    _check_record_signature(report, bundle["record"]["typed_data"], record, signature, digest, domain)
    anchored, status = False, bundle.get("status")
    if status in ("signed", "settled") and not bundle.get("batch"):
        report.add("batch signature", False, f"the bundle says the record is {status} but holds no batch")
    elif status == "settled" and on_chain is not None:
        anchored = _check_anchor(report, on_chain, bundle, record, digest, domain)
    elif bundle.get("batch"):
        _check_batch(report, bundle, record, digest, domain)
    _check_credentials(report, bundle, digest, domain, trust_anchor_pem)
    if bundle.get("payment") is not None:
        _check_payment(report, on_chain, bundle["payment"], record)
    if on_chain is not None:
        _provenance(on_chain, report, record, _signed_split(bundle))
    report.status = "failed" if not report.ok else "verified" if anchored else "pending"
    return report


def _parse_record(bundle: Mapping[str, Any]) -> tuple[InteractionRecord, bytes, bytes, Domain]:
    entry = bundle["record"]
    typed = entry["typed_data"]
    domain = Domain.from_dict(typed["domain"])
    record = InteractionRecord.from_dict(typed["message"])
    signature = bytes.fromhex(str(entry["signature"]).removeprefix("0x"))
    digest = bytes.fromhex(str(entry["digest"]).removeprefix("0x"))
    if len(digest) != 32:
        raise LedgerError("the digest must be 32 bytes")
    return record, signature, digest, domain


def _deployment(conn: Connection, domain: Domain, report: Report) -> Node | None:
    """`conn` bound to the bundle's ledger, if it is a tantieme ledger with the record's domain."""
    try:
        deployment = from_ledger(conn, domain.verifying_contract)
    except TantiemeError as exc:
        report.add("ledger", False, str(exc))
        return None
    bound = Node(settings=Settings(), conn=conn, deployment=deployment)
    _, name, version, chain_id, contract, *_ = bound.ledger.functions.eip712Domain().call()
    same = (name, version, chain_id, contract) == (domain.name, domain.version, domain.chain_id, domain.verifying_contract)
    report.add("ledger", same, f"InteractionLedger {domain.verifying_contract} on chain {domain.chain_id}" + ("" if same else ": its EIP-712 domain differs from the record's"))
    return bound if same else None


def _check_hashes(report: Report, bundle: Mapping[str, Any], record: InteractionRecord) -> None:
    question = bundle.get("question")
    ok = isinstance(question, str) and hashlib.sha256(question.encode()).digest() == record.prompt_hash
    report.add("prompt hash", ok, "sha256 of the question")
    text = (bundle.get("answer") or {}).get("text")
    ok = isinstance(text, str) and hashlib.sha256(text.encode()).digest() == record.output_hash
    report.add("output hash", ok, "sha256 of the answer")


def _check_record_signature(
    report: Report, typed: Mapping[str, Any], record: InteractionRecord, signature: bytes, digest: bytes, domain: Domain
) -> None:
    try:
        message = encode_typed_data(full_message=dict(typed))
        independent = keccak(b"\x19\x01" + message.header + message.body)
    except Exception as exc:  # noqa: BLE001  (eth-account raises many kinds on bad typed data)
        report.add("record digest", False, f"the typed data does not encode: {exc}")
        return
    ours = record.digest(domain)
    report.add("record digest", independent == ours == digest, "EIP-712 digest of the typed data")
    try:
        signer = Account.recover_message(message, signature=signature)
    except Exception as exc:  # noqa: BLE001  (a malformed signature: eth-keys raises several kinds)
        report.add("payer signature", False, f"the signature does not recover: {exc}")
        return
    report.add("payer signature", signer == record.payer, f"EIP-712, signed by {signer}")


def _leaf(record: InteractionRecord, digest: bytes) -> tuple[str, str, int, int]:
    """The record's Merkle leaf value (`RECORD_LEAF_ENCODING`): what the batch's tree holds."""
    return ("0x" + digest.hex(), record.payer, record.model, record.fee)


def _check_batch(
    report: Report, bundle: Mapping[str, Any], record: InteractionRecord, digest: bytes, domain: Domain
) -> tuple[Batch, str] | None:
    """The batch's signature and the record's Merkle proof to its root, off chain."""
    entry = bundle.get("batch")
    if not entry:
        return None
    try:
        batch = Batch.from_dict(entry["typed_data"]["message"])
        message = encode_typed_data(full_message=dict(entry["typed_data"]))
        signer = Account.recover_message(message, signature=bytes.fromhex(str(entry["signature"]).removeprefix("0x")))
    except Exception as exc:  # noqa: BLE001  (malformed fields or signature: several kinds)
        report.add("batch signature", False, f"the batch in the bundle is malformed: {exc}")
        return None
    same = signer == record.payer and batch.digest(domain).hex() == str(entry["digest"]).removeprefix("0x")
    report.add("batch signature", same, f"EIP-712, signed by {signer}")
    proof = bundle.get("proof")
    root = "0x" + batch.root.hex()
    try:
        ok = proof is not None and StandardMerkleTree.verify(root, list(RECORD_LEAF_ENCODING), _leaf(record, digest), proof)
    except TantiemeError:  # a malformed sibling
        ok = False
    proof = proof or []
    report.add("merkle proof", ok, f"{len(proof)} sibling{'' if len(proof) == 1 else 's'} to root {root[:18]}…")
    return batch, signer


def _check_anchor(
    report: Report, node: Node, bundle: Mapping[str, Any], record: InteractionRecord, digest: bytes, domain: Domain
) -> bool:
    checked = _check_batch(report, bundle, record, digest, domain)
    anchor = bundle.get("anchor") or {}
    if checked is None:
        return False
    batch, payer = checked
    ledger = node.ledger.functions
    try:
        batch_id = int(anchor["batch_id"])
    except (KeyError, TypeError, ValueError):
        return report.add("anchored", False, "the bundle names no batch id")
    root, anchored_payer, _, count, total, _ = ledger.batches(batch_id).call()
    matches = (bytes(root), anchored_payer, count, total) == (batch.root, payer, batch.count, batch.total)
    elsewhere = "" if matches else ": the chain holds another batch under this id" + (
        " (every embedded chain has this id: read the answering node's with --chain-dir DIR)"
        if node.conn.backend == "embedded" else ""
    )
    report.add("anchored", matches, f"batch {batch_id} on chain {domain.chain_id}{elsewhere}")
    try:
        proof = [bytes.fromhex(p.removeprefix("0x")) for p in bundle.get("proof") or []]
        on_chain = ledger.verifyRecord(batch_id, digest, record.model, record.fee, proof).call()
    except (ValueError, TypeError, AttributeError, Web3Exception):
        on_chain = False
    report.add("proof on chain", on_chain, "InteractionLedger.verifyRecord")
    tx = anchor.get("tx_hash") or settlement_tx(node.conn, node.deployment.ledger, batch_id, node.deployment.block)
    report.add("settlement transaction", _settled_in(node, tx, batch_id, batch.root), f"BatchSettled in {tx[:18]}…" if tx else "not found")
    return matches and on_chain


def _settled_in(node: Node, tx: str | None, batch_id: int, root: bytes) -> bool:
    if not tx:
        return False
    try:
        receipt = node.conn.w3.eth.get_transaction_receipt(tx)
    except Exception:  # noqa: BLE001  (unknown hash, malformed hash: not settled there)
        return False
    events = node.ledger.events.BatchSettled().process_receipt(receipt, errors=DISCARD)
    return receipt["status"] == 1 and any(
        e["address"] == node.deployment.ledger and e["args"]["batch_id"] == batch_id and bytes(e["args"]["root"]) == root
        for e in events
    )


def _check_payment(report: Report, node: Node | None, payment: Mapping[str, Any], record: InteractionRecord) -> None:
    """An answer paid over x402: the record is bound to the payer's EIP-3009 authorization, which
    the token used, moving the quote to the operator, who refunded the payer all above the fee."""
    from tantieme.payments.per_request import record_nonce

    try:
        auth = payment["authorization"]
        payer, operator, nonce = auth["from"], auth["to"], auth["nonce"]
        quote, refund = int(auth["value"]), int(payment["refund"])
        bound = record.nonce == record_nonce(payer, nonce) and record.payer == record.operator == operator
    except (KeyError, TypeError, ValueError) as exc:
        report.add("payment", False, f"the payment in the bundle is malformed: {exc}")
        return
    report.add(
        "payment binding", bound,
        f"record nonce = keccak256(abi.encode(payer {payer[:10]}…, authorization nonce)), paid to the operator",
    )
    if node is None:
        return
    token = node.token
    same_token = str(payment.get("asset", "")).lower() == node.deployment.token.lower()
    try:
        _, name, version, chain_id, contract, *_ = token.functions.eip712Domain().call()
        typed = {
            "types": TRANSFER_AUTHORIZATION_TYPES, "primaryType": "TransferWithAuthorization",
            "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": contract},
            "message": {**auth, "value": quote, "validAfter": int(auth["validAfter"]), "validBefore": int(auth["validBefore"])},
        }
        signer = Account.recover_message(encode_typed_data(full_message=typed), signature=bytes.fromhex(payment["signature"].removeprefix("0x")))
    except Exception as exc:  # noqa: BLE001  (malformed fields or signature: several kinds)
        report.add("payment authorization", False, f"the authorization does not recover: {exc}")
        return
    report.add("payment authorization", same_token and signer == payer, f"EIP-3009 on the AI token, signed by {signer}")
    used = token.functions.authorizationState(payer, nonce).call()
    report.add("authorization used", used, "AI token authorizationState")
    paid = _transferred(node, payment.get("settlement_tx"), payer, operator, quote)
    report.add("payment settled", paid, f"{quote} token wei from the payer to the operator in {str(payment.get('settlement_tx'))[:18]}…")
    refunded = quote - refund == record.fee and (
        _transferred(node, payment.get("refund_tx"), operator, payer, refund) if refund else not payment.get("refund_tx")
    )
    report.add("refund", refunded, f"quote − fee = {refund} token wei back to the payer")


def _transferred(node: Node, tx: str | None, sender: str, to: str, value: int) -> bool:
    """Whether `tx` moved exactly `value` AI tokens from `sender` to `to`."""
    if not tx:
        return False
    try:
        receipt = node.conn.w3.eth.get_transaction_receipt(tx)
    except Exception:  # noqa: BLE001  (unknown or malformed hash)
        return False
    events = node.token.events.Transfer().process_receipt(receipt, errors=DISCARD)
    return receipt["status"] == 1 and any(
        e["address"] == node.deployment.token and (e["args"]["sender"], e["args"]["receiver"], e["args"]["value"]) == (sender, to, value)
        for e in events
    )


def _check_credentials(
    report: Report, bundle: Mapping[str, Any], digest: bytes, domain: Domain, trust_anchor_pem: bytes | None
) -> None:
    answer = bundle.get("answer") or {}
    if trust_anchor_pem is None:
        pem = ((bundle.get("ca") or {}).get("root_certificate") or "").encode()
        trusted_by = "the answering node's own CA, carried in the bundle (as trustworthy as that node)"
    else:
        pem, trusted_by = trust_anchor_pem, "the CA certificate you gave"
    report.trust_anchor = f"{trusted_by}, sha256 {_fingerprint(pem)}"
    record_id = "0x" + digest.hex()
    with tempfile.TemporaryDirectory(prefix="tantieme-verify-") as scratch:
        for name, key, suffix in (("content credential", "text", ".txt"), ("content credential (JSON)", "document", ".json")):
            content, sidecar = answer.get(key), answer.get(f"{key}_credential")
            if content is None or sidecar is None:
                report.add(name, False, "not in the bundle")
                continue
            path = Path(scratch) / f"answer{suffix}"
            path.write_text(content)
            (Path(scratch) / "answer.c2pa").write_bytes(base64.b64decode(sidecar))
            try:
                credential = verify_credential(path, trust_anchor_pem=pem, sidecar=Path(scratch) / "answer.c2pa")
            except ProvenanceError as exc:
                report.add(name, False, str(exc))
                continue
            interaction = credential.interaction or {}
            named = (
                interaction.get("record_id") == record_id
                and interaction.get("chain_id") in (domain.chain_id, str(domain.chain_id))
                and (interaction.get("contracts") or {}).get("ledger") == domain.verifying_contract
            )
            detail = credential.status + ("" if named else ", names another record")
            if credential.reasons:
                detail += ": " + ", ".join(credential.reasons)
            report.add(name, credential.status == "Trusted" and named, f"C2PA {detail}")
    document = answer.get("document")
    if document is not None:
        try:
            data = json.loads(document)
            same = (data.get("record"), data.get("answer"), data.get("question")) == (
                record_id, answer.get("text"), bundle.get("question")
            )
        except (ValueError, AttributeError):
            same = False
        report.add("answer document", same, "names this record, with the same question and answer")


def _signed_split(bundle: Mapping[str, Any]) -> tuple[int, int] | None:
    """The (commons, operator) shares in basis points the payer signed in the batch, if any."""
    try:
        batch = Batch.from_dict(bundle["batch"]["typed_data"]["message"])
    except Exception:  # noqa: BLE001  (no batch yet, or a malformed one: reported by the batch check)
        return None
    return batch.commons_bps, batch.operator_bps


def _provenance(node: Node, report: Report, rec: InteractionRecord, split: tuple[int, int] | None) -> None:
    """Who this record paid: under the split its batch pinned, or the ledger's current one while pending."""
    ledger = node.ledger.functions
    commons_bps, operator_bps = split or (ledger.commons_bps().call(), ledger.operator_bps().call())
    netted = net([rec], commons_bps, operator_bps)
    report.commons, report.operator = netted.split.commons, netted.split.operator
    assets = registry.with_ancestors(node, [rec.model, *rec.sources])
    by_id = {a.id: a for a in assets}
    _, final = simulate(assets, netted.owed(), {})
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
            walk(parent, "training data" if asset.kind == "model" else "upstream", depth + 1)

    walk(rec.model, "model", 0)
    for source in rec.sources:
        walk(source, "source", 0)


# -- helpers ------------------------------------------------------------------


def _fingerprint(pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        return x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()
    except ValueError:
        return "?"
