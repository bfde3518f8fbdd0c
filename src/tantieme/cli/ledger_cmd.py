"""`tantieme history`, `settle`, `export`, `verify`, `dat`."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tantieme.amounts import format_amount
from tantieme.cli import app
from tantieme.cli.common import open_node
from tantieme.cli.output import JsonOption, console, emit

if TYPE_CHECKING:
    from tantieme.chain import Connection
    from tantieme.ledger.journal import Journal, RecordRow


@app.command()
def history(
    limit: int = typer.Option(20, min=1, max=1_000_000, help="How many, newest first."),
    pending: bool = typer.Option(False, help="Only records not yet in a batch."),
    as_json: bool = JsonOption,
) -> None:
    """List this node's interaction records (Data Anchoring Tokens).

    With --json each record carries in full ("full"): its EIP-712 typed data and
    signature, its batch's typed data and signature, its Merkle proof and its anchor.

    Example: tantieme history --pending
    """
    from tantieme.ledger.journal import journal

    book = journal()
    rows = book.records(limit=limit, pending=True if pending else None)
    batches = {r.batch_id: book.batch(r.batch_id) for r in rows if r.batch_id}
    data = [
        {
            "id": r.id,
            "record": r.digest,
            "time": r.created_at,
            "question": r.question,
            "model": r.signed.record.model,
            "sources": list(r.signed.record.sources),
            "weights_bps": list(r.signed.record.weights),
            "fee": r.signed.record.fee,
            "payer": r.signed.record.payer,
            "status": "pending" if r.batch_id is None else batches[r.batch_id].status,
            "batch": batches[r.batch_id].chain_batch_id if r.batch_id else None,
            **({"full": _full(book, r)} if as_json else {}),
        }
        for r in rows
    ]

    def render(_: object) -> None:
        table = Table("id", "record", "when", "question", "fee (TAI)", "status")
        for d in data:
            when = datetime.datetime.fromtimestamp(d["time"]).strftime("%Y-%m-%d %H:%M")
            status = d["status"] + (f" #{d['batch']}" if d["batch"] else "")
            table.add_row(str(d["id"]), d["record"][:12] + "…", when, d["question"][:40], format_amount(d["fee"]), status)
        console.print(table)

    emit(data, as_json, render)


@app.command()
def settle(as_json: bool = JsonOption) -> None:
    """Settle pending records: one Merkle root and one netted payment per batch.

    Records paid from deposits settle too: the latest batch each payer signed.

    Example: tantieme settle
    """
    from tantieme.ledger import settlement
    from tantieme.ledger.journal import journal
    from tantieme.payments import deposit

    with open_node() as node:
        book = journal()
        done = settlement.settle(node, {node.address: node.account}, book=book) + deposit.Desk(node, book).settle()

    def render(_: object) -> None:
        if not done:
            console.print("nothing to settle")
        for s in done:
            console.print(
                f"batch #{s.chain_batch_id}: {s.records} records, {format_amount(s.total)} TAI "
                f"(commons {format_amount(s.commons)}, operator {format_amount(s.operator)}, "
                f"{len(s.owed)} assets) root {s.root[:18]}…" + (f" gas {s.gas:,}" if s.gas else "")
            )

    emit(done, as_json, render)


@app.command()
def export(
    record: str = typer.Argument(..., help="A record id (local number or digest prefix) or an answer file."),
    output: Path = typer.Option(None, "--output", "-o", help="The bundle file (default: ./answer-<record>.bundle.json)."),
    as_json: bool = JsonOption,
) -> None:
    """Write an answer's bundle: all anyone needs to verify it against the chain, in one JSON file.

    The bundle holds the record (EIP-712 typed data and the payer's signature),
    its batch and Merkle proof once settled, the anchor (chain id, ledger, batch
    id, transaction), the question, the answer as text and JSON with their C2PA
    credentials, and this node's CA certificate (the credentials' trust anchor).

    Example: tantieme export 1 -o answer.json
    """
    from tantieme.ledger.bundle import export as export_bundle
    from tantieme.ledger.journal import journal

    with open_node(readonly=True) as node:
        bundle = export_bundle(node, journal(), record)
    path = output or Path(f"answer-{bundle['record']['digest'][2:18]}.bundle.json")
    _write_bundle(path, bundle)
    data = {"bundle": str(path), "record": bundle["record"]["digest"], "status": bundle["status"]}
    emit(data, as_json, lambda d: console.print(f"{d['status']} record {d['record'][:18]}… → {d['bundle']}"))


@app.command()
def verify(
    target: str = typer.Argument(..., help="A bundle file, a record id (local number or digest prefix) or an answer file."),
    node_url: str = typer.Option(None, "--node", metavar="URL", help="Fetch the record's bundle from this node (`tantieme serve`)."),
    rpc_url: str = typer.Option(None, "--rpc-url", help="Check a bundle against this JSON-RPC node."),
    chain_dir: Path = typer.Option(None, "--chain-dir", help="Check a bundle against the embedded chain in this folder (read-only)."),
    ca: Path = typer.Option(None, "--ca", help="Trust this CA certificate (PEM) instead of the one in the bundle."),
    as_json: bool = JsonOption,
) -> None:
    """Check an answer: record, signatures, Merkle proof, anchor and credentials; show its provenance.

    A bundle (from `tantieme export`) is checked from itself and the chain alone,
    on any machine: the chain is this home's, or --rpc-url / --chain-dir. The
    credentials are trusted against the CA certificate in the bundle, which is
    the answering node's own CA (or --ca). With --node URL, TARGET is a record's
    digest and its bundle comes from that node (GET /records/ID); the chain is
    still yours to choose, never the node's word.

    Exit codes: 0 verified; 1 a check failed; 2 usage error; 3 pending (the
    record is signed by its payer but not settled yet: no anchor yet).

    Example: tantieme verify answer.json --rpc-url http://127.0.0.1:8545
    """
    from tantieme.ledger.bundle import export as export_bundle
    from tantieme.ledger.bundle import fetch
    from tantieme.ledger.journal import journal
    from tantieme.ledger.verify import verify as verify_bundle

    anchor = _read_ca(ca) if ca else None
    bundle = fetch(node_url, target) if node_url else _bundle_at(Path(target))
    if bundle is None:
        with open_node(readonly=True) as node:
            report = verify_bundle(node.conn, export_bundle(node, journal(), target), trust_anchor_pem=anchor)
    else:
        with _chain(bundle, rpc_url, chain_dir) as conn:
            report = verify_bundle(conn, bundle, trust_anchor_pem=anchor)

    def render(_: object) -> None:
        for check in report.checks:
            mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
            console.print(f"{mark} {check.name}: {check.detail}")
        console.print(f"[dim]credentials trusted against {report.trust_anchor}[/]")
        console.print("\n[bold]provenance[/] (paid by this record, after royalties flow upstream)")
        for link in report.provenance:
            indent = "  " * link.depth
            console.print(f"{indent}#{link.asset} {link.title or ''} [dim]({link.kind}, {link.role})[/] {format_amount(link.paid)} TAI")
        console.print(f"commons pool {format_amount(report.commons)} TAI · operator {format_amount(report.operator)} TAI")
        console.print({
            "verified": "[green]verified[/]",
            "pending": "[yellow]pending[/]: recorded and signed by its payer, not settled yet; "
                       "export it again after `tantieme settle` for its anchor",
            "failed": "[red]verification failed[/]",
        }[report.status])

    emit(report, as_json, render)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _full(book: Journal, row: RecordRow) -> dict:
    """A record in full for `history --json` (loaded only then: it reads Merkle trees)."""
    from tantieme.ledger.bundle import record_entry

    return record_entry(book, row)


def _bundle_at(path: Path) -> dict | None:
    """The bundle in `path`, or None if `path` is not a bundle (a record id, an answer file)."""
    from tantieme.ledger.bundle import is_bundle

    if not path.is_file() or path.suffix.lower() != ".json":
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if is_bundle(data) else None


def _chain(bundle: dict, rpc_url: str | None, chain_dir: Path | None) -> Connection:
    """A read-only connection to the chain a bundle is anchored on."""
    from tantieme.chain import connect, dev_account
    from tantieme.errors import ConfigError
    from tantieme.node import Settings

    if rpc_url:
        return connect("rpc", rpc_url=rpc_url, account=dev_account(0), readonly=True)
    if chain_dir:
        return connect("embedded", directory=chain_dir, readonly=True, account=dev_account(0))
    if not Settings.path().is_file():
        chain_id = (bundle.get("anchor") or {}).get("chain_id")
        raise ConfigError(
            f"which chain? the answer is anchored on chain {chain_id}: pass --rpc-url URL "
            "(or --chain-dir DIR for an embedded chain), or verify from a home set up on that chain"
        )
    settings = Settings.load()
    return connect(settings.chain, rpc_url=settings.rpc_url, account=dev_account(0), readonly=True)


def _write_bundle(path: Path, bundle: dict) -> None:
    from tantieme.errors import ConfigError
    from tantieme.files import write_json

    try:
        write_json(path, bundle, mode=0o644)
    except OSError as exc:
        raise ConfigError(f"cannot write the bundle to {path}: {exc.strerror}") from None


def _read_ca(path: Path) -> bytes:
    from tantieme.errors import ConfigError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the CA certificate {path}: {exc.strerror}") from None


@app.command("dat")
def claim_dat(
    record: str = typer.Argument(..., help="A settled record of yours (local number or digest prefix)."),
    as_json: bool = JsonOption,
) -> None:
    """Claim a settled record as an ERC-721 Data Anchoring Token (DAT), proven by its Merkle proof.

    Example: tantieme dat 1
    """
    from tantieme.ledger import settlement

    with open_node() as node:
        book = settlement.journal()
        row = book.record(record)
        token_id = settlement.claim_dat(node, node.account, row, book)
        data = {"record": row.digest, "token_id": token_id, "owner": node.ledger.functions.ownerOf(token_id).call()}
    emit(data, as_json, lambda d: console.print(f"DAT {str(d['token_id'])[:18]}… minted to {d['owner']} for record {d['record'][:18]}…"))
