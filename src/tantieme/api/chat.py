"""`POST /v1/chat/completions`, as OpenAI's API takes and answers it.

The node answers the last user message from its consenting sources with its own
prompt (system messages and earlier turns are not read, so attribution measures
what the sources did); decoding is greedy, so `temperature` and `top_p` are
accepted and ignored. `stream: true` sends the answer as server-sent events in
OpenAI's chunk format once it is measured (attribution needs the whole answer),
ending with `data: [DONE]`. tantieme's additions are one object, `tantieme`, in the
response (in the last chunk when streaming): see docs/api.md.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.background import BackgroundTask
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tantieme.api.errors import ApiError
from tantieme.errors import AIError, UnknownModelError
from tantieme.payments.client import CHAT_PATH

if TYPE_CHECKING:
    from tantieme.api.payments import Payment
    from tantieme.api.service import Service
    from tantieme.interaction import Interaction, Quote
    from tantieme.node import Node

__all__ = ["CHAT_PATH", "QUOTE_HEADER", "ChatRequest", "Priced", "Pricing", "completion", "router"]

#: the request header in which the pricing step passes the quote (token wei) to the gate
QUOTE_HEADER = b"x-tantieme-quote"
router = APIRouter()


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    """The fields of OpenAI's chat request the node reads (others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    model: str = "default"
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stream: bool = False
    n: Literal[1] = 1
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)

    def question(self) -> str:
        asked = [m for m in self.messages if m.role == "user" and m.text().strip()]
        if not asked:
            raise ApiError(400, "messages hold no user message with text to answer", param="messages", code="invalid_value")
        return asked[-1].text().strip()


@dataclass(frozen=True)
class Priced:
    """A checked chat request, its question and its quote: what the gate and the handler read."""

    request: ChatRequest
    question: str
    quote: Quote


def _model_id(name: str) -> int | None:
    """The asset id a request's `model` names: `7` or `#7`, or the model's name; None for the default."""
    from tantieme.interaction import Models

    if name in ("", "default"):
        return None
    if re.fullmatch(r"#?\d{1,20}", name):
        return int(name.lstrip("#"))
    named = [entry.asset_id for entry in Models.load().models.values() if entry.name == name]
    if len(named) == 1:
        return named[0]
    raise ApiError(404, f"this node serves no model {name!r} (see GET /v1/models)", code="model_not_found", param="model")


def price(body: bytes, max_tokens_limit: int, default_max_tokens: int) -> Priced:
    """Check a request body and quote it (`interaction.quote`): the one price of a request."""
    from tantieme import interaction

    try:
        request = ChatRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise ApiError(400, f"the body is not valid JSON: {first['msg']}", code="invalid_json") from None
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(422, f"{where or 'body'}: {first['msg']}", code="invalid_value", param=where or None) from None
    max_tokens = request.max_completion_tokens or request.max_tokens or default_max_tokens
    if max_tokens > max_tokens_limit:
        raise ApiError(
            400, f"max_tokens is {max_tokens}; this node answers with at most {max_tokens_limit} tokens",
            code="max_tokens_too_large", param="max_tokens",
        )
    question = request.question()
    try:
        quote = interaction.quote(_model_id(request.model), max_tokens)
    except UnknownModelError as exc:
        raise ApiError(404, str(exc), code="model_not_found", param="model") from None
    except AIError as exc:
        raise ApiError(400, str(exc), code="invalid_value", param="max_tokens") from None
    return Priced(request, question, quote)


