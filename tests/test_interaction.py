"""The main flow end to end on the real model, on the embedded chain and on anvil."""

from __future__ import annotations

import json

import pytest

from tantieme import interaction
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.errors import AIError, ChainError, LedgerError
from tantieme.ledger import settlement
from tantieme.ledger.bundle import export
from tantieme.ledger.verify import verify
from tantieme.quickstart import SAMPLES_DIR

pytestmark = pytest.mark.slow


@pytest.fixture
def served(node, creator, other):
    """Bees (open), lighthouse letters (no AI), a training dataset and the local model."""
    bees = registry.register(creator, SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open"), title="Bees")
    letters = registry.register(other, SAMPLES_DIR / "dana-lighthouse-letters.md", terms=preset("no-ai"), title="Letters")
    data = registry.register(other, SAMPLES_DIR / "chen-plain-answers-dataset.md", kind="dataset", terms=preset("training-data"))
    model = interaction.register_model(node, datasets=(data.id,))
    return {"bees": bees.id, "letters": letters.id, "data": data.id, "model": model.asset_id}


def _checks(report):
    return {c.name: c.ok for c in report.checks}


def test_ask_settle_verify__whole_flow(node, served):
    result = interaction.ask(node, "How many hives can a flat roof of forty square metres hold?")
    cited = {s.asset_id for s in result.answer.sources}
    assert served["bees"] in cited
    assert served["letters"] not in cited
    assert result.fee > 0
    pending = verify(node.conn, export(node, settlement.journal(), result.record.digest))
    assert pending.status == "pending" and pending.ok, pending.checks
    assert "anchored" not in _checks(pending)

    (done,) = settlement.settle(node, {node.address: node.account})
    report = verify(node.conn, export(node, settlement.journal(), result.record.digest))
    assert report.status == "verified", report.checks
    roles = {link.asset: link.role for link in report.provenance}
    assert roles[served["model"]] == "model"
    assert roles[served["data"]] == "training data"
    assert roles[served["bees"]] == "source"
    paid = sum(link.paid for link in report.provenance)
    assert paid + report.commons + report.operator == result.fee

    token = settlement.claim_dat(node, node.account, settlement.journal().record(result.record.id))
    assert node.ledger.functions.ownerOf(token).call() == node.address
    with pytest.raises(ChainError, match="^ledger: record already claimed$"):
        settlement.claim_dat(node, node.account, settlement.journal().record(result.record.id))


def test_verify__tampered_answer_sidecar_or_record__fails_with_the_reason(node, served):
    result = interaction.ask(node, "How many hives can a flat roof of forty square metres hold?", attribution="retrieval")
    settlement.settle(node, {node.address: node.account})
    book = settlement.journal()

    def checks(target):
        return _checks(verify(node.conn, export(node, book, target)))

    original = result.answer_path.read_text()
    result.answer_path.write_text(original + " (edited)")
    tampered = checks(str(result.answer_path))
    assert tampered["output hash"] is False and tampered["content credential"] is False
    result.answer_path.write_text(original)
    assert all(checks(str(result.answer_path)).values())

    document = interaction.answer_document(result.record)
    assert json.loads(document.read_text())["record"] == result.record.digest
    assert all(checks(str(document)).values())  # the JSON answer names its record too
    document.write_text(document.read_text().replace('"fee"', '"Fee"'))
    assert checks(result.record.digest)["content credential (JSON)"] is False

    signed = json.loads(book.db.execute("SELECT signed FROM records WHERE id = ?", (result.record.id,)).fetchone()[0])
    signed["record"]["fee"] = str(int(signed["record"]["fee"]) * 2)
    book.db.execute("UPDATE records SET signed = ? WHERE id = ?", (json.dumps(signed), result.record.id))
    tampered = checks(result.record.digest)
    assert tampered["payer signature"] is False
    assert tampered["merkle proof"] is False


def test_consent_revoked__next_question_cannot_read_the_work(node, creator, served):
    question = "How many hives can a flat roof of forty square metres hold?"
    first = interaction.ask(node, question, attribution="retrieval")
    assert served["bees"] in {s.asset_id for s in first.answer.sources}
    registry.tighten_consent(creator, served["bees"], training=True, fine_tuning=True, retrieval=False, output_commercial=True)
    second = interaction.ask(node, question, attribution="retrieval")
    assert served["bees"] not in {s.asset_id for s in second.answer.sources}


def test_ask__empty_question__clear_error_and_no_record(node, served):
    with pytest.raises(AIError, match="empty"):
        interaction.ask(node, "   ")
    assert settlement.journal().records() == []


def test_claim_dat__before_settlement__clear_error(node, served):
    result = interaction.ask(node, "How hot is the deck oven?", attribution="retrieval")
    with pytest.raises(LedgerError, match="not settled yet"):
        settlement.claim_dat(node, node.account, result.record)
