"""Deposit mode on a real chain (embedded and anvil): a payer deposits once, signs each
answer's record and the updated voucher; the node checks and journals them and settles
the latest voucher; neither side can make the other pay or lose what it did not agree to."""

from __future__ import annotations

import dataclasses
import time

import pytest

from tantieme.chain.accounts import dev_account
from tantieme.errors import LedgerError, PaymentError
from tantieme.ledger.journal import Journal
from tantieme.ledger.netting import net
from tantieme.ledger.records import SignedRecord, asset_tree
from tantieme.payments import deposit

PAYER = dev_account(5)
ONE = 10**18
FEE = 10**15
MODEL, WORKS = 7, [3, 4]


@pytest.fixture
def payer(node):
    """The payer's own view of the chain (another account on this machine), funded."""
    node.faucet(PAYER.address)
    return node.as_account(PAYER)


@pytest.fixture
def books(tmp_path):
    """The node's journal and the payer's (another machine's)."""
    return Journal(tmp_path / "node.db"), Journal(tmp_path / "payer.db")


@pytest.fixture
def desk(node, books):
    """The node's deposit desk, reading the chain afresh each time."""
    return deposit.Desk(node, books[0], ttl_s=0)


def _answer(desk, i: int, fee: int = FEE):
    question, answer = f"question {i}", f"answer {i}"
    record = desk.invoice(
        PAYER.address, model=MODEL, question=question, answer=answer, sources=WORKS, weights=[0.5, 0.25],
        prompt_tokens=100, completion_tokens=10 + i, fee=fee, details={"i": i},
    )
    return record, question, answer


def _kept(books, terms) -> list[SignedRecord]:
    """The records the payer kept for the open batch of `terms` (in its own journal)."""
    dom = terms.domain
    return books[1].kept_records(PAYER.address, terms.operator, dom.chain_id, dom.verifying_contract, terms.batch_nonce)


def _keep(books, terms, payment) -> None:
    dom = terms.domain
    books[1].keep_records(
        PAYER.address, terms.operator, dom.chain_id, dom.verifying_contract, terms.batch_nonce, [payment.record]
    )


def _ask(desk, payer, books, i: int, fee: int = FEE):
    """One answer, paid from the deposit: invoice, the payer's checks and signatures (over the
    records it kept), the node's checks."""
    desk.require_credit(PAYER.address, fee)
    record, question, answer = _answer(desk, i, fee)
    terms = deposit.Terms.from_dict(desk.terms(PAYER.address).to_dict())  # over the wire
    payment = deposit.pay(payer, PAYER, terms, record, kept=_kept(books, terms), question=question, answer=answer,
                          max_fee=fee, book=books[1])
    _keep(books, terms, payment)
    return desk.accept(deposit.Payment.from_dict(payment.to_dict())), payment


def test_deposit_answers_settle__one_batch_from_the_deposit(node, payer, books, desk):
    book, payer_book = books
    deposit.deposit(payer, ONE, node.address)
    balance = node.balance(PAYER.address)
    commons_before, operator_before = node.balance(node.deployment.commons), node.balance(node.address)

    rows = [_ask(desk, payer, books, i)[0] for i in range(3)]

    standing = desk.standing(PAYER.address)
    assert (standing.deposit, standing.vouchered, standing.invoiced) == (ONE, 3 * FEE, 0)
    assert standing.available == ONE - 3 * FEE
    # The payer's own journal knows what it owes this operator.
    assert deposit.credit(payer, PAYER.address, payer_book, node.address).vouchered == 3 * FEE

    (done,) = desk.settle()

    netted = net([r.signed.record for r in rows], 500, 1000)
    assert (done.records, done.total) == (3, 3 * FEE)
    assert node.balance(PAYER.address) == balance  # paid from the deposit
    assert node.ledger.functions.deposits(PAYER.address, node.address).call() == ONE - 3 * FEE
    assert node.balance(node.deployment.commons) - commons_before == netted.split.commons
    assert node.balance(node.address) - operator_before == netted.split.operator
    pool = node.ledger.functions.assetPool(PAYER.address, node.address).call()
    assert tuple(node.router.functions.pools(pool).call()) == (
        bytes.fromhex(asset_tree(netted.owed()).root[2:]), netted.split.assets
    )
    assert desk.standing(PAYER.address).vouchered == 0
    assert deposit.credit(payer, PAYER.address, payer_book, node.address).vouchered == 0
    assert desk.settle() == []

    # The next batch starts from the settled pool: cumulative amounts, nonce 1.
    _ask(desk, payer, books, 3)
    (second,) = desk.settle()
    assert second.records == 1
    assert node.ledger.functions.batchNonces(PAYER.address, node.address).call() == 2


