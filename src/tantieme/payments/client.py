"""Asking a remote node, and paying it per request with the official x402 client, or from a
deposit with it (`DepositClient`).

    answer = ask_node("http://127.0.0.1:8402", "How many hives fit on a roof?", account, max_fee=10**17)

The question goes to the node's OpenAI-compatible `POST /v1/chat/completions`.
Its 402 names the quote: above `max_fee`, or above the payer's balance (when the
chain can be read), the question is not paid for, with the reason. Otherwise
the SDK's requests wrapper signs the EIP-3009 authorization of the quote (the
node's AI token allowed by the client's spend controls, capped at `max_fee`)
and asks again; the node settles it once the answer is delivered and refunds
quote − metered fee.

A node that fails or times out after the authorization was signed may still collect it
(x402 settles, then responds). Given `cancel` (`cancel_authorization` for an account, a
treasury's `TreasuryPayer.cancel`), the client cancels it on chain before giving up: the
node can no longer collect it, and the error says so; if the token shows it collected
already, the payer was charged without an answer: `ChargedError`, which a router does
not fall back from (the next node would be paid too).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tantieme.amounts import format_amount
from tantieme.errors import ChainError, ChargedError, NodeBusyError, PaymentError, RemoteNodeError, TantiemeError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from x402.schemas import PaymentRequirements

    from tantieme.agents.treasury import TreasuryPayer
    from tantieme.ledger.journal import Journal
    from tantieme.ledger.records import InteractionRecord
    from tantieme.node import Node
    from tantieme.payments.deposit import Payment, Terms

__all__ = ["Authorization", "DepositClient", "RemoteAnswer", "ask_node", "ask_node_from_treasury", "cancel_authorization"]

# The path of a node's answers (`tantieme serve`), OpenAI-compatible and paid per request.
CHAT_PATH = "/v1/chat/completions"
DEPOSIT_TERMS_PATH = "/v1/deposit/terms"
TIMEOUT_S = 300
# What a refused payment's reason means for the payer.
_INSUFFICIENT = "invalid_exact_evm_insufficient_balance"


@dataclass(frozen=True)
class RemoteAnswer:
    """A remote node's paid answer, as its response and its 402 said."""

    node: str
    question: str
    text: str
    quote: int
    fee: int
    record: str
    payer: str
    model: str
    sources: list[dict[str, Any]]
    own_knowledge: float | None
    prompt_tokens: int
    completion_tokens: int
    settlement: dict[str, Any] | None
    """The SDK's `PAYMENT-RESPONSE`, when the node settled before answering."""
    extension: dict[str, Any]
    """The node's `tantieme` object, as sent."""


@dataclass(frozen=True)
class Authorization:
    """An EIP-3009 `transferWithAuthorization` the client signed for a node: `payer` pays
    `payee` `amount` token wei of `token` once (`nonce`), after `valid_after` and before
    `valid_before` (Unix seconds)."""

    token: str
    payer: str
    payee: str
    amount: int
    valid_after: int
    valid_before: int
    nonce: bytes


Cancel = Callable[[Authorization], "str | None"]
"""Cancels an authorization on chain: the transaction, or None if the token shows it used
(the node collected it)."""


def ask_node(
    url: str,
    question: str,
    account: LocalAccount,
    *,
    max_fee: int | None = None,
    max_tokens: int = 96,
    model: str = "default",
    token: str | None = None,
    balance: Callable[[int, str], int | None] = lambda _chain, _asset: None,
    timeout: float = TIMEOUT_S,
    check: Callable[[PaymentRequirements], None] | None = None,
    cancel: Cancel | None = None,
) -> RemoteAnswer:
    """Ask the node at `url` and pay it from `account` over x402.

    `token` is the AI token this payer knows for the node's chain (a quote in
    another asset is refused); without it, the asset the node quotes. `balance(chain
    id, asset)` is the payer's balance there, or None when the chain cannot be read.
    The node has `timeout` seconds in all to answer (`RemoteNodeError` after); `check`
    may refuse the 402's requirements (raising a `TantiemeError`) before anything is signed;
    `cancel` cancels the authorization of a payment the node did not answer for (see above).
    """
    from x402.mechanisms.evm import EthAccountSigner

    held: int | None = None

    def vet(required: PaymentRequirements) -> int:
        nonlocal held
        if check is not None:
            check(required)
        chain_id = int(required.network.removeprefix("eip155:"))
        quote = int(required.amount)
        if token is not None and required.asset.lower() != token.lower():
            raise PaymentError(
                f"the node asks to be paid in {required.asset}, not in the AI token {token} of chain {chain_id}: "
                "not paid"
            )
        if max_fee is not None and quote > max_fee:
            raise PaymentError(
                f"the node quotes up to {format_amount(quote)} TAI for this answer, above your cap "
                f"--max-fee {format_amount(max_fee)}: raise --max-fee, or lower --max-tokens (you pay only "
                "the metered fee, the rest of the quote comes back)"
            )
        held = balance(chain_id, required.asset)
        if held is not None and held < quote:
            raise PaymentError(_short(quote, held))
        return max_fee if max_fee is not None else quote

    def refused(error: dict[str, Any], quote: int) -> str:
        if error.get("reason") == _INSUFFICIENT:
            return _short(quote, held)
        return f"the node refused the payment: {error.get('error') or 'no reason given'}"

    return _ask(
        url, question, EthAccountSigner(account), vet, refused, max_tokens=max_tokens, model=model, timeout=timeout,
        cancel=cancel,
    )


