"""Pay per request over x402 with the official client, on the embedded chain and on anvil."""

from __future__ import annotations

from functools import partial

import pytest
from x402.http import decode_payment_response_header

from tantieme.ledger import settlement
from tantieme.payments import per_request
from tantieme.payments.per_request import record_nonce

from .conftest import ASKER, QUESTION, quote, chat_body, pay, payment_required, paying_session, x402_client


def test_unpaid__402_with_the_quote(paid_node, url):
    import requests
    from x402.http import decode_payment_required_header

    response = requests.post(f"{url}/v1/chat/completions", json=chat_body(max_tokens=32))
    assert response.status_code == 402
    required = decode_payment_required_header(response.headers["PAYMENT-REQUIRED"])
    (accepts,) = required.accepts
    assert accepts.scheme == "exact"
    assert accepts.network == f"eip155:{paid_node.conn.chain_id}"
    assert accepts.asset == paid_node.deployment.token
    assert accepts.pay_to == paid_node.address
    assert accepts.extra == {"name": "tantieme AI Token", "version": "1"}
    assert int(accepts.amount) == quote(chat_body(max_tokens=32))
    assert response.json()["kind"] == "payment"


def test_paid__payer_pays_exactly_the_metered_fee(paid_node, url, delivered):
    book = settlement.journal()
    before = paid_node.balance(ASKER.address)
    operator_before = paid_node.balance()
    session = paying_session(x402_client(node=paid_node))
    response = session.post(f"{url}/v1/chat/completions", json=chat_body())
    assert response.status_code == 200, response.text
    body = response.json()
    fee = int(body["tantieme"]["fee"])
    assert 0 < fee < quote(chat_body()) == int(body["tantieme"]["quote"])
    refund_tx = delivered.get(timeout=30)
    assert paid_node.balance(ASKER.address) == before - fee
    assert paid_node.balance() == operator_before + fee
    (row,) = book.records()
    assert row.digest == body["tantieme"]["record"]
    rec = row.signed.record
    assert rec.payer == paid_node.address and rec.fee == fee
    payment = book.payment(row.id)
    assert payment["payer"] == ASKER.address
    assert rec.nonce == record_nonce(ASKER.address, payment["authorization"]["nonce"])
    assert int(payment["quote"]) - int(payment["refund"]) == fee
    assert payment["settlement_tx"].startswith("0x") and payment["refund_tx"] == refund_tx
    settled = decode_payment_response_header(response.headers["PAYMENT-RESPONSE"])  # sent with the answer
    assert settled.success and settled.transaction == payment["settlement_tx"] and settled.payer == ASKER.address
    assert paid_node.token.functions.authorizationState(ASKER.address, payment["authorization"]["nonce"]).call()


def _nothing_charged(node, book, before: int, payer=ASKER) -> None:
    assert node.balance(payer.address) == before
    assert book.records() == []


def test_answer_fails__no_charge_no_record(paid_node, url, stub_model, monkeypatch):
    from tantieme.errors import AIError

    def broken(self, messages, max_tokens=256, stop=()):
        raise AIError("the model failed")

    monkeypatch.setattr(stub_model, "generate", broken)
    book = settlement.journal()
    before = paid_node.balance(ASKER.address)
    client = x402_client(node=paid_node)
    payload = client.create_payment_payload(payment_required(url, chat_body()))
    response = pay(url, chat_body(), payload)
    assert response.status_code == 500
    assert response.json()["error"] == "the model failed"
    _nothing_charged(paid_node, book, before)
    nonce = payload.payload["authorization"]["nonce"]
    assert not paid_node.token.functions.authorizationState(ASKER.address, nonce).call()


def test_replayed_authorization__refused_without_charge(paid_node, url, delivered):
    book = settlement.journal()
    client = x402_client(node=paid_node)
    payload = client.create_payment_payload(payment_required(url, chat_body()))
    first = pay(url, chat_body(), payload)
    assert first.status_code == 200, first.text
    delivered.get(timeout=30)
    after = paid_node.balance(ASKER.address)
    again = pay(url, chat_body(), payload)
    assert again.status_code == 402
    assert again.json() == {
        "error": "this payment authorization was used already: sign a new one",
        "kind": "payment",
        "reason": "invalid_exact_evm_nonce_already_used",
    }
    assert paid_node.balance(ASKER.address) == after
    assert len(book.records()) == 1


def test_expired_authorization__refused(paid_node, url, monkeypatch):
    import time

    import x402.mechanisms.evm.exact.client as exact_client

    book = settlement.journal()
    before = paid_node.balance(ASKER.address)
    required = payment_required(url, chat_body())
    an_hour_ago = time.time() - 3600
    with monkeypatch.context() as patched:  # signed an hour ago, valid for five minutes
        patched.setattr(exact_client.time, "time", lambda: an_hour_ago)
        payload = x402_client(node=paid_node).create_payment_payload(required)
    response = pay(url, chat_body(), payload)
    assert response.status_code == 402
    assert response.json()["reason"] == "invalid_exact_evm_payload_authorization_valid_before"
    _nothing_charged(paid_node, book, before)