def test_vouchers__each_one_is_the_full_rebuild_of_its_batch(node, payer, books, desk):
    """The payer adds each record to the batch it signed last, the node to the one it accepted
    last: both give what building the batch's trees from all its records gives."""
    from tantieme.ledger.records import record_tree

    deposit.deposit(payer, ONE, node.address)
    deposit._NETTINGS.clear()
    signed = []
    for i in range(6):
        row, payment = _ask(desk, payer, books, i, fee=FEE + i)
        signed.append(payment.record)
        batch = payment.voucher.batch
        owed = net([r.record for r in signed], batch.commons_bps, batch.operator_bps).owed()
        assert batch.root == bytes.fromhex(record_tree(signed).root[2:]) and batch.count == i + 1
        assert batch.assets_root == bytes.fromhex(asset_tree(owed).root[2:])
        assert batch.total == sum(r.record.fee for r in signed)
    assert len(deposit._NETTINGS) == 6


def test_deposit_by_authorization__the_node_submits_it(node, payer, books, desk):
    authorization = deposit.DepositAuthorization.from_dict(deposit.authorize_deposit(payer, ONE, node.address).to_dict())
    balance = node.balance(PAYER.address)
    deposit.submit_deposit(node, authorization)  # the node pays the gas
    assert node.ledger.functions.deposits(PAYER.address, node.address).call() == ONE
    assert node.balance(PAYER.address) == balance - ONE
    with pytest.raises(Exception, match="authorization is used or canceled"):
        deposit.submit_deposit(node, authorization)


def test_require_credit__no_deposit__refused(node, payer, books, desk):
    with pytest.raises(PaymentError, match="has 0 TAI of credit with this node"):
        desk.require_credit(PAYER.address, FEE)


def test_require_credit__an_unsigned_answer_first(node, payer, books, desk):
    deposit.deposit(payer, ONE, node.address)
    _answer(desk, 0)
    with pytest.raises(PaymentError, match="1 answer\\(s\\) to sign first"):
        desk.require_credit(PAYER.address, FEE)


def test_require_credit__counts_the_pending_withdrawal(node, payer, books, desk):
    deposit.deposit(payer, 10 * FEE, node.address)
    _ask(desk, payer, books, 0)
    deposit.request_withdrawal(payer, 5 * FEE, node.address)
    standing = desk.standing(PAYER.address)
    assert standing.available == 10 * FEE - 5 * FEE - FEE
    with pytest.raises(PaymentError, match="credit with this node"):
        desk.require_credit(PAYER.address, 5 * FEE)


# -- the payer refuses what it did not agree to ---------------------------------


def _terms(desk, **changes):
    record, question, answer = _answer(desk, 9)
    terms = dataclasses.replace(desk.terms(PAYER.address), **changes)
    return terms, record, question, answer


def test_pay__a_record_the_payer_did_not_sign__refused(node, payer, books, desk):
    """A node that inflates the batch with a record of its own making."""
    deposit.deposit(payer, ONE, node.address)
    _ask(desk, payer, books, 0)
    record, question, answer = _answer(desk, 9)
    terms = desk.terms(PAYER.address, records=True)
    inflated_record = dataclasses.replace(terms.records[0].record, fee=FEE * 10)
    forged = SignedRecord(inflated_record, terms.records[0].signature, inflated_record.digest(terms.domain))
    inflated = dataclasses.replace(terms, records=(*terms.records, forged))
    with pytest.raises(PaymentError, match="this payer did not sign"):
        deposit.pay(payer, PAYER, inflated, record, kept=(), question=question, answer=answer, max_fee=FEE)


