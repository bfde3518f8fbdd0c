"""`tantieme history`, `settle`, `verify`."""

from __future__ import annotations

import datetime

import typer
from rich.table import Table

from tantieme.assets.royalties import format_amount
from tantieme.cli import app
from tantieme.cli.node_cmd import open_node
from tantieme.cli.output import JsonOption, console, emit, user_errors
from tantieme.interaction import node_ca
from tantieme.ledger import settlement
from tantieme.ledger.verify import verify as verify_record


@app.command()
def history(
    limit: int = typer.Option(20, help="How many, newest first."),
    pending: bool = typer.Option(False, help="Only records not yet in a batch."),
    as_json: bool = JsonOption,
) -> None:
    """List this node's interaction records (Data Anchoring Tokens).

    Example: tantieme history --pending
    """
    with user_errors(as_json):
        book = settlement.journal()
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

    Example: tantieme settle
    """
    with user_errors(as_json), open_node() as node:
        done = settlement.settle(node, {node.address: node.account})

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
def verify(
    target: str = typer.Argument(..., help="A record id (local number or digest prefix) or an answer file."),
    as_json: bool = JsonOption,
) -> None:
    """Check an answer's record, signature, Merkle proof, anchor and credential; show its provenance.

    Exits non-zero if any check fails.

    Example: tantieme verify 1
    """
    with user_errors(as_json), open_node(readonly=True) as node:
        report = verify_record(node, settlement.journal(), target, node_ca().root_cert_pem)

    def render(_: object) -> None:
        for check in report.checks:
            mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
            console.print(f"{mark} {check.name}: {check.detail}")
        console.print("\n[bold]provenance[/] (paid by this record, after royalties flow upstream)")
        for link in report.provenance:
            indent = "  " * link.depth
            console.print(f"{indent}#{link.asset} {link.title or ''} [dim]({link.kind}, {link.role})[/] {format_amount(link.paid)} TAI")
        console.print(f"commons pool {format_amount(report.commons)} TAI · operator {format_amount(report.operator)} TAI")
        console.print("[green]verified[/]" if report.ok else "[red]verification failed[/]")

    emit(report, as_json, render)
    if not report.ok:
        raise typer.Exit(1)


@app.command("dat")
def claim_dat(
    record: str = typer.Argument(..., help="A settled record of yours (local number or digest prefix)."),
    as_json: bool = JsonOption,
) -> None:
    """Claim a settled record as an ERC-721 Data Anchoring Token (DAT), proven by its Merkle proof.

    Example: tantieme dat 1
    """
    with user_errors(as_json), open_node() as node:
        book = settlement.journal()
        row = book.record(record)
        token_id = settlement.claim_dat(node, node.account, row, book)
        data = {"record": row.digest, "token_id": str(token_id), "owner": node.ledger.functions.ownerOf(token_id).call()}
    emit(data, as_json, lambda d: console.print(f"DAT {d['token_id'][:18]}… minted to {d['owner']} for record {d['record'][:18]}…"))
