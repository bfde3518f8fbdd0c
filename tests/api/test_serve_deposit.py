"""`tantieme serve` in deposit mode end to end: a real process, the real model, the embedded
chain and anvil. A second account deposits through the node (no gas), asks over HTTP with
`tantieme ask --node URL --deposit` several times, the node settles on `POST /admin/settle`,
the deposit falls by exactly the metered fees, and a fresh home verifies the records."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.node import Node
from tantieme.payments.payer_auth import HEADER, sign

from .served import BIN, env, free_port, serving, tantieme
from .test_serve_e2e import QUESTION, home  # noqa: F401  (the served home, on both chains)

pytestmark = pytest.mark.slow

PAYER_INDEX = 7
PAYER = dev_account(PAYER_INDEX)
ADMIN = {"Authorization": "Bearer secret"}


def as_payer(home, *args: str) -> subprocess.CompletedProcess:
    """`tantieme ARGS` as the payer: a second account on this machine, reading the node's chain."""
    return subprocess.run(
        [str(BIN / "tantieme"), *args], env=env(home, TANTIEME_PRIVATE_KEY=DEV_PRIVATE_KEYS[PAYER_INDEX]),
        capture_output=True, text=True, timeout=300,
    )


def test_serve_deposit__a_second_account_deposits_asks_and_is_settled__fresh_home_verifies(home, tmp_path):  # noqa: F811
    with Node.open() as node:
        node.faucet(PAYER.address)
        operator, chain_id = node.address, node.conn.chain_id
        balance = node.balance(PAYER.address)
    port = free_port()
    serve = f"TANTIEME_ADMIN_TOKEN=secret exec {BIN / 'tantieme'} serve --port {port}"
    with serving(home, command=serve, port=port) as (url, _process):
        deposited = as_payer(home, "deposit", "1", "--node", url, "--json")
        assert deposited.returncode == 0, deposited.stdout + deposited.stderr
        assert json.loads(deposited.stdout)["deposit"] == str(10**18)

        answers = []
        for _ in range(3):
            asked = as_payer(home, "ask", "--node", url, "--deposit", QUESTION, "--json")
            assert asked.returncode == 0, asked.stdout + asked.stderr
            answers.append(json.loads(asked.stdout))
        assert all("four" in a["answer"]["text"].lower() and a["payer"] == PAYER.address for a in answers)
        fees = [int(a["fee"]) for a in answers]
        assert all(0 < fee < int(a["quote"]) for fee, a in zip(fees, answers, strict=True))
        shown = as_payer(home, "ask", "--node", url, "--deposit", QUESTION)
        assert shown.returncode == 0 and "from your deposit, signed" in shown.stdout, shown.stdout + shown.stderr

        # Someone else's header, and a replay of the payer's: refused, nothing charged.
        raw = json.dumps({"messages": [{"role": "user", "content": QUESTION}]}).encode()
        forged = sign(dev_account(8), "POST", "/v1/chat/completions", raw, operator, chain_id)
        forged = forged.replace(dev_account(8).address, PAYER.address)
        refused = httpx.post(f"{url}/v1/chat/completions", content=raw, headers={HEADER: forged})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_payer_signature"

        settled = httpx.post(f"{url}/admin/settle", headers=ADMIN, timeout=120)
        assert settled.status_code == 200, settled.text
        (batch,) = settled.json()["batches"]
        assert len(set(fees)) == 1  # greedy decoding: the same question, the same answer and fee
        assert (batch["records"], int(batch["total"])) == (4, 4 * fees[0])
        with Node.open(readonly=True) as reader:
            assert reader.ledger.functions.deposits(PAYER.address, operator).call() == 10**18 - 4 * fees[0]  # to the wei
            assert reader.balance(PAYER.address) == balance - 10**18  # deposited once, no gas

        fresh = tmp_path / "fresh-home"
        for answer in answers:
            verified = tantieme(fresh, "verify", "--node", url, answer["record"], *home.chain_args, "--json")
            assert verified.returncode == 0, verified.stdout + verified.stderr
            report = json.loads(verified.stdout)
            assert report["status"] == "verified" and all(c["ok"] for c in report["checks"])
