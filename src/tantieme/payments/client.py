"""Asking a remote node, and paying it per request with the official x402 client.

    answer = ask_node("http://127.0.0.1:8402", "How many hives fit on a roof?", account, max_fee=10**17)

The question goes to the node's OpenAI-compatible `POST /v1/chat/completions`.
Its 402 names the quote: above `max_fee`, or above the payer's balance (when the
chain can be read), the question is not paid for, with the reason. Otherwise
the SDK's requests wrapper signs the EIP-3009 authorization of the quote (the
node's AI token allowed by the client's spend controls, capped at `max_fee`)
and asks again; the node settles it once the answer is delivered and refunds
quote − metered fee.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tantieme.amounts import format_amount
from tantieme.errors import NodeBusyError, PaymentError, RemoteNodeError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from x402.schemas import PaymentRequirements

__all__ = ["RemoteAnswer", "ask_node"]

CHAT_PATH = "/v1/chat/completions"
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
) -> RemoteAnswer:
    """Ask the node at `url` and pay it from `account` over x402.

    `token` is the AI token this payer knows for the node's chain (a quote in
    another asset is refused); without it, the asset the node quotes. `balance(chain
    id, asset)` is the payer's balance there, or None when the chain cannot be read.
    """
    import requests

    endpoint = url.rstrip("/") + CHAT_PATH
    body = {"model": model, "messages": [{"role": "user", "content": question}], "max_tokens": max_tokens}
    first = _post(requests.Session(), endpoint, body, url)
    if first.status_code != 402:
        return _answer(url, question, first, None)
    required = _required(first, url)
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
    paid = _post(_paying(account, required, max_fee if max_fee is not None else quote), endpoint, body, url)
    if paid.status_code == 402:
        error = _error(paid)
        if error.get("reason") == _INSUFFICIENT:
            raise PaymentError(_short(quote, held))
        raise PaymentError(f"the node refused the payment: {error.get('error') or 'no reason given'}")
    return _answer(url, question, paid, quote)


def _paying(account: LocalAccount, required: PaymentRequirements, cap: int) -> Any:
    """A requests session that pays 402s from `account` with the official client: the quoted
    AI token allowed by the spend controls, up to `cap` token wei a payment."""
    import requests
    from x402 import x402ClientSync
    from x402.http.clients import wrapRequestsWithPayment
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact import register_exact_evm_client

    client = register_exact_evm_client(x402ClientSync(), EthAccountSigner(account))
    client.set_spend_controls({"allowed_assets": [
        {"network": required.network, "asset": required.asset, "max_amount_per_payment": str(cap)},
    ]})
    return wrapRequestsWithPayment(requests.Session(), client)


def _post(session: Any, endpoint: str, body: dict[str, Any], url: str) -> Any:
    import requests
    from x402.http.clients.requests import PaymentError as NotPaid

    try:
        return session.post(endpoint, json=body, timeout=TIMEOUT_S)
    except NotPaid as exc:  # the official client could not pay (spend controls, signing)
        raise PaymentError(f"the payment could not be made: {exc}") from None
    except requests.ConnectionError:
        raise RemoteNodeError(
            f"cannot reach the node at {url}: is `tantieme serve` running there, and is the URL right?"
        ) from None
    except requests.Timeout:
        raise RemoteNodeError(f"the node at {url} did not answer within {TIMEOUT_S} s") from None
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


def _answer(url: str, question: str, response: Any, quote: int | None) -> RemoteAnswer:
    if response.status_code in (429, 503):  # nothing was charged: ask again later
        retry_after = _seconds(response.headers.get("Retry-After"))
        raise NodeBusyError(
            f"the node did not answer (HTTP {response.status_code}): {_error(response).get('error') or 'busy'}; "
            f"nothing was charged: ask again in {retry_after:g} s",
            response.status_code, retry_after,
        )
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
