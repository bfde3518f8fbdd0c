"""`tantieme serve` paid over x402 end to end: a real process, the real model, the embedded
chain and anvil; the official `openai` client pays through the official x402 client, a
fresh home verifies the answer and its payment from the bundle and the chain."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from tantieme.chain.accounts import dev_account
from tantieme.node import Node

from .served import serving, tantieme
from .test_serve_e2e import QUESTION, home  # noqa: F401  (the served home, on both chains)

pytestmark = pytest.mark.slow

ASKER = dev_account(6)


def _paid_answer(url: str, chain_id: int, token: str, max_retries: int = 0, **request: object):
    """The official openai client (async, retrying `max_retries` times), its HTTP client the
    official x402 one paying from ASKER: its answer to QUESTION (`request`: more fields)."""
    from openai import AsyncOpenAI
    from x402 import x402Client
    from x402.http.clients import x402HttpxClient
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact import register_exact_evm_client

    payer = register_exact_evm_client(x402Client(), EthAccountSigner(ASKER))
    payer.set_spend_controls({"allowed_assets": [{"network": f"eip155:{chain_id}", "asset": token}]})

    async def ask():
        async with x402HttpxClient(payer, timeout=300) as http:
            client = AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", http_client=http, max_retries=max_retries)
            return await client.chat.completions.create(
                model="default", messages=[{"role": "user", "content": QUESTION}], **request,
            )

    return asyncio.run(ask())


def _until(check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def test_serve_x402__openai_client_pays_the_metered_fee__fresh_home_verifies(home, tmp_path):  # noqa: F811
    with Node.open() as node:
        node.faucet(ASKER.address)
        before, chain_id, token = node.balance(ASKER.address), node.conn.chain_id, node.deployment.token
    with serving(home) as (url, _process):
        unpaid = httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
        assert unpaid.status_code == 402 and "PAYMENT-REQUIRED" in unpaid.headers
        assert unpaid.json()["error"]["code"] == "payment_required"

        answer = _paid_answer(url, chain_id, token)
        extra = answer.tantieme
        assert "four" in answer.choices[0].message.content.lower()
        assert extra["sources"][0]["asset"] == home.works["bees"] and extra["payer"] == ASKER.address
        fee, quote = int(extra["fee"]), int(extra["quote"])
        assert 0 < fee < quote
        bundle = _until(lambda: (b := httpx.get(f"{url}/records/{extra['record']}").json()).get("payment", {}).get("refund_tx") and b)
        with Node.open(readonly=True) as reader:
            assert reader.balance(ASKER.address) == before - fee  # to the wei
        assert bundle["payment"]["payer"] == ASKER.address and int(bundle["payment"]["refund"]) == quote - fee

        settled = tantieme(home, "settle", "--json")  # beside the server, as the node's operator
        assert settled.returncode == 0, settled.stdout + settled.stderr
        fresh = tmp_path / "fresh-home"
        verified = tantieme(fresh, "verify", "--node", url, extra["record"], *home.chain_args, "--json")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        checks = {c["name"]: c["ok"] for c in json.loads(verified.stdout)["checks"]}
        assert all(checks.values()) and {"payment binding", "authorization used", "payment settled", "refund"} <= set(checks)
