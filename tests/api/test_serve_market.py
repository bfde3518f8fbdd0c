"""The market end to end, on anvil with the real model: two real `tantieme serve` nodes, each
an ERC-8004 agent offering the same model at its own prices over its own works; README's
"Asking the market" run exactly as written pays the cheaper one over x402 and rates it once
it is settled; stopped, it fails and the other answers. The cheaper node's offer names an old
URL until its `tantieme serve` brings the offer in line with what it serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tantieme import interaction
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.market import offers as market
from tantieme.node import Node
from tantieme.quickstart import SAMPLES_DIR

from .served import BIN, env, free_port, healthy, serving

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
TAI = 10**18
PAYER, OTHER = 7, 2  # README's payer; the second node's operator


def readme_block() -> str:
    section = README.read_text().split("## Asking the market", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    return block


def other_node(home: Path, base: Path) -> dict[str, str]:
    """A second home on `base`'s chain and deployment, signing with dev key OTHER: its env."""
    (home / "deployments").mkdir(parents=True)
    shutil.copytree(base / "deployments", home / "deployments", dirs_exist_ok=True)
    settings = json.loads((base / "node.json").read_text())
    settings |= {"signer": "keystore", "keystore": None, "address": dev_account(OTHER).address}
    (home / "node.json").write_text(json.dumps(settings))
    return env(home, TANTIEME_PRIVATE_KEY=DEV_PRIVATE_KEYS[OTHER])


def run(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / "tantieme"), *args], env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_market__cheaper_node_paid_and_rated__fallback_when_it_stops(initialised_anvil, tantieme_home, tmp_path, monkeypatch):
    with Node.open() as node:
        registry.register(node, SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open"))
        model = interaction.register_model(node)
        node.faucet(dev_account(PAYER).address)
        node.faucet(dev_account(OTHER).address)  # an x402 node signs its records as their payer: it holds the quote
        payer_before = node.balance(dev_account(PAYER).address)

    # The second node: its own works, the same model at half the prices, offered at an old URL.
    cheap_home, port = tmp_path / "cheap", free_port()
    cheap_url = f"http://127.0.0.1:{port}"
    cheap = other_node(cheap_home, tantieme_home)
    run(cheap, "register", str(SAMPLES_DIR / "chen-bicycle-mending.md"), "--terms", "open")
    with monkeypatch.context() as m:
        m.setenv("TANTIEME_HOME", str(cheap_home))
        entry = interaction.ModelEntry(**{**model.__dict__, "price_prompt_per_million": 50 * TAI,
                                          "price_completion_per_million": 200 * TAI})
        interaction.Models(default=model.asset_id, models={str(model.asset_id): entry}).save()
    cheap_agent = json.loads(run(cheap, "agent", "register", "--url", "http://127.0.0.1:1", "--json").stdout)["agent_id"]
    run(cheap, "offers", "set", "--latency-ms", "3000")
    run(cheap, "agent", "register", "--url", cheap_url)  # moved: its offer still names the old URL

    deadline = time.monotonic() + 120  # another test of this port may still be stopping
    while healthy("http://127.0.0.1:8402") is not None and time.monotonic() < deadline:
        time.sleep(1)
    serve_cheap = f"TANTIEME_PRIVATE_KEY={DEV_PRIVATE_KEYS[OTHER]} exec tantieme serve --port {port}"
    with serving(tantieme_home, port=8402):
        with serving(cheap_home, command=serve_cheap, port=port):
            with Node.open(readonly=True) as node:
                offered = market.get_offer(node, cheap_agent)
            assert offered.endpoint == f"{cheap_url}/v1/chat/completions"  # `serve` brought it in line

            block = readme_block()
            ran = subprocess.run(["bash", "-c", block], env=env(tantieme_home), capture_output=True, text=True, timeout=600)
            assert ran.returncode == 0, ran.stdout + ran.stderr
            out = " ".join(ran.stdout.split())
            assert f"answered by agent #{cheap_agent} in " in out and "pending: record 0x" in out, ran.stdout + ran.stderr

            payer = env(tantieme_home, TANTIEME_PRIVATE_KEY=DEV_PRIVATE_KEYS[PAYER])
            record = json.loads((tantieme_home / "routed.jsonl").read_text().splitlines()[0])
            assert record["agent_id"] == cheap_agent and record["rate"] == "90"
            with Node.open(readonly=True) as node:
                waited = time.monotonic() + 60  # the node settles the x402 payment once the answer is delivered
                while node.balance(dev_account(PAYER).address) != payer_before - int(record["fee"]):
                    assert time.monotonic() < waited, "the x402 payment was not settled at the metered fee"
                    time.sleep(0.5)

            run(cheap, "settle")
            rated = json.loads(run(payer, "agent", "feedback", "--routed", "--json").stdout)
            assert [(f["agent_id"], f["value"], f["record"]) for f in rated["rated"]] == [(cheap_agent, "90", record["record"])]

        # The cheaper node has stopped: it fails, this one answers.
        asked = json.loads(run(payer, "ask", "--route", "cheapest", "--max-tokens", "16", "How do I mend a bike?",
                               "--json").stdout)
    first, second = asked["route"]["tried"]
    assert first["agent_id"] == cheap_agent and first["error"].startswith(f"cannot reach the node at {cheap_url}")
    assert second["error"] is None and asked["route"]["answered_by"]["agent_id"] != cheap_agent
    assert asked["route"]["answered_by"]["endpoint"] == "http://127.0.0.1:8402/v1/chat/completions"
    assert asked["fee"] == asked["route"]["paid"] and int(asked["fee"]) > 0