def test_underfunded_payer__refused(paid_node, url):
    from tantieme.chain.accounts import dev_account

    poor = dev_account(7)
    paid_node.faucet(poor.address, quote(chat_body()) - 1)
    book = settlement.journal()
    payload = x402_client(poor, node=paid_node).create_payment_payload(payment_required(url, chat_body()))
    response = pay(url, chat_body(), payload)
    assert response.status_code == 402
    assert response.json()["reason"] == "invalid_exact_evm_insufficient_balance"
    _nothing_charged(paid_node, book, quote(chat_body()) - 1, poor)


TAMPERED = {
    "wrong chain": ({"network": "eip155:1"}, "invalid_exact_evm_payload_signature"),
    "wrong asset": ({"asset": "0x" + "11" * 20}, "invalid_exact_evm_payload_signature"),
    "wrong payTo": ({"pay_to": ASKER.address}, "invalid_exact_evm_payload_recipient_mismatch"),
    "below the quote": ({"amount": "quote - 1"}, "invalid_exact_evm_payload_authorization_value_mismatch"),
}


@pytest.mark.parametrize("claims", ["as signed", "as quoted"])
@pytest.mark.parametrize("case", list(TAMPERED))
def test_payment_not_the_quote__refused(paid_node, url, case, claims):
    """An authorization for another chain, asset, payee or amount: refused whether the payment
    says what it signed (no requirement matches) or claims the quote (the facilitator checks)."""
    book = settlement.journal()
    before = paid_node.balance(ASKER.address)
    required = payment_required(url, chat_body())
    (quoted,) = required.accepts
    change, reason = TAMPERED[case]
    if change.get("amount") == "quote - 1":
        change = {"amount": str(int(quoted.amount) - 1)}
    client = x402_client(node=paid_node)
    client.set_spend_controls(False)
    payload = client.create_payment_payload(required.model_copy(update={"accepts": [quoted.model_copy(update=change)]}))
    if claims == "as quoted":
        payload = payload.model_copy(update={"accepted": quoted})
    else:
        reason = "no_matching_requirements"
    response = pay(url, chat_body(), payload)
    assert response.status_code == 402
    assert response.json()["kind"] == "payment" and response.json()["reason"] == reason
    _nothing_charged(paid_node, book, before)


def _paid_record(paid_node, url, delivered):
    session = paying_session(x402_client(node=paid_node))
    response = session.post(f"{url}/v1/chat/completions", json=chat_body())
    assert response.status_code == 200, response.text
    delivered.get(timeout=30)
    return response.json()["tantieme"]["record"]


PAYMENT_CHECKS = ("payment binding", "payment authorization", "authorization used", "payment settled", "refund")


def test_bundle__payment_verified_on_chain(paid_node, url, delivered):
    import json

    from tantieme.ledger.bundle import export
    from tantieme.ledger.verify import verify

    digest = _paid_record(paid_node, url, delivered)
    settlement.settle(paid_node, {paid_node.address: paid_node.account})
    bundle = export(paid_node, settlement.journal(), digest)
    payment = bundle["payment"]
    assert payment["payer"] == ASKER.address and payment["authorization"]["from"] == ASKER.address
    assert payment["settlement_tx"].startswith("0x") and payment["refund_tx"].startswith("0x")
    json.dumps(bundle)  # one JSON document
    report = verify(paid_node.conn, bundle)
    checks = {c.name: c.ok for c in report.checks}
    assert report.status == "verified", report.checks
    assert all(checks[name] for name in PAYMENT_CHECKS), report.checks


@pytest.mark.parametrize("tamper, failing", [
    (lambda p: p.update(refund=str(int(p["refund"]) + 1)), ["refund"]),
    (lambda p: p["authorization"].update(nonce="0x" + "22" * 32), ["payment binding", "payment authorization", "authorization used"]),
    (lambda p: p.update(settlement_tx=p["refund_tx"]), ["payment settled"]),
    (lambda p: p.update(signature="0x" + "11" * 65), ["payment authorization"]),
])
def test_bundle__tampered_payment_fails(paid_node, url, delivered, tamper, failing):
    from tantieme.ledger.bundle import export
    from tantieme.ledger.verify import verify

    bundle = export(paid_node, settlement.journal(), _paid_record(paid_node, url, delivered))
    tamper(bundle["payment"])
    report = verify(paid_node.conn, bundle)
    assert report.status == "failed"
    assert [c.name for c in report.checks if not c.ok] == failing


