"""Deposit mode over HTTP on the embedded chain and the stub model, served by uvicorn: a second
account deposits through the node, asks with its signed header, signs each invoice and voucher,
and the node settles them from its deposit; every hostile request is refused with nothing
journaled and nothing charged."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator

import pytest
import requests

from tantieme import interaction
from tantieme.api import DepositGate, Service, Unpaid, create_app
from tantieme.api.app import running
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.ledger.records import InteractionRecord
from tantieme.ledger.settlement import journal
from tantieme.node import Node
from tantieme.payments import deposit
from tantieme.payments.client import DepositClient
from tantieme.payments.payer_auth import HEADER, sign

from .conftest import BEES, QUESTION, chat, records

PAYER, STRANGER = dev_account(5), dev_account(6)
ONE = 10**18
ADMIN = {"Authorization": "Bearer secret"}


@dataclasses.dataclass
class Served:
    url: str
    service: Service
    payer: Node
    client: DepositClient

    def post(self, body: dict, account=PAYER, path: str = "/v1/chat/completions", header: str | None = None, **kw):
        raw = json.dumps(body).encode()
        header = header or sign(account, "POST", path, raw, self.service.node.address, self.service.node.conn.chain_id)
        return requests.post(self.url + path, data=raw, headers={HEADER: header, "Content-Type": "application/json"}, **kw)

    def terms(self, query: str = "?protocol=2", status: int = 200) -> dict:
        header = sign(PAYER, "GET", "/v1/deposit/terms", b"", self.service.node.address, self.service.node.conn.chain_id)
        response = requests.get(f"{self.url}/v1/deposit/terms{query}", headers={HEADER: header})
        assert response.status_code == status, response.text
        return response.json()

    def deposit_of(self, payer: str = PAYER.address) -> int:
        return self.payer.ledger.functions.deposits(payer, self.service.node.address).call()


@pytest.fixture(params=["embedded", "anvil"])
def served(request, stub_model, make_file) -> Iterator[Served]:
    """The node (dev account 0) with an open work and the stub model, on the embedded chain and
    on anvil, serving with deposit mode in front of no other payment; the payer (dev account 5,
    funded) with its own view of the chain."""
    if request.param == "embedded":
        request.getfixturevalue("init_embedded")()
    else:
        request.getfixturevalue("initialised_anvil")
    with Node.open() as writer:
        registry.register(writer, make_file(BEES), terms=preset("open"), title="Bees")
        interaction.register_model(writer, backend="stub")
        writer.faucet(PAYER.address)
        writer.faucet(STRANGER.address)
    account = dev_account(0)
    node = Node.open(readonly=True, account=account)
    reader = Node.open(readonly=True)
    service = Service(node, DepositGate(node, account, Unpaid()), admin_token="secret")
    try:
        with running(create_app(service)) as url:
            payer = reader.as_account(PAYER)
            yield Served(url, service, payer, DepositClient(url, payer))
    finally:
        reader.close()
        node.close()


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_deposit_mode__deposit_by_authorization_ask_pay_settle__the_deposit_falls_by_the_fees(served, json_rules):
    balance = served.payer.balance(PAYER.address)
    done = served.client.deposit(ONE)
    json_rules(done)
    assert (done["deposit"], done["deposited"], done["payer"]) == (str(ONE), str(ONE), PAYER.address)
    assert served.deposit_of() == ONE and served.payer.balance(PAYER.address) == balance - ONE  # no gas: the node paid it

    answers = [served.client.ask(QUESTION, max_tokens=16) for _ in range(3)]
    fees = [a.fee for a in answers]
    assert all(a.text == "Four hives." and 0 < a.fee < a.quote for a in answers)
    assert len({a.record for a in answers}) == 3 and records() == 3
    for a in answers:  # paid: the answer's files and credential exist as for any answer
        assert requests.get(f"{served.url}/answers/{a.record}.txt").text == "Four hives."
        assert requests.get(f"{served.url}/answers/{a.record}.txt.c2pa").status_code == 200
    terms = served.terms()
    assert terms["invoices"] == [] and terms["answers"] == {} and terms["count"] == 3 and "records" not in terms
    json_rules(terms)
    json_rules(answers[0].extension)

    settled = requests.post(f"{served.url}/admin/settle", headers=ADMIN)
    assert settled.status_code == 200, settled.text
    (batch,) = settled.json()["batches"]
    assert (batch["records"], int(batch["total"])) == (3, sum(fees))
    assert served.deposit_of() == ONE - sum(fees)  # to the wei
    assert served.payer.balance(PAYER.address) == balance - ONE
    bundle = requests.get(f"{served.url}/records/{answers[0].record}").json()
    assert bundle["record"]["typed_data"]["message"]["payer"] == PAYER.address and bundle["batch"]

    # The next batch starts at the next nonce; the payer asks on.
    assert served.client.ask(QUESTION, max_tokens=16).fee == fees[0]
    assert served.terms()["batchNonce"] == "1"


def test_deposit_mode__stream__the_last_chunk_carries_the_invoice(served):
    served.client.deposit(ONE)
    response = served.post(chat(stream=True, max_tokens=16), stream=True)
    assert response.status_code == 200, response.text
    lines = [line for line in response.iter_lines(decode_unicode=True) if line]
    assert lines[-1] == "data: [DONE]"
    last = json.loads(lines[-2].removeprefix("data: "))["tantieme"]
    invoice = InteractionRecord.from_dict(last["invoice"])
    assert invoice.payer == PAYER.address and str(invoice.fee) == last["fee"] and last["pay"] == "/v1/deposit/payments"
    assert "0x" + invoice.digest(deposit.domain(served.payer)).hex() == last["record"]
    assert records() == 0  # not paid yet


def test_deposit_mode__no_header__the_other_gate_and_a_link_to_deposit_terms(served):
    response = requests.post(f"{served.url}/v1/chat/completions", json=chat())
    error = _error(response, 402, "payment_required")
    assert error["deposit"] == {"operator": served.service.node.address, "terms": "/v1/deposit/terms", "header": HEADER}


def test_deposit_mode__no_deposit__402_saying_how_much_more(served):
    response = served.post(chat(max_tokens=16))
    error = _error(response, 402, "insufficient_deposit")
    quote = served.service.node and int(error["deposit"]["needed"])
    assert error["deposit"]["available"] == "0" and quote > 0
    assert "tantieme deposit" in error["message"] and "--node URL" in error["message"]
    assert records() == 0


def test_deposit_mode__replayed_header__409(served):
    served.client.deposit(ONE)
    raw = json.dumps(chat(max_tokens=16)).encode()
    header = sign(PAYER, "POST", "/v1/chat/completions", raw, served.service.node.address, served.service.node.conn.chain_id)
    first = served.post(chat(max_tokens=16), header=header)
    assert first.status_code == 200, first.text
    _error(served.post(chat(max_tokens=16), header=header), 409, "payer_signature_replayed")


def test_deposit_mode__someone_elses_header__401(served):
    served.client.deposit(ONE)
    raw = json.dumps(chat()).encode()
    theirs = sign(STRANGER, "POST", "/v1/chat/completions", raw, served.service.node.address, served.service.node.conn.chain_id)
    claimed = theirs.replace(STRANGER.address, PAYER.address)
    error = _error(served.post(chat(), header=claimed), 401, "invalid_payer_signature")
    assert error["type"] == "authentication_error"
    other_node = sign(PAYER, "POST", "/v1/chat/completions", raw, STRANGER.address, served.service.node.conn.chain_id)
    _error(served.post(chat(), header=other_node), 401, "invalid_payer_signature")
    assert records() == 0 and served.terms()["invoices"] == []


def test_deposit_mode__an_invoice_never_signed__the_next_request_409_until_it_is(served):
    served.client.deposit(ONE)
    answered = served.post(chat(max_tokens=16))
    assert answered.status_code == 200
    extension = answered.json()["tantieme"]
    _error(served.post(chat(max_tokens=16)), 409, "invoice_unsigned")
    terms = served.terms()
    (invoice,) = terms["invoices"]
    assert terms["answers"] == {extension["record"]: {"question": QUESTION, "answer": "Four hives."}}
    # The credit stays reserved: the invoice's fee counts against the deposit until it is signed.
    standing = served.service.gate._on_desk(lambda desk: desk.standing(PAYER.address)).result()
    assert standing.invoiced == int(extension["fee"]) and standing.unpaid == 1

    payment = deposit.pay(served.payer, PAYER, deposit.Terms.from_dict(terms), InteractionRecord.from_dict(invoice),
                          kept=(), question=QUESTION, answer="Four hives.", max_fee=int(extension["quote"]))
    paid = requests.post(f"{served.url}/v1/deposit/payments", json=payment.to_dict())
    assert paid.status_code == 200 and paid.json()["record"] == extension["record"]
    assert served.client.ask(QUESTION, max_tokens=16).fee == int(extension["fee"])


def _invoiced(served) -> tuple[deposit.Terms, InteractionRecord]:
    answered = served.post(chat(max_tokens=16))
    assert answered.status_code == 200
    terms = deposit.Terms.from_dict(served.terms())
    return terms, InteractionRecord.from_dict(answered.json()["tantieme"]["invoice"])


def test_deposit_mode__a_forged_voucher__400_nothing_journaled(served):
    served.client.deposit(ONE)
    terms, invoice = _invoiced(served)
    payment = deposit.pay(served.payer, PAYER, terms, invoice, kept=(), question=QUESTION, answer="Four hives.", max_fee=ONE)
    inflated = dataclasses.replace(payment.voucher.batch, total=payment.voucher.batch.total * 2)
    forged = deposit.Payment(payment.record, inflated.sign(PAYER, terms.domain))  # signed, but not the open batch
    error = _error(requests.post(f"{served.url}/v1/deposit/payments", json=forged.to_dict()), 400, "payment_refused")
    assert "the voucher is not the open batch with this record" in error["message"]
    by_stranger = deposit.Payment(payment.record, payment.voucher.batch.sign(STRANGER, terms.domain))
    error = _error(requests.post(f"{served.url}/v1/deposit/payments", json=by_stranger.to_dict()), 400, "payment_refused")
    assert "not signed by the record's payer" in error["message"]
    cheaper = dataclasses.replace(invoice, fee=invoice.fee - 1)  # a fee of the payer's choosing: no such invoice
    unknown = deposit.Payment(cheaper.sign(PAYER, terms.domain), payment.voucher)
    error = _error(requests.post(f"{served.url}/v1/deposit/payments", json=unknown.to_dict()), 400, "payment_refused")
    assert "invoiced no such record" in error["message"]
    _error(requests.post(f"{served.url}/v1/deposit/payments", json={"record": 1}), 400, "invalid_payment")
    _error(requests.post(f"{served.url}/v1/deposit/payments", data=b"{"), 400, "invalid_json")
    assert records() == 0 and len(served.terms()["invoices"]) == 1

    assert requests.post(f"{served.url}/v1/deposit/payments", json=payment.to_dict()).status_code == 200
    error = _error(requests.post(f"{served.url}/v1/deposit/payments", json=payment.to_dict()), 400, "payment_refused")
    assert "is paid already" in error["message"] and records() == 1


def test_deposit_mode__a_withdrawal_requested_midway__the_credit_shrinks_and_the_voucher_settles(served):
    served.client.deposit(ONE)
    first = served.client.ask(QUESTION, max_tokens=16)
    with served.service.writer() as writer:  # the payer's transaction, on this machine's chain
        deposit.request_withdrawal(writer.as_account(PAYER), ONE - first.fee, served.service.node.address)
    time.sleep(DepositGate.TTL_S + 0.1)  # the desk reads the chain afresh
    error = _error(served.post(chat(max_tokens=16)), 402, "insufficient_deposit")
    assert error["deposit"]["available"] == "0"
    (batch,) = served.service.settle(everything=False)  # due: its payer is withdrawing
    assert batch.records == 1 and served.deposit_of() == ONE - first.fee


def test_deposit_authorizations__refused__400(served):
    other = deposit.authorize_deposit(served.payer, ONE, STRANGER.address)
    _error(requests.post(f"{served.url}/v1/deposit/authorizations", json=other.to_dict()), 400, "wrong_operator")
    mine = deposit.authorize_deposit(served.payer, ONE, served.service.node.address)
    assert requests.post(f"{served.url}/v1/deposit/authorizations", json=mine.to_dict()).status_code == 200
    error = _error(requests.post(f"{served.url}/v1/deposit/authorizations", json=mine.to_dict()), 400, "deposit_refused")
    assert "authorization is used or canceled" in error["message"]
    _error(requests.post(f"{served.url}/v1/deposit/authorizations", json={"payer": 1}), 400, "invalid_authorization")
    assert served.deposit_of() == ONE


def test_deposit_mode__one_question_at_a_time__a_second_one_meanwhile_409(served, stub_model, monkeypatch):
    """Two questions of one payer at once: the second could not be covered by the one invoice
    the node risks, so it is refused until the first is answered and signed."""
    import threading

    served.client.deposit(ONE)
    generate = stub_model.generate
    started = threading.Event()

    def slow(self, *args, **kwargs):
        started.set()
        time.sleep(1)
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(stub_model, "generate", slow)
    first: dict = {}
    asking = threading.Thread(target=lambda: first.update(answer=served.client.ask(QUESTION, max_tokens=16)))
    asking.start()
    assert started.wait(30)
    _error(served.post(chat(max_tokens=16)), 409, "answer_in_progress")
    asking.join(60)
    assert first["answer"].fee > 0 and records() == 1
    assert served.client.ask(QUESTION, max_tokens=16).fee == first["answer"].fee


def test_deposit_mode__settled_beside_the_server__an_invoice_of_the_old_batch_is_reissued(served):
    """`tantieme settle` beside the server settles the voucher while the server still trusts
    the batch nonce it read: an invoice made then carries the settled batch's nonce, which the
    payer refuses to sign; the terms give it again under the next batch's."""
    from tantieme.errors import PaymentError

    served.client.deposit(ONE)
    served.client.ask(QUESTION, max_tokens=16)
    with served.service.writer() as writer:  # what `tantieme settle` does, in another process
        (batch,) = deposit.Desk(writer, journal()).settle()
    assert batch.records == 1
    try:
        served.client.ask(QUESTION, max_tokens=16)  # invoiced under the cached nonce: refused by the payer
        stale = False
    except PaymentError as refused:
        assert "the ledger's 1" in str(refused) or "paid only in the batch it was signed for" in str(refused)
        stale = True
    if stale:
        time.sleep(DepositGate.TTL_S + 0.1)
        terms = served.terms()
        (invoice,) = terms["invoices"]
        assert int(invoice["nonce"]) >> 128 == int(terms["batchNonce"]) == 1
        payment = deposit.pay(served.payer, PAYER, deposit.Terms.from_dict(terms), InteractionRecord.from_dict(invoice),
                              kept=(), question=QUESTION, answer="Four hives.", max_fee=ONE)
        assert requests.post(f"{served.url}/v1/deposit/payments", json=payment.to_dict()).status_code == 200
    assert served.client.ask(QUESTION, max_tokens=16).fee > 0


