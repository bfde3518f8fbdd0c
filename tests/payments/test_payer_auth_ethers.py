"""The `X-Tantieme-Payer` header made by an independent tool (ethers, `data/payer_auth_ethers.cjs`,
from the request text as docs/api.md gives it) is the one tantieme makes, and the node takes it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.payments import payer_auth

DATA = Path(__file__).parent / "data"
PAYER_INDEX = 5
OPERATOR = dev_account(0).address


def _ethers_header(nodejs, body: str, at: int, chain_id: int = 1337) -> str:
    request = {
        "key": DEV_PRIVATE_KEYS[PAYER_INDEX], "method": "post", "path": "/v1/chat/completions", "body": body,
        "at": at, "operator": OPERATOR.lower(), "chainId": chain_id,
    }
    return nodejs(DATA / "payer_auth_ethers.cjs", json.dumps(request), as_json=False)


def test_header_by_ethers__the_same_as_ours__the_node_takes_it_once(nodejs):
    body = json.dumps({"model": "default", "messages": [{"role": "user", "content": "Wie viele Bienen? 🐝"}]})
    at = time.time_ns() // 1_000_000
    header = _ethers_header(nodejs, body, at)
    ours = payer_auth.sign(dev_account(PAYER_INDEX), "POST", "/v1/chat/completions", body.encode(), OPERATOR, 1337, at=at)
    assert header.lower() == ours.lower()

    node = payer_auth.Authenticator(OPERATOR, 1337)
    assert node.verify(header, "POST", "/v1/chat/completions", body.encode()) == dev_account(PAYER_INDEX).address
    with pytest.raises(payer_auth.AuthRefused) as replayed:
        node.verify(header, "POST", "/v1/chat/completions", body.encode())
    assert replayed.value.status == 409


def test_header_by_ethers__for_another_chain__refused(nodejs):
    body = "{}"
    header = _ethers_header(nodejs, body, time.time_ns() // 1_000_000, chain_id=31337)
    with pytest.raises(payer_auth.AuthRefused) as refused:
        payer_auth.Authenticator(OPERATOR, 1337).verify(header, "POST", "/v1/chat/completions", body.encode())
    assert refused.value.status == 401
