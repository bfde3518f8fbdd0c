"""Deposit mode over HTTP: a payer's terms, its signed payments and its deposits by authorization.

    GET  /v1/deposit/terms?protocol=2[&records=all]
                                      the payer's terms (`Desk.terms`), authenticated by X-Tantieme-Payer
    POST /v1/deposit/payments         a signed invoice and voucher (`Desk.accept`): the record is paid
    POST /v1/deposit/authorizations   an EIP-3009 deposit the node submits (the payer needs no gas)

The answers themselves come from `POST /v1/chat/completions` with the payer's header
(`tantieme.api.payments.DepositGate`). docs/api.md has the wire format.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from tantieme.api.chat import ServiceDep
from tantieme.api.errors import ApiError
from tantieme.api.payments import DEPOSIT_TERMS_PATH, DepositGate
from tantieme.errors import ChainError, InvoiceExpiredError, LedgerError, PaymentError, TantiemeError

log = logging.getLogger("tantieme.api")
router = APIRouter()


class _CredentialFailed(Exception):
    """The answer's content credential could not be written (the cause in `args[0]`)."""


def _gate(service) -> DepositGate:
    gate = service.gate
    if not isinstance(gate, DepositGate):
        raise ApiError(404, "this node takes no deposits (it runs without deposit mode)", code="not_found")
    return gate


async def _json(request: Request) -> Any:
    import json

    body = await request.body()
    if len(body) > 1_048_576:
        raise ApiError(413, "the request body is larger than 1,048,576 bytes", code="request_too_large")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None


@router.get(DEPOSIT_TERMS_PATH)
async def terms(request: Request, service: ServiceDep, protocol: int | None = None, records: str | None = None) -> dict:
    """The requesting payer's terms with this node: what it checks (`deposit.check_terms`) and
    signs its next record and voucher against (the open batch's count and root; its records
    with `records=all`), and the invoices it has to sign. `protocol` must be
    `deposit.PROTOCOL`: a client of protocol 1 expected the records with every answer."""
    from tantieme.payments.deposit import PROTOCOL

    gate = _gate(service)
    if protocol != PROTOCOL:
        raise ApiError(
            400, f"this node speaks deposit protocol {PROTOCOL} (the terms carry the open batch's count and root; the "
            f"payer keeps the records it signed) and this client {protocol or 1}: upgrade tantieme to pay from a "
            f"deposit (GET {DEPOSIT_TERMS_PATH}?protocol={PROTOCOL})", code="deposit_protocol",
        )
    if records not in (None, "all"):
        raise ApiError(400, f"records={records!r}: give records=all for the open batch's records, or leave it out",
                       code="invalid_request")
    payer = gate.authenticate(request, await request.body())
    return await gate.on_desk(gate.terms, payer, records == "all")


@router.post("/v1/deposit/payments")
async def pay(request: Request, service: ServiceDep) -> dict:
    """A payer's signed invoice and voucher (`deposit.Payment`): checked, then the answer's files
    and credential written, then the record journaled. Refused (4xx), or the credential not
    written (503): nothing journaled, nothing charged, the invoice still waits."""
    from tantieme.interaction import Models, discard_answer, write_answer
    from tantieme.payments.deposit import Payment

    gate = _gate(service)
    data = await _json(request)
    try:
        payment = Payment.from_dict(data)
    except (PaymentError, LedgerError) as exc:
        raise ApiError(400, str(exc), code="invalid_payment") from None
    written = []

    def credential(draft) -> None:
        try:
            write_answer(service.node, draft, Models.load().get(draft.signed.record.model))
        except (TantiemeError, OSError) as exc:
            raise _CredentialFailed(exc) from exc
        written.append(draft)

    try:
        row = await gate.on_desk(lambda desk: desk.accept(payment, before=credential))
    except _CredentialFailed as failed:
        log.error("no content credential for record %s, payment not taken: %s", payment.record.digest.hex(), failed.args[0])
        raise ApiError(
            503, f"the node could not write the answer's content credential ({failed.args[0]}): nothing was charged "
            "and the invoice still waits; post the same payment again later", type="server_error", code="credential_failed",
        ) from None
    except LedgerError as exc:  # the journal moved meanwhile (another payment, a settlement)
        for draft in written:
            discard_answer(draft)
        raise ApiError(409, str(exc), code="payment_conflict") from None
    except InvoiceExpiredError as exc:
        raise ApiError(400, str(exc), code="invoice_expired") from None
    except PaymentError as exc:
        raise ApiError(400, str(exc), code="payment_refused") from None
    service.metrics.payments.labels(gate.method, "paid").inc()
    record = row.signed.record
    return {"record": row.digest, "payer": record.payer, "fee": str(record.fee), "links": {
        "bundle": f"/records/{row.digest}", "answer": f"/answers/{row.digest}",
    }}


@router.post("/v1/deposit/authorizations")
async def authorize(request: Request, service: ServiceDep) -> dict:
    """Submit a payer's EIP-3009 deposit for this node (`deposit.DepositAuthorization`): the node
    pays the gas; the payer's deposit counts at once."""
    from tantieme.payments.deposit import DepositAuthorization, submit_deposit

    gate = _gate(service)
    data = await _json(request)
    try:
        authorization = DepositAuthorization.from_dict(data)
    except PaymentError as exc:
        raise ApiError(400, str(exc), code="invalid_authorization") from None
    if authorization.operator != service.node.address:
        raise ApiError(400, f"the authorization deposits for {authorization.operator}, not for this node "
                       f"{service.node.address}", code="wrong_operator")
    if authorization.amount <= 0:
        raise ApiError(400, "a deposit must be more than 0 TAI", code="invalid_authorization")

    def submit() -> str:
        with service.writer() as writer:
            return submit_deposit(writer, authorization)

    try:
        tx = await run_in_threadpool(submit)
    except ChainError as exc:
        raise ApiError(400, f"the ledger refused the deposit: {exc}", code="deposit_refused") from None
    await gate.on_desk(gate.deposited)
    ledger = service.node.ledger.functions
    held = await run_in_threadpool(ledger.deposits(authorization.payer, service.node.address).call)
    return {"tx": tx, "payer": authorization.payer, "operator": service.node.address,
            "deposited": str(authorization.amount), "deposit": str(held)}