def test_pay__a_record_of_a_settled_batch__refused(node, payer, books, desk):
    """A node that replays a record the payer signed and already paid for."""
    deposit.deposit(payer, ONE, node.address)
    _, first = _ask(desk, payer, books, 0)
    desk.settle()
    terms, record, question, answer = _terms(desk)
    replayed = dataclasses.replace(terms, records=(first.record,), count=1, root=deposit.root_of([first.record]))
    with pytest.raises(PaymentError, match="a record is paid only in the batch it was signed for"):
        deposit.pay(payer, PAYER, replayed, record, kept=(), question=question, answer=answer, max_fee=FEE)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"previous": {MODEL: 10**18}}, "the router's root differs"),
        ({"rules": ("0x" + "11" * 20, 500, 1000)}, "split or commons pool is not the ledger's current one"),
        ({"batch_nonce": 5}, "batch nonce is 5, the ledger's 0"),
        ({"operator": dev_account(6).address}, "batch nonce|invoice is a record"),
    ],
)
def test_pay__terms_that_do_not_match_the_chain__refused(node, payer, books, desk, changes, reason):
    terms, record, question, answer = _terms(desk, **changes)
    with pytest.raises(PaymentError, match=reason):
        deposit.pay(payer, PAYER, terms, record, kept=(), question=question, answer=answer, max_fee=FEE)


def test_pay__an_invoice_above_the_accepted_fee__refused(node, payer, books, desk):
    terms, record, question, answer = _terms(desk)
    with pytest.raises(PaymentError, match="more than the 0.000999999999999999 TAI accepted"):
        deposit.pay(payer, PAYER, terms, record, kept=(), question=question, answer=answer, max_fee=FEE - 1)


def test_pay__an_invoice_for_another_answer__refused(node, payer, books, desk):
    terms, record, question, _ = _terms(desk)
    with pytest.raises(PaymentError, match="not for this question and answer"):
        deposit.pay(payer, PAYER, terms, record, kept=(), question=question, answer="what I was shown", max_fee=FEE)


# -- the node refuses what it was not given -------------------------------------


def _signed(desk, payer, books, i=0):
    record, question, answer = _answer(desk, i)
    terms = desk.terms(PAYER.address)
    return terms, deposit.pay(payer, PAYER, terms, record, kept=_kept(books, terms), question=question, answer=answer,
                              max_fee=FEE)


def test_accept__replayed__refused(node, payer, books, desk):
    deposit.deposit(payer, ONE, node.address)
    _, payment = _ask(desk, payer, books, 0)
    with pytest.raises(PaymentError, match="is paid already \\(its nonce is used\\)"):
        desk.accept(payment)


def test_accept__a_record_not_invoiced__refused(node, payer, books, desk):
    """The payer lowers the metered fee (or changes anything else) before signing."""
    deposit.deposit(payer, ONE, node.address)
    terms, payment = _signed(desk, payer, books)
    cheaper = dataclasses.replace(payment.record.record, fee=1).sign(PAYER, terms.domain)
    with pytest.raises(PaymentError, match="this node invoiced no such record"):
        desk.accept(deposit.Payment(cheaper, payment.voucher))


def test_accept__a_record_for_another_operator__refused(node, payer, books, desk):
    terms, payment = _signed(desk, payer, books)
    other = dataclasses.replace(payment.record.record, operator=dev_account(6).address).sign(PAYER, terms.domain)
    with pytest.raises(PaymentError, match="not this node"):
        desk.accept(deposit.Payment(other, payment.voucher))


def test_accept__a_voucher_that_leaves_out_records__refused(node, payer, books, desk):
    """A payer signing two conflicting vouchers: the one without its earlier record is refused."""
    deposit.deposit(payer, ONE, node.address)
    _ask(desk, payer, books, 0)
    terms, payment = _signed(desk, payer, books, 1)
    short, *_ = deposit.voucher_of(terms, (), payment.record, payment.voucher.batch.deadline)
    with pytest.raises(PaymentError, match="its root, count, assets_root, total differ"):
        desk.accept(deposit.Payment(payment.record, short.sign(PAYER, terms.domain)))
    assert desk.standing(PAYER.address).vouchered == FEE


