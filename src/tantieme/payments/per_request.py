"""Pay per request over x402 v2 (scheme `exact`, EIP-3009), with the official SDK.

An unpaid request gets the SDK's 402: network `eip155:<chain id>`, asset the AI
token (`extra`: its EIP-712 name and version), payTo the node's operator
account, amount the quote, an upper bound of the metered fee. A paid request is
verified before it is queued; the answer's record is journaled with the
operator as its payer, bound to the payment (`record_nonce`) and with the
payment beside it; then, before the answer is sent (x402's "settle, then
respond"), the payment settles on chain (the payer's authorization moves the
quote to the operator): a payer who spent its balance or its authorization
meanwhile gets a 402, not the answer, and the record is voided. The answer
goes out with the SDK's `PAYMENT-RESPONSE` header, and the operator then
refunds quote − metered fee in one transfer: the payer's balance falls by
exactly the metered fee. A request whose answer fails is released: nothing
settles, nothing is recorded.

    gate = PayPerRequest(node)
    payment = gate.verify(request, quote)      # or PaymentRefused: the SDK's 402 and why
    done = interaction.ask(node, question, payer=node.account, nonce=payment.record_nonce,
                           payment=partial(gate.entry, payment), ...)
    settled = gate.settle(payment, done)       # before sending: or PaymentRefused, record voided
    gate.refund(payment, done)                 # once sent: quote − fee back to the payer
    gate.release(payment)                      # instead, when the answer failed
    gate.recover(book)                         # finish deliveries a crash cut short

The record's nonce binds it to the payment:
`uint256(keccak256(abi.encode(x402 payer, authorization nonce)))`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_abi import encode
from eth_utils import keccak
from web3.logs import DISCARD

from tantieme.chain.logs import event_logs
from tantieme.errors import PaymentError, RevertedError
from tantieme.payments.client import CHAT_PATH
from tantieme.payments.facilitator import ConnectionSigner, facilitator, network, signer

if TYPE_CHECKING:
    from x402.schemas import PaymentPayload, PaymentRequirements

    from tantieme.interaction import Interaction
    from tantieme.ledger.journal import Journal
    from tantieme.node import Node

__all__ = [
    "ROUTE", "Payment", "PaymentRefused", "PayPerRequest", "Settlement", "SettlementPending", "named_payer", "record_nonce",
    "refund_call",
]

ROUTE = f"POST {CHAT_PATH}"
# How long a payer's authorization must stay valid: the wait in the queue and the answer.
MAX_TIMEOUT_S = 300
_REFUND_GAS = 200_000
# ERC-165 id of a payer's refund function (`agent_treasury.vy`'s `REFUND_INTERFACE_ID`).
REFUND_SIGNATURE = "refundPayment(address,uint256,uint256,uint256,bytes32,uint256,uint256,bytes32,uint8,bytes32,bytes32)"
_ERC165_ABI = [{
    "type": "function", "name": "supportsInterface", "stateMutability": "view",
    "inputs": [{"name": "interface_id", "type": "bytes4"}], "outputs": [{"name": "", "type": "bool"}],
}]
_REFUND_VALIDITY_S = 3_600
# The most gas ERC-165 lets `supportsInterface` use: a payer's answer costs the node no more.
_ERC165_GAS = 30_000
# How often a settlement sent and not confirmed is looked for on chain.
_POLL_S = 0.25
# An authorization counts as expired this long after its validBefore (a chain's clock may lag).
_EXPIRY_MARGIN_S = 60
# The SDK's reasons of its own (as codes), and what they all mean for people.
_CODES = {"Payment required": "payment_required", "No matching payment requirements": "no_matching_requirements"}
_REASONS = {
    "payment_required": "this answer must be paid: pay the quote with an x402 client (PAYMENT-SIGNATURE header)",
    "no_matching_requirements": (
        "the payment does not match the quote: pay the network, asset, payee and amount of the 402 "
        "response for this very request"
    ),
    "invalid_exact_evm_nonce_already_used": "this payment authorization was used already: sign a new one",
    "invalid_exact_evm_insufficient_balance": "the payer's balance is below the quote",
    "invalid_exact_evm_payload_authorization_valid_before": "the payment authorization has expired: sign a new one",
    "invalid_exact_evm_payload_authorization_valid_after": "the payment authorization is not valid yet",
    "invalid_exact_evm_payload_signature": "the payment authorization's signature is not the payer's",
    "invalid_exact_evm_payload_recipient_mismatch": "the payment authorization pays someone else than this node",
    "invalid_exact_evm_payload_authorization_value_mismatch": "the payment authorization's amount is not the quote",
    "network_mismatch": "the payment is for another chain",
}


def record_nonce(payer: str, authorization_nonce: str | bytes) -> int:
    """The record nonce that binds a record to an x402 payment:
    uint256(keccak256(abi.encode(payer, authorization nonce)))."""
    nonce = bytes.fromhex(authorization_nonce[2:]) if isinstance(authorization_nonce, str) else authorization_nonce
    return int.from_bytes(keccak(encode(["address", "bytes32"], [payer, nonce])), "big")


def named_payer(header: str | None) -> str | None:
    """The payer (the authorization's `from`) a `PAYMENT-SIGNATURE` header names, decoded and not
    checked (no signature, no chain); None if it names none."""
    from eth_utils import is_address, to_checksum_address
    from x402.http import decode_payment_signature_header

    if not header:
        return None
    try:
        payer = decode_payment_signature_header(header).payload["authorization"]["from"]
    except (ValueError, KeyError, TypeError, AttributeError):  # not base64, not JSON, not a payment
        return None
    return to_checksum_address(payer) if isinstance(payer, str) and is_address(payer) else None


class SettlementPending(PaymentError):
    """A payment's settlement was sent and not seen mined within the wait: the answer is withheld
    until it is (`record`: its digest; `transaction`: the settlement sent)."""

    def __init__(self, record: str, transaction: str, waited_s: float) -> None:
        super().__init__(f"the payment's settlement {transaction or ''} was sent but not mined within {waited_s:g} s")
        self.record = record
        self.transaction = transaction


class PaymentRefused(PaymentError):
    """A payment refused (the SDK's 402 and its headers, or 409 for an authorization another
    request took): `status`, `headers`, the SDK's `reason` code, and a JSON `body`."""

    def __init__(self, message: str, status: int = 402, headers: Mapping[str, str] | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})
        self.reason = reason

    @property
    def body(self) -> dict[str, str]:
        return {"error": str(self), "kind": "payment", "reason": self.reason}


