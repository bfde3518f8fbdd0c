"""`tantieme simulate`: the table, the JSON document, reproducibility, plots and bad input."""

from __future__ import annotations

import json

import pytest

from .conftest import run, run_json


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
