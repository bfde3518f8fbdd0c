"""The official `openai` client against the node's refusals, over HTTP (uvicorn) on the embedded
chain, paying with the official x402 client (the stub model, held, so the lines fill for sure).
It retries a full line (429 `payer_queue_full`) and a full queue (503 `queue_full`) after the
node's `Retry-After`, and the answer is paid once; it does not retry an answer whose settlement
is pending (503 `settlement_pending`, `X-Should-Retry: false`: asking again would pay again),
and reads that answer at its link once the node sees the payment (409 `payment_unconfirmed`
retried meanwhile, `Retry-After` from the node's settlement pace). And against a real `tantieme
serve` on the real model: a payer's burst, refused and retried, each answer paid once."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
import openai
import pytest

from tantieme.api import X402, Limits, Service, create_app
from tantieme.api.app import running
from tantieme.chain.accounts import dev_account
from tantieme.ledger.settlement import journal
from tantieme.node import Node
from tantieme.payments.client import CHAT_PATH

from .conftest import chat, until_queued
from .served import serving
from .test_serve_e2e import embedded_home  # noqa: F401  (a node with the bees work)
from .test_serve_x402 import _paid_answer, _until
from .test_x402_charge import ASKER, HeldSettlement, _payment_header

OTHER = dev_account(5)
BODY = chat(max_tokens=16)


@pytest.fixture
def serve(served_home, held_model, verified, monkeypatch):
    """make(held=False, settle_every=None, **limits) → (url, service, reader, chain): the node served
    by uvicorn, paid over x402 (settlements held back by the chain with `held`: `chain`, the
    `HeldSettlement`); ASKER and OTHER funded."""
    from tantieme.payments import per_request

    with Node.open() as writer:
        writer.faucet(ASKER.address)
        writer.faucet(OTHER.address)
    reader = Node.open(readonly=True)
    with contextlib.ExitStack() as stack:

        def make(held: bool = False, settle_every: float | None = None, **limits):
            chain = {}
            if held:
                monkeypatch.setattr(per_request, "signer", lambda node: chain.setdefault("signer", HeldSettlement(node.conn)))
            account = dev_account(0)
            gate = X402(Node.open(readonly=True, account=account), account)
            gate.gate.pending_wait_s = 1.0
            service = Service(Node.open(readonly=True, account=account), gate, limits=Limits(**limits), settle_every=settle_every)
            url = stack.enter_context(running(create_app(service)))
            return url, service, reader, chain.get("signer")

        yield make
    reader.close()


def _refused(service: Service, status: int) -> float:
    """How many chat requests `service` answered with `status`."""
    return service.metrics.registry.get_sample_value("tantieme_requests_total", {"route": CHAT_PATH, "status": str(status)}) or 0


@pytest.mark.parametrize(("code", "status", "limits", "filler", "retry_after"), [
    ("payer_queue_full", 429, {"queue": 8, "per_payer": 1}, ASKER, 1),  # the asker's own line is full
    ("queue_full", 503, {"queue": 1, "per_payer": 1}, OTHER, 2),  # another payer fills the queue
])
def test_openai_client__retries_after_retry_after__answered_and_paid_once(serve, held_model, verified, code, status,
                                                                           limits, filler, retry_after):
    url, service, reader, _chain = serve(**limits)
    before = reader.balance(ASKER.address)
    with httpx.Client(base_url=url, timeout=60) as http:
        headers = [_payment_header(http, reader, BODY, account=filler)[0] for _ in range(2)]
        filled: list = []

        def fill(header: str) -> threading.Thread:
            thread = threading.Thread(target=lambda: filled.append(http.post(CHAT_PATH, json=BODY, headers={"PAYMENT-SIGNATURE": header})))
            thread.start()
            return thread

        threads = [fill(headers[0])]
        assert held_model.entered.acquire(timeout=30)
        threads.append(fill(headers[1]))
        until_queued(service, 1)

        asked: list = []
        started = time.monotonic()
        client = threading.Thread(target=lambda: asked.append(_paid_answer(
            url, reader.conn.chain_id, reader.deployment.token, max_retries=3, max_tokens=16,
        )))
        client.start()
        _until(lambda: _refused(service, status), timeout=30)  # turned away once...
        held_model.let(3)  # ...then the node answers what waits, and the client's retry
        for thread in [*threads, client]:
            thread.join(60)
    assert len(asked) == 1, "the client gave up"
    assert time.monotonic() - started >= retry_after  # it waited as told (its own backoff is 0.5 s)
    answer = asked[0]
    assert "hives." in answer.choices[0].message.content and [f.status_code for f in filled] == [200, 200]
    assert verified.count(ASKER.address) == (3 if filler == ASKER else 1)  # no refused attempt was verified
    fees = [int(answer.tantieme["fee"])] + [int(f.json()["tantieme"]["fee"]) for f in filled if filler == ASKER]
    _until(lambda: reader.balance(ASKER.address) == before - sum(fees))  # refunds are sent after each answer


def test_openai_client__settlement_pending__not_retried__answer_read_at_its_link(serve, held_model, verified):
    url, service, reader, chain = serve(held=True, settle_every=1)
    held_model.let(1)
    before = reader.balance(ASKER.address)
    with pytest.raises(openai.InternalServerError) as pending:
        _paid_answer(url, reader.conn.chain_id, reader.deployment.token, max_retries=2, max_tokens=16)
    error = pending.value
    assert (error.code, error.type) == ("settlement_pending", "server_error")
    assert error.response.headers["X-Should-Retry"] == "false" and 1 <= int(error.response.headers["Retry-After"]) <= 3
    assert verified == [ASKER.address]  # asked once: one payment
    answer = error.body["links"]["answer"] + ".json"

    reading = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    with pytest.raises(openai.ConflictError) as unconfirmed:
        reading.get(answer, cast_to=object)
    assert unconfirmed.value.code == "payment_unconfirmed"
    assert 1 <= int(unconfirmed.value.response.headers["Retry-After"]) <= 3  # the node's next settlement looks
    assert reader.balance(ASKER.address) == before

    chain.land()
    document = reading.get(answer, cast_to=object, options={"max_retries": 5})  # 409 retried until the node sees it
    assert "hives." in str(document)
    book = journal()
    row = book.record(error.body["record"])
    book.close()
    _until(lambda: reader.balance(ASKER.address) == before - row.signed.record.fee)  # charged once: the fee


@pytest.mark.slow
def test_serve__openai_client_over_its_line__refused_unverified__retried__paid_once(embedded_home):  # noqa: F811
    """`tantieme serve --per-payer 1` on the real model: a payer's first question answered, its
    second waiting, its third (the openai client) refused 429 before its payment is verified and
    retried by the client until it is answered; the payer paid exactly its three fees."""
    import re

    with Node.open() as node:
        node.faucet(ASKER.address)
        before, chain_id, token = node.balance(ASKER.address), node.conn.chain_id, node.deployment.token
    answers: list = []

    def ask(max_tokens: int) -> threading.Thread:
        thread = threading.Thread(target=lambda: answers.append(
            _paid_answer(url, chain_id, token, max_retries=8, max_tokens=max_tokens),
        ))
        thread.start()
        return thread

    def sample(metrics: str, name: str) -> float:
        found = re.search(re.escape(name) + r" (\S+)", metrics)
        return float(found.group(1)) if found else 0.0

    admitted = 'tantieme_payments_total{method="x402",outcome="admitted"}'
    with serving(embedded_home, "--per-payer", "1") as (url, _process):
        asking = [ask(48)]  # a longer answer: the model is busy with it while the others come
        _until(lambda: sample(httpx.get(f"{url}/metrics").text, admitted) == 1)
        asking.append(ask(8))
        _until(lambda: httpx.get(f"{url}/healthz").json()["queue"] == 1)  # the payer's line is full
        asking.append(ask(8))
        for thread in asking:
            thread.join(300)
        metrics = httpx.get(f"{url}/metrics").text

    assert len(answers) == 3 and all(a.choices[0].message.content for a in answers)
    assert sample(metrics, 'tantieme_requests_total{route="/v1/chat/completions",status="429"}') >= 1  # retried
    assert sample(metrics, admitted) == 3  # only the answered payments were verified
    with Node.open(readonly=True) as reader:
        _until(lambda: reader.balance(ASKER.address) == before - sum(int(a.tantieme["fee"]) for a in answers))