@dataclass(frozen=True)
class Payment:
    """A verified x402 payment, not settled yet: the payer's EIP-3009 authorization of the quote."""

    payload: PaymentPayload
    requirements: PaymentRequirements

    @property
    def authorization(self) -> dict[str, Any]:
        """`from`, `to`, `value`, `validAfter`, `validBefore`, `nonce`, as the payer signed them."""
        return dict(self.payload.payload["authorization"])

    @property
    def signature(self) -> str:
        return self.payload.payload["signature"]

    @property
    def payer(self) -> str:
        return self.authorization["from"]

    @property
    def quote(self) -> int:
        return int(self.requirements.amount)

    @property
    def record_nonce(self) -> int:
        return record_nonce(self.payer, self.authorization["nonce"])

    @property
    def key(self) -> tuple[str, str]:
        return _key(self.authorization)


def _key(authorization: Mapping[str, Any]) -> tuple[str, str]:
    """An authorization's payer and nonce, lowercase: what makes it one payment."""
    return authorization["from"].lower(), authorization["nonce"].lower()


def _expired(authorization: Mapping[str, Any], now: float) -> bool:
    """Whether `authorization` can move nothing any more by its time (`validBefore`, with the margin)."""
    return int(authorization["validBefore"]) + _EXPIRY_MARGIN_S < now


@dataclass(frozen=True)
class Settlement:
    """A payment settled on chain, before its answer is sent."""

    transaction: str
    headers: dict[str, str] = field(default_factory=dict)
    """The SDK's `PAYMENT-RESPONSE` header (the settlement, for the payer): sent with the answer."""


