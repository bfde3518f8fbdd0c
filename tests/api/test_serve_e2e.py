"""`tantieme serve` end to end: a real process on a loopback port, the real model, the
embedded chain and anvil, the official `openai` client, and `tantieme verify --node` from a
fresh home."""

from __future__ import annotations

import json
import signal
import socket
import threading
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.node import Node
from tantieme.quickstart import SAMPLES_DIR

from .served import serving, tantieme

pytestmark = pytest.mark.slow

QUESTION = "How many hives can a flat roof of forty square metres hold?"


class Home(type(Path())):
    """A node's home, with how a fresh home reaches its chain and its works' ids."""

    chain_args: list[str]
    works: dict[str, int]


@pytest.fixture(params=["embedded", "anvil"])
def home(request, tantieme_home):
    """A node with the sample works on bees (open) and the lighthouse letters (no AI)."""
    served = Home(tantieme_home)
    if request.param == "embedded":
        request.getfixturevalue("init_embedded")()
        served.chain_args = ["--chain-dir", str(tantieme_home / "chain")]
    else:
        url = request.getfixturevalue("initialised_anvil")
        served.chain_args = ["--rpc-url", url]
    with Node.open() as node:
        bees = registry.register(node, SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open")).id
        letters = registry.register(node, SAMPLES_DIR / "dana-lighthouse-letters.md", terms=preset("no-ai")).id
    served.works = {"bees": bees, "letters": letters}
    return served


def test_serve__openai_client_streams_and_reads__verify_from_a_fresh_home(home, tmp_path):
    with serving(home, "--self-pay") as (url, _process):
        client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        (model,) = client.models.list().data
        answer = client.chat.completions.create(model=model.id, messages=[{"role": "user", "content": QUESTION}])
        text = answer.choices[0].message.content
        assert "four" in text.lower()
        extra = answer.tantieme  # the extension object, read unchanged by the client
        assert [s["asset"] for s in extra["sources"]][0] == home.works["bees"]
        assert home.works["letters"] not in [s["asset"] for s in extra["sources"]]
        assert answer.usage.completion_tokens > 0 and int(extra["fee"]) > 0

        stream = client.chat.completions.create(
            model=model.id, messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text  # greedy: the same answer
        assert chunks[-1].choices[0].finish_reason == "stop"
        streamed = chunks[-1].tantieme
        assert streamed["sources"] == extra["sources"] and streamed["record"] != extra["record"]

        fresh = tmp_path / "fresh-home"
        pending = tantieme(fresh, "verify", "--node", url, extra["record"], *home.chain_args)
        assert pending.returncode == 3, pending.stdout + pending.stderr
        settled = tantieme(home, "settle", "--json")  # another process writes while the node serves
        assert settled.returncode == 0, settled.stdout + settled.stderr
        assert json.loads(settled.stdout)[0]["records"] == 2
        verified = tantieme(fresh, "verify", "--node", url, extra["record"], *home.chain_args, "--json")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        report = json.loads(verified.stdout)
        assert report["status"] == "verified" and all(c["ok"] for c in report["checks"])

        unknown = tantieme(fresh, "verify", "--node", url, "0x" + "ab" * 32, *home.chain_args)
        assert unknown.returncode == 1 and "404" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.fixture
def embedded_home(tantieme_home, init_embedded):
    init_embedded()
    with Node.open() as node:
        registry.register(node, SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open"))
    return tantieme_home


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve__stopped_during_an_answer__delivers_it_journals_it_exits_0(embedded_home, stop):
    from tantieme.ledger.settlement import journal

    with serving(embedded_home, "--self-pay") as (url, process):
        result: dict = {}

        def ask() -> None:
            result["response"] = httpx.post(
                f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}, timeout=300
            )

        asking = threading.Thread(target=ask)
        asking.start()
        for _ in range(200):  # the question is with the model worker
            if "tantieme_answer_seconds_count" in httpx.get(f"{url}/metrics").text and _busy(url):
                break
        process.send_signal(stop)
        asking.join(300)
        assert process.wait(300) == 0, process.stderr.read()
        out = process.stdout.read()
    response = result["response"]
    assert response.status_code == 200
    record = response.json()["tantieme"]["record"]
    assert journal().record(record).answer == response.json()["choices"][0]["message"]["content"]
    assert "stopped" in out


def _busy(url: str) -> bool:
    text = httpx.get(f"{url}/metrics").text
    return 'tantieme_payments_total{method="self",outcome="admitted"} 1.0' in text


def test_serve__x402_by_default__unpaid_402_quote_and_models_without_a_charge(embedded_home):
    with serving(embedded_home, "--json") as (url, process):
        response = httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
        assert response.status_code == 402 and "PAYMENT-REQUIRED" in response.headers
        assert response.json()["error"]["code"] == "payment_required"
        assert httpx.get(f"{url}/v1/models").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(120) == 0
        started = json.loads(process.stdout.read())
    assert started["url"] == url and started["payments"] == "x402+deposit" and started["registered_model"] == started["model"]
    assert tantieme(embedded_home, "history", "--json").stdout.strip() == "[]"


def test_serve__port_in_use__one_line_saying_so(embedded_home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = tantieme(embedded_home, "serve", "--port", str(port))
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr
