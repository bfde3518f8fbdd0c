"""The node as an ERC-8004 agent end to end, on anvil: a real `tantieme serve` with the real
model; the CLI registers the node with the served file's URL; a second account asks and pays
over x402 (`tantieme ask --node`); the node settles; the client rates the answer
(`tantieme agent feedback`) and `tantieme agent show` counts it, while a Sybil without the
payment is refused. Outside tools check it all: Foundry's `cast` reads `tokenURI`,
`getAgentWallet` and `getSummary`, and the registration file fetched over HTTP at the
on-chain URI names the same agent."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.node import Node
from tantieme.quickstart import SAMPLES_DIR

from .served import BIN, env, free_port, serving, tantieme

pytestmark = pytest.mark.slow

QUESTION = "How many hives can a flat roof of forty square metres hold?"
CLIENT, SYBIL = 6, 8


def as_account(home, index: int, *args: str) -> subprocess.CompletedProcess:
    """`tantieme ARGS` as dev account `index`: another account on this machine, on the node's chain."""
    return subprocess.run(
        [str(BIN / "tantieme"), *args], env=env(home, TANTIEME_PRIVATE_KEY=DEV_PRIVATE_KEYS[index]),
        capture_output=True, text=True, timeout=300,
    )


def test_agent__registered_paid_rated__read_by_cast_and_over_http(initialised_anvil, cast, tantieme_home):
    with Node.open() as node:
        registry.register(node, SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open"))
        node.faucet(dev_account(CLIENT).address)
        operator, deployment = node.address, node.deployment
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registered = tantieme(tantieme_home, "agent", "register", "--url", url, "--name", "Roof bees node", "--json")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    agent = json.loads(registered.stdout)["agent_id"]

    with serving(tantieme_home, port=port):
        asked = as_account(tantieme_home, CLIENT, "ask", "--node", url, QUESTION, "--max-tokens", "24", "--json")
        assert asked.returncode == 0, asked.stdout + asked.stderr
        record = json.loads(asked.stdout)["record"]

        early = as_account(tantieme_home, CLIENT, "agent", "feedback", record, "--node", url, "--value", "90")
        assert early.returncode == 1 and "is not settled yet: wait for the operator's batch" in early.stderr, early.stderr
        settled = tantieme(tantieme_home, "settle", "--json")
        assert settled.returncode == 0, settled.stdout + settled.stderr

        sybil = as_account(tantieme_home, SYBIL, "agent", "feedback", record, "--node", url, "--value", "100")
        assert sybil.returncode == 1 and f"{dev_account(SYBIL).address} did not pay for this answer" in sybil.stderr
        rated = as_account(
            tantieme_home, CLIENT, "agent", "feedback", record, "--node", url, "--value", "90", "--tag1", "starred", "--json",
        )
        assert rated.returncode == 0, rated.stdout + rated.stderr
        feedback = json.loads(rated.stdout)
        assert (feedback["agent_id"], feedback["client"], feedback["value"]) == (agent, dev_account(CLIENT).address, "90")
        again = as_account(tantieme_home, CLIENT, "agent", "feedback", record, "--node", url, "--value", "10")
        assert again.returncode == 1 and "rated already" in again.stderr

        shown = tantieme(tantieme_home, "agent", "show", "--json")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        summary = json.loads(shown.stdout)
        assert summary["wallet"] == summary["owner"] == operator
        assert summary["reputation"] | {"registry": None} == {
            "registry": None, "clients": 1, "count": 1, "value": "90", "decimals": 0, "average": "90",
        }

        # Outside tools: cast reads the registries, HTTP fetches the file at the on-chain URI.
        rpc = ("--rpc-url", initialised_anvil)
        (uri,) = cast("call", deployment.identity, "tokenURI(uint256)(string)", str(agent), *rpc)
        assert uri == f"{url}/.well-known/agent-registration.json"
        (wallet,) = cast("call", deployment.identity, "getAgentWallet(uint256)(address)", str(agent), *rpc)
        assert wallet.lower() == operator.lower()
        count, value, decimals = cast(
            "call", deployment.reputation, "getSummary(uint256,address[],string,string)(uint64,int128,uint8)",
            str(agent), f"[{dev_account(CLIENT).address}]", "", "", *rpc,
        )
        assert (int(count), int(value), int(decimals)) == (1, 90, 0)
        served = httpx.get(uri).json()
        assert served["name"] == "Roof bees node" and served["x402Support"] is True
        assert served["registrations"] == [{"agentId": agent, "agentRegistry": f"eip155:31337:{deployment.identity}"}]
        assert {s["name"]: s["endpoint"] for s in served["services"]}["x402"] == f"{url}/v1/chat/completions"