def cancel_authorization(payer: Node, signed: Authorization) -> str | None:
    """Cancel `signed` on chain: EIP-3009 `cancelAuthorization`, signed and sent by `payer`
    (a node open as the account that signed it, on its chain). The transaction, or None if
    the token shows the authorization used already: the node collected it."""
    from tantieme.chain.permit import sign_cancel_authorization

    token = payer.token
    if signed.token.lower() != token.address.lower() or signed.payer != payer.address:
        raise PaymentError(f"{payer.address} cannot cancel an authorization of {signed.payer} in {signed.token}")
    state = token.functions.authorizationState(signed.payer, signed.nonce)
    if state.call():
        return None
    v, r, s = sign_cancel_authorization(payer.account, token.functions.eip712Domain().call(), signed.nonce)
    try:
        receipt = payer.conn.transact(token.functions.cancelAuthorization(signed.payer, signed.nonce, v, r, s))
    except ChainError:
        if state.call():  # the node collected it meanwhile
            return None
        raise
    return receipt["transactionHash"].to_0x_hex()


def ask_node_from_treasury(
    url: str,
    question: str,
    treasury: TreasuryPayer,
    *,
    max_tokens: int = 96,
    model: str = "default",
    timeout: float = TIMEOUT_S,
    check: Callable[[PaymentRequirements], None] | None = None,
) -> RemoteAnswer:
    """Ask the node at `url` and pay it over x402 from an agent treasury (`treasury`: its agent
    key's signer). A quote the treasury would refuse (payee not allowed, above the per-payment
    cap or what is left of the daily limit, paused, another chain or token, the balance) is
    refused here, before anything is sent; otherwise the agent approves the payment on chain
    and signs it, and the node settles it through the token's ERC-1271 check. `timeout` and
    `check` as for `ask_node`. A payment the node did not answer for is released on chain
    (`TreasuryPayer.cancel`) before this raises."""

    def vet(required: PaymentRequirements) -> int:
        if check is not None:
            check(required)
        treasury.check_requirements(required)
        return int(required.amount)

    def refused(error: dict[str, Any], _quote: int) -> str:
        return f"the node refused the payment from the treasury: {error.get('error') or 'no reason given'}"

    return _ask(
        url, question, treasury, vet, refused, max_tokens=max_tokens, model=model, timeout=timeout, cancel=treasury.cancel,
    )


def _ask(
    url: str,
    question: str,
    signer: Any,
    vet: Callable[[PaymentRequirements], int],
    refused: Callable[[dict[str, Any], int], str],
    *,
    max_tokens: int,
    model: str,
    timeout: float,
    cancel: Cancel | None,
) -> RemoteAnswer:
    """Ask the node at `url`; on its 402, `vet` the requirements (raising to refuse, before
    anything is signed; else the most one payment may be) and pay with the SDK's client
    `signer`. A paid request refused again is a `PaymentError` worded by `refused`; a
    failure after signing, what `_unanswered` makes of it."""
    import requests

    endpoint = url.rstrip("/") + CHAT_PATH
    body = {"model": model, "messages": [{"role": "user", "content": question}], "max_tokens": max_tokens}
    deadline = time.monotonic() + timeout
    first = _post(requests.Session(), endpoint, body, url, timeout)
    if first.status_code != 402:
        return _answer(url, question, first, None)
    required = _required(first, url)
    cap = vet(required)
    quote = int(required.amount)
    recording = _Recording(signer)
    try:
        paid = _post(
            _paying(recording, required, cap), endpoint, body, url, max(0.001, deadline - time.monotonic()),
            uncancelable=cancel is None,
        )
        if paid.status_code == 402:
            raise PaymentError(refused(_error(paid), quote))
        return _answer(url, question, paid, quote)
    except TantiemeError as exc:
        if recording.signed is None:
            raise
        raise _unanswered(exc, recording.signed, cancel) from None


