"""An agent treasury pays a real `tantieme serve` (the real model) over x402 on anvil, end to
end through the CLI: the owner funds it and sets its limits (`tantieme agent fund|limits`),
the agent key asks with `tantieme ask --node URL --from-treasury`; the node's facilitator
verifies through the token's ERC-1271 check and settles. A quote above the cap, and a payee
not allowed, are refused before anything is sent. The owner pausing while the node answers
makes the node's settlement (before the answer is sent) fail: the answer is withheld, nothing
moves, the node keeps serving, and the dead approval is released. Foundry's `cast` reads the treasury."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from web3 import Web3

from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain import connect
from tantieme.chain.accounts import dev_account
from tantieme.chain.deploy import contract
from tantieme.node import Node
from tantieme.quickstart import SAMPLES_DIR

from .served import serving, tantieme
from .test_serve_agent import as_account

pytestmark = pytest.mark.slow

QUESTION = "How many hives can a flat roof of forty square metres hold?"
AGENT = 6


def _json(result) -> dict:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def _delivered(url: str, count: int) -> None:
    """Wait until the node has finished delivering `count` x402 payments (settled or not)."""
    deadline = time.monotonic() + 120
    while f'tantieme_payments_total{{method="x402",outcome="delivered"}} {count}.0' not in httpx.get(f"{url}/metrics").text:
        assert time.monotonic() < deadline, "the node did not deliver"
        time.sleep(0.05)


def test_treasury__pays_a_served_node__limits_refuse_first__pause_mid_request(initialised_anvil, cast, tantieme_home):
    with Node.open() as node:
        registry.register(node, SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open"))
        operator, token = node.address, node.deployment.token
    agent = dev_account(AGENT).address
    funded = _json(tantieme(tantieme_home, "agent", "fund", "2", "--json"))
    address = funded["treasury"]
    assert funded["deployed"] and funded["balance"] == str(2 * 10**18)
    limits = _json(tantieme(
        tantieme_home, "agent", "limits", "--daily", "1", "--per-payment", "0.5", "--allow", operator, "--agent", agent, "--json",
    ))
    assert (limits["agent"], limits["payees"], limits["per_payment_cap"]) == (agent, [operator], str(10**18 // 2))

    def uint(address: str, signature: str, *args: str) -> int:
        (value,) = cast("call", address, signature, *args, "--rpc-url", initialised_anvil)
        return int(str(value).split()[0])  # cast prints large numbers with their scientific form after

    def balance(who: str) -> int:
        return uint(token, "balanceOf(address)(uint256)", who)

    with serving(tantieme_home) as (url, _process):
        paid = _json(as_account(tantieme_home, AGENT, "ask", "--node", url, QUESTION, "--max-tokens", "24", "--from-treasury", "--json"))
        assert paid["payer"] == address and "four" in paid["answer"]["text"].lower()
        fee, quote = int(paid["fee"]), int(paid["quote"])
        assert 0 < fee < quote
        _delivered(url, 1)
        # Outside tools read the treasury: quote − fee refunded to it through `refundPayment`,
        # so today counts the fee.
        assert uint(address, "spentToday()(uint256)") == fee
        assert balance(address) == 2 * 10**18 - fee
        (owner,) = cast("call", address, "owner()(address)", "--rpc-url", initialised_anvil)
        assert owner.lower() == operator.lower()

        w3 = Web3(Web3.HTTPProvider(initialised_anvil))
        held, nonce = balance(address), w3.eth.get_transaction_count(agent)
        tantieme(tantieme_home, "agent", "limits", "--per-payment", "0.001")
        over = as_account(tantieme_home, AGENT, "ask", "--node", url, QUESTION, "--max-tokens", "24", "--from-treasury")
        assert over.returncode == 1 and "above the treasury's per-payment cap of 0.001 TAI: not paid" in over.stderr, over.stderr
        assert "Traceback" not in over.stderr
        tantieme(tantieme_home, "agent", "limits", "--per-payment", "0.5", "--disallow", operator)
        other = as_account(tantieme_home, AGENT, "ask", "--node", url, QUESTION, "--max-tokens", "24", "--from-treasury")
        assert other.returncode == 1 and f"{operator} is not on the treasury's allow-list" in other.stderr, other.stderr
        assert (balance(address), w3.eth.get_transaction_count(agent)) == (held, nonce)  # nothing was sent

        # The owner pauses while the node answers: its settlement (before the answer is sent)
        # fails, the answer is withheld, nothing moves, the node goes on serving.
        _json(tantieme(tantieme_home, "agent", "limits", "--allow", operator, "--json"))
        before = balance(operator)
        owner_conn = connect("rpc", rpc_url=initialised_anvil, account=dev_account(0))  # the owner, straight to the chain
        pause = contract(owner_conn, "agent_treasury", address).functions.pause()
        asked: dict = {}
        asking = threading.Thread(target=lambda: asked.update(result=as_account(
            tantieme_home, AGENT, "ask", "--node", url, QUESTION, "--max-tokens", "64", "--from-treasury",
        )))
        asking.start()
        deadline = time.monotonic() + 120
        while 'method="x402",outcome="admitted"} 2.0' not in httpx.get(f"{url}/metrics").text:
            assert time.monotonic() < deadline and asking.is_alive(), "the node did not admit the payment"
            time.sleep(0.02)
        owner_conn.transact(pause, gas=100_000)
        asking.join(300)
        withheld = asked["result"]
        assert withheld.returncode == 1 and "the node refused the payment from the treasury" in withheld.stderr, withheld.stderr
        assert 'tantieme_payments_total{method="x402",outcome="refused"} 1.0' in httpx.get(f"{url}/metrics").text
        assert (balance(address), balance(operator)) == (held, before)
        assert httpx.get(f"{url}/healthz").status_code == 200
        report = _json(tantieme(tantieme_home, "agent", "spend", "--report", "--json"))
        # The client released the approval the node refused, so the day counts only the first fee.
        assert report["paused"] and [p["status"] for p in report["payments"]] == ["collected", "released"]
        assert _json(tantieme(tantieme_home, "agent", "spend", "--release", "--json"))["released"] == []
        assert report["spent_today"] == str(fee)