def test_accept__a_voucher_signed_by_another__refused(node, payer, books, desk):
    deposit.deposit(payer, ONE, node.address)
    terms, payment = _signed(desk, payer, books)
    stranger = payment.voucher.batch.sign(dev_account(6), terms.domain)
    with pytest.raises(PaymentError, match="the voucher is not signed by the record's payer"):
        desk.accept(deposit.Payment(payment.record, stranger))


def test_accept__a_voucher_expiring_too_soon_or_too_late__refused(node, payer, books, desk):
    deposit.deposit(payer, ONE, node.address)
    terms, payment = _signed(desk, payer, books)
    for deadline in (int(time.time()) + 60, int(time.time()) + 3 * 86_400):
        batch = dataclasses.replace(payment.voucher.batch, deadline=deadline)
        with pytest.raises(PaymentError, match="the voucher's deadline must be between"):
            desk.accept(deposit.Payment(payment.record, batch.sign(PAYER, terms.domain)))


def test_accept__beyond_the_deposit__refused(node, payer, books, desk):
    deposit.deposit(payer, FEE, node.address)
    _ask(desk, payer, books, 0)
    terms, payment = _signed(desk, payer, books, 1)
    with pytest.raises(PaymentError, match="exceeds the payer's deposit with this node"):
        desk.accept(payment)


def test_accept__deposit_with_another_operator_does_not_count(node, payer, books, desk):
    deposit.deposit(payer, ONE, dev_account(6).address)
    _, payment = _signed(desk, payer, books)
    with pytest.raises(PaymentError, match="exceeds the payer's deposit with this node"):
        desk.accept(payment)


# -- withdrawals and settlement timing ------------------------------------------


def test_withdrawal__waits_the_delay_while_settlement_draws_on_the_deposit(node, payer, books, desk, advance_clock):
    deposit.deposit(payer, 10 * FEE, node.address)
    _ask(desk, payer, books, 0)
    _ask(desk, payer, books, 1)
    ready_at = deposit.request_withdrawal(payer, 10 * FEE, node.address)
    assert ready_at >= int(time.time()) + deposit.WITHDRAWAL_DELAY_S - 5
    assert node.ledger.functions.WITHDRAWAL_DELAY().call() == deposit.WITHDRAWAL_DELAY_S
    with pytest.raises(PaymentError, match="is ready in 4[78] h"):
        deposit.withdraw(payer, node.address)
    # The node sees the request and settles before the delay ends.
    assert [v.payer for v in desk.due(batch_size=100, max_age_s=3_600)] == [PAYER.address]
    (done,) = desk.settle()
    assert done.total == 2 * FEE
    advance_clock(deposit.WITHDRAWAL_DELAY_S)
    balance = node.balance(PAYER.address)
    assert deposit.withdraw(payer, node.address) == 8 * FEE
    assert node.balance(PAYER.address) == balance + 8 * FEE
    assert node.ledger.functions.deposits(PAYER.address, node.address).call() == 0
    with pytest.raises(PaymentError, match="no withdrawal requested"):
        deposit.withdraw(payer, node.address)


def test_due__full_old_or_near_its_deadline(node, payer, books, desk):
    deposit.deposit(payer, ONE, node.address)
    _ask(desk, payer, books, 0)
    assert desk.due(batch_size=100, max_age_s=3_600) == []
    assert len(desk.due(batch_size=1, max_age_s=3_600)) == 1
    assert len(desk.due(batch_size=100, max_age_s=0)) == 1
    later = int(time.time()) + deposit.BATCH_DEADLINE_S - deposit.SETTLE_MARGIN_S
    assert len(desk.due(batch_size=100, max_age_s=10**9, now=later)) == 1