def test_deposit_mode__the_credential_fails__nothing_charged_the_same_payment_later_accepted(served, monkeypatch):
    """Writing the answer's content credential fails after the payer's payment is checked: 503,
    nothing journaled (so nothing settles from the deposit), no file left, the invoice still
    waits; the same payment posted again once signing works is accepted, with its credential."""
    from tantieme import interaction
    from tantieme.errors import ProvenanceError

    served.client.deposit(ONE)
    terms, invoice = _invoiced(served)
    payment = deposit.pay(served.payer, PAYER, terms, invoice, kept=(), question=QUESTION, answer="Four hives.", max_fee=ONE)
    signing = interaction.sign_answer

    def broken(*_args, **_kwargs):
        raise ProvenanceError("the node's signing key is unreadable")

    monkeypatch.setattr(interaction, "sign_answer", broken)
    error = _error(requests.post(f"{served.url}/v1/deposit/payments", json=payment.to_dict()), 503, "credential_failed")
    assert "the node's signing key is unreadable" in error["message"] and "nothing was charged" in error["message"]
    assert records() == 0 and len(served.terms()["invoices"]) == 1
    assert not interaction.answers_dir().exists() or list(interaction.answers_dir().iterdir()) == []
    assert served.service.settle() == [] and served.deposit_of() == ONE

    monkeypatch.setattr(interaction, "sign_answer", signing)
    paid = requests.post(f"{served.url}/v1/deposit/payments", json=payment.to_dict())
    assert paid.status_code == 200, paid.text
    digest = paid.json()["record"]
    assert requests.get(f"{served.url}/answers/{digest}.txt.c2pa").status_code == 200 and records() == 1
    (batch,) = served.service.settle()
    assert served.deposit_of() == ONE - invoice.fee == ONE - batch.total


