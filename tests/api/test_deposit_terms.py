"""Deposit protocol 2 over HTTP on the real service (uvicorn, the embedded chain, the stub
model): the payer keeps the records it signed and the terms carry only the open batch's count
and root; the node's records only when asked (`records=all`), for a payer that lost its state
or a node that did. A node cannot slip in a record the payer never accepted, change an old one
or give a root over them in another order; a payer cannot sign a voucher over fewer records
than it accepted."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time

import pytest
import requests

from tantieme.api import DepositGate, Service, Unpaid, create_app
from tantieme.api.app import running
from tantieme.errors import PaymentError
from tantieme.ledger.journal import Journal
from tantieme.ledger.records import InteractionRecord, SignedRecord
from tantieme.ledger.settlement import journal
from tantieme.payments import deposit
from tantieme.payments.client import DepositClient

from .conftest import QUESTION, chat, records
from .test_deposit import ONE, PAYER, _error, served  # noqa: F401  (the served node, deposit mode)

pytestmark = pytest.mark.parametrize("served", ["embedded"], indirect=True)


def _spied(client: DepositClient) -> list[bool]:
    """Whether each terms request of `client` asked for the open batch's records."""
    asked: list[bool] = []
    terms = client._terms

    def spy(*, records: bool):
        asked.append(records)
        return terms(records=records)

    client._terms = spy
    return asked


def _voucher(served) -> deposit.SignedBatch:
    """The payer's latest voucher the node holds."""
    dom = deposit.domain(served.payer)
    with contextlib.closing(journal()) as book:
        return book.voucher(PAYER.address, served.service.node.address, dom.chain_id, dom.verifying_contract).signed


def test_terms__count_and_root__the_same_size_at_any_batch__records_only_when_asked(served, json_rules):
    served.client.deposit(ONE)
    asked = _spied(served.client)
    sizes = []
    for _ in range(3):
        served.client.ask(QUESTION, max_tokens=16)
        terms = served.terms()
        sizes.append(len(json.dumps(terms)))
        json_rules(terms)
    assert asked == [False] * 3  # a payer that keeps its records never needs the node's
    assert "records" not in terms and terms["count"] == 3 and terms["protocol"] == 2
    assert terms["root"] == "0x" + _voucher(served).batch.root.hex()
    assert len(set(sizes)) == 1
    full = served.terms("?protocol=2&records=all")
    assert len(full["records"]) == 3 and {k: v for k, v in full.items() if k != "records"} == terms

    old = _error(requests.get(f"{served.url}/v1/deposit/terms"), 400, "deposit_protocol")  # a client of protocol 1
    assert "this node speaks deposit protocol 2" in old["message"] and "upgrade tantieme" in old["message"]
    _error(requests.get(f"{served.url}/v1/deposit/terms?protocol=2&records=some"), 400, "invalid_request")


def test_a_payer_that_lost_its_records__takes_the_node_s_once_and_signs_on(served, tmp_path):
    served.client.deposit(ONE)
    fees = [served.client.ask(QUESTION, max_tokens=16).fee for _ in range(2)]
    fresh = DepositClient(served.url, served.payer, kept=Journal(tmp_path / "new-home.db"))  # its state lost
    asked = _spied(fresh)
    fees.append(fresh.ask(QUESTION, max_tokens=16).fee)
    assert asked == [False, True]  # the node's count and root differ from nothing kept: its records, checked
    fees.append(fresh.ask(QUESTION, max_tokens=16).fee)
    assert asked == [False, True, False] and _voucher(served).batch.count == 4
    (batch,) = served.service.settle()
    assert (batch.records, batch.total) == (4, sum(fees)) and served.deposit_of() == ONE - sum(fees)


def test_the_node_restarted__the_payer_asks_on_from_its_records(served):
    served.client.deposit(ONE)
    served.client.ask(QUESTION, max_tokens=16)
    node = served.service.node
    restarted = Service(node, DepositGate(node, served.service.gate.account, Unpaid()), admin_token="secret")
    with running(create_app(restarted)) as url:  # a new process's desk: the open batch read from the journal
        client = DepositClient(url, served.payer)
        asked = _spied(client)
        client.ask(QUESTION, max_tokens=16)
        assert asked == [False]
        (batch,) = restarted.settle()
    assert batch.records == 2


