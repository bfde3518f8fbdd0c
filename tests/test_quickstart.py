"""The README's first command: the whole flow on the real model and the embedded chain."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tantieme.cli import app
from tantieme.quickstart import Catalog

pytestmark = pytest.mark.slow


def test_quickstart__runs_everything_and_verifies():
    result = CliRunner().invoke(app, ["quickstart", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    catalog = Catalog.load()

    assert len(data["answers"]) == len(catalog.questions)
    assert all(a["fee"] > 0 and a["record"].startswith("0x") for a in data["answers"])
    refused = data["assets"][catalog.refused_question["refusing_file"]]
    assert data["refused_work_read"] is False
    assert all(s["asset"] != refused for a in data["answers"] for s in a["sources"])

    (batch,) = data["batches"]
    assert batch["records"] == len(catalog.questions)
    earned = {e["party"]: e["amount"] for e in data["earnings"]}
    assert earned["commons pool"] == batch["commons"]
    assert earned["operator"] == batch["operator"]
    assert earned["dana"] == 0  # her work refuses AI use
    assert earned["chen"] > 0  # training data of the model, and a cited work
    assert sum(earned.values()) == batch["total"]  # every wei accounted for
    assert data["verified"] is True
    assert {c["name"] for c in data["checks"]} >= {"payer signature", "merkle proof", "proof on chain", "content credential"}

    again = CliRunner().invoke(app, ["quickstart", "--json"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