def test_deposit_mode__an_invoice_not_signed_in_time__expires__late_signature_refused(served, monkeypatch):
    """An invoice left unsigned past `INVOICE_TTL_S` is forgotten: its late signature is refused
    with a clear error (also once it is forgotten), nothing is charged, and the payer may ask
    again; the periodic settlement cleans up expired invoices of payers who never come back."""
    served.client.deposit(ONE)
    monkeypatch.setattr(deposit, "INVOICE_TTL_S", 2)
    terms, invoice = _invoiced(served)
    late = deposit.pay(served.payer, PAYER, terms, invoice, kept=(), question=QUESTION, answer="Four hives.", max_fee=ONE)
    _error(served.post(chat(max_tokens=16)), 409, "invoice_unsigned")
    time.sleep(3.1)
    for _ in range(2):  # while the journal holds it, then once it is forgotten
        error = _error(requests.post(f"{served.url}/v1/deposit/payments", json=late.to_dict()), 400, "invoice_expired")
        assert error["message"].startswith("this invoice expired") and "nothing is charged" in error["message"]
    assert records() == 0 and served.terms()["invoices"] == []
    assert served.service.settle() == [] and served.deposit_of() == ONE
    assert served.client.ask(QUESTION, max_tokens=16).fee == invoice.fee  # the payer may ask again

    _invoiced(served)  # a payer who never comes back
    dom = deposit.domain(served.payer)
    book = journal()
    assert len(book.invoices(PAYER.address, dom.chain_id, dom.verifying_contract)) == 1
    time.sleep(3.1)
    assert served.service.settle(everything=False) == []
    assert book.invoices(PAYER.address, dom.chain_id, dom.verifying_contract) == {}
    book.close()
