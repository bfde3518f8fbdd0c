"""A paid node behind a minimal FastAPI app, served over real HTTP, and the official x402 client."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from tantieme import interaction
from tantieme.api.app import running
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.errors import TantiemeError
from tantieme.node import Node
from tantieme.payments.per_request import PaymentRefused, PayPerRequest
from tantieme.quickstart import SAMPLES_DIR

ASKER = dev_account(6)
QUESTION = "How many hives can a flat roof of forty square metres hold?"


def quote(body: dict[str, Any]) -> int:
    """The quote of a chat request: the most its answer can cost (`interaction.max_fee`)."""
    from tantieme import ai

    entry = interaction.Models.load().get()
    model = ai.load_model(entry.backend, **entry.options)
    return interaction.max_fee(entry, model.context_window, int(body.get("max_tokens", 96)))


def make_app(node: Node, gate: PayPerRequest, delivered: queue.Queue):
    """The paid route as `tantieme serve` runs it: priced, verified before the work, answered,
    settled before the response is sent (402 instead if it does not settle), and refunded once
    it is (each refund transaction, or None, put in `delivered`)."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        try:
            payment = await run_in_threadpool(gate.verify, request, quote(body))
        except PaymentRefused as refused:
            return JSONResponse(refused.body, refused.status, refused.headers)
        try:
            done = await run_in_threadpool(
                interaction.ask, node, body["messages"][-1]["content"], payer=node.account,
                nonce=payment.record_nonce, max_tokens=int(body.get("max_tokens", 96)),
                payment=partial(gate.entry, payment),
            )
        except TantiemeError as exc:  # the answer failed: nothing to settle
            gate.release(payment)
            return JSONResponse({"error": str(exc), "kind": type(exc).__name__}, 500)
        try:
            settled = await run_in_threadpool(gate.settle, payment, done)
        except PaymentRefused as refused:  # the answer is withheld
            return JSONResponse(refused.body, refused.status, refused.headers)

        def refund() -> None:
            delivered.put(gate.refund(payment, done))

        return JSONResponse({
            "object": "chat.completion",
            "model": str(done.model.asset_id),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": done.answer.text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": done.answer.prompt_tokens, "completion_tokens": done.answer.completion_tokens},
            "tantieme": {
                "record": done.record.digest,
                "fee": str(done.fee),
                "quote": str(payment.quote),
                "payer": payment.payer,
                "sources": [{"asset": s.asset_id, "title": s.title, "weight": s.weight} for s in done.answer.sources],
                "own_knowledge": done.answer.own_knowledge,
            },
        }, headers=settled.headers, background=BackgroundTask(refund))

    @app.get("/records/{digest}")
    def record(digest: str):
        """The record's bundle, as `tantieme serve` answers `GET /records/ID`."""
        from tantieme.ledger.bundle import export
        from tantieme.ledger.settlement import journal

        return export(node, journal(), digest)

    return app


@pytest.fixture
def paid_node(node: Node, creator: Node, stub_model) -> Node:
    """A node serving the stub model over one open work, and a funded asker (dev account 6)."""
    registry.register(creator, SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open"), title="Bees")
    interaction.register_model(node, backend="stub")
    node.faucet(ASKER.address)
    return node


@pytest.fixture
def gate(paid_node: Node) -> PayPerRequest:
    return PayPerRequest(paid_node)


@pytest.fixture
def delivered() -> queue.Queue:
    """The refund transaction of each delivered answer (None when nothing was owed)."""
    return queue.Queue()


@pytest.fixture
def url(paid_node: Node, gate: PayPerRequest, delivered) -> Iterator[str]:
    with running(make_app(paid_node, gate, delivered)) as base:
        yield base


def x402_client(account=ASKER, node: Node | None = None, cap: int | None = None):
    """The official x402 client (sync), paying from `account`, allowing the node's AI token."""
    from x402 import x402ClientSync
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact import register_exact_evm_client

    client = register_exact_evm_client(x402ClientSync(), EthAccountSigner(account))
    if node is not None:
        allowed: dict[str, Any] = {"network": f"eip155:{node.conn.chain_id}", "asset": node.deployment.token}
        if cap is not None:
            allowed["max_amount_per_payment"] = str(cap)
        client.set_spend_controls({"allowed_assets": [allowed]})
    return client


def pay(url: str, body: dict[str, Any], payload) -> Any:
    """POST `body` to the paid route with `payload` in the PAYMENT-SIGNATURE header."""
    import requests
    from x402.http import encode_payment_signature_header

    return requests.post(
        f"{url}/v1/chat/completions", json=body,
        headers={"PAYMENT-SIGNATURE": encode_payment_signature_header(payload)},
    )


def payment_required(url: str, body: dict[str, Any]):
    """The SDK's PaymentRequired of an unpaid request."""
    import requests
    from x402.http import decode_payment_required_header

    response = requests.post(f"{url}/v1/chat/completions", json=body)
    assert response.status_code == 402
    return decode_payment_required_header(response.headers["PAYMENT-REQUIRED"])


def paying_session(client):
    """A requests session that pays 402s with `client` (the SDK's requests wrapper)."""
    import requests
    from x402.http.clients import wrapRequestsWithPayment

    return wrapRequestsWithPayment(requests.Session(), client)


def chat_body(question: str = QUESTION, max_tokens: int = 32) -> dict[str, Any]:
    return {"model": "tantieme", "messages": [{"role": "user", "content": question}], "max_tokens": max_tokens}
