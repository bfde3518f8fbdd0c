"""`tantieme report` on the embedded chain: the figures against the chain's, to the wei."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from tantieme import commons
from tantieme.amounts import format_amount
from tantieme.cli import app
from tantieme.cli.output import console
from tantieme.node import Node
from tantieme.report import report

from .homes import CREATORS, build, pool_members


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def run_json(*args: str) -> dict:
    return json.loads(run(*args, "--json").stdout)


@pytest.fixture
def filled(init_embedded):
    init_embedded()
    with Node.open() as node:
        return build(node)


def chain_batch(node: Node, batch_id: int) -> dict:
    (log,) = node.ledger.events.BatchSettled().get_logs(from_block=0, argument_filters={"batch_id": batch_id})
    return log["args"]


def test_report__settled_figures_are_the_chains_and_pending_ones_are_marked(filled, json_rules):
    data = run_json("report")
    json_rules(data)
    everything = next(p for p in data["periods"] if p["period"] == "all")
    classes = {c["class"]: c for c in everything["classes"]}
    pending_fee = filled["pending"].signed.record.fee
    with Node.open(readonly=True) as node:
        args = chain_batch(node, filled["batch"].chain_batch_id)
        settled_total = args["total"]
        assert int(everything["total"]) == settled_total + pending_fee
        assert sum(int(c["amount"]) for c in classes.values()) == int(everything["total"])
        assert sum(int(c["unsettled"]) for c in classes.values()) == pending_fee
        assert int(classes["commons"]["amount"]) - int(classes["commons"]["unsettled"]) == args["commons"]
        assert int(classes["operator"]["amount"]) - int(classes["operator"]["unsettled"]) == args["operator_fee"]
        works = {w["asset"]: w for w in data["works"]}
        router = node.router.functions
        for asset_id, w in works.items():
            assert int(w["claimable"]) == router.claimable(asset_id).call()
        (claim,) = node.router.events.Claimed().get_logs(from_block=0)
        assert int(works[filled["remix"]]["claimed"]) == claim["args"]["amount"] > 0
    assert works[filled["bees"]]["citations"] == 3 and works[filled["letters"]]["citations"] == 0
    assert int(works[filled["letters"]]["earned"]) == 0 and int(works[filled["data"]]["earned"]) > 0
    incomes = {c["address"]: int(c["income"]) for c in everything["creators"]}
    assert set(incomes) == {a.address for a in CREATORS.values()}
    assert 0 < everything["gini"] < 1 and everything["top10_share"] >= 0.1
    assert 0 < everything["to_people"] < 1
    assert {b["batch"] for b in data["batches"]} == {f"#{filled['batch'].chain_batch_id}", f"pending {filled['pending'].signed.record.payer} {filled['pending'].signed.record.operator}"}


def test_report__commons_section_is_the_pools_on_chain(filled, json_rules, monkeypatch):
    with Node.open() as node:
        paid = pool_members(node, filled)
    data = run_json("report")
    json_rules(data)
    with Node.open(readonly=True) as node:
        pool = commons.pool(node)
        chain = pool.functions
        bond = chain.bond().call()
        assert data["commons_pool"] == {
            "pool": pool.address, "receives_the_tax": True, "balance": str(node.balance(pool.address)),
            "funds": str(chain.funds().call()), "bonds_held": str(bond), "members": 2,
            "day": chain.currentDay().call(), "today_amount": str(chain.todayAmount().call()),
            "paid": str(paid.amount), "claims": 1,
        }
        assert chain.totalClaimed().call() == paid.amount == chain.todayAmount().call() > 0 and bond > 0
        assert node.balance(pool.address) == chain.funds().call() + bond
    monkeypatch.setattr(console, "width", 160)
    table = run("report").stdout
    assert f"commons pool {pool.address}" in table and f"{format_amount(paid.amount)} (1)" in table


def test_report__one_period_as_csv_and_as_a_table(filled, monkeypatch):
    monkeypatch.setattr(console, "width", 160)
    rows = list(csv.DictReader(io.StringIO(run("report", "--csv").stdout)))
    assert [r["period"] for r in rows[::6]] == ["all", "1d", "7d", "30d", "90d"]
    assert len(rows) == 30 and rows[0]["class"] == "creators"
    assert sum(int(r["amount_wei"]) for r in rows[:6]) == int(run_json("report", "--period", "7d")["periods"][0]["total"])
    table = run("report", "--period", "7d").stdout
    assert "where the fees went (7d)" in table and "creators of cited works" in table and "Gini" in table
    assert "[i]Letters" in table  # a title is text, never markup
    assert "choose --csv or --json" in run("report", "--csv", "--json", ok=False).stdout


def test_report__old_answers_leave_the_short_periods(filled):
    with Node.open(readonly=True) as node:
        later = report(node, ["all", "1d", "90d"], now=filled["pending"].created_at + 2 * 86_400)
    totals = {p["period"]: int(p["total"]) for p in later["periods"]}
    assert totals["1d"] == 0 and totals["90d"] == totals["all"] > 0


def test_report__unknown_period__one_line_error():
    result = run("report", "--period", "2w", ok=False)
    assert "unknown period '2w'" in result.output and "Traceback" not in result.output


def test_snapshot__registry_read_once_per_head_block__a_new_block_shows(filled, monkeypatch):
    from tantieme.assets import registry
    from tantieme.ledger.journal import journal
    from tantieme.report import snapshot

    reads = []
    monkeypatch.setattr(snapshot, "all_assets", lambda node: reads.append(1) or registry.all_assets(node))

    def consent(node: Node) -> dict[str, bool]:
        book = journal()
        try:
            snap = snapshot.read(node, book)
        finally:
            book.close()
        return next(a for a in snap.assets if a.id == filled["bees"]).consent

    with Node.open() as node:
        assert consent(node)["retrieval"] and consent(node)["retrieval"]
        assert len(reads) == 1  # the second read made no registry call: the head had not moved
        ada = node.as_account(CREATORS["ada"])
        registry.tighten_consent(ada, filled["bees"], **{**registry.get(node, filled["bees"]).terms.ai_consent(), "retrieval": False})
        assert not consent(node)["retrieval"]  # the new block dropped what was kept
        assert len(reads) == 2