def test_settle__an_unsigned_invoice_moves_to_the_next_batch(node, payer, books, desk):
    deposit.deposit(payer, ONE, node.address)
    _ask(desk, payer, books, 0)
    record, question, answer = _answer(desk, 1)
    desk.settle()
    terms = desk.terms(PAYER.address)
    (reissued,) = terms.invoices
    assert deposit.batch_nonce_of(record) == 0 and deposit.batch_nonce_of(reissued) == 1
    assert dataclasses.replace(reissued, nonce=record.nonce) == record
    with pytest.raises(PaymentError, match="a record is paid only in the batch it was signed for"):
        deposit.pay(payer, PAYER, terms, record, kept=(), question=question, answer=answer, max_fee=FEE)
    payment = deposit.pay(payer, PAYER, terms, reissued, kept=(), question=question, answer=answer, max_fee=FEE)
    desk.accept(payment)
    (done,) = desk.settle()
    assert done.records == 1


def test_settled_deposit_record__verifies_from_its_bundle_and_the_chain(node, payer, books, desk):
    """What the payer signed is what the chain anchored: the record's bundle checks out."""
    from tantieme.ledger.bundle import export
    from tantieme.ledger.verify import verify

    deposit.deposit(payer, ONE, node.address)
    row, _ = _ask(desk, payer, books, 0)
    _ask(desk, payer, books, 1)
    desk.settle()
    report = verify(node.conn, export(node, books[0], row.digest))
    passed = {c.name for c in report.checks if c.ok}
    assert {
        "record digest", "payer signature", "batch signature", "merkle proof", "anchored", "proof on chain",
        "settlement transaction",
    } <= passed, report.checks


def test_desk__a_journal_older_than_the_chain__refused(node, payer, books, desk, tmp_path):
    deposit.deposit(payer, ONE, node.address)
    _ask(desk, payer, books, 0)
    desk.settle()
    stale = deposit.Desk(node, Journal(tmp_path / "restored.db"), ttl_s=0)
    with pytest.raises(LedgerError, match="the journal is older than the chain"):
        stale.terms(PAYER.address)


# -- the payer keeps its records: the node sends the open batch's count and root --------


def test_terms__the_count_and_root_of_the_open_batch__the_same_size_however_many_records(node, payer, books, desk):
    import json

    deposit.deposit(payer, ONE, node.address)
    sizes = []
    for i in range(3):
        _, payment = _ask(desk, payer, books, i)
        wire = desk.terms(PAYER.address).to_dict()
        sizes.append(len(json.dumps(wire)))
        kept = _kept(books, deposit.Terms.from_dict(wire))
        assert "records" not in wire and wire["count"] == i + 1 == len(kept) and kept[-1] == payment.record
        assert wire["root"] == "0x" + deposit.root_of(kept).hex() == "0x" + payment.voucher.batch.root.hex()
    assert len(set(sizes)) == 1
    full = desk.terms(PAYER.address, records=True)
    assert deposit.Terms.from_dict(full.to_dict()) == full and list(full.records) == kept
    # Settled: the next batch's terms are empty, and the payer's next record drops the settled ones.
    desk.settle()
    terms = deposit.Terms.from_dict(desk.terms(PAYER.address).to_dict())
    assert (terms.batch_nonce, terms.count, terms.root, _kept(books, terms)) == (1, 0, deposit.NO_ROOT, [])
    _ask(desk, payer, books, 3)
    dom = terms.domain
    assert books[1].kept_records(PAYER.address, node.address, dom.chain_id, dom.verifying_contract, 0) == []


def test_terms__of_protocol_1__a_clear_error():
    with pytest.raises(PaymentError, match="terms are of protocol 1, this tantieme speaks protocol 2"):
        deposit.Terms.from_dict({"payer": PAYER.address, "records": []})