class _Recording:
    """The SDK's client signer `signer`, keeping the transfer it authorized (`signed`)."""

    def __init__(self, signer: Any) -> None:
        self.signer = signer
        self.signed: Authorization | None = None

    @property
    def address(self) -> str:
        return self.signer.address

    def sign_typed_data(self, domain: Any, types: Any, primary_type: str, message: dict[str, Any]) -> bytes:
        signature = self.signer.sign_typed_data(domain, types, primary_type, message)
        nonce = message["nonce"]
        self.signed = Authorization(
            str(domain.verifying_contract), str(message["from"]), str(message["to"]), int(message["value"]),
            int(message["validAfter"]), int(message["validBefore"]),
            bytes.fromhex(nonce.removeprefix("0x")) if isinstance(nonce, str) else bytes(nonce),
        )
        return signature


def _unanswered(exc: TantiemeError, signed: Authorization, cancel: Cancel | None) -> TantiemeError:
    """`exc`, a failure after `signed` was sent, saying what became of the payment: canceled
    on chain, or collected (`ChargedError`); as it is without `cancel`."""
    if cancel is None:
        return exc
    tx = cancel(signed)
    if tx is None:
        return ChargedError(
            f"{exc}; but the node collected the payment signed for it, {format_amount(signed.amount)} TAI (what is "
            "above its metered fee should come back): you were charged without an answer, so no other node is asked. "
            f"Ask the node for its record of authorization {'0x' + signed.nonce.hex()}"
        )
    exc.args = (f"{exc}; the payment signed for it was canceled on chain (transaction {tx}): nothing was charged", *exc.args[1:])
    return exc


def _paying(signer: Any, required: PaymentRequirements, cap: int) -> Any:
    """A requests session that pays 402s with the official client and the SDK's client `signer`
    (an account's, or a treasury's): the quoted AI token allowed by the spend controls, up to
    `cap` token wei a payment, and only to `required`'s payee (a node naming another one when
    it is paid is not paid)."""
    import requests
    from x402 import x402ClientSync
    from x402.http.clients import wrapRequestsWithPayment
    from x402.mechanisms.evm.exact import register_exact_evm_client

    client = register_exact_evm_client(x402ClientSync(), signer)
    client.set_spend_controls({"allowed_assets": [
        {"network": required.network, "asset": required.asset, "max_amount_per_payment": str(cap)},
    ]})
    client.register_policy(lambda _version, accepts: [r for r in accepts if r.pay_to.lower() == required.pay_to.lower()])
    return wrapRequestsWithPayment(requests.Session(), client)


def _post(session: Any, endpoint: str, body: dict[str, Any], url: str, timeout: float, *, uncancelable: bool = False) -> Any:
    import requests
    from x402.http.clients.requests import PaymentError as NotPaid

    try:
        try:
            return session.post(endpoint, json=body, timeout=timeout)
        except NotPaid as exc:
            if isinstance(exc.__cause__, requests.RequestException):  # sending the paid request failed
                raise exc.__cause__ from None
            raise  # the official client could not pay (spend controls, signing)
    except NotPaid as exc:
        raise PaymentError(f"the payment could not be made: {exc}") from None
    except requests.ConnectionError:
        raise RemoteNodeError(
            f"cannot reach the node at {url}: is `tantieme serve` running there, and is the URL right?"
        ) from None
    except requests.Timeout:
        signed = " after the payment was signed: the node may still charge it" if uncancelable else ""
        raise RemoteNodeError(f"the node at {url} did not answer within {timeout:g} s{signed}") from None
    except requests.RequestException as exc:
        raise RemoteNodeError(f"asking the node at {url} failed: {exc}") from None


def _required(response: Any, url: str) -> PaymentRequirements:
    """The exact-EVM requirements of a 402, decoded by the SDK."""
    from x402.http import decode_payment_required_header

    header = response.headers.get("PAYMENT-REQUIRED")
    if not header:
        raise RemoteNodeError(f"the node at {url} answered 402 without an x402 PAYMENT-REQUIRED header: {_error(response).get('error', '')}")
    accepts = [r for r in decode_payment_required_header(header).accepts if r.scheme == "exact" and r.network.startswith("eip155:")]
    if not accepts:
        raise PaymentError(f"the node at {url} takes no x402 `exact` payment on an EVM chain")
    return accepts[0]


