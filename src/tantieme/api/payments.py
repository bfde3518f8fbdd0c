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
   happens before the request is queued.
3. **answered** by the model worker: the record is signed by `Payment.account`
   (the operator's account: it pays the split at settlement) with
   `Payment.record_nonce`, journaled, and credentialed.
4. **delivered** (`Gate.delivered`): called once the response is sent, with the
   metered interaction; a gate settles here (and refunds quote − fee). A request
   that fails after admission gets `Gate.cancelled` instead: no charge, no record.

A gate that lives in ASGI middleware (x402's `PaymentMiddlewareASGI`, with a
dynamic price) `install`s itself on the app and reads the quote where step 1 leaves
it: the `X-Tantieme-Quote` request header (token wei; set by the pricing step, a
client's own is replaced), e.g. `context.adapter.get_header("x-tantieme-quote")` in
x402's `DynamicPrice`, or `request.state.priced`. Its `admit` then reads what the
middleware verified (`request.state.payment_payload`); x402's middleware settles
after the handler returns, before the body is sent, and not at all for a status of
400 or more, so such a gate refunds quote − fee in `delivered`.

The gate `tantieme serve` runs is `X402`: pay per request over x402 with the
official SDK (`tantieme.payments.per_request`). `SelfPay` has the node's own
account pay for every answer, a development mode allowed only on a loopback
address and only when asked for (`tantieme serve --self-pay`). Without a gate
(`Unpaid`) every question is answered 402.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request

from tantieme.api.errors import ApiError

if TYPE_CHECKING:
    from tantieme.interaction import Interaction, Quote
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
    """What the gate settles at delivery (an x402 gate: the verified `per_request.Payment`)."""


class Gate(Protocol):
    """Takes payment for answers (see the module's steps)."""

    name: str

    def install(self, app: FastAPI) -> None:
        """Add what the gate needs to `app` (its middleware), once, when the app is made."""
        ...

    async def admit(self, request: Request, quote: Quote) -> Payment:
        """The request's payment, checked for `quote.amount`, or `ApiError(402)`."""
        ...

    async def delivered(self, payment: Payment, interaction: Interaction) -> None:
        """The answer has been sent: settle the payment for `interaction.fee`."""
        ...

    async def cancelled(self, payment: Payment) -> None:
        """The request failed after `admit`: charge nothing."""
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

    async def admit(self, request: Request, quote: Quote) -> Payment:
        raise ApiError(
            402,
            f"this node takes no payment yet, and an answer may cost up to {quote.amount} token wei: "
            "its operator can start it with `tantieme serve --self-pay` (loopback, development only)",
            type="payment_required",
            code="payment_required",
        )

    async def delivered(self, payment: Payment, interaction: Interaction) -> None:
        pass

    async def cancelled(self, payment: Payment) -> None:
        pass


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

    async def admit(self, request: Request, quote: Quote) -> Payment:
        return Payment(payer=self.account.address, account=self.account, quote=quote.amount)

    async def delivered(self, payment: Payment, interaction: Interaction) -> None:
        pass  # the journaled record is the charge: it settles in its batch

    async def cancelled(self, payment: Payment) -> None:
        pass


class X402:
    """Pay per request over x402 v2 (`exact`) with the official SDK (`tantieme.payments.per_request`).

    `admit` verifies the payment of the quote before the question is queued (the
    SDK's 402 with its `PAYMENT-REQUIRED` header otherwise); the record is signed
    by the operator's account and bound to the payment; `delivered` settles the
    payment (a writer of the node opened meanwhile) and refunds quote − fee;
    `cancelled` releases it unsettled. On start it finishes the deliveries a crash
    cut short. The facilitator runs in this process on the node's chain, or is
    the one at `facilitator_url`.
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
            method=self.name, proof=paid,
        )

    async def delivered(self, payment: Payment, interaction: Interaction) -> None:
        from starlette.concurrency import run_in_threadpool

        from tantieme.errors import TantiemeError
        from tantieme.payments.per_request import PaymentRefused

        try:
            await run_in_threadpool(self.gate.deliver, payment.proof, interaction)
        except PaymentRefused as refused:  # the answer is out: the operator pays its split unpaid
            log.warning("the x402 payment of record %s did not settle: %s", interaction.record.digest, refused)
        except TantiemeError as exc:  # the chain failed midway: the journal knows where, `recover` finishes it
            log.error("the x402 delivery of record %s stopped (finished at the next start): %s", interaction.record.digest, exc)

    async def cancelled(self, payment: Payment) -> None:
        self.gate.release(payment.proof)