def test_pay__the_node_counts_other_records_than_the_payer_kept__nothing_signed(node, payer, books, desk):
    """The payer lost its records (or the node its): `BatchDiffers` before any signature; with the
    node's records, checked, the payer signs a voucher the node accepts."""
    deposit.deposit(payer, ONE, node.address)
    _ask(desk, payer, books, 0)
    _ask(desk, payer, books, 1)
    record, question, answer = _answer(desk, 2)
    terms = desk.terms(PAYER.address)
    for kept in ([], _kept(books, terms)[:1]):
        with pytest.raises(deposit.BatchDiffers, match=f"not the {len(kept)} records this payer kept"):
            deposit.pay(payer, PAYER, terms, record, kept=kept, question=question, answer=answer, max_fee=FEE)
    reordered = list(reversed(_kept(books, terms)))  # the same records: the same root (a sorted tree)
    assert deposit.pay(payer, PAYER, terms, record, kept=reordered, question=question, answer=answer, max_fee=FEE)
    full = deposit.Terms.from_dict(desk.terms(PAYER.address, records=True).to_dict())
    assert deposit.recover(full, []) == full.records  # a payer that kept nothing checks each record's signature
    payment = deposit.pay(payer, PAYER, full, record, kept=full.records, question=question, answer=answer, max_fee=FEE)
    assert desk.accept(payment) and payment.voucher.batch.count == 3


def test_recover__a_record_the_payer_never_accepted__refused(node, payer, books, desk):
    """The node's list holds a record signed by this payer (say, from another home) that this
    payer never kept: refused, whatever else matches."""
    deposit.deposit(payer, ONE, node.address)
    _ask(desk, payer, books, 0)
    kept = _kept(books, desk.terms(PAYER.address))
    record, question, answer = _answer(desk, 1)
    elsewhere = deposit.pay(payer, PAYER, desk.terms(PAYER.address), record, kept=kept, question=question,
                            answer=answer, max_fee=FEE)  # signed, never kept here
    desk.accept(elsewhere)
    full = desk.terms(PAYER.address, records=True)
    deposit.check_terms(payer, PAYER.address, full)  # every record signed by the payer
    with pytest.raises(PaymentError, match="holds 1 record\\(s\\) this payer never accepted"):
        deposit.recover(full, kept)


def test_recover__the_node_lost_records__the_payer_signs_on_from_the_node_s(node, payer, books, desk, tmp_path):
    """A node restored from an older journal holds fewer records than the payer kept: the payer
    takes the node's list (the node's loss) and its voucher covers that list and the new record."""
    import sqlite3

    deposit.deposit(payer, ONE, node.address)
    _ask(desk, payer, books, 0)
    backup = sqlite3.connect(tmp_path / "backup.db")
    books[0].db.backup(backup)
    backup.close()
    _ask(desk, payer, books, 1)
    restored = deposit.Desk(node, Journal(tmp_path / "backup.db"), ttl_s=0)
    record, question, answer = _answer(restored, 2)
    kept = _kept(books, restored.terms(PAYER.address))
    assert len(kept) == 2 and restored.terms(PAYER.address).count == 1
    full = restored.terms(PAYER.address, records=True)
    assert deposit.recover(full, kept) == (kept[0],)
    payment = deposit.pay(payer, PAYER, full, record, kept=[kept[0]], question=question, answer=answer, max_fee=FEE)
    assert restored.accept(payment) and payment.voucher.batch.count == 2


def test_check_terms__records_that_do_not_make_the_count_or_root__refused(node, payer, books, desk):
    """The node's root must be the sorted tree of its records (their order carries no meaning);
    a root over them in another order, or a count they do not make, is refused."""
    from tantieme.ledger.merkle import _root_of_sorted
    from tantieme.ledger.records import record_leaf_hash

    deposit.deposit(payer, ONE, node.address)
    for i in range(3):
        _ask(desk, payer, books, i)
    full = desk.terms(PAYER.address, records=True)
    deposit.check_terms(payer, PAYER.address, dataclasses.replace(full, records=tuple(reversed(full.records))))
    leaves = [bytes.fromhex(record_leaf_hash(r)[2:]) for r in full.records]
    unsorted = sorted(leaves, reverse=True)  # OpenZeppelin's layout over the leaves in another order
    for forged in ({"root": _root_of_sorted(unsorted)}, {"count": 2}):
        with pytest.raises(PaymentError, match="the node's open batch is not its 3 records"):
            deposit.check_terms(payer, PAYER.address, dataclasses.replace(full, **forged))
