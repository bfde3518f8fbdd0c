"""Can the payer pay? `ask` checks before answering; settlement says how much is missing."""

from __future__ import annotations

import pytest

from tantieme import interaction
from tantieme.assets import registry
from tantieme.assets.royalties import format_amount
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.errors import LedgerError
from tantieme.ledger import funds, settlement

BROKE = dev_account(7)  # holds ETH, no AI tokens


@pytest.fixture
def served(node, stub_model, make_file):
    registry.register(node, make_file("Bees on a flat roof of forty square metres: four hives."), terms=preset("open"), title="Bees")
    return interaction.register_model(node, backend="stub")


def _ask(node, payer):
    return interaction.ask(node, "How many hives fit on a roof?", payer=payer, attribution="retrieval")


def test_ask__payer_without_funds__refused_before_the_model_runs(node, served, stub_model):
    quote = interaction.max_fee(served, stub_model.context_window, 96)
    with pytest.raises(LedgerError) as raised:
        _ask(node, BROKE)
    q = format_amount(quote)
    assert str(raised.value) == (
        f"this answer may cost up to {q} TAI, but the payer {BROKE.address} holds 0 TAI: {q} TAI missing. "
        f"Add it (`tantieme faucet {q} --to {BROKE.address}`), then ask again"
    )
    assert stub_model.generated == 0
    assert settlement.journal().records() == []


def test_ask__what_the_payer_owes_counts__second_answer_refused(node, served, stub_model):
    quote = interaction.max_fee(served, stub_model.context_window, 96)
    node.faucet(BROKE.address, quote)
    first = _ask(node, BROKE)
    with pytest.raises(LedgerError, match=(
        f"this answer may cost up to {format_amount(quote)} TAI, but the payer {BROKE.address} owes "
        f"{format_amount(first.fee)} TAI for 1 unsettled records and holds {format_amount(quote)} TAI: "
        f"{format_amount(first.fee)} TAI missing"
    )):
        _ask(node, BROKE)
    assert stub_model.generated == 1
    node.faucet(BROKE.address, first.fee)
    assert _ask(node, BROKE).fee == first.fee


def test_settle__payer_short__says_how_much_is_missing_then_settles_once_funded(node, make_answer, payer):
    make_answer(node, fee=12_000 * 10**18)  # the payer holds the faucet's 10,000 TAI
    with pytest.raises(LedgerError) as raised:
        settlement.settle(node, {payer.address: payer})
    assert str(raised.value) == (
        f"batch 1 (1 records) costs 12000 TAI, but the payer {payer.address} holds 10000 TAI: 2000 TAI missing. "
        f"Add it (`tantieme faucet 2000 --to {payer.address}`), then run `tantieme settle` again "
        "(its records wait, signed, until then)"
    )
    book = settlement.journal()
    assert [b.status for b in book.unsettled_batches()] == ["signed"]
    node.faucet(payer.address, 2000 * 10**18)
    (done,) = settlement.settle(node, {payer.address: payer})
    assert done.total == 12_000 * 10**18 and node.balance(payer.address) == 0


def test_funds__without_the_payers_key__the_allowance_limits(node, make_answer, payer):
    make_answer(node, fee=10**18)
    available = funds.funds(node, payer.address, settlement.journal(), permit=False)
    assert available.owed == 10**18 and available.allowance == 0
    with pytest.raises(LedgerError, match=f"The payer must approve the ledger {node.deployment.ledger} for it"):
        funds.require(node, available, 1, "this answer may cost up to", "ask again")
    funds.require(node, funds.funds(node, payer.address, settlement.journal(), permit=True), 1, "x", "y")
