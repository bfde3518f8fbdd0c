"""`POST /v1/chat/completions` on the stub model: OpenAI's shapes, tantieme's object, and every
refusal in OpenAI's error shape with no charge and no record."""

from __future__ import annotations

import json
import threading

import pytest

from tantieme.api import SelfPay
from tantieme.api.chat import ChatRequest, _chunks
from tantieme.chain.accounts import dev_account
from .conftest import chat, records


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"} and error["code"] == code, error
    assert error["message"]
    return error


def test_chat__answer__openai_shape_with_the_tantieme_object(client, served_home):
    response = client.post("/v1/chat/completions", json=chat())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == str(served_home["model"])
    (choice,) = body["choices"]
    assert choice["message"] == {"role": "assistant", "content": "Four hives."}
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    extra = body["tantieme"]
    assert [s["asset"] for s in extra["sources"]] == [served_home["work"]]
    assert extra["fee"] == str(100 * usage["prompt_tokens"] * 10**12 + 400 * usage["completion_tokens"] * 10**12)
    assert int(extra["fee"]) <= int(extra["quote"])
    assert extra["own_knowledge"] == pytest.approx(1 - sum(s["weight"] for s in extra["sources"]))
    assert extra["record"].startswith("0x") and len(extra["record"]) == 66
    assert extra["links"]["bundle"] == f"/records/{extra['record']}"
    assert records() == 1


def test_chat__stream__sse_chunks_ending_with_done_and_tantieme_last(client):
    with client.stream("POST", "/v1/chat/completions", json=chat(stream=True)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Four hives."
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert "tantieme" in last and all("tantieme" not in c for c in chunks[:-1])
    assert last["tantieme"]["fee"] == str(int(last["tantieme"]["fee"]))
    assert records() == 1


def test_chunks__rejoin_to_the_text():
    for text in ("Four hives.", "  One  two\nthree ", ""):
        assert "".join(_chunks(text)) == text


def test_chat__last_user_message_is_the_question():
    request = ChatRequest.model_validate({"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "How many"}, {"type": "text", "text": "hives?"}]},
    ]})
    assert request.question() == "How many\nhives?"


def test_chat__model_by_id_or_name__answers(client, served_home):
    for model in (str(served_home["model"]), f"#{served_home['model']}", "stub"):
        assert client.post("/v1/chat/completions", json=chat(model=model)).status_code == 200, model


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (json.dumps({"messages": []}).encode(), 422, "invalid_value"),
        (json.dumps({"messages": "hi"}).encode(), 422, "invalid_value"),
        (json.dumps(chat(max_tokens=0)).encode(), 422, "invalid_value"),
        (json.dumps(chat(n=2)).encode(), 422, "invalid_value"),
        (json.dumps({"messages": [{"role": "system", "content": "x"}]}).encode(), 400, "invalid_value"),
        (json.dumps(chat(max_tokens=513)).encode(), 400, "max_tokens_too_large"),
        (json.dumps(chat(model="99")).encode(), 404, "model_not_found"),
        (json.dumps(chat(model="gpt-4o")).encode(), 404, "model_not_found"),
    ],
)
def test_chat__bad_request__openai_error_no_charge_no_record(client, stub_model, body, status, code):
    response = client.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    _error(response, status, code)
    assert records() == 0 and stub_model.generated == 0


def test_chat__body_above_the_limit__413(make_client):
    client = make_client(max_body_bytes=2_000)
    _error(client.post("/v1/chat/completions", json=chat("bees " * 1_000)), 413, "request_too_large")
    assert client.post("/v1/chat/completions", json=chat("bees " * 100)).status_code == 200
    assert records() == 1


def test_chat__question_longer_than_the_context__400_no_record(client):
    response = client.post("/v1/chat/completions", json=chat("bees " * 3_000))  # the stub attends to 2,048 tokens
    assert "too long" in _error(response, 400, "context_length_exceeded")["message"]
    assert records() == 0


def test_chat__without_a_gate__402_json_error(make_client, stub_model):
    client = make_client(gate="none")
    error = _error(client.post("/v1/chat/completions", json=chat()), 402, "payment_required")
    assert error["type"] == "payment_required" and "--self-pay" in error["message"]
    assert records() == 0 and stub_model.generated == 0


def test_chat__payer_over_its_rate__429_with_retry_after(make_client):
    client = make_client(rate_per_minute=2)
    assert [client.post("/v1/chat/completions", json=chat()).status_code for _ in range(2)] == [200, 200]
    response = client.post("/v1/chat/completions", json=chat())
    _error(response, 429, "rate_limit_exceeded")
    assert int(response.headers["Retry-After"]) >= 1
    assert records() == 2


class CountingGate(SelfPay):
    """The node pays (as `--self-pay`), and the gate counts the payments it was asked to admit."""

    def __init__(self) -> None:
        super().__init__(dev_account(0), "127.0.0.1")
        self.admitted = 0

    async def admit(self, request, quote):
        self.admitted += 1
        return await super().admit(request, quote)