def _busy(response: Any) -> None:
    """`NodeBusyError` if the node answered 503 (its queue is full) or 429 (the payer's rate):
    nothing was charged, and its `Retry-After` says when to ask again."""
    if response.status_code in (429, 503):
        retry_after = _seconds(response.headers.get("Retry-After"))
        raise NodeBusyError(
            f"the node did not answer (HTTP {response.status_code}): {_error(response).get('error') or 'busy'}; "
            f"nothing was charged: ask again in {retry_after:g} s",
            response.status_code, retry_after,
        )


def _answer(url: str, question: str, response: Any, quote: int | None) -> RemoteAnswer:
    _busy(response)
    if response.status_code != 200:
        raise RemoteNodeError(f"the node did not answer (HTTP {response.status_code}): {_error(response).get('error', response.text[:200])}")
    try:
        data = response.json()
        extension = data.get("tantieme") or {}
        usage = data.get("usage") or {}
        settlement = None
        header = response.headers.get("PAYMENT-RESPONSE")
        if header:
            from x402.http import decode_payment_response_header

            settlement = decode_payment_response_header(header).model_dump(by_alias=True, exclude_none=True)
        return RemoteAnswer(
            node=url,
            question=question,
            text=data["choices"][0]["message"]["content"],
            quote=int(extension.get("quote", quote or 0)),
            fee=int(extension["fee"]),
            record=extension["record"],
            payer=extension.get("payer", ""),
            model=str(data.get("model", "")),
            sources=list(extension.get("sources") or []),
            own_knowledge=extension.get("own_knowledge"),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            settlement=settlement,
            extension=extension,
        )
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise RemoteNodeError(f"the node at {url} sent an answer tantieme cannot read ({type(exc).__name__}: {exc})") from None


def _seconds(retry_after: str | None) -> float:
    """A `Retry-After` in seconds (1 when absent, or an HTTP date this client does not read)."""
    try:
        return max(0.0, float(retry_after or 1))
    except ValueError:
        return 1.0


