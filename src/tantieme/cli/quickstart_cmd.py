"""`tantieme quickstart`: the whole flow on the sample corpus, from a clean home."""

from __future__ import annotations

import typer
from rich.table import Table

from tantieme.amounts import format_amount
from tantieme.cli import app
from tantieme.cli.output import JsonOption, console, emit


@app.command()
def quickstart(as_json: bool = JsonOption) -> None:
    """Run tantieme end to end on the embedded chain with the sample corpus.

    Sets up a node of its own (in `quickstart/` inside your TANTIEME_HOME, apart
    from your assets and records), registers the sample works from several
    creators (one refusing AI use, one derivative, one training dataset),
    registers the local model, asks three questions, settles them as one batch,
    shows who earned what, verifies one answer's record, proof and credential,
    has a second account ask the node over HTTP, paying per request with x402, and
    lets the DAO raise the machine tax (stake, propose, vote, queue, execute) before
    that answer settles under the new split, and has a creator join the commons pool
    and claim the dividend of the machine tax.

    Example: tantieme quickstart
    """
    from tantieme import quickstart as qs
    from tantieme.cli.ai_cmd import render_answer

    say = (lambda _msg: None) if as_json else console.print
    with qs.own_home() as where:
        if not as_json:
            console.print(
                f"[bold]home[/] {where} (the quickstart's own node; explore it with TANTIEME_HOME={where} tantieme assets)",
                soft_wrap=True,
            )
        result = qs.run(say, None if as_json else render_answer)
        if not as_json:
            render(result)
        over_http, paid = qs.ask_over_http(say)
        tax = qs.dao_raises_the_tax(say)
        dividend = qs.commons_dividend(say)
    if as_json:
        emit({**_data(where, result, over_http, paid, tax), "dividend": dividend}, True, render)
    taxed = tax.batch is None or tax.batch.commons == tax.batch.total * tax.commons_bps // 10_000
    if not result.verification.ok or result.refused_read or paid != over_http.fee or not taxed:
        raise typer.Exit(1)


def render(r) -> None:
    """Steps 5 and 6: who earned what, and the verification of one answer."""
    table = Table("party", "role", "account", "earned (TAI)")
    for e in r.earnings:
        table.add_row(e.party, e.role, e.account[:10] + "…", format_amount(e.amount))
    console.print(table)
    console.print("\n[bold]6. anyone can verify an answer from its bundle and the chain alone[/]")
    for check in r.verification.checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        console.print(f"{mark} {check.name}: {check.detail}")
    console.print(f"[dim]credentials trusted against {r.verification.trust_anchor}[/]")


def _data(where, result, over_http, paid: int, tax) -> dict:
    return {
        "home": str(where),
        "assets": result.registered.assets,
        "model": result.model,
        "answers": [{"question": a.answer.question, "answer": a.answer.text, "record": a.record.digest, "fee": a.fee,
                     "sources": [{"asset": s.asset_id, "weight": s.weight} for s in a.answer.sources]} for a in result.answers],
        "refused_work_read": result.refused_read,
        "batches": result.settled,
        "earnings": result.earnings,
        "verified": result.verification.ok,
        "checks": result.verification.checks,
        "over_http": {
            "question": over_http.question, "answer": over_http.text, "record": over_http.record,
            "payer": over_http.payer, "quote": over_http.quote, "fee": over_http.fee, "paid": paid,
        },
        "dao": {
            "proposal": None if tax.proposal is None else {
                "number": tax.proposal.proposal.number, "id": str(tax.proposal.proposal.id), "state": tax.proposal.state,
                "for": str(tax.proposal.for_), "against": str(tax.proposal.against),
            },
            "commons_bps_before": tax.commons_bps_before, "commons_bps": tax.commons_bps, "batch": tax.batch,
        },
    }
