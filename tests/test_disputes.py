"""Disputes end to end on the embedded chain with the real model: a work cited and paid is
challenged; the DAO (through a proposal that passed the vote and the timelock) appoints an
arbiter, who upholds the dispute; the work's royalties go to the rightful party, the next
answer neither reads nor cites it, and a record that cited it before the judgement still
settles, conserving every wei, its share following to the rightful party, not to the owner."""

from __future__ import annotations

import pytest

from tantieme import disputes, interaction
from tantieme.assets import registry, royalties
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.chain.deploy import contract
from tantieme.dao import Dao, call, handover
from tantieme.dao.decode import calls, contracts
from tantieme.ledger import settlement
from tantieme.ledger.bundle import export
from tantieme.ledger.verify import verify
from tantieme.quickstart import SAMPLES_DIR

pytestmark = pytest.mark.slow

QUESTION = "How many hives can a flat roof of forty square metres hold?"
ARBITER = dev_account(5)


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_upheld_by_the_daos_arbiter__excluded_and_royalties_moved(node, creator, other, tmp_path):
    bees = registry.register(creator, SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open"), title="Bees").id
    interaction.register_model(node)
    node.faucet(ARBITER.address)
    payers = {node.address: node.account}

    first = interaction.ask(node, QUESTION, attribution="retrieval")
    assert bees in {s.asset_id for s in first.answer.sources}
    settlement.settle(node, payers)
    before_judgement = interaction.ask(node, QUESTION, attribution="retrieval")  # signed now, settled later
    assert bees in {s.asset_id for s in before_judgement.answer.sources}

    # `other` says the bees text is copied from hers, with evidence.
    evidence = tmp_path / "original.md"
    evidence.write_text("my rooftop bees notes, 2019")
    raised = disputes.raise_dispute(other, bees, "copied-content", str(evidence))
    bond = raised.dispute.bond
    assert bond > 0 and other.balance(disputes.module(node).address) == bond

    # The DAO owns the module: a proposal appoints the arbiter.
    handover(node)
    dao = Dao(node)
    dao.stake(node.balance() // 2)
    module = disputes.module(node)
    data = module.functions.setArbiter(ARBITER.address)._encode_transaction_data()
    proposal = dao.propose([call(module.address, bytes.fromhex(data[2:]))], "Appoint an arbiter for disputes")
    (decoded,) = calls(contracts(node), proposal)  # as the dashboard's proposal page shows it
    assert (decoded.contract, decoded.function, decoded.args) == (
        "the dispute module", "setArbiter", (("arbiter_", ARBITER.address),))
    assert decoded.risky  # whoever judges tags works and moves their royalties
    dao.vote(proposal, "for", wait=True)
    dao.queue(proposal, wait=True)
    dao.execute(proposal, wait=True)
    assert module.functions.arbiter().call() == ARBITER.address
    with pytest.raises(disputes.DisputeError, match="only the dispute module's arbiter or owner judges"):
        disputes.resolve(node, raised.dispute.id, uphold=True)  # the deployer no longer judges

    other_before = node.balance(other.address)
    upheld = disputes.resolve(node.as_account(ARBITER), raised.dispute.id, uphold=True)
    first_share = _paid_to(node, first, bees)
    assert upheld.redirected == first_share > 0
    assert node.balance(other.address) == other_before + first_share + bond
    assert contract(node.conn, "dispute_module", node.deployment.disputes).functions.isTagged(bees).call()

    after = interaction.ask(node, QUESTION, attribution="retrieval")
    assert bees not in {s.asset_id for s in after.answer.sources}
    assert bees in after.answer.revoked  # found by the search, refused before the prompt: never read

    # The record signed before the judgement settles: every wei lands somewhere, and the
    # tagged work's share follows its judgement to the rightful party.
    settlement.settle(node, payers)
    later_share = _paid_to(node, before_judgement, bees)
    assert later_share > 0
    claimed = royalties.claim(creator)  # the owner collects: the tagged work is left out
    assert (claimed["tagged"], claimed["claimed"]) == ([bees], 0)
    other_before = node.balance(other.address)
    assert disputes.redirect(node, bees) == later_share
    assert node.balance(other.address) == other_before + later_share
    assert _paid_to(node, after, bees) == 0
    settled = verify(node.conn, export(node, settlement.journal(), before_judgement.record.digest))
    assert sum(link.paid for link in settled.provenance) + settled.commons + settled.operator == before_judgement.fee


def _paid_to(node, result, asset_id: int) -> int:
    """What a settled record paid `asset_id`, as `tantieme verify` reads it from the chain."""
    report = verify(node.conn, export(node, settlement.journal(), result.record.digest))
    assert report.status == "verified", report.checks
    return sum(link.paid for link in report.provenance if link.asset == asset_id)
