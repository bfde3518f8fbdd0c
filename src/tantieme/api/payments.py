"""Who pays for an answer, and when: the one place where the service takes payment.

A request to `POST /v1/chat/completions` goes through these steps, in order:

1. **priced** (`tantieme.api.chat.Pricing`, before any gate): the body is read,
   checked and quoted with `tantieme.interaction.quote`: the most the answer may
   cost, in token wei (the longest prompt that leaves `max_tokens` of the model's
   context for the answer, and `max_tokens` more, at the model's offer). A request
   that is malformed, too large, for an unknown model or above the `max_tokens`
   limit ends here, with no charge.
2. **admitted** (`Gate.admit`): the gate checks that the request is paid for up to
   its quote and says who pays (`Payment`), or answers 402 with a JSON error. This
   happens before the request is queued. Before it, a full queue is answered 503, and
   a request whose payment names a payer with a full line (`Gate.named_payer`, read
   without checking anything) 429: neither costs the node a verification.
3. **answered** by the model worker: the record is signed by `Payment.account`
   (the operator's account: it pays the split at settlement) with
   `Payment.record_nonce`, credentialed, and journaled (with `Payment.journal`,
   the x402 payment it is answered for); or, in deposit mode, invoiced to the
   payer (`Payment.invoice`), who signs it later.
4. **charged** (`Gate.charge`): before the answer is sent, the gate takes the
   payment for the metered fee (x402 settles it on chain: "settle, then
   respond"), or answers 402 and the answer is withheld; its headers
   (`PAYMENT-RESPONSE`) go with the answer.
5. **delivered** (`Gate.delivered`): called once the response is sent; a gate
   refunds quote − fee here. A request that fails after admission gets
   `Gate.cancelled` instead: no charge, no record.

A gate that lives in ASGI middleware (x402's `PaymentMiddlewareASGI`, with a
dynamic price) `install`s itself on the app and reads the quote where step 1 leaves
it: the `X-Tantieme-Quote` request header (token wei; set by the pricing step, a
client's own is replaced), e.g. `context.adapter.get_header("x-tantieme-quote")` in
x402's `DynamicPrice`, or `request.state.priced`. Its `admit` then reads what the
middleware verified (`request.state.payment_payload`); x402's middleware settles
after the handler returns, before the body is sent, and not at all for a status of
400 or more, so such a gate refunds quote − fee in `delivered`.

The gate `tantieme serve` runs is `DepositGate` in front of `X402`: a request
with an `X-Tantieme-Payer` header is paid from the payer's deposit (deposit
mode, `tantieme.payments.deposit`), any other per request over x402 with the
official SDK (`tantieme.payments.per_request`). `SelfPay` has the node's own
account pay instead of x402, a development mode allowed only on a loopback
address and only when asked for (`tantieme serve --self-pay`). Without a gate
(`Unpaid`) every question is answered 402. The service's settlement asks the
gate to settle what it holds (`Gate.settle`: deposit vouchers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request

from tantieme.api.errors import ApiError
from tantieme.payments.client import DEPOSIT_TERMS_PATH

if TYPE_CHECKING:
    from tantieme.interaction import Interaction, Quote
    from tantieme.ledger.records import InteractionRecord
    from tantieme.ledger.settlement import Settled
    from tantieme.node import Node

log = logging.getLogger("tantieme.api")

__all__ = ["Gate", "Payment", "SelfPay", "Unpaid", "X402", "is_loopback"]


@dataclass(frozen=True)
class Payment:
    """A request's admitted payment."""

    payer: str
    """Who pays: the rate limit's key (the node's account when it pays itself)."""
    account: LocalAccount
    """Who signs the interaction record as its payer: the operator's account."""
    quote: int
    """What the payer put up, in token wei: the request's quote."""
    record_nonce: int | None = None
    """The record's nonce, when it binds the record to the payment (default: the time)."""
    method: str = "self"
    """How it was paid (`self`, `x402`, ...): a label of the payments metric."""
    proof: object | None = None
    """What the gate settles before delivery (an x402 gate: the verified `per_request.Payment`)."""
    journal: Callable[[int], dict] | None = None
    """x402: the payment as journaled with the record, given the metered fee (`interaction.ask`'s
    `payment`): the record settles in no batch before the payment does."""
    invoice: Callable[..., InteractionRecord] | None = None
    """Deposit mode: the record is not signed by `account` but invoiced to the payer, who signs
    it later (`interaction.ask`'s `invoice`)."""