def test_chat__queue_full__503_before_payment_retry_after_from_the_pace(make_client, stub_model, monkeypatch):
    gate = CountingGate()
    client = make_client(gate=gate, queue=1)
    release = threading.Event()
    entered = threading.Event()
    generate = stub_model.generate

    def slow(self, *args, **kwargs):
        entered.set()
        release.wait(30)
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(stub_model, "generate", slow)
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(client.post("/v1/chat/completions", json=chat()).status_code))
    first.start()
    assert entered.wait(30)  # the worker is busy with the first question
    second = threading.Thread(target=lambda: results.append(client.post("/v1/chat/completions", json=chat()).status_code))
    second.start()
    service = client.app.state.service
    for _ in range(300):
        if service.queued == 1:
            break
        threading.Event().wait(0.01)
    response = client.post("/v1/chat/completions", json=chat())
    _error(response, 503, "queue_full")
    assert response.headers["Retry-After"] == "2"  # no answer timed yet: the least wait
    assert gate.admitted == 2  # turned away before its payment was asked for or verified
    assert "tantieme_queue_length 1.0" in client.get("/metrics").text
    service.answer_s = 10.0  # answers take 10 s: half of the 1 question waiting is answered in 5 s
    assert client.post("/v1/chat/completions", json=chat()).headers["Retry-After"] == "5"
    release.set()
    first.join()
    second.join()
    assert results == [200, 200] and records() == 2 and gate.admitted == 2
    assert service.answer_s > 0  # the worker timed its answers


def test_chat__payer_cannot_pay_the_quote__402_no_record(client, served_home, stub_model):
    from tantieme.interaction import Models

    models = Models.load()
    models.set_price(served_home["model"], prompt=10**30)  # no account holds this much
    _error(client.post("/v1/chat/completions", json=chat()), 402, "insufficient_funds")
    assert records() == 0 and stub_model.generated == 0


def test_chat__payments_metric_counts_admitted_and_delivered(client):
    assert client.post("/v1/chat/completions", json=chat()).status_code == 200
    assert client.post("/v1/chat/completions", json=chat(model="99")).status_code == 404
    text = client.get("/metrics").text
    assert 'tantieme_payments_total{method="self",outcome="admitted"} 1.0' in text
    assert 'tantieme_payments_total{method="self",outcome="delivered"} 1.0' in text
    assert 'tantieme_requests_total{route="/v1/chat/completions",status="404"} 1.0' in text
    assert "tantieme_answer_seconds_count 1.0" in text



class RecordingGate:
    """A gate as a payment protocol plugs in: its own middleware, a payment bound to the
    record by its nonce, and what it is told after the answer."""

    name = "test"

    def __init__(self) -> None:
        self.quotes: list[list[str]] = []
        self.events: list[tuple] = []

    def install(self, app) -> None:
        @app.middleware("http")
        async def middleware(request, call_next):
            if request.url.path == "/v1/chat/completions":
                self.quotes.append(request.headers.getlist("x-tantieme-quote"))
            return await call_next(request)

    def named_payer(self, request):
        return None  # its payments name nobody before they are checked

    async def admit(self, request, quote):
        from tantieme.api import Payment
        from tantieme.chain.accounts import dev_account

        if request.headers.get("x-pay") != "yes":
            from tantieme.api.errors import ApiError

            raise ApiError(402, "pay first", type="payment_required", code="payment_required")
        self.events.append(("admit", quote.amount))
        return Payment(payer="0x" + "77" * 20, account=dev_account(0), quote=quote.amount, record_nonce=12345, method="test")

    async def charge(self, payment, interaction):
        self.events.append(("charge", interaction.fee))
        return {"X-Charged": str(interaction.fee)}

    async def delivered(self, payment, interaction):
        self.events.append(("delivered", interaction.fee, interaction.record.signed.record.nonce))

    async def cancelled(self, payment):
        self.events.append(("cancelled",))


def test_gate__quote_header_nonce_delivered_and_cancelled(make_client, served_home):
    gate = RecordingGate()
    client = make_client(gate=gate, rate_per_minute=1)
    unpaid = client.post("/v1/chat/completions", json=chat(), headers={"X-Tantieme-Quote": "1"})
    assert unpaid.status_code == 402 and gate.events == [] and records() == 0
    paid = client.post("/v1/chat/completions", json=chat(), headers={"X-Tantieme-Quote": "1", "X-Pay": "yes"})
    body, fee = paid.json(), int(paid.json()["tantieme"]["fee"])
    quote = body["tantieme"]["quote"]
    assert gate.quotes == [[quote], [quote]] and quote != "1"  # the client's own quote header is replaced
    assert gate.events == [("admit", int(quote)), ("charge", fee), ("delivered", fee, 12345)]
    assert paid.headers["X-Charged"] == str(fee)  # the charge's headers go with the answer
    assert body["tantieme"]["payer"] == "0x" + "77" * 20
    limited = client.post("/v1/chat/completions", json=chat(), headers={"X-Pay": "yes"})
    assert limited.status_code == 429  # the payer's rate: refused after admission, so cancelled
    assert gate.events[-1] == ("cancelled",) and records() == 1
    text = client.get("/metrics").text
    assert 'tantieme_payments_total{method="test",outcome="cancelled"} 1.0' in text
