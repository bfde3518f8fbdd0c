"""The `X-Tantieme-Payer` header: signed per request, for one node and chain, valid five minutes, once."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from tantieme.chain.accounts import dev_account
from tantieme.payments.payer_auth import SKEW_S, VALID_S, AuthRefused, Authenticator, message, sign

PAYER, OTHER = dev_account(5), dev_account(6)
OPERATOR, CHAIN = dev_account(0).address, 31337
PATH, BODY = "/v1/chat/completions", b'{"messages": [{"role": "user", "content": "Bees?"}]}'
NOW = 1_764_450_000_123  # unix milliseconds


class Clock:
    def __init__(self) -> None:
        self.now = NOW / 1000

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(clock) -> Authenticator:
    return Authenticator(OPERATOR, CHAIN, clock=clock)


def _header(account=PAYER, at: int = NOW, operator: str = OPERATOR, chain: int = CHAIN, body: bytes = BODY,
            method: str = "POST", path: str = PATH) -> str:
    return sign(account, method, path, body, operator, chain, at)


def test_message__exactly_as_documented():
    assert message("post", PATH, b"test", NOW, OPERATOR.lower(), CHAIN) == (
        "tantieme request\n"
        "POST /v1/chat/completions\n"
        "body sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
        f"time: {NOW}\n"
        f"operator: {OPERATOR}\n"
        "chain: 31337"
    )


def test_verify__a_fresh_header__its_payer(auth):
    assert auth.verify(_header(), "POST", PATH, BODY) == PAYER.address
    # The signature is a plain EIP-191 one: any wallet's personal_sign makes it.
    address, at, signature = _header(at=NOW + 1).split(":")
    text = message("POST", PATH, BODY, NOW + 1, OPERATOR, CHAIN)
    assert Account.recover_message(encode_defunct(text=text), signature=signature) == address == PAYER.address


def test_verify__replayed__409(auth):
    header = _header()
    auth.verify(header, "POST", PATH, BODY)
    with pytest.raises(AuthRefused, match="used already") as refused:
        auth.verify(header, "POST", PATH, BODY)
    assert (refused.value.status, refused.value.code) == (409, "payer_signature_replayed")


def test_verify__replayed_with_the_high_s_twin__409(auth):
    """The same signature with s' = n - s (and v flipped) recovers the same signer: still one use."""
    header = _header()
    auth.verify(header, "POST", PATH, BODY)
    address, at, signature = header.split(":")
    raw = bytes.fromhex(signature[2:])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    twin = raw[:32] + (n - int.from_bytes(raw[32:64], "big")).to_bytes(32, "big") + bytes([55 - raw[64]])
    with pytest.raises(AuthRefused) as refused:
        auth.verify(f"{address}:{at}:0x{twin.hex()}", "POST", PATH, BODY)
    assert refused.value.status in (401, 409)


@pytest.mark.parametrize("age", [VALID_S * 1000 + 1, -(SKEW_S * 1000 + 1)])
def test_verify__expired_or_from_the_future__401(auth, age):
    with pytest.raises(AuthRefused, match="a header is valid 300 s") as refused:
        auth.verify(_header(at=NOW - age), "POST", PATH, BODY)
    assert (refused.value.status, refused.value.code) == (401, "payer_signature_expired")


@pytest.mark.parametrize(
    "header, method, path, body",
    [
        (_header(chain=1), "POST", PATH, BODY),  # wrong chain
        (_header(operator=OTHER.address), "POST", PATH, BODY),  # another node
        (_header(), "POST", PATH, BODY + b" "),  # body changed
        (_header(), "GET", PATH, BODY),  # another request
        (_header(), "POST", "/v1/deposit/payments", BODY),
        (_header(account=OTHER).replace(OTHER.address, PAYER.address), "POST", PATH, BODY),  # someone else's
    ],
)
def test_verify__signed_for_something_else__401(auth, header, method, path, body):
    with pytest.raises(AuthRefused, match=f"is not {PAYER.address}'s signature of this request") as refused:
        auth.verify(header, method, path, body)
    assert (refused.value.status, refused.value.code) == (401, "invalid_payer_signature")


@pytest.mark.parametrize(
    "value, reason",
    [
        (None, "needs the X-Tantieme-Payer header"),
        ("", "needs the X-Tantieme-Payer header"),
        ("0x12:1:0x00", "is not PAYER:TIME:SIGNATURE"),
        (f"{PAYER.address}:soon:0x00", "is not PAYER:TIME:SIGNATURE"),
        (f"{PAYER.address}:{NOW}", "is not PAYER:TIME:SIGNATURE"),
        (f"{PAYER.address}:{NOW}:0xzz", "not 65 bytes"),
        (f"{PAYER.address}:{NOW}:0x" + "00" * 64, "not 65 bytes"),
        (f"{PAYER.address}:{NOW}:0x" + "00" * 65, "is not .*'s signature"),
    ],
)
def test_verify__malformed__401(auth, value, reason):
    with pytest.raises(AuthRefused, match=reason) as refused:
        auth.verify(value, "POST", PATH, BODY)
    assert refused.value.status == 401


def test_verify__seen_signatures_are_dropped_once_expired__bounded(clock):
    auth = Authenticator(OPERATOR, CHAIN, capacity=2, clock=clock)
    auth.verify(_header(), "POST", PATH, BODY)
    auth.verify(_header(at=NOW + 1), "POST", PATH, BODY)
    with pytest.raises(AuthRefused, match="too many") as full:
        auth.verify(_header(at=NOW + 2), "POST", PATH, BODY)
    assert full.value.status == 503
    clock.now = (NOW + VALID_S * 1000 + 1) / 1000  # the first one expired: forgotten, its room free
    auth.verify(_header(at=NOW + 3), "POST", PATH, BODY)
    assert len(auth._seen) == 2
