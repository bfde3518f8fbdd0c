"""The `X-Tantieme-Payer` header: who asks a node in deposit mode, proven per request.

    X-Tantieme-Payer: 0xPAYER:TIME:0xSIGNATURE

TIME is unix time in milliseconds; SIGNATURE is the payer's EIP-191 (`personal_sign`) signature
of this text (lines joined by a line feed, no trailing one):

    tantieme request
    POST /v1/chat/completions
    body sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    time: 1764450000123
    operator: 0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1
    chain: 31337

(the method and path of the request, the SHA-256 of its body in lowercase hex,
the time, the node's operator address as EIP-55 and the chain id). A header is
valid for `VALID_S` seconds from its time (and up to `SKEW_S` before it, for
clocks that differ), once: the node remembers the signatures it has seen until
they expire, so a replayed request is refused (signatures are deterministic: two
identical requests signed in the same millisecond are one). Signed for another node, chain,
request or body, it names someone else: refused.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
import time
from collections.abc import Callable

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from tantieme.errors import PaymentError

__all__ = ["HEADER", "SKEW_S", "VALID_S", "AuthRefused", "Authenticator", "message", "named_payer", "sign"]

HEADER = "X-Tantieme-Payer"
VALID_S = 300
"""How long a signed header is valid, from its time."""
SKEW_S = 30
"""How far ahead of the node's clock a header's time may be."""
CAPACITY = 100_000
"""Unexpired signatures the node remembers; when they are all in use, it asks to retry."""


class AuthRefused(PaymentError):
    """A request whose payer header is missing, malformed, stale, replayed or not the payer's:
    `status` (401, 409 or 503) and a `code`."""

    def __init__(self, message: str, status: int = 401, code: str = "invalid_payer_signature") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def named_payer(value: str) -> str | None:
    """The payer a header names (its first part), its signature not checked; None if it names no address."""
    payer = value.strip().split(":", 1)[0]
    return to_checksum_address(payer) if is_address(payer) else None


def message(method: str, path: str, body: bytes, at: int, operator: str, chain_id: int) -> str:
    """The text a payer signs for one request (see the module's docstring)."""
    return "\n".join([
        "tantieme request",
        f"{method.upper()} {path}",
        f"body sha256: {hashlib.sha256(body).hexdigest()}",
        f"time: {at}",
        f"operator: {to_checksum_address(operator)}",
        f"chain: {chain_id}",
    ])


def sign(account: LocalAccount, method: str, path: str, body: bytes, operator: str, chain_id: int,
         at: int | None = None) -> str:
    """The header's value for one request of `account` to the node of `operator` on `chain_id`,
    signed at `at` (unix milliseconds; default: now)."""
    at = time.time_ns() // 1_000_000 if at is None else at
    signed = account.sign_message(encode_defunct(text=message(method, path, body, at, operator, chain_id)))
    return f"{account.address}:{at}:0x{bytes(signed.signature).hex()}"


class Authenticator:
    """The node's side: checks headers for `operator` on `chain_id` and remembers their signatures."""

    def __init__(self, operator: str, chain_id: int, *, capacity: int = CAPACITY,
                 clock: Callable[[], float] = time.time) -> None:
        self.operator, self.chain_id, self.capacity, self.clock = operator, chain_id, capacity, clock
        self._seen: set[bytes] = set()
        self._expiry: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()

    def verify(self, value: str | None, method: str, path: str, body: bytes) -> str:
        """The payer a header proves for this request, or `AuthRefused`."""
        if not value:
            raise AuthRefused(f"a deposit-mode request needs the {HEADER} header (see docs/api.md)")
        parts = value.strip().split(":")
        if len(parts) != 3 or not is_address(parts[0]) or not parts[1].isdigit():
            raise AuthRefused(f"{HEADER} is not PAYER:TIME:SIGNATURE (an address, unix milliseconds, a 0x signature)")
        payer, at = to_checksum_address(parts[0]), int(parts[1])
        try:
            signature = bytes.fromhex(parts[2].removeprefix("0x"))
        except ValueError:
            signature = b""
        if len(signature) != 65:
            raise AuthRefused(f"{HEADER}'s signature is not 65 bytes of hex")
        now = int(self.clock() * 1000)
        if not now - VALID_S * 1000 <= at <= now + SKEW_S * 1000:
            raise AuthRefused(
                f"{HEADER} was signed at {at}, the node's time is {now}: a header is valid {VALID_S} s; "
                "sign each request afresh (and check your clock)", code="payer_signature_expired",
            )
        text = message(method, path, body, at, self.operator, self.chain_id)
        try:
            signer = Account.recover_message(encode_defunct(text=text), signature=signature)
        except Exception:  # eth_account raises several kinds for a signature that is no signature
            signer = None
        if signer != payer:
            raise AuthRefused(
                f"{HEADER} is not {payer}'s signature of this request to operator {self.operator} on chain "
                f"{self.chain_id}"
            )
        # Remembered by r, which a signature's high-s twin shares: one request, one use.
        self._remember(signature[:32], at + VALID_S * 1000, now)
        return payer

    def _remember(self, signature: bytes, expires: int, now: int) -> None:
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                self._seen.discard(heapq.heappop(self._expiry)[1])
            if signature in self._seen:
                raise AuthRefused(
                    f"this {HEADER} signature was used already: a replayed request is refused; sign each "
                    "request afresh", status=409, code="payer_signature_replayed",
                )
            if len(self._seen) >= self.capacity:
                raise AuthRefused(
                    "the node checks too many deposit-mode requests at once: retry in a minute",
                    status=503, code="too_many_requests",
                )
            self._seen.add(signature)
            heapq.heappush(self._expiry, (expires, signature))
