"""The main flow end to end on the real model, on the embedded chain and on anvil."""

from __future__ import annotations

import json

import pytest

from tantieme import interaction
from tantieme.assets import registry
from tantieme.assets.royalties import mint_license
from tantieme.assets.terms import preset
from tantieme.errors import AIError, AssetError, ChainError, LedgerError
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


def test_parent_refuses_retrieval__its_derivative_is_never_read_again(node, creator, other, served, tmp_path):
    """Consent narrows down the graph: once the parent refuses retrieval, a
    derivative that allowed it is refused too, so neither is read and the
    parent earns nothing through its derivative's citation."""
    remix = tmp_path / "bees-remix.md"
    remix.write_text((SAMPLES_DIR / "ada-rooftop-bees.md").read_text() + "\nAnnotated edition with a glossary.\n")
    mint_license(other, served["bees"])
    derivative = registry.register(other, remix, terms=preset("open"), parents=(served["bees"],), title="Bees, annotated")
    question = "How many hives can a flat roof of forty square metres hold?"
    first = interaction.ask(node, question, attribution="retrieval")
    assert {served["bees"], derivative.id} & {s.asset_id for s in first.answer.sources}

    registry.tighten_consent(creator, served["bees"], training=True, fine_tuning=True, retrieval=False, output_commercial=True)
    assert registry.get(other, derivative.id).consent["retrieval"] is False  # its own terms still say yes
    second = interaction.ask(node, question, attribution="retrieval")
    assert not {served["bees"], derivative.id} & {s.asset_id for s in second.answer.sources}


def test_register_model__own_weights_reused_and_said__anothers_refused(node, other, served):
    said = []
    again = interaction.register_model(node, datasets=(served["data"],), say=said.append)
    assert again.asset_id == served["model"]
    assert said == [f"model {again.name} is already registered as your asset #{served['model']}: reusing it"]
    with pytest.raises(AssetError, match=f"already registered as asset #{served['model']}, owned by {node.address}"):
        interaction.register_model(other)


def test_ask__empty_question__clear_error_and_no_record(node, served):
    with pytest.raises(AIError, match="empty"):
        interaction.ask(node, "   ")
    assert settlement.journal().records() == []


def test_claim_dat__before_settlement__clear_error(node, served):
    result = interaction.ask(node, "How hot is the deck oven?", attribution="retrieval")
    with pytest.raises(LedgerError, match="not settled yet"):
        settlement.claim_dat(node, node.account, result.record)


def test_ask__invoiced__no_signed_record_and_no_files_until_its_payer_signs(node, served):
    """Deposit mode's record step: the answer is invoiced to a remote payer (who holds no
    tokens here: its deposit is checked by the server before asking), not signed by the node."""
    from functools import partial

    from tantieme.chain.accounts import dev_account
    from tantieme.payments.deposit import Desk

    payer = dev_account(9).address
    book = settlement.journal()
    desk = Desk(node, book)
    result = interaction.ask(
        node, "How many hives can a flat roof of forty square metres hold?", attribution="retrieval",
        invoice=partial(desk.invoice, payer), book=book,
    )
    assert (result.record, result.answer_path, result.credential_path) == (None, None, None)
    invoice = result.invoice
    assert (invoice.payer, invoice.operator, invoice.fee) == (payer, node.address, result.fee)
    assert invoice.output_hash == settlement.sha256(result.answer.text) and served["bees"] in invoice.sources
    assert book.records() == [] and desk.terms(payer).invoices == (invoice,)
    assert not interaction.answers_dir().exists() or not any(interaction.answers_dir().iterdir())
