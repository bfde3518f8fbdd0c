"""`tantieme simulate`: the table, the JSON document, reproducibility, plots and bad input."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tantieme.chain.accounts import dev_account

from .conftest import run, run_json

README = Path(__file__).resolve().parents[2] / "README.md"


def simulate_section() -> str:
    return README.read_text().split("## Who gains when answers replace work", 1)[1].split("\n## ", 1)[0]


def dev_address(n: int) -> str:
    return dev_account(n).address


def test_simulate__json_shape_and_same_seed_same_document(json_rules):
    first = run("simulate", "--steps", "6", "--seed", "5", "--json").stdout
    assert run("simulate", "--steps", "6", "--seed", "5", "--json").stdout == first
    document = json.loads(first)
    json_rules(document)
    assert document["seed"] == 5 and document["steps"] == 6 and document["shock_step"] == 1
    assert document["rules_from"].startswith("defaults")
    assert [s["name"] for s in document["scenarios"]] == ["no tax", "machine tax + dividend", "flat tax + dividend"]
    assert document["proposal"] is None and document["difference"] is None and document["sweep"] == []
    today = document["scenarios"][1]
    assert today["rules"]["commons_bps"] == 500
    assert set(today["summary"]) == {
        "mean_power", "bottom_half_power", "gini", "equality", "productivity", "welfare", "creators_share",
        "dividend_per_person", "tax_raised", "before_mean_power", "before_bottom_half_power",
    }
    assert isinstance(today["summary"]["bottom_half_power"], str) and isinstance(today["summary"]["gini"], float)
    assert len(today["series"]["mean_power"]) == 6
    assert today["books"]["minted"] == str(int(today["books"]["burned"]) + int(today["books"]["held"]))


def test_simulate__commons_bps__the_proposal_and_its_difference():
    document = run_json("simulate", "--steps", "8", "--commons-bps", "2000")
    assert document["proposal"]["rules"]["commons_bps"] == 2000
    assert int(document["difference"]["bottom_half_power"]) > 0
    assert document["difference"]["gini"] < 0
    text = run("simulate", "--steps", "8", "--commons-bps", "2000").stdout
    (gini,) = [line for line in text.splitlines() if line.startswith("│ Gini ")]
    cells = [c.strip() for c in gini.strip("│").split("│")]
    assert len(cells) == 6  # the label, three baselines, the proposal, its difference with today
    assert cells[5].startswith("-") and abs(float(cells[5]) - (float(cells[4]) - float(cells[2]))) <= 0.0001


def test_simulate__out_and_sweep__plots_and_the_document(tmp_path):
    out = tmp_path / "sim"
    text = run("simulate", "--steps", "3", "--sweep", "--out", str(out)).stdout
    assert sorted(p.name for p in out.iterdir()) == ["power.png", "simulation.json", "sweep.png"]
    document = json.loads((out / "simulation.json").read_text())
    assert len(document["sweep"]) == 18
    assert document["plots"] == [str(out / "power.png"), str(out / "sweep.png")]
    assert "sweep" in text and f"plot {out / 'sweep.png'}" in " ".join(text.split())


@pytest.mark.parametrize("args", [
    ["--bogus"], ["--steps", "-1"], ["--steps", "1041"], ["--seed", "abc"], ["--commons-bps", "-5"],
    ["--commons-bps", "10001"], ["--out", "/dev/null/plots"], ["--out", "{file}"],
])
def test_simulate__hostile_input__one_line_and_nothing_written(args, tmp_path):
    file = tmp_path / "file"
    file.write_text("")
    result = run("simulate", "--steps", "2", *[a.replace("{file}", str(file)) for a in args], ok=False)
    assert result.exit_code in (1, 2)
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert {p.name for p in tmp_path.iterdir()} <= {"file", "home"}  # no plots, no half-written folder


def test_simulate__bad_input__one_line():
    result = run("simulate", "--commons-bps", "9500", ok=False)
    assert result.exit_code == 1
    assert "choose a machine tax of at most 9000" in result.output
    assert len(result.output.strip().splitlines()) <= 2  # one line, maybe wrapped
    assert run("simulate", "--steps", "0", ok=False).exit_code == 2
    assert run_json("simulate", "--commons-bps", "9500", ok=False)["kind"] == "InputError"


def test_simulate__proposal__judges_the_daos_proposals_and_refuses_what_it_cannot(json_rules):
    """The DAO's proposals on the embedded chain: a split and dividend rules are judged against
    today's rules (the ledger's split, the pool's dividend rules, read from the chain); the README's
    line works as written; an unknown proposal, one that changes nothing the simulation models and
    --commons-bps beside --proposal are one clear error each."""
    from tantieme.chain.deploy import contract
    from tantieme.node import Node

    run("init", "--dao")
    run("dao", "stake", "100")
    run("dao", "propose", "set-split", "--commons-bps", "2000", "--operator-bps", "1000", "-d", "Raise the machine tax")
    with Node.open(readonly=True) as node:
        pool = contract(node.conn, "commons_pool", node.deployment.commons_pool)
        dividend = pool.functions.setDividendRules(7, 0, 7)._encode_transaction_data()
        ledger = node.deployment.ledger
        cut_short = node.ledger.functions.setSplit(9000, 0)._encode_transaction_data()[:20]  # arguments missing
    run("dao", "propose", "call", "--target", pool.address, "--calldata", dividend, "-d", "Pay out faster\n\nAll in a week.")
    run("dao", "propose", "set-commons", dev_address(1), "-d", "Another commons")
    run("dao", "propose", "call", "--target", dev_address(2), "--calldata", "0x12345678", "-d", "Unrelated")
    run("dao", "propose", "call", "--target", ledger, "--calldata", cut_short, "-d", "Broken")

    opened = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Node, "open", lambda *a, _open=Node.open, **k: opened.append(1) or _open(*a, **k))
        document = run_json("simulate", "--proposal", "1", "--steps", "8")
    assert len(opened) == 1  # today's rules and the proposal's from one node
    json_rules(document)
    assert document["rules_from"].startswith("this node's chain")
    assert document["proposal_from"] == "proposal #1: Raise the machine tax"
    today, proposal = document["scenarios"][1]["rules"], document["proposal"]["rules"]
    assert (today["commons_bps"], today["cycle_days"], today["reserve_bps"]) == (500, 30, 1000)
    assert (proposal["commons_bps"], proposal["operator_bps"], proposal["cycle_days"]) == (2000, 1000, 30)
    assert int(document["difference"]["bottom_half_power"]) > 0 and document["difference"]["gini"] < 0

    proposal_id = run_json("dao", "proposals")[1]["id"]
    document = run_json("simulate", "--proposal", str(proposal_id), "--steps", "2")
    assert document["proposal_from"] == "proposal #2: Pay out faster"
    proposal = document["proposal"]["rules"]
    assert (proposal["commons_bps"], proposal["cycle_days"], proposal["reserve_bps"]) == (500, 7, 0)

    (line,) = re.findall(r"`(tantieme simulate --proposal [^`]*)`", simulate_section())
    text = run(*shlex.split(line)[1:]).stdout
    assert "judging proposal #1: Raise the machine tax: machine tax 20 %, operator 10 %" in " ".join(text.split())
    (gini,) = [row for row in text.splitlines() if row.startswith("│ Gini ")]
    assert len(gini.strip("│").split("│")) == 6  # the label, three baselines, the proposal, its difference
    heading = " ".join(row.split("┃")[5].strip() for row in text.splitlines() if row.startswith("┃"))
    assert " ".join(heading.split()) == "proposal: machine tax 5 % → 20 %"  # what it changes (not the operator's 10 %)

    assert run_json("simulate", "--proposal", "9", ok=False)["error"] == (
        "there is no proposal 9: `tantieme dao proposals` lists them (5 so far)")
    assert run_json("simulate", "--proposal", "3", ok=False)["error"] == (
        "proposal #3 changes nothing the simulation models: it calls the ledger's setCommons; "
        "the simulation judges the ledger's setSplit and the commons pool's setDividendRules")
    assert run_json("simulate", "--proposal", "4", ok=False)["error"].startswith(
        f"proposal #4 changes nothing the simulation models: it calls {dev_address(2)}'s 0x12345678; ")
    assert f"it calls the ledger's {cut_short[:10]}; " in run_json("simulate", "--proposal", "5", ok=False)["error"]
    both = run_json("simulate", "--proposal", "1", "--commons-bps", "1000", ok=False)
    assert both["kind"] == "InputError" and "not both" in both["error"]

    # Executed, the dividend rules are today's: read from the pool.
    run("dao", "vote", "2", "for", "--wait")
    run("dao", "queue", "2", "--wait")
    run("dao", "execute", "2", "--wait")
    today = run_json("simulate", "--steps", "1")["scenarios"][1]["rules"]
    assert (today["cycle_days"], today["reserve_bps"]) == (7, 0)
