"""The README's first command: the whole flow on the real model and the embedded chain,
in a home of its own that never mixes its demo assets into the user's."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tantieme.cli import app
from tantieme.quickstart import Catalog

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_quickstart__runs_everything_and_verifies_in_its_own_home(tantieme_home, tmp_path, json_rules):
    # A used home: the user's node holds one asset of their own.
    assert runner.invoke(app, ["init"], catch_exceptions=False).exit_code == 0
    mine = tmp_path / "mine.md"
    mine.write_text("# Mine\n\nMy own notes.")
    assert runner.invoke(app, ["register", str(mine)], catch_exceptions=False).exit_code == 0

    result = runner.invoke(app, ["quickstart", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    json_rules(data)
    catalog = Catalog.load()

    assert data["home"] == str(tantieme_home / "quickstart")
    user_assets = json.loads(runner.invoke(app, ["assets", "--json"], catch_exceptions=False).stdout)
    assert [a["title"] for a in user_assets] == ["Mine"]
    assert json.loads(runner.invoke(app, ["history", "--json"], catch_exceptions=False).stdout) == []

    assert len(data["answers"]) == len(catalog.questions)
    assert all(int(a["fee"]) > 0 and a["record"].startswith("0x") for a in data["answers"])
    refused = data["assets"][catalog.refused_question["refusing_file"]]
    assert data["refused_work_read"] is False
    assert all(s["asset"] != refused for a in data["answers"] for s in a["sources"])

    (batch,) = data["batches"]
    assert batch["records"] == len(catalog.questions)
    earned = {e["party"]: int(e["amount"]) for e in data["earnings"]}
    assert earned["commons pool"] == int(batch["commons"])
    assert earned["operator"] == int(batch["operator"])
    assert earned["dana"] == 0  # her work refuses AI use
    assert earned["chen"] > 0  # training data of the model, and a cited work
    assert sum(earned.values()) == int(batch["total"])  # every wei accounted for
    assert data["verified"] is True
    assert {c["name"] for c in data["checks"]} >= {"payer signature", "merkle proof", "proof on chain", "content credential"}
    # A second account asked over HTTP, paid per request over x402: exactly the metered fee.
    http = data["over_http"]
    assert http["question"] == catalog.questions[0]["question"] and http["answer"]
    assert int(http["paid"]) == int(http["fee"]) > 0 and int(http["quote"]) > int(http["fee"])
    # The DAO raised the machine tax; the answer paid over x402 settled as the next batch, under it.
    dao = data["dao"]
    assert (dao["commons_bps_before"], dao["commons_bps"]) == (500, 800)
    assert dao["proposal"]["state"] == "executed" and int(dao["proposal"]["for"]) > int(dao["proposal"]["against"]) > 0
    assert dao["batch"]["records"] == 1 and int(dao["batch"]["total"]) == int(http["fee"])
    assert int(dao["batch"]["commons"]) == int(http["fee"]) * 800 // 10_000

    # Last, ada joins the commons pool by her work and claims the machine tax's dividend: one
    # member, 1/30 of the pool's balance less the 10 % reserve, read back from her balance.
    dividend = data["dividend"]
    assert dividend["balance"] and int(dividend["balance"]) >= int(batch["commons"]) > 0
    assert dividend["work"] == data["assets"][catalog.works[0]["file"]]
    assert int(dividend["claimed"]) == int(dividend["balance"]) * 9 // 10 // 30 > 0
    assert dividend["days"] == 1

    again = runner.invoke(app, ["quickstart"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "ada claimed her dividend today already: next claim at" in " ".join(again.output.split())
    assert f"home {tantieme_home / 'quickstart'}" in again.output
    assert "the machine tax is 8 % already: the DAO raised it in an earlier run" in again.output