def _error(response: Any) -> dict[str, Any]:
    """The JSON error of a response (`error` as a string, `reason` when the node gives one)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    error = data.get("error")
    if isinstance(error, dict):  # OpenAI's shape: {"error": {"message", "code", ...}}
        return {"error": error.get("message"), "reason": error.get("code")}
    return {"error": error, "reason": data.get("reason")}


def _short(quote: int, held: int | None) -> str:
    if held is None:
        return (
            f"your balance is below the quote of {format_amount(quote)} TAI (the most this answer may cost; "
            "you pay only the metered fee): top up your account, or lower --max-tokens"
        )
    return (
        f"your balance of {format_amount(held)} TAI is below the quote of {format_amount(quote)} TAI: "
        f"{format_amount(quote - held)} TAI missing (the most this answer may cost; you pay only the "
        "metered fee, the rest comes back)"
    )


class DepositClient:
    """Asking a node and paying from a deposit with it (deposit mode), one question at a time.

        client = DepositClient("http://127.0.0.1:8402", payer)   # payer: a Node signing as the payer
        client.deposit(10**18)                                   # through the node: no gas needed
        answer = client.ask("How many hives fit on a roof?", max_fee=10**17)

    `payer` is the payer's own view of the node's chain (`Node.as_account`): the terms the
    node sends are checked against it (`deposit.check_terms`) before anything is signed.
    Each request carries a fresh `X-Tantieme-Payer` header; `ask` posts the question,
    checks the invoice sent with the answer (this question and answer, at most `max_fee`)
    and the terms, signs the invoice and the voucher (`deposit.pay`) and posts them.
    `kept` (default: this home's journal, opened for each payment) keeps the records the
    payer signed for its open batch, so the terms carry only the batch's count and root:
    when they differ from the records kept, the client asks for the node's records once and
    checks them (`deposit.pay_kept`). `book` keeps the payer's vouchers (`tantieme deposit
    --status` reads them).
    """

    def __init__(self, url: str, payer: Node, *, book: Journal | None = None, kept: Journal | None = None) -> None:
        import requests

        self.url = url.rstrip("/")
        self.payer = payer
        self.book = book
        self.kept = kept
        self.session = requests.Session()
        self._operator: str | None = None
        self._signed_at = 0

    @property
    def operator(self) -> str:
        """The node's operator, once its chain is checked to be the payer's."""
        if self._operator is None:
            health = self._send("GET", "/healthz", None)
            if int(health["chain_id"]) != self.payer.conn.chain_id:
                raise PaymentError(
                    f"the node at {self.url} runs on chain {health['chain_id']}, your account's home on chain "
                    f"{self.payer.conn.chain_id}: ask from a home set up on the node's chain"
                )
            self._operator = health["operator"]
        return self._operator

    def ask(self, question: str, *, max_fee: int | None = None, max_tokens: int = 96, model: str = "default") -> RemoteAnswer:
        """Ask, and pay the answer's invoice from the deposit (at most `max_fee` token wei,
        default: the node's quote)."""
        from tantieme.ledger.records import InteractionRecord

        body = {"model": model, "messages": [{"role": "user", "content": question}], "max_tokens": max_tokens}
        data = self._send("POST", CHAT_PATH, body, signed=True)
        try:
            extension = data["tantieme"]
            invoice = InteractionRecord.from_dict(extension["invoice"])
            text = data["choices"][0]["message"]["content"]
            quote = int(extension["quote"])
        except (KeyError, TypeError, IndexError, ValueError, TantiemeError) as exc:
            raise RemoteNodeError(f"the node at {self.url} sent no invoice tantieme can read ({exc!r})") from None
        payment = self._pay(invoice, question.strip(), text, quote if max_fee is None else max_fee)
        paid = self._send("POST", "/v1/deposit/payments", payment.to_dict())
        usage = data.get("usage") or {}
        return RemoteAnswer(
            node=self.url, question=question, text=text, quote=quote, fee=invoice.fee, record=paid["record"],
            payer=self.payer.account.address, model=str(data.get("model", "")),
            sources=list(extension.get("sources") or []), own_knowledge=extension.get("own_knowledge"),
            prompt_tokens=int(usage.get("prompt_tokens", 0)), completion_tokens=int(usage.get("completion_tokens", 0)),
            settlement=None, extension=extension,
        )

    def _pay(self, invoice: InteractionRecord, question: str, answer: str, max_fee: int) -> Payment:
        from tantieme.ledger.journal import journal
        from tantieme.payments import deposit

        with contextlib.nullcontext(self.kept) if self.kept is not None else contextlib.closing(journal()) as store:
            return deposit.pay_kept(
                self.payer, self.payer.account, store, self._terms, invoice, question=question, answer=answer,
                max_fee=max_fee, book=self.book,
            )

    def _terms(self, *, records: bool) -> Terms:
        from tantieme.payments import deposit

        query = f"?protocol={deposit.PROTOCOL}" + ("&records=all" if records else "")
        return deposit.Terms.from_dict(self._send("GET", DEPOSIT_TERMS_PATH, None, signed=True, query=query))

    def deposit(self, amount: int, valid_s: int = 3_600) -> dict[str, Any]:
        """Deposit `amount` token wei with the node: the payer signs an EIP-3009 authorization,
        the node submits it and pays the gas. The node's answer (`tx`, `deposit`, ...)."""
        from tantieme.payments import deposit

        if amount <= 0:
            raise PaymentError("a deposit must be more than 0 TAI")
        authorization = deposit.authorize_deposit(self.payer, amount, self.operator, valid_s)
        return self._send("POST", "/v1/deposit/authorizations", authorization.to_dict())

    def _send(
        self, method: str, path: str, body: dict[str, Any] | None, *, signed: bool = False, query: str = "",
    ) -> Any:
        """The JSON of a 200 answer to `method path` (and `query`, not signed) with `body`, or the
        node's error, said plainly."""
        import json

        import requests

        from tantieme.payments.payer_auth import HEADER, sign

        raw = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if signed:  # each at its own millisecond, so no two are the same signature
            self._signed_at = max(time.time_ns() // 1_000_000, self._signed_at + 1)
            headers[HEADER] = sign(
                self.payer.account, method, path, raw, self.operator, self.payer.conn.chain_id, self._signed_at
            )
        try:
            response = self.session.request(
                method, self.url + path + query, data=raw or None, headers=headers, timeout=TIMEOUT_S
            )
        except requests.ConnectionError:
            raise RemoteNodeError(
                f"cannot reach the node at {self.url}: is `tantieme serve` running there, and is the URL right?"
            ) from None
        except requests.RequestException as exc:
            raise RemoteNodeError(f"asking the node at {self.url} failed: {exc}") from None
        if response.status_code == 200:
            try:
                return response.json()
            except ValueError:
                raise RemoteNodeError(f"the node at {self.url} answered {path} with something other than JSON") from None
        _busy(response)
        error = _error(response)
        reason = error.get("error") or response.text[:200]
        if response.status_code in (400, 402, 409):
            raise PaymentError(f"the node refused: {reason}")
        raise RemoteNodeError(f"the node at {self.url} did not answer {path} (HTTP {response.status_code}): {reason}")
