"""Baselines, proposals, sweeps and plots; today's rules read from the node's chain."""

from __future__ import annotations

import json
from dataclasses import replace

from tantieme.chain.deploy import PUBLIC_COMMONS, contract
from tantieme.interaction import ModelEntry, Models
from tantieme.simulation import Economy, Rules
from tantieme.simulation import report

SMALL = Economy(people=50, employer_asks=8, datasets=3, shock_step=3)
TODAY = Rules.defaults()


def test_compare__three_baselines_and_the_proposal_beside_today():
    proposal = TODAY.with_(commons_bps=2_000)
    comparison = report.compare(TODAY, proposal, economy=SMALL, steps=10, seed=4)
    untaxed, machine, flat = comparison.outcomes
    assert [o.name for o in comparison.outcomes] == ["no tax", "machine tax + dividend", "flat tax + dividend"]
    assert untaxed.rules.commons_bps == 0 and sum(untaxed.series["tax_raised"]) == 0
    assert sum(untaxed.series["dividend_per_person"]) == 0
    assert flat.rules.commons_bps == 0 and flat.rules.flat_tax_bps == comparison.flat_tax_bps > 0
    # Revenue-neutral: after the shock the flat tax raises about what the machine tax raised.
    raised = sum(machine.after("tax_raised"))
    assert abs(sum(flat.after("tax_raised")) - raised) < raised * 0.05
    difference = comparison.difference()
    assert difference["bottom_half_power"] == (
        comparison.proposal.summary["bottom_half_power"] - machine.summary["bottom_half_power"]
    ) > 0
    assert difference["gini"] < 0


def test_compare__same_seed_same_figures_other_seed_others():
    first, again, other = (
        json.dumps(report.compare(TODAY, economy=SMALL, steps=6, seed=s).to_json()) for s in (1, 1, 2)
    )
    assert first == again
    assert first != other


def test_sweep__every_machine_tax_and_dividend_setting():
    swept = report.sweep(TODAY, economy=SMALL, steps=8, seed=0, machine_taxes=(0, 1_000, 3_000),
                         dividends=((1, 0), (4, 5_000)))
    assert [(o.rules.commons_bps, o.rules.cycle_days, o.rules.reserve_bps) for o in swept] == [
        (0, 1, 0), (1_000, 1, 0), (3_000, 1, 0), (0, 4, 5_000), (1_000, 4, 5_000), (3_000, 4, 5_000),
    ]
    for line in (swept[:3], swept[3:]):
        bottom = [o.summary["bottom_half_power"] for o in line]
        assert bottom == sorted(bottom) and bottom[0] < bottom[-1]
    # A reserve keeps part of the pool: less is paid out than without one.
    assert swept[5].summary["dividend_per_person"] < swept[2].summary["dividend_per_person"]


def test_write_plots__png_files(tmp_path):
    comparison = report.compare(TODAY, TODAY.with_(commons_bps=1_000), economy=SMALL, steps=6, seed=0)
    swept = report.sweep(TODAY, economy=SMALL, steps=4, seed=0, machine_taxes=(0, 500), dividends=((1, 0),))
    paths = report.write_plots(tmp_path / "plots", comparison, swept)
    assert [p.split("/")[-1] for p in paths] == ["power.png", "sweep.png"]
    for path in paths:
        with open(path, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_current__defaults_without_a_node():
    rules, source = Rules.current()
    assert rules == TODAY
    assert (TODAY.cycle_days, TODAY.reserve_bps) == (PUBLIC_COMMONS.cycle_days, PUBLIC_COMMONS.reserve_bps)
    assert source.startswith("defaults")


def test_current__reads_the_split_and_dividend_from_the_node_chain_and_the_default_model_offer(node):
    node.conn.transact(node.ledger.functions.setSplit(700, 1_200), gas=100_000)
    pool = contract(node.conn, "commons_pool", node.deployment.commons_pool)
    node.conn.transact(pool.functions.setDividendRules(10, 500, 5), gas=100_000)
    chain_id = node.conn.chain_id
    rules, source = Rules.current()  # beside the open node, as a reader
    assert rules == replace(TODAY, commons_bps=700, operator_bps=1_200, cycle_days=10, reserve_bps=500)
    assert source == f"this node's chain {chain_id}"
    entry = ModelEntry(7, "m", "local", {}, "0x" + "00" * 32, 3 * 10**18, 9 * 10**18)
    Models(default=7, models={"7": entry}).save()
    rules, _ = Rules.current()
    assert (rules.price_prompt_per_million, rules.price_completion_per_million) == (3 * 10**18, 9 * 10**18)


def test_rules_changes__names_each_changed_field_in_words():
    today = Rules.defaults()
    assert today.changes(today) == []
    assert today.changes(today.with_(commons_bps=1000, cycle_days=7, reserve_bps=0)) == [
        "machine tax 5 % → 10 %", "dividend cycle 30 days → 7 days", "dividend reserve 10 % → 0 %",
    ]