class Pricing:
    """ASGI middleware, outside any payment gate: reads the chat request's body (413 above
    the limit), checks and prices it, and leaves it in `request.state.priced` and the quote
    in the `X-Tantieme-Quote` request header."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CHAT_PATH or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        scope["tantieme_route"] = CHAT_PATH
        limits = self.service.limits
        try:
            body = await _read_body(scope, receive, limits.max_body_bytes)
            priced = price(body, limits.max_tokens, limits.default_max_tokens)
        except ApiError as exc:
            return await exc.response()(scope, receive, send)
        scope.setdefault("state", {})["priced"] = priced
        # The quote, for a gate in middleware that reads headers (x402's dynamic price); a
        # client's own header of that name is replaced, never believed.
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != QUOTE_HEADER] + [
            (QUOTE_HEADER, str(priced.quote.amount).encode())
        ]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    too_large = ApiError(413, f"the request body is larger than {limit:,} bytes", code="request_too_large")
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise too_large
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "the client closed the request", code="disconnected")
        body += message.get("body", b"")
        if len(body) > limit:
            raise too_large
        if not message.get("more_body"):
            return bytes(body)


def _service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated["Service", Depends(_service)]


@router.post(CHAT_PATH)
async def chat_completions(request: Request, service: ServiceDep) -> Any:
    """Answer a question, paid through the service's gate (see `tantieme.api.payments`)."""
    priced: Priced = request.state.priced
    gate = service.gate
    service.check_room()  # a full queue turns the question away before any payment is asked for
    if (named := gate.named_payer(request)) is not None:
        service.check_line(named)  # and a full line before its payment is verified (refusing only)
    payment = await gate.admit(request, priced.quote)
    service.metrics.payments.labels(payment.method, "admitted").inc()
    try:
        service.limiter.check(payment.payer)
        answered = await asyncio.wrap_future(service.submit(priced.question, priced.quote, payment))
    except BaseException:
        await gate.cancelled(payment)
        service.metrics.payments.labels(payment.method, "cancelled").inc()
        raise
    try:
        headers = await gate.charge(payment, answered)  # before any of the answer is sent
    except ApiError as exc:
        service.metrics.payments.labels(payment.method, "refused").inc()
        if exc.code == "settlement_pending":  # the answer is at its links once the node sees the payment
            exc.headers["Retry-After"] = str(service.unconfirmed_retry_s())
        raise

    async def delivered() -> None:
        await gate.delivered(payment, answered)
        service.metrics.payments.labels(payment.method, "delivered").inc()

    body = completion(answered, priced, payment, service.node)
    if priced.request.stream:
        return StreamingResponse(
            _events(body), media_type="text/event-stream", background=BackgroundTask(delivered),
            headers={"Cache-Control": "no-cache", **headers},
        )
    return JSONResponse(body, headers=headers, background=BackgroundTask(delivered))


def completion(answered: Interaction, priced: Priced, payment: Payment, node: Node) -> dict[str, Any]:
    """The OpenAI chat completion of an answered question, with the `tantieme` object (and, in
    deposit mode, the invoice: the record its payer is to sign; the links work once it is paid)."""
    from tantieme.ledger.settlement import domain

    a = answered.answer
    invoice = answered.invoice
    digest = answered.record.digest if invoice is None else "0x" + invoice.digest(domain(node)).hex()
    links = {
        "bundle": f"/records/{digest}",
        "answer": f"/answers/{digest}",
        "text": f"/answers/{digest}.txt",
        "text_credential": f"/answers/{digest}.txt.c2pa",
        "document": f"/answers/{digest}.json",
        "document_credential": f"/answers/{digest}.json.c2pa",
    }
    return {
        "id": f"chatcmpl-{digest[2:26]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(answered.model.asset_id),
        "system_fingerprint": answered.model.weights_hash[:16] or None,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": a.text},
            "finish_reason": a.finish_reason,
            "logprobs": None,
        }],
        "usage": {
            "prompt_tokens": a.prompt_tokens,
            "completion_tokens": a.completion_tokens,
            "total_tokens": a.prompt_tokens + a.completion_tokens,
        },
        "tantieme": {
            "record": digest,
            "fee": str(answered.fee),
            "quote": str(payment.quote),
            "payer": payment.payer,
            "model": {"asset": answered.model.asset_id, "name": answered.model.name},
            "sources": [{"asset": s.asset_id, "title": s.title, "weight": s.weight} for s in a.sources],
            "own_knowledge": a.own_knowledge,
            "attribution": a.attribution_mode,
            "notes": list(a.truncated),
            "links": links,
            **({"invoice": invoice.to_dict(), "pay": "/v1/deposit/payments"} if invoice is not None else {}),
        },
    }


def _chunks(text: str) -> list[str]:
    """The answer in word-sized pieces (each with the space before it)."""
    return re.findall(r"\s*\S+", text) + ([text[len(text.rstrip()):]] if text != text.rstrip() else [])


async def _events(body: dict[str, Any]) -> AsyncIterator[str]:
    """`body` as OpenAI's stream: a role chunk, the content, a last chunk with the finish
    reason, usage and `tantieme`, then `[DONE]`."""
    head = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"], "model": body["model"],
            "system_fingerprint": body["system_fingerprint"]}
    choice = body["choices"][0]

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(chunk)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in _chunks(choice["message"]["content"]):
        yield event({"content": piece})
    yield event({}, choice["finish_reason"], usage=body["usage"], tantieme=body["tantieme"])
    yield "data: [DONE]\n\n"