class PayPerRequest:
    """The x402 resource server of a node's paid route, with its facilitator (`facilitator`)."""

    def __init__(
        self,
        node: Node,
        *,
        facilitator_url: str | None = None,
        writer: Callable[[], AbstractContextManager[Node]] | None = None,
        route: str = ROUTE,
        pending_wait_s: float = 20.0,
    ) -> None:
        """`node` reads the chain; `writer()` opens the node for writing while a payment
        settles and refunds (default: `node` itself, open for writing); `pending_wait_s`: how
        long a request waits for a settlement sent and not confirmed (`settle`)."""
        from x402 import x402ResourceServerSync
        from x402.http import PaymentOption, RouteConfig, x402HTTPResourceServerSync
        from x402.mechanisms.evm.exact import register_exact_evm_server

        self.node = node
        self.pending_wait_s = pending_wait_s
        self.network = network(node.conn.chain_id)
        _, name, version, *_ = node.token.functions.eip712Domain().call()
        self.asset = node.deployment.token
        self.extra = {"name": name, "version": version}
        self._writer = writer or (lambda: contextlib.nullcontext(node))
        self._signer = signer(node) if facilitator_url is None else None
        server = register_exact_evm_server(
            x402ResourceServerSync(facilitator(node, facilitator_url, self._signer)), self.network
        )
        option = PaymentOption(
            scheme="exact", pay_to=node.address, price=self._asset_amount, network=self.network,
            max_timeout_seconds=MAX_TIMEOUT_S,
        )
        self._http = x402HTTPResourceServerSync(server, {route: RouteConfig(
            accepts=option, description="an attributed answer, paid per request", mime_type="application/json",
        )})
        self._http.initialize()
        # Authorizations taken by a request (→ their validBefore): held until they expire, so a
        # copy verified before the first one settled is refused too. The payments that hold
        # their quote of the payer's balance: verified and not settled yet, or sent and not
        # seen mined (until `recover` sees them mined or void, or they expire); a payer's
        # balance must cover all of them, or the later ones would not settle once answered.
        # And one writer of the operator's transactions (settlements, refunds: the facilitator
        # keeps its own nonces).
        self._held = threading.Lock()
        self._taken: dict[tuple[str, str], int] = {}
        self._holding: dict[tuple[str, str], Payment] = {}
        self._lock_sending = threading.Lock()

    def _asset_amount(self, context: Any) -> dict[str, Any]:
        """The SDK's dynamic price: the quote of the request being verified."""
        return {"amount": str(context.adapter.quote), "asset": self.asset, "extra": self.extra}

    def verify(self, request: Any, quote: int) -> Payment:
        """Check that `request` (a Starlette request) pays `quote` token wei.

        Unpaid, or paid wrongly: `PaymentRefused` with the SDK's 402 (its
        `PAYMENT-REQUIRED` header) and why. A payment verified here is taken by
        this request: the same authorization in another request is refused (409)
        unless this one fails first (`release`); and it holds its quote of the payer's
        balance until it is seen settled (a settlement sent and not seen mined holds it
        until `recover` sees it mined or void, or the authorization expires): a payment
        the balance cannot cover beside the payer's others under way is refused (402), as
        each must settle once answered.
        """
        from x402.http import HTTPRequestContext, decode_payment_required_header
        from x402.http.middleware.fastapi import FastAPIAdapter

        adapter = FastAPIAdapter(request)
        adapter.quote = quote
        context = HTTPRequestContext(
            adapter=adapter, path=request.url.path, method=request.method,
            payment_header=adapter.get_header("payment-signature"),
        )
        result = self._http.process_http_request(context)
        if result.type == "payment-verified":
            payment = Payment(result.payment_payload, result.payment_requirements)
            now = time.time()
            with self._held:
                self._taken = {k: until for k, until in self._taken.items() if until > now}
                self._holding = {k: held for k, held in self._holding.items() if not _expired(held.authorization, now)}
                if payment.key in self._taken:
                    raise PaymentRefused(
                        "this payment authorization is taken by another request: sign a new one",
                        409, reason="authorization_in_use",
                    )
                payer = payment.key[0]
                owing = payment.quote + sum(held.quote for (of, _), held in self._holding.items() if of == payer)
                if owing > self.node.balance(payment.payer):
                    raise PaymentRefused(
                        "the payer's balance is below the quotes of its payments under way with this node: "
                        "wait for their answers, or top up", 402, reason="insufficient_balance_under_way",
                    )
                self._taken[payment.key] = int(payment.authorization["validBefore"])
                self._holding[payment.key] = payment
            return payment
        response = result.response
        if response is None:  # the route is not priced: a configuration error of the server
            raise PaymentRefused(f"{request.method} {request.url.path} is not a paid route", 500, reason="not_priced")
        required = response.headers.get("PAYMENT-REQUIRED")
        reason = decode_payment_required_header(required).error if required else None
        if reason is None and isinstance(response.body, Mapping):
            reason = response.body.get("error")
        reason = _CODES.get(reason or "", reason or "payment_refused")
        raise PaymentRefused(_REASONS.get(reason, reason), response.status, response.headers, reason)

    def release(self, payment: Payment) -> None:
        """The request of a verified payment failed before its answer: nothing settles, and
        the authorization may pay another request."""
        with self._held:
            self._taken.pop(payment.key, None)
            self._holding.pop(payment.key, None)

    def _unhold(self, authorization: Mapping[str, Any]) -> None:
        """The payment of `authorization` no longer holds its payer's balance: seen settled (the
        balance shows it), or refused or void (it moves nothing)."""
        with self._held:
            self._holding.pop(_key(authorization), None)

    def entry(self, payment: Payment, fee: int) -> dict[str, Any]:
        """The payment as the journal and the bundle keep it with its record (amounts as decimal
        strings), for an answer metered at `fee` (`interaction.ask(payment=...)`)."""
        return {
            "scheme": "exact",
            "network": self.network,
            "asset": self.asset,
            "payer": payment.payer,
            "authorization": payment.authorization,
            "signature": payment.signature,
            "quote": str(payment.quote),
            "refund": str(payment.quote - fee),
        }

    def settle(self, payment: Payment, done: Interaction) -> Settlement:
        """Settle `payment` for the answer `done` (journaled with it, `entry`) before the answer is
        sent: no answer leaves unpaid, whatever the payer did with its balance or authorization
        since `verify`. If it does not settle, the record is voided (with the answer's files)
        and `PaymentRefused` (402) says why: the answer must not be sent.

        A settlement sent whose receipt did not come (the SDK's `settlement_pending`: the chain
        may still mine it) is waited for up to `pending_wait_s`, then `SettlementPending`: the
        record and the answer stay, withheld until the payment is seen on chain (`recover`
        journals it then, and refunds quote − fee), or voided once the authorization can no
        longer move anything. So a payer charged has its answer, and no payer is charged for
        an answer it cannot get."""
        from x402.mechanisms.evm import ERR_SETTLEMENT_PENDING

        from tantieme.interaction import discard_answer
        from tantieme.ledger import settlement

        book = settlement.journal()  # deliveries run on any thread: a journal of this one's own
        record_id = done.record.id
        try:
            with self._sending():
                # If this raises, the chain failed midway: the payment may still be mined, and
                # holds the payer's balance until `recover` knows (as a settlement pending).
                result = self._http.process_settlement(payment.payload, payment.requirements)
                if result.success:
                    self._unhold(payment.authorization)
                    book.payment_settled(record_id, result.transaction)
                    return Settlement(result.transaction, dict(result.headers))
                moved = self.settled_by(self.node, payment.authorization)  # by the payer itself, say
            if moved is None and result.error_reason == ERR_SETTLEMENT_PENDING:
                moved = self._await_settled(payment.authorization)  # not under the sender's lock
                if moved is None:
                    raise SettlementPending(done.record.digest, result.transaction, self.pending_wait_s)
            self._unhold(payment.authorization)  # mined, or refused: the balance says the rest
            if moved is not None:
                book.payment_settled(record_id, moved)
                return Settlement(moved, self._response(payment, moved))
            voided = book.void_record(record_id)
        finally:
            book.close()
        if voided is not None:
            discard_answer(voided)
        reason = result.error_reason or "settlement failed"
        raise PaymentRefused(
            f"the payment did not settle, so the answer is withheld: {_REASONS.get(reason, reason)}",
            402, result.headers, reason,
        )

    def _await_settled(self, authorization: Mapping[str, Any]) -> str | None:
        """The transaction in which `authorization` moved its value, looked for on chain every
        `_POLL_S` for up to `pending_wait_s`; None if not seen by then."""
        deadline = time.monotonic() + self.pending_wait_s
        while (moved := self.settled_by(self.node, authorization)) is None and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        return moved

    def _response(self, payment: Payment, transaction: str) -> dict[str, str]:
        """x402's `PAYMENT-RESPONSE` header of a settlement found on chain."""
        from x402.http import PAYMENT_RESPONSE_HEADER, encode_payment_response_header
        from x402.schemas import SettleResponse

        settled = SettleResponse(
            success=True, transaction=transaction, network=self.network, payer=payment.payer, amount=str(payment.quote),
        )
        return {PAYMENT_RESPONSE_HEADER: encode_payment_response_header(settled)}

    def refund(self, payment: Payment, done: Interaction) -> str | None:
        """Once the answer is sent: refund the payer quote − metered fee, in one transfer (None if
        nothing is owed). The journal knows the payment is settled and owes it, so `recover` sends
        a refund a crash cut short; one `recover` sent already is not sent again."""
        from tantieme.ledger import settlement

        book = settlement.journal()
        try:
            with self._sending() as writer:
                sent = (book.payment(done.record.id) or {}).get("refund_tx")
                if sent is not None:
                    return sent
                return self._refund(writer, book, done.record.id, payment.authorization, payment.quote - done.fee)
        finally:
            book.close()

    @contextlib.contextmanager
    def _sending(self) -> Iterator[Node]:
        """One sender of the operator's transactions at a time (the facilitator keeps its own
        nonces), through a writer of the node opened for as long as it takes."""
        with self._lock_sending, self._writer() as writer, self._lending(writer):
            yield writer

    def _lending(self, writer: Node) -> AbstractContextManager[None]:
        """The facilitator's transactions go through `writer` for as long as the block runs."""
        if isinstance(self._signer, ConnectionSigner):
            return self._signer.sending(writer.conn)
        return contextlib.nullcontext()

    def _refund(self, writer: Node, book: Journal, record_id: int, authorization: Mapping[str, Any], refund: int) -> str | None:
        """Send `refund` back to the payer of `authorization`: through its `refundPayment` if it
        says it takes refunds so (`refund_call`), else, or if that call reverts (a hostile or
        broken payer: it moved nothing), in a plain transfer, which a payer cannot refuse. Any
        other failure (the call may still be mined) leaves the refund owed for `recover`."""
        if refund <= 0:
            return None
        call = refund_call(writer, authorization, refund)
        if call is not None:
            try:
                receipt = writer.conn.transact(call, gas=_REFUND_GAS)
            except RevertedError:  # the payer's contract refused or ran out of gas: nothing moved, still owed
                call = None
        if call is None:
            receipt = writer.conn.transact(writer.token.functions.transfer(authorization["from"], refund), gas=_REFUND_GAS)
        tx = receipt["transactionHash"].to_0x_hex()
        book.refunded(record_id, tx)
        return tx

    @staticmethod
    def settled_by(node: Node, authorization: Mapping[str, Any]) -> str | None:
        """The transaction in which `authorization` moved its value from the payer to the operator,
        or None. Its nonce used (`AuthorizationUsed`) is not enough: the payer may have used the
        same nonce for another transfer of its own."""
        used = event_logs(
            node.token.events.AuthorizationUsed(), node.deployment.block,
            authorizer=authorization["from"], nonce=bytes.fromhex(authorization["nonce"][2:]),
        )
        for log in used:
            receipt = node.conn.w3.eth.get_transaction_receipt(log["transactionHash"])
            for moved in node.token.events.Transfer().process_receipt(receipt, errors=DISCARD):
                args = moved["args"]
                if (args["sender"], args["receiver"], args["value"]) == (
                    authorization["from"], authorization["to"], int(authorization["value"])
                ):
                    return log["transactionHash"].to_0x_hex()
        return None

    @staticmethod
    def _spent(node: Node, authorization: Mapping[str, Any]) -> bool:
        """Whether `authorization` (found not settled) can no longer move anything: expired, or its
        nonce used (for another transfer) or cancelled."""
        if _expired(authorization, time.time()):
            return True
        return node.token.functions.authorizationState(authorization["from"], authorization["nonce"]).call()

    def recover(self, book: Journal, writer: Node | None = None) -> list[int]:
        """Finish the deliveries a crash interrupted; the records whose payment it touched. Safe
        beside requests under way (the service runs it at start and with each settlement).
        `writer`: the node open for writing, if the caller holds it; then, while a request's
        payment is being sent (it waits for that writer), nothing is done: the next call does it.

        A payment the journal holds unsettled is settled already if its authorization moved
        the quote to the operator (`settled_by`). If it did not, its answer was not sent:
        once the authorization cannot move it any more (expired, or its nonce used for
        another transfer), the record is voided; until then (a settlement sent and not mined
        yet may still move it) it is left as it is, and settles in no batch. A refund not
        journaled as sent is looked for on chain (a transfer of that amount from the operator
        to the payer since the settlement, not journaled for another record) and sent only if
        it is not there.
        """
        from tantieme.interaction import discard_answer

        touched: list[int] = []
        if writer is not None and not self._lock_sending.acquire(blocking=False):
            return touched
        with contextlib.ExitStack() as held:
            if writer is not None:
                held.callback(self._lock_sending.release)
                held.enter_context(self._lending(writer))
            else:
                writer = held.enter_context(self._sending())
            token = writer.token
            for record_id, paid in book.unfinished_payments():
                auth, tx = paid["authorization"], paid["settlement_tx"]
                if tx is None:
                    tx = self.settled_by(writer, auth)
                    if tx is None:
                        if self._spent(writer, auth):
                            voided = book.void_record(record_id)
                            if voided is not None:
                                discard_answer(voided)
                            self._unhold(auth)
                            touched.append(record_id)
                        continue
                    book.payment_settled(record_id, tx)
                    self._unhold(auth)
                refund = int(paid["refund"])
                if refund > 0 and paid["refund_tx"] is None:
                    block = writer.conn.w3.eth.get_transaction_receipt(tx)["blockNumber"]
                    known = book.refund_txs()
                    sent = [
                        log["transactionHash"].to_0x_hex()
                        for log in event_logs(token.events.Transfer(), block, sender=auth["to"], receiver=auth["from"])
                        if log["args"]["value"] == refund
                    ]
                    sent = [t for t in sent if t not in known]
                    if sent:
                        book.refunded(record_id, sent[0])
                    else:
                        self._refund(writer, book, record_id, auth, refund)
                touched.append(record_id)
        return touched