class Gate(Protocol):
    """Takes payment for answers (see the module's steps)."""

    name: str

    def install(self, app: FastAPI) -> None:
        """Add what the gate needs to `app` (its middleware), once, when the app is made."""
        ...

    def named_payer(self, request: Request) -> str | None:
        """The payer the request's payment names, read without checking it (no signature, no
        chain), or None. Anyone can name anyone: it may only turn the request away early (that
        payer's line is full, so the request would be refused even if it were that payer's),
        never admit or charge it, nor take a place in a line."""
        ...

    async def admit(self, request: Request, quote: Quote) -> Payment:
        """The request's payment, checked for `quote.amount`, or `ApiError(402)`."""
        ...

    async def charge(self, payment: Payment, interaction: Interaction) -> dict[str, str]:
        """Before the answer is sent: take the payment for `interaction.fee`; the response's
        headers, or `ApiError(402)`: the answer is withheld (and its record voided)."""
        ...

    async def delivered(self, payment: Payment, interaction: Interaction) -> None:
        """The answer has been sent: give back what the payment held above `interaction.fee`."""
        ...

    async def cancelled(self, payment: Payment) -> None:
        """The request failed after `admit`: charge nothing."""
        ...

    def settle(self, writer: Node, *, everything: bool) -> list[Settled]:
        """Settle what the gate holds besides the node's own records (deposit vouchers): those
        due, or `everything`; `writer` is the node open for writing. Called by the service."""
        ...


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable only from this machine."""
    import ipaddress

    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Unpaid:
    """No payment is taken, so no question is answered: 402 for each."""

    name = "none"

    def install(self, app: FastAPI) -> None:
        pass

    def named_payer(self, request: Request) -> str | None:
        return None

    async def admit(self, request: Request, quote: Quote) -> Payment:
        raise ApiError(
            402,
            f"this node takes no payment yet, and an answer may cost up to {quote.amount} token wei: "
            "its operator can start it with `tantieme serve --self-pay` (loopback, development only)",
            type="payment_required",
            code="payment_required",
        )

    async def charge(self, payment: Payment, interaction: Interaction) -> dict[str, str]:
        return {}

    async def delivered(self, payment: Payment, interaction: Interaction) -> None:
        pass

    async def cancelled(self, payment: Payment) -> None:
        pass

    def settle(self, writer: Node, *, everything: bool) -> list[Settled]:
        return []


class SelfPay:
    """DEVELOPMENT ONLY: the node's own account pays for every answer (loopback only).

    The records are signed by the node's account and settle with `tantieme settle`
    as the CLI's do; `interaction.ask` checks first that the account can pay the quote.
    """

    name = "self"

    def __init__(self, account: LocalAccount, host: str) -> None:
        from tantieme.errors import ConfigError

        if not is_loopback(host):
            raise ConfigError(
                f"--self-pay lets anyone who reaches the node spend its account: it is allowed only "
                f"on a loopback address (127.0.0.1, ::1), not on {host}"
            )
        self.account = account

    def install(self, app: FastAPI) -> None:
        pass

    def named_payer(self, request: Request) -> str | None:
        return self.account.address

    async def admit(self, request: Request, quote: Quote) -> Payment:
        return Payment(payer=self.account.address, account=self.account, quote=quote.amount)

    async def charge(self, payment: Payment, interaction: Interaction) -> dict[str, str]:
        return {}  # the journaled record is the charge: it settles in its batch

    async def delivered(self, payment: Payment, interaction: Interaction) -> None:
        pass

    async def cancelled(self, payment: Payment) -> None:
        pass

    def settle(self, writer: Node, *, everything: bool) -> list[Settled]:
        return []  # its records are the node's own: the service settles them


class X402:
    """Pay per request over x402 v2 (`exact`) with the official SDK (`tantieme.payments.per_request`).

    `admit` verifies the payment of the quote before the question is queued (the
    SDK's 402 with its `PAYMENT-REQUIRED` header otherwise); the record is signed
    by the operator's account, bound to the payment and journaled with it;
    `charge` settles the payment before the answer is sent (a writer of the node
    opened meanwhile; 402 and no answer if it does not settle) and gives the
    answer the SDK's `PAYMENT-RESPONSE` header; `delivered` refunds quote − fee;
    `cancelled` releases it unsettled. On start and with each settlement it
    finishes the deliveries a crash cut short. The facilitator runs in this
    process on the node's chain, or is the one at `facilitator_url`.
    """

    name = "x402"

    def __init__(self, node: Node, account: LocalAccount, facilitator_url: str | None = None) -> None:
        from tantieme.ledger import settlement
        from tantieme.node import Node
        from tantieme.payments.per_request import PayPerRequest

        self.account = account
        self.gate = PayPerRequest(
            node, facilitator_url=facilitator_url, writer=lambda: Node.open(account=account, on_wait=log.info),
        )
        book = settlement.journal()
        try:
            for record in self.gate.recover(book):
                log.warning("finished the x402 delivery of record %s, cut short before", record)
        finally:
            book.close()

    def install(self, app: FastAPI) -> None:
        pass

    def named_payer(self, request: Request) -> str | None:
        from tantieme.payments.per_request import named_payer

        return named_payer(request.headers.get("payment-signature"))

    async def admit(self, request: Request, quote: Quote) -> Payment:
        from starlette.concurrency import run_in_threadpool

        from tantieme.payments.per_request import PaymentRefused

        try:
            paid = await run_in_threadpool(self.gate.verify, request, quote.amount)
        except PaymentRefused as refused:
            kind = "payment_required" if refused.status == 402 else "invalid_request_error"
            raise ApiError(refused.status, str(refused), type=kind, code=refused.reason, headers=refused.headers) from None
        return Payment(
            payer=paid.payer, account=self.account, quote=paid.quote, record_nonce=paid.record_nonce,
            method=self.name, proof=paid, journal=partial(self.gate.entry, paid),
        )

    async def charge(self, payment: Payment, interaction: Interaction) -> dict[str, str]:
        from starlette.concurrency import run_in_threadpool

        from tantieme.errors import TantiemeError
        from tantieme.payments.per_request import PaymentRefused

        try:
            settled = await run_in_threadpool(self.gate.settle, payment.proof, interaction)
        except PaymentRefused as refused:
            log.warning("the x402 payment of record %s did not settle; answer withheld: %s", interaction.record.digest, refused)
            raise ApiError(402, str(refused), type="payment_required", code=refused.reason, headers=refused.headers) from None
        except TantiemeError as exc:  # sent and not mined yet, or the chain failed midway: `recover` finishes it
            log.error("the x402 settlement of record %s is not confirmed (finished by the next settlement): %s",
                      interaction.record.digest, exc)
            raise _unconfirmed(interaction.record.digest, exc) from None
        return settled.headers

    async def delivered(self, payment: Payment, interaction: Interaction) -> None:
        from starlette.concurrency import run_in_threadpool

        from tantieme.errors import TantiemeError

        try:
            await run_in_threadpool(self.gate.refund, payment.proof, interaction)
        except TantiemeError as exc:  # the journal knows the refund is owed: `recover` sends it
            log.error("the x402 refund of record %s failed (sent by the next settlement): %s", interaction.record.digest, exc)

    async def cancelled(self, payment: Payment) -> None:
        self.gate.release(payment.proof)

    def settle(self, writer: Node, *, everything: bool) -> list[Settled]:
        """Finish the deliveries cut short (`PayPerRequest.recover`); its records are the
        operator's: the service settles them."""
        from tantieme.ledger import settlement

        book = settlement.journal()
        try:
            for record in self.gate.recover(book, writer):
                log.warning("finished the x402 delivery of record %s, cut short before", record)
        finally:
            book.close()
        return []


def _unconfirmed(digest: str, why: Exception) -> ApiError:
    """The 503 of an answer whose x402 settlement may still be mined: where the answer is, if it is.
    Asking again would pay again (a new payment for a new answer): `X-Should-Retry: false` tells
    OpenAI's clients not to; the service adds `Retry-After`, when the node will have looked
    for the payment again (`Service.unconfirmed_retry_s`)."""
    links = {"bundle": f"/records/{digest}", "answer": f"/answers/{digest}"}
    return ApiError(
        503, f"the payment is not confirmed yet ({why}). If it is mined, you are charged this answer's fee (the "
        f"rest of the quote refunded) and the answer is at {links['answer']} (its bundle at {links['bundle']}); "
        "if it is not, before your authorization expires, you are charged nothing and those links answer 404",
        type="server_error", code="settlement_pending", headers={"X-Should-Retry": "false"},
        extra={"record": digest, "links": links},
    )


class DepositGate:
    """Deposit mode (`tantieme.payments.deposit`) for requests that carry `X-Tantieme-Payer`
    (`tantieme.payments.payer_auth`); every other request goes to `fallback` (x402), whose
    402 then names deposit mode too (`error.deposit`).

    `admit` authenticates the payer, then asks the `Desk` for its credit: 402 when its
    deposit with this node does not cover the quote on top of what it owes, 409 while it
    has an answer under way or an invoice unsigned (one at a time: the node's risk is one
    answer's fee). The model worker then invoices the answer instead of signing its record
    (`Payment.invoice`); the payer signs the invoice and its voucher and posts them
    (`accept`, `POST /v1/deposit/payments`), which journals the record and writes the
    answer's files and credential. The service's settlement settles the due vouchers.

    The desk, its journal and its cache of the chain live on one thread of their own (the
    desk is not thread-safe, and a journal belongs to the thread that opened it): every
    call goes through `_on_desk`.
    """

    method = "deposit"
    TTL_S = 2.0
    """How long the desk trusts what it read of a payer on chain: a deposit made on chain
    counts after at most this long (one through `POST /v1/deposit/authorizations` at once)."""

    def __init__(self, node: Node, account: LocalAccount, fallback: Gate) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from tantieme.payments.payer_auth import Authenticator

        self.node, self.account, self.fallback = node, account, fallback
        self.name = f"{fallback.name}+deposit"
        self.auth = Authenticator(node.address, node.conn.chain_id)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="tantieme-deposit")
        self._book = None
        self._desk = None
        self._asking: set[str] = set()  # payers with an answer under way, not yet invoiced

    # -- the desk's thread

    def _on_desk(self, call: Callable[..., object], *args: object, **kwargs: object):
        """`call(desk, *args, **kwargs)` on the desk's thread: a future."""

        def run():
            if self._book is None:
                from tantieme.ledger.settlement import journal

                self._book = journal()
            if self._desk is None:
                from tantieme.payments.deposit import Desk

                self._desk = Desk(self.node, self._book, ttl_s=self.TTL_S)
            return call(self._desk, *args, **kwargs)

        return self._thread.submit(run)

    async def on_desk(self, call: Callable[..., object], *args: object, **kwargs: object):
        """`call(desk, ...)` on the desk's thread, awaited."""
        import asyncio

        return await asyncio.wrap_future(self._on_desk(call, *args, **kwargs))

    def _forget(self) -> None:
        """Read everything from the chain afresh at the next call (on the desk's thread)."""
        self._desk = None

    @property
    def book(self):
        """The desk's journal (on the desk's thread only)."""
        return self._book

    # -- the gate

    def install(self, app: FastAPI) -> None:
        self.fallback.install(app)

    def named_payer(self, request: Request) -> str | None:
        from tantieme.payments.payer_auth import HEADER, named_payer

        if HEADER not in request.headers:
            return self.fallback.named_payer(request)
        return named_payer(request.headers[HEADER])

    async def admit(self, request: Request, quote: Quote) -> Payment:
        from tantieme.payments.payer_auth import HEADER

        if HEADER not in request.headers:
            try:
                return await self.fallback.admit(request, quote)
            except ApiError as exc:
                if exc.status == 402:
                    exc.extra = {**exc.extra, "deposit": self.offer()}
                raise
        payer = self.authenticate(request, await request.body())
        await self.on_desk(self._reserve, payer, quote.amount)
        return Payment(
            payer=payer, account=self.account, quote=quote.amount, method=self.method,
            invoice=partial(self._invoice, payer),
        )

    def offer(self) -> dict[str, str]:
        """What a 402 says of deposit mode."""
        from tantieme.payments.payer_auth import HEADER

        return {"operator": self.node.address, "terms": DEPOSIT_TERMS_PATH, "header": HEADER}

    def authenticate(self, request: Request, body: bytes) -> str:
        """The payer that the request's `X-Tantieme-Payer` proves, or `ApiError` (401, 409, 503)."""
        from tantieme.payments.payer_auth import HEADER, AuthRefused

        try:
            return self.auth.verify(request.headers.get(HEADER), request.method, request.url.path, body)
        except AuthRefused as refused:
            kind = "authentication_error" if refused.status == 401 else "invalid_request_error"
            raise ApiError(refused.status, str(refused), type=kind, code=refused.code) from None

    def _reserve(self, desk, payer: str, amount: int) -> None:
        from tantieme.amounts import format_amount
        from tantieme.errors import PaymentError
        from tantieme.payments.deposit import INVOICE_TTL_S

        if payer in self._asking:
            raise ApiError(409, f"{payer} has a question under way with this node: ask the next one after its answer",
                           code="answer_in_progress")
        standing = desk.standing(payer)
        if standing.unpaid:
            raise ApiError(
                409, f"{payer} has an answer to sign first: sign the invoice sent with it (GET {DEPOSIT_TERMS_PATH} "
                f"lists it, with its question and answer; it expires {INVOICE_TTL_S // 60} minutes after its answer), "
                "then ask again",
                code="invoice_unsigned",
            )
        try:
            desk.require_credit(payer, amount)
        except PaymentError:
            short = amount - standing.available
            raise ApiError(
                402, f"this answer may cost up to {format_amount(amount)} TAI, but {payer} has "
                f"{format_amount(standing.available)} TAI of credit with this node: deposit at least "
                f"{format_amount(short)} TAI more (`tantieme deposit {format_amount(short)} --node URL`), then ask again",
                type="payment_required", code="insufficient_deposit",
                extra={"deposit": {**self.offer(), "available": str(standing.available), "needed": str(short)}},
            ) from None
        self._asking.add(payer)

    def _invoice(self, payer: str, **metered: object) -> InteractionRecord:
        """The model worker's record step for `payer` (see `interaction.ask`)."""

        def invoice(desk):
            try:
                return desk.invoice(payer, **metered)
            finally:
                self._asking.discard(payer)

        return self._on_desk(invoice).result()

    async def charge(self, payment: Payment, interaction: Interaction) -> dict[str, str]:
        if payment.method != self.method:
            return await self.fallback.charge(payment, interaction)
        return {}  # deposit mode: the invoice is the charge, paid when its payer signs it

    async def delivered(self, payment: Payment, interaction: Interaction) -> None:
        if payment.method != self.method:
            await self.fallback.delivered(payment, interaction)

    async def cancelled(self, payment: Payment) -> None:
        if payment.method != self.method:
            return await self.fallback.cancelled(payment)
        await self.on_desk(lambda _desk: self._asking.discard(payment.payer))

    def settle(self, writer: Node, *, everything: bool) -> list[Settled]:
        from tantieme.payments.deposit import Desk

        def settle(desk):
            settings = self.node.settings
            due = None if everything else desk.due(batch_size=settings.batch_size, max_age_s=settings.batch_max_age_s)
            if due == []:
                return []
            try:
                return Desk(writer, self._book).settle(due)
            finally:
                self._forget()

        return self.fallback.settle(writer, everything=everything) + self._on_desk(settle).result()

    # -- the deposit routes (`tantieme.api.deposit`)

    def terms(self, desk, payer: str, records: bool = False) -> dict:
        """`payer`'s terms (`Desk.terms`, the open batch's records with `records`), and the
        question and answer of each invoice it has to sign."""
        desk.reissue_invoices(payer)
        waiting = desk.waiting(payer)
        return desk.terms(payer, records=records).to_dict() | {
            "answers": {digest: {"question": row.question, "answer": row.answer} for digest, row in waiting.items()}
        }

    def deposited(self, desk) -> None:
        """A deposit was made through the node: read the chain afresh."""
        self._forget()
