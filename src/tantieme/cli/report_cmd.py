"""`tantieme report`: who profits from this node's answers."""

from __future__ import annotations

import csv
import sys

import typer
from rich.markup import escape
from rich.table import Table

from tantieme.amounts import format_amount
from tantieme.cli import app
from tantieme.cli.common import completes, open_node
from tantieme.cli.output import JsonOption, console, emit

_PERIODS = ("all", "1d", "7d", "30d", "90d")


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f}%"


@app.command()
def report(
    period: str = typer.Option(
        None, help="One period: all, 1d, 7d, 30d or 90d (default: every period; works over all time).",
        autocompletion=completes(*_PERIODS),
    ),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one row per recipient class and period."),
    as_json: bool = JsonOption,
) -> None:
    """Who profits: the fees split to the wei between the creators of cited works, upstream
    parents, training data, the model owner, the operator and the commons pool; creator
    incomes, their Gini coefficient and top-10 % share; each work's citations and earnings.

    Settled figures are the chain's; records not settled yet are counted as unsettled.

    Example: tantieme report --period 7d
    """
    from tantieme.report import fairness
    from tantieme.report import report as build

    if as_csv and as_json:
        raise typer.BadParameter("choose --csv or --json, not both")
    periods = [fairness.parse_period(period)] if period else list(fairness.PERIODS)
    with open_node(readonly=True) as node:
        data = build(node, periods, works_period=period or "all")
    if as_csv:
        _csv(data)
        return
    emit(data, as_json, _render)


def _csv(data: dict) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["period", "class", "label", "amount_wei", "unsettled_wei", "share"])
    for p in data["periods"]:
        for c in p["classes"]:
            out.writerow([p["period"], c["class"], c["label"], c["amount"], c["unsettled"], "" if c["share"] is None else c["share"]])


def _render(data: dict) -> None:
    periods = data["periods"]
    first = periods[0]
    split = Table("recipients", "TAI", "share", "of which unsettled", title=f"where the fees went ({first['period']})")
    for c in first["classes"]:
        unsettled = int(c["unsettled"])
        split.add_row(c["label"], format_amount(int(c["amount"])), _percent(c["share"]), format_amount(unsettled) if unsettled else "")
    split.add_row("[bold]all fees[/]", f"[bold]{format_amount(int(first['total']))}[/]", f"{first['records']} answers", "")
    console.print(split)
    fairness = Table("period", "answers", "fees (TAI)", "to people", "Gini", "top 10 %",
                     title="fairness: fees to people whose works shaped answers; creator income's Gini and top-10 % share")
    for p in periods:
        fairness.add_row(
            p["period"], str(p["records"]), format_amount(int(p["total"])), _percent(p["to_people"]),
            "–" if p["gini"] is None else f"{p['gini']:.3f}", _percent(p["top10_share"]),
        )
    console.print(fairness)
    works = Table("asset", "title", "kind", "owner", "cited", "attribution", "earned (TAI)", "claimable", "claimed",
                  title=f"assets ({first['period']})")
    for w in data["works"]:
        works.add_row(
            f"#{w['asset']}", escape((w["title"] or "")[:36]) + (" [red](disputed)[/]" if w["disputed"] else ""), w["kind"], w["owner"][:10] + "…", str(w["citations"]),
            _percent(w["attribution_share"]), format_amount(int(w["earned"])),
            format_amount(int(w["claimable"])), format_amount(int(w["claimed"])),
        )
    console.print(works)
    for w in data["works"]:
        if not w["retrieval"]["included"]:
            console.print(f"#{w['asset']} is left out of retrieval: {w['retrieval']['reason']}", soft_wrap=True)
    pool = data["commons_pool"]
    if pool is not None:
        figures = Table("balance (TAI)", "of which bonds", "members", "dividend per member today", "paid out (claims)",
                        title=f"commons pool {pool['pool']}" + ("" if pool["receives_the_tax"] else " (not the ledger's commons)"))
        figures.add_row(
            format_amount(int(pool["balance"])), format_amount(int(pool["bonds_held"])), str(pool["members"]),
            format_amount(int(pool["today_amount"])), f"{format_amount(int(pool['paid']))} ({pool['claims']})",
        )
        console.print(figures)