def test_the_node_holds_a_record_this_payer_never_accepted__nothing_signed(served, tmp_path):
    """The same account paid the node from another home: this home never accepted that record,
    so it signs nothing until the batch settles; the node keeps the vouchers it had."""
    served.client.deposit(ONE)
    served.client.ask(QUESTION, max_tokens=16)
    DepositClient(served.url, served.payer, kept=Journal(tmp_path / "other-home.db")).ask(QUESTION, max_tokens=16)
    asked = _spied(served.client)
    with pytest.raises(PaymentError, match="holds 1 record\\(s\\) this payer never accepted"):
        served.client.ask(QUESTION, max_tokens=16)
    assert asked == [False, True]
    assert records() == 2 and _voucher(served).batch.count == 2 and len(served.terms()["invoices"]) == 1


def _lying(served, monkeypatch, lie) -> None:
    """The node answers terms whose records (asked for or not) went through `lie`, with the
    count and root it gives for them."""
    gate = served.service.gate
    honest = gate.terms

    def terms(desk, payer, records=False):
        data = honest(desk, payer, True)
        signed, root = lie(deposit.Terms.from_dict(data))
        data |= {"count": len(signed), "root": "0x" + root.hex(), "records": [r.to_dict() for r in signed]}
        if not records:
            del data["records"]
        return data

    monkeypatch.setattr(gate, "terms", terms)


def _changed(terms):
    """An old record with another fee (its digest follows), under the root of the changed list."""
    first = terms.records[0]
    dearer = dataclasses.replace(first.record, fee=first.record.fee + 1)
    changed = [SignedRecord(dearer, first.signature, dearer.digest(terms.domain)), *terms.records[1:]]
    return changed, deposit.root_of(changed)


def _reordered(terms):
    """The same records under a root hashed over their leaves in another order than the sorted tree's."""
    from tantieme.ledger.merkle import _root_of_sorted
    from tantieme.ledger.records import record_leaf_hash

    leaves = sorted((bytes.fromhex(record_leaf_hash(r)[2:]) for r in terms.records), reverse=True)
    return list(reversed(terms.records)), _root_of_sorted(leaves)


@pytest.mark.parametrize(
    "lie, refusal",
    [(_changed, "this payer did not sign"), (_reordered, "the node's open batch is not its 3 records")],
)
def test_the_node_changes_or_reorders_old_records__refused_nothing_signed(served, monkeypatch, lie, refusal):
    served.client.deposit(ONE)
    for _ in range(3):  # (two leaves hash to one root in either order)
        served.client.ask(QUESTION, max_tokens=16)
    voucher = _voucher(served)
    _lying(served, monkeypatch, lie)
    with pytest.raises(PaymentError, match=refusal):
        served.client.ask(QUESTION, max_tokens=16)
    assert records() == 3 and _voucher(served) == voucher
    # The same for a payer that kept nothing: it checks each record it is sent.
    full = deposit.Terms.from_dict(served.terms("?protocol=2&records=all"))
    with pytest.raises(PaymentError, match=refusal):
        deposit.check_terms(served.payer, PAYER.address, full)


def test_a_voucher_over_fewer_records_than_accepted__refused_then_the_full_one_taken(served):
    served.client.deposit(ONE)
    for _ in range(2):
        served.client.ask(QUESTION, max_tokens=16)
    answered = served.post(chat(max_tokens=16))
    assert answered.status_code == 200, answered.text
    invoice = InteractionRecord.from_dict(answered.json()["tantieme"]["invoice"])
    terms = deposit.Terms.from_dict(served.terms())
    dom = terms.domain
    with contextlib.closing(journal()) as book:  # where the payer's client kept its records
        kept = book.kept_records(PAYER.address, terms.operator, dom.chain_id, dom.verifying_contract, 0)
    assert len(kept) == 2
    signed = invoice.sign(PAYER, dom)
    deadline = int(time.time()) + deposit.BATCH_DEADLINE_S
    for fewer in ([], kept[:1]):
        short, *_ = deposit.voucher_of(terms, fewer, signed, deadline)
        payment = deposit.Payment(signed, short.sign(PAYER, dom))
        error = _error(requests.post(f"{served.url}/v1/deposit/payments", json=payment.to_dict()), 400, "payment_refused")
        assert "the voucher is not the open batch with this record" in error["message"]
    assert records() == 2 and _voucher(served).batch.count == 2
    full = deposit.pay(served.payer, PAYER, terms, invoice, kept=kept, question=QUESTION, answer="Four hives.", max_fee=ONE)
    assert requests.post(f"{served.url}/v1/deposit/payments", json=full.to_dict()).status_code == 200
    assert records() == 3 and _voucher(served).batch.count == 3