def refund_call(writer: Node, authorization: Mapping[str, Any], refund: int) -> Any:
    """The payer's own refund of `refund` for the payment `authorization`, if the payer is a
    contract that says it takes refunds so (ERC-165 `supportsInterface` of `refundPayment`'s
    selector; an agent treasury then gives the refund back to its day's allowance): the call,
    with the operator's EIP-3009 `ReceiveWithAuthorization` of the refund to the payer, which
    the payer submits. None for any other payer (a plain transfer refunds it)."""
    import secrets

    from eth_utils import function_signature_to_4byte_selector
    from web3 import Web3
    from web3.exceptions import Web3Exception

    from tantieme.chain.deploy import contract
    from tantieme.chain.permit import sign_receive_authorization

    w3, payer = writer.conn.w3, Web3.to_checksum_address(authorization["from"])
    if not w3.eth.get_code(payer):
        return None
    try:
        says = w3.eth.contract(address=payer, abi=_ERC165_ABI).functions.supportsInterface(
            function_signature_to_4byte_selector(REFUND_SIGNATURE),
        ).call({"gas": _ERC165_GAS})
    except (Web3Exception, ValueError):
        return None
    if says is not True:
        return None
    nonce, before = secrets.token_bytes(32), w3.eth.get_block("latest")["timestamp"] + _REFUND_VALIDITY_S
    v, r, s = sign_receive_authorization(
        writer.account, writer.token.functions.eip712Domain().call(), payer, refund, 0, before, nonce,
    )
    return contract(writer.conn, "agent_treasury", payer).functions.refundPayment(
        Web3.to_checksum_address(authorization["to"]), int(authorization["value"]), int(authorization["validAfter"]),
        int(authorization["validBefore"]), bytes.fromhex(authorization["nonce"].removeprefix("0x")), refund, before, nonce,
        v, r, s,
    )