def test_same_authorization_in_concurrent_requests__paid_once(paid_node, url, delivered):
    from concurrent.futures import ThreadPoolExecutor

    book = settlement.journal()
    before = paid_node.balance(ASKER.address)
    payload = x402_client(node=paid_node).create_payment_payload(payment_required(url, chat_body()))
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: pay(url, chat_body(), payload), range(4)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 200 and all(s in (402, 409) for s in statuses[1:]), [r.text for r in responses]
    delivered.get(timeout=30)
    (row,) = book.records()
    assert paid_node.balance(ASKER.address) == before - row.signed.record.fee
    assert int(book.payment(row.id)["refund"]) == int(payload.accepted.amount) - row.signed.record.fee


def _verified_and_answered(paid_node, gate, url, client=None):
    """A payment verified by `gate` outside HTTP (paid by `client`, default the asker's), and its
    answer journaled, ready to deliver."""
    from starlette.requests import Request
    from x402.http import encode_payment_signature_header

    from tantieme import interaction

    payload = (client or x402_client(node=paid_node)).create_payment_payload(payment_required(url, chat_body()))
    request = Request({
        "type": "http", "method": "POST", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
        "query_string": b"", "scheme": "http", "server": ("127.0.0.1", 80),
        "headers": [(b"payment-signature", encode_payment_signature_header(payload).encode())],
    })
    payment = gate.verify(request, quote(chat_body()))
    done = interaction.ask(paid_node, QUESTION, payer=paid_node.account, nonce=payment.record_nonce, max_tokens=32,
                           payment=partial(gate.entry, payment))
    return payment, done


def test_payer_spends_the_quote_before_delivery__settlement_refused(paid_node, gate, url):
    """The payer empties the account between verification and delivery: the payment does not
    settle (the SDK says why), nothing moves, and the record is voided with its payment and
    the answer's files (the answer is withheld)."""
    from tantieme.payments.per_request import PaymentRefused

    payment, done = _verified_and_answered(paid_node, gate, url)
    asker = paid_node.as_account(ASKER)
    asker.conn.transact(asker.token.functions.transfer(paid_node.address, paid_node.balance(ASKER.address)), gas=100_000)
    operator = paid_node.balance()
    assert done.answer_path.is_file()
    with pytest.raises(PaymentRefused, match="did not settle, so the answer is withheld") as refused:
        gate.settle(payment, done)
    assert refused.value.status == 402 and refused.value.reason
    assert paid_node.balance() == operator and paid_node.balance(ASKER.address) == 0
    book = settlement.journal()
    assert book.payment(done.record.id) is None and book.records() == []
    assert not done.answer_path.exists() and not done.credential_path.exists()


def _deliver(gate, payment, done) -> None:
    gate.settle(payment, done)
    gate.refund(payment, done)


class Crash(Exception):
    pass


@pytest.mark.parametrize("crash_at", ["before settling", "after settling", "after refunding"])
def test_delivery_cut_short__recover_finishes_it_once(paid_node, gate, url, monkeypatch, crash_at):
    """A crash at any step of a delivery: `recover` leaves the payer down exactly the fee (or
    nothing, when the payment never settled), never refunding twice."""
    from tantieme.ledger.journal import Journal

    before = paid_node.balance(ASKER.address)
    payment, done = _verified_and_answered(paid_node, gate, url)

    def crash(*_args, **_kwargs):
        raise Crash(crash_at)

    with monkeypatch.context() as patched:
        if crash_at == "before settling":
            patched.setattr(gate._http, "process_settlement", crash)
        else:
            patched.setattr(Journal, "payment_settled" if crash_at == "after settling" else "refunded", crash)
        with pytest.raises(Crash):
            _deliver(gate, payment, done)
    book = settlement.journal()
    if crash_at == "before settling":  # the authorization is still valid: a settlement sent may be mined yet
        assert gate.recover(book) == []
        assert book.pending(paid_node.address, paid_node.conn.chain_id, paid_node.deployment.ledger, 10) == []
        expired = int(payment.authorization["validBefore"]) + 61
        monkeypatch.setattr(per_request.time, "time", lambda: expired)
    assert gate.recover(book) == [done.record.id]
    assert gate.recover(book) == []
    paid = book.payment(done.record.id)
    if crash_at == "before settling":  # expired unused: the answer was never sent, the record is voided
        assert paid is None and book.records() == [] and paid_node.balance(ASKER.address) == before
        return
    assert paid_node.balance(ASKER.address) == before - done.fee
    assert paid["settlement_tx"] and paid["refund_tx"]


