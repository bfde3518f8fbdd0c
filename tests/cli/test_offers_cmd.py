"""`tantieme offers [set|remove]` as a user types it, on the embedded chain; on anvil, outside
tools (Foundry's `cast`, ethers) set and read offers as the CLI prints them."""

from __future__ import annotations

import os
from pathlib import Path

from tantieme import interaction
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import DEV_PRIVATE_KEYS
from tantieme.market.routing import Latencies
from tantieme.node import Node

from .conftest import run, run_json

TAI = 10**18
URL = "http://127.0.0.1:8402"
DATA = Path(__file__).parent / "data"


def serve_a_model() -> int:
    """A model asset this node serves at 100 / 400 TAI per million tokens (no weights loaded)."""
    with Node.open() as node:
        model = registry.register_hash(
            node, os.urandom(32), kind="model", terms=preset("open"), title="m", media_type="application/octet-stream",
        ).id
    interaction.Models(default=model, models={str(model): interaction.ModelEntry(
        asset_id=model, name="m", backend="local", options={}, weights_hash="00" * 32,
        price_prompt_per_million=100 * TAI, price_completion_per_million=400 * TAI,
    )}).save()
    return model


def test_offers__set_list_route_remove(json_rules):
    run("init")
    assert run_json("offers") == {"route": None, "offers": []}
    assert "no model offers on chain yet" in run("offers").output
    assert "not an agent on this chain yet: run `tantieme agent register --url URL` first" in run(
        "offers", "set", "--latency-ms", "2500", ok=False).output
    model = serve_a_model()
    agent = run_json("agent", "register", "--url", URL)["agent_id"]

    done = run_json("offers", "set", "--latency-ms", "2500")
    json_rules(done)
    offer = {
        "agent_id": agent, "model": model, "price_prompt_per_million": str(100 * TAI),
        "price_completion_per_million": str(400 * TAI), "endpoint": URL + "/v1/chat/completions",
        "p95_latency_ms": 2500, "measured_p95_ms": None, "consent": ["retrieval"],
    }
    assert done["offer"] == offer and done["tx"].startswith("0x") and int(done["gas"]) > 0
    text = run("offers", "set", "--latency-ms", "2500").output
    assert "the offer is current, nothing sent: model" in text and "100 / 400 TAI per million prompt / completion" in text

    listed = run_json("offers")
    json_rules(listed)
    assert listed == {"route": None, "offers": [offer]}
    Latencies().record(offer["endpoint"], 3_100)
    assert run_json("offers")["offers"][0]["measured_p95_ms"] == 3_100
    assert "3,100 measured" in run("offers").output

    # 512 prompt and 96 completion tokens at 100 / 400 TAI per million: 0.0896 TAI.
    routed = run_json("offers", "--route", "best", "--cap", "0.0896")
    assert [(o["agent_id"], o["quote"], o["score"], o["feedback"]) for o in routed["offers"]] == [
        (agent, str(896 * 10**14), 0.0, {"positive": 0, "count": 0}),
    ]
    assert routed["need"] == {"prompt_tokens": 512, "completion_tokens": 96, "cap": str(896 * 10**14), "consent": ["retrieval"]}
    assert run_json("offers", "--route", "cheapest", "--cap", "0.0895")["offers"] == []
    assert run_json("offers", "--route", "fastest", "--consent", "output-commercial")["offers"] == []
    assert "no offer fits" in run("offers", "--route", "fastest", "--cap", "0.01").output
    assert "'smartest' is not a routing strategy" in run("offers", "--route", "smartest", ok=False).output
    assert "'reading' is not an AI use" in run("offers", "--route", "best", "--consent", "reading", ok=False).output

    removed = run_json("offers", "remove")
    assert removed["agent_id"] == agent and removed["tx"].startswith("0x")
    assert run_json("offers")["offers"] == []
    assert f"agent #{agent} has no offer to remove" in run("offers", "remove", ok=False).output


def test_model_price__the_nodes_offer_takes_the_new_prices(json_rules):
    run("init")
    model = serve_a_model()
    priced = run_json("model", "price", str(model), "--prompt", "90")  # not an agent yet: no chain read
    assert priced["offer"] is None
    run_json("agent", "register", "--url", URL)
    assert run_json("model", "price", str(model), "--prompt", "80")["offer"] is None  # an agent without an offer
    offered = run_json("offers", "set", "--latency-ms", "2500")["offer"]

    done = run_json("model", "price", str(model), "--prompt", "50", "--completion", "200")
    json_rules(done)
    assert done["offer"]["agent_id"] == offered["agent_id"] and done["offer"]["tx"].startswith("0x")
    (now,) = run_json("offers")["offers"]
    assert now == offered | {"price_prompt_per_million": str(50 * TAI), "price_completion_per_million": str(200 * TAI)}
    assert "offer on chain takes these prices (tx 0x" in run("model", "price", str(model), "--prompt", "60").output
    same = run_json("model", "price", str(model), "--prompt", "60")
    assert same["offer"] == {"agent_id": offered["agent_id"], "model": model, "tx": None}  # current: nothing sent


def test_offers__an_outside_tool_sets_and_reads_them_as_the_cli_does(anvil, cast, nodejs, json_rules):
    """On anvil, Foundry's `cast` registers a second agent and sets its offer; `offers --json` lists
    both, and `cast` reads `activeCount` and `activeOffers` as the CLI prints them."""
    run("init", "--chain", "rpc", "--rpc-url", anvil)
    model = serve_a_model()
    mine = run_json("agent", "register", "--url", URL)["agent_id"]
    run("offers", "set", "--latency-ms", "2500")
    with Node.open(readonly=True) as node:
        identity, registry = node.deployment.identity, node.deployment.offers
    rpc, key = ("--rpc-url", anvil), ("--private-key", DEV_PRIVATE_KEYS[4])
    cast("send", identity, "register(string)", "data:,other", *key, *rpc)
    theirs = mine + 1
    cast("send", registry, "setOffer(uint256,uint256,uint256,uint256,string,uint32,uint8)", str(theirs), str(model),
         str(2**128 - 1), "7", "https://other.example/v1/chat/completions", "900", "12", *key, *rpc)

    listed = run_json("offers")["offers"]
    json_rules(listed)
    assert [(o["agent_id"], o["price_prompt_per_million"], o["consent"]) for o in listed] == [
        (mine, str(100 * TAI), ["retrieval"]), (theirs, str(2**128 - 1), ["retrieval", "output_commercial"])]
    assert cast("call", registry, "activeCount()(uint256)", *rpc) == [2]
    bits = {"retrieval": 4, "output_commercial": 8}  # as in the asset registry's `aiConsent`
    (page,) = cast("call", registry, "activeOffers(uint256,uint256)((uint256,uint256,uint256,uint256,string,uint32,"
                   "uint8,bool)[])", "0", "64", *rpc)
    assert [[str(v) for v in row] for row in page] == [[str(v) for v in (  # cast prints large numbers as strings
        o["agent_id"], o["model"], o["price_prompt_per_million"], o["price_completion_per_million"], o["endpoint"],
        o["p95_latency_ms"], sum(bits[use] for use in o["consent"]), True)] for o in listed]

    # ethers, too, decodes the page by the contract's field names.
    read = nodejs(DATA / "offers_ethers.cjs", anvil, registry)
    assert [(o["agentId"], o["model"], o["pricePromptPerMillion"], o["endpoint"], o["consent"], o["active"])
            for o in read] == [
        (str(o["agent_id"]), str(o["model"]), o["price_prompt_per_million"], o["endpoint"],
         str(sum(bits[use] for use in o["consent"])), True) for o in listed]