def test_settlement_pending_at_a_crash__recover_waits_for_it(paid_node, gate, url):
    """A settlement sent but not mined when the server stopped (a pending transaction on an RPC
    chain): `recover` leaves the payment while its authorization can still be used, and once the
    settlement is mined, journals it and refunds quote − fee, once."""
    before = paid_node.balance(ASKER.address)
    payment, done = _verified_and_answered(paid_node, gate, url)
    book = settlement.journal()
    assert gate.recover(book) == []  # not dropped: the payment may still settle
    with gate._sending():  # the pending settlement is mined
        assert gate._http.process_settlement(payment.payload, payment.requirements).success
    assert gate.recover(book) == [done.record.id]
    assert gate.recover(book) == []
    assert paid_node.balance(ASKER.address) == before - done.fee
    paid = book.payment(done.record.id)
    assert paid["settlement_tx"] and paid["refund_tx"]
    pending = book.pending(paid_node.address, paid_node.conn.chain_id, paid_node.deployment.ledger, 10)
    assert [row.id for row in pending] == [done.record.id]  # settled: it may go in a batch now


def test_recover_beside_a_delivery__refunds_once(paid_node, gate, url):
    """The service's settlement runs `recover` while a request's answer is being sent (its payment
    settled, its refund not sent yet): the refund goes out once, whoever sends it first."""
    before = paid_node.balance(ASKER.address)
    payment, done = _verified_and_answered(paid_node, gate, url)
    gate.settle(payment, done)
    book = settlement.journal()
    assert gate.recover(book, paid_node) == [done.record.id]  # the settlement sends the refund first
    refund_tx = book.payment(done.record.id)["refund_tx"]
    assert gate.refund(payment, done) == refund_tx  # the request's own: not sent again
    assert paid_node.balance(ASKER.address) == before - done.fee


def test_recover_holding_the_writer__never_waits_for_a_payment_being_sent(paid_node, gate):
    """A request sending its payment waits for the chain's writer; the service's settlement,
    which holds it, must not wait for that request (both would wait for 120 s)."""
    import threading

    book = settlement.journal()
    with gate._lock_sending:  # a request is sending (and waits for the writer the settlement holds)
        recovering = threading.Thread(target=gate.recover, args=(book, paid_node), daemon=True)
        recovering.start()
        recovering.join(10)
        assert not recovering.is_alive()


def test_node_served_read_only__a_writer_opened_to_settle(paid_node, delivered):
    """As `tantieme serve` runs it: the node open read-only (other writers run beside it), a
    writer opened only while a payment settles and refunds."""
    from tantieme.node import Node
    from tantieme.payments.per_request import PayPerRequest

    from tantieme.api.app import running

    from .conftest import make_app

    paid_node.close()
    with Node.open(readonly=True) as reader:
        gate = PayPerRequest(reader, writer=Node.open)
        with running(make_app(reader, gate, delivered)) as url:
            before = reader.balance(ASKER.address)
            response = paying_session(x402_client(node=reader)).post(f"{url}/v1/chat/completions", json=chat_body())
            assert response.status_code == 200, response.text
            refund_tx = delivered.get(timeout=30)
        with Node.open() as writer:  # no lock left behind
            assert writer.balance(ASKER.address) == before - int(response.json()["tantieme"]["fee"])
        assert refund_tx is not None


def _request(payload):
    """A Starlette request to the paid route carrying `payload` (as the service hands it to `verify`)."""
    from starlette.requests import Request
    from x402.http import encode_payment_signature_header

    header = encode_payment_signature_header(payload).encode()
    return Request({"type": "http", "method": "POST", "path": "/v1/chat/completions", "query_string": b"",
                    "headers": [(b"payment-signature", header)], "scheme": "http", "server": ("127.0.0.1", 80)})


def test_payments_under_way__balance_must_cover_them_all(paid_node, url, gate, delivered):
    """Two requests at once from a payer who can pay one quote: the second is refused before
    the work, since both could not settle once answered (the operator would pay its split)."""
    from tantieme.chain.accounts import dev_account
    from tantieme.payments.per_request import PaymentRefused

    payer = dev_account(7)
    amount = quote(chat_body())
    paid_node.faucet(payer.address, amount + amount // 2)
    client = x402_client(payer, node=paid_node)
    required = payment_required(url, chat_body())
    first, second = (client.create_payment_payload(required) for _ in range(2))
    held = gate.verify(_request(first), amount)
    with pytest.raises(PaymentRefused) as refused:
        gate.verify(_request(second), amount)
    assert (refused.value.status, refused.value.reason) == (402, "insufficient_balance_under_way")
    gate.release(held)  # the first request failed: its quote is free again
    gate.release(gate.verify(_request(second), amount))
    session = paying_session(client)
    for _ in range(2):  # one after the other: each settled payment frees its quote
        assert session.post(f"{url}/v1/chat/completions", json=chat_body()).status_code == 200
        delivered.get(timeout=30)
