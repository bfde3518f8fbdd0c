"""`tantieme ask --route`: the market's offers on chain, a real node paid over x402 (the stub
model behind a minimal app, as in tests/payments), its 402 checked against its offer before
anything is paid, fallback to the next provider, and the routed answer rated later."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace

import pytest

from tantieme import interaction
from tantieme.agents import identity, treasury
from tantieme.ai.metering import fee
from tantieme.chain.accounts import ENV_PRIVATE_KEY, dev_account
from tantieme.chain.anvil import free_port
from tantieme.ledger import settlement
from tantieme.market import offers as market
from tantieme.errors import ChargedError, RemoteNodeError
from tantieme.market.asking import ask_market, prompt_bound, routed_answers
from tantieme.market.routing import Latencies, Need, Reputation
from tantieme.node import Node

from api.served import BIN, env
from cli.conftest import run, run_json
from payments.conftest import ASKER, QUESTION, chat_body, delivered, gate, paid_node, quote, url  # noqa: F401 (fixtures)
from payments.test_unanswered import SECONDS, hanging  # noqa: F401 (fixture)

TAI = 10**18


@pytest.fixture
def asker(monkeypatch) -> None:
    """The CLI pays as the asker (dev account 6)."""
    monkeypatch.setenv(ENV_PRIVATE_KEY, ASKER.key.to_0x_hex())


@pytest.fixture
def offered(paid_node: Node, url: str):
    """The paid node registered as an agent, offering its model at `url`."""
    profile, _ = identity.register(paid_node, url=url)
    return market.offer_node_model(paid_node, latency_ms=2_000).offer


def other_agent(node: Node, n: int, offer, **changes):
    """Dev account `n` registers an agent and offers `offer` with `changes` as it."""
    node.faucet(dev_account(n).address)
    owner = node.as_account(dev_account(n))
    fns = identity.identity_registry(owner).functions
    owner.conn.transact(fns.register(), gas=500_000)
    mine = replace(offer, agent_id=fns.totalSupply().call(), **changes)
    market.set_offer(owner, mine)
    return mine


def test_ask_route__pays_the_chosen_offer_and_says_who_answered(paid_node, offered, delivered, asker, json_rules):
    before = paid_node.balance(ASKER.address)
    data = run_json("ask", "--route", "cheapest", QUESTION, "--max-tokens", "32", "--rate", "90")
    json_rules(data)
    route = data["route"]
    assert route["answered_by"] == {"agent_id": offered.agent_id, "endpoint": offered.endpoint, "model": offered.model}
    assert route["paid"] == data["fee"] and data["quote"] == str(quote(chat_body(max_tokens=32)))
    (tried,) = route["tried"]
    assert tried["agent_id"] == offered.agent_id and tried["error"] is None and route["latency_ms"] == tried["ms"]
    assert route["skipped"] == []
    delivered.get(timeout=30)
    assert paid_node.balance(ASKER.address) == before - int(data["fee"])
    assert Latencies().samples == {offered.endpoint: [tried["ms"]]}
    (kept,) = routed_answers()
    assert (kept.record, kept.agent_id, kept.payer, kept.fee, kept.rate) == (
        data["record"], offered.agent_id, ASKER.address, data["fee"], "90",
    )


def test_ask_route__prices_raised_after_the_offer__refused_before_paying(paid_node, offered, asker):
    before = paid_node.balance(ASKER.address)
    interaction.Models.load().set_price(offered.model, prompt=offered.price_prompt_per_million + 1)
    data = run_json("ask", "--route", "cheapest", QUESTION, "--max-tokens", "32", ok=False)
    allowed = -(-(prompt_bound(32) * offered.price_prompt_per_million + 32 * offered.price_completion_per_million) // 10**6)
    assert data["kind"] == "RemoteNodeError"
    assert f"agent #{offered.agent_id} quotes " in data["error"]
    assert f"above the {allowed / TAI:g} TAI its offer's prices allow for 2,016 prompt and 32 completion tokens" in data["error"]
    assert paid_node.balance(ASKER.address) == before
    assert settlement.journal().records() == []


def test_ask_route__a_provider_that_fails_falls_to_the_next(paid_node, offered, delivered, asker):
    dead = f"http://127.0.0.1:{free_port()}/v1/chat/completions"
    cheaper = other_agent(paid_node, 1, offered, endpoint=dead, price_prompt_per_million=1)
    data = run_json("ask", "--route", "cheapest", QUESTION, "--max-tokens", "32")
    first, second = data["route"]["tried"]
    assert (first["agent_id"], second["agent_id"]) == (cheaper.agent_id, offered.agent_id)
    assert first["error"].startswith("cannot reach the node at http://127.0.0.1:") and second["error"] is None
    assert first["ms"] < 60_000 and dead not in Latencies().samples  # what it took; no answer time to keep
    assert data["route"]["answered_by"]["agent_id"] == offered.agent_id
    delivered.get(timeout=30)


def test_ask_route__paid_elsewhere_than_the_agents_wallet__not_paid(paid_node, offered, delivered, asker):
    """A cheaper agent whose wallet is another account, offering the node's endpoint: the node
    asks to be paid at its operator, not at that agent's wallet, so only the honest one is paid."""
    impostor = other_agent(paid_node, 1, offered, price_prompt_per_million=1)
    data = run_json("ask", "--route", "cheapest", QUESTION, "--max-tokens", "32")
    refused, answered = data["route"]["tried"]
    assert refused["error"] == (
        f"agent #{impostor.agent_id} asks to be paid at {paid_node.address}, but the chain says it is paid at its "
        f"wallet {dev_account(1).address}: not paid"
    )
    assert answered["agent_id"] == offered.agent_id and answered["error"] is None
    delivered.get(timeout=30)
    assert len(settlement.journal().records()) == 1


def test_ask_route__nothing_fits__says_why(paid_node, offered, asker):
    none = run_json("ask", "--route", "cheapest", QUESTION, "--cap", "0.000001", ok=False)
    assert none["kind"] == "RemoteNodeError"
    assert none["error"].startswith(f"no offer fits among the 1 on chain {paid_node.conn.chain_id}: agent #{offered.agent_id} may cost ")
    assert "above your cap of 0.000001 TAI" in none["error"]
    consent = run_json("ask", "--route", "best", QUESTION, "--consent", "training", ok=False)
    assert f"agent #{offered.agent_id} does not serve training consent" in consent["error"]
    market.remove_offer(paid_node, offered.agent_id)
    empty = run_json("ask", "--route", "fastest", QUESTION, ok=False)
    assert empty["error"] == (
        f"no model offers on chain {paid_node.conn.chain_id} yet: a node offers its model with `tantieme offers set`"
    )


AGENT = dev_account(7)  # the treasury's agent key


def funded_treasury(node: Node, allow: list[str], **limits) -> str:
    """The node's treasury with 2 TAI, paid by AGENT's key within `limits` to `allow`."""
    address, _ = treasury.fund(node, 2 * TAI)
    treasury.set_limits(node, allow=allow, agent=AGENT.address, **{"daily": TAI, "per_payment": TAI // 2, **limits})
    return address


def test_ask_market_from_treasury__paid_by_the_treasury__an_offer_it_may_not_pay_not_asked(paid_node, offered, delivered):
    """The cheaper agent is paid at a wallet the treasury does not allow: left out before
    choosing, so it is not asked (else it would be a refused attempt), with the reason."""
    cheaper = other_agent(paid_node, 1, offered, price_prompt_per_million=1)
    address = funded_treasury(paid_node, [paid_node.address])
    payer = treasury.TreasuryPayer(paid_node.as_account(AGENT))
    routed = ask_market(paid_node, QUESTION, payer, "cheapest", Need(prompt_bound(32), 32, cap=TAI))
    delivered.get(timeout=60)
    assert routed.choice.offer.agent_id == offered.agent_id and [a.agent_id for a in routed.attempts] == [offered.agent_id]
    (skipped,) = routed.skipped
    assert skipped.agent_id == cheaper.agent_id
    assert f"which the treasury may not pay: {dev_account(1).address} is not on the treasury's allow-list" in skipped.reason
    assert routed.answer.payer == address and len(payer.approved) == 1
    assert paid_node.balance(address) == 2 * TAI - routed.answer.fee  # quote out, quote − fee back
    (kept,) = routed_answers()
    assert (kept.payer, kept.fee, kept.agent_id) == (address, str(routed.answer.fee), offered.agent_id)


def test_ask_market_from_treasury__above_its_cap_or_the_day_or_paused__not_asked(paid_node, offered, delivered):
    """A faster, dearer agent (at a dead endpoint: asked, it would fail) the treasury allows,
    but whose estimated fee is above the per-payment cap, then above what is left today."""
    need = Need(prompt_bound(32), 32, cap=TAI)
    dead = f"http://127.0.0.1:{free_port()}/v1/chat/completions"
    dearer = other_agent(paid_node, 1, offered, endpoint=dead, p95_latency_ms=1,
                         price_prompt_per_million=offered.price_prompt_per_million * 2)
    dear = fee(dearer.prices, need.prompt_tokens, need.completion_tokens)
    assert fee(offered.prices, need.prompt_tokens, need.completion_tokens) < dear < TAI // 2
    funded_treasury(paid_node, [paid_node.address, dev_account(1).address])
    payer = treasury.TreasuryPayer(paid_node.as_account(AGENT))
    for limits, said in [
        (lambda: {"per_payment": dear - 1}, "above the treasury's per-payment cap"),
        (lambda: {"per_payment": TAI // 2, "daily": int(treasury.report(paid_node)["spent_today"]) + dear - 1},
         "of the treasury's daily limit is left today"),
    ]:
        treasury.set_limits(paid_node, **limits())
        routed = ask_market(paid_node, QUESTION, payer, "fastest", need)
        delivered.get(timeout=60)
        assert [a.agent_id for a in routed.attempts] == [offered.agent_id]
        (skipped,) = routed.skipped
        assert skipped.agent_id == dearer.agent_id and said in skipped.reason
    treasury.set_limits(paid_node, paused=True)
    sent = paid_node.conn.w3.eth.get_transaction_count(AGENT.address)
    with pytest.raises(RemoteNodeError) as refused:
        ask_market(paid_node, QUESTION, payer, "fastest", need)
    assert str(refused.value).startswith(f"no offer fits among the 2 on chain {paid_node.conn.chain_id}: agent #")
    assert str(refused.value).count("the treasury is paused") == 2
    assert paid_node.conn.w3.eth.get_transaction_count(AGENT.address) == sent  # nothing approved


@pytest.mark.parametrize(("args", "said"), [
    (["--from-treasury"], "--from-treasury pays a remote node: use it with --node URL or --route"),
    (["--route", "dearest"], "'dearest': choose cheapest, fastest, best"),
    (["--rate", "90"], "--rate is for asking the market: use it with --route"),
    (["--route", "best", "--node", "http://127.0.0.1:1"], "--route chooses the node: leave out --node"),
    (["--route", "best", "--rate", "ninety"], "'ninety' is not a feedback value"),
])
def test_ask_route__bad_options__refused(args, said):
    out = " ".join(run("ask", QUESTION, *args, ok=False).output.split())
    assert said in out


@pytest.mark.parametrize("node", ["anvil"], indirect=True)
def test_ask_route__rated_once_settled_with_no_extra_input(paid_node, offered, delivered, tantieme_home, tmp_path):
    """The asker's own home on the node's chain, in other processes (the node's home is open here)."""
    client = tmp_path / "client"
    (client / "deployments").mkdir(parents=True)
    shutil.copy(tantieme_home / "node.json", client / "node.json")
    shutil.copytree(tantieme_home / "deployments", client / "deployments", dirs_exist_ok=True)

    def as_asker(*args: str) -> dict:
        done = subprocess.run(
            [str(BIN / "tantieme"), *args, "--json"], env=env(client, TANTIEME_PRIVATE_KEY=ASKER.key.to_0x_hex()),
            capture_output=True, text=True, timeout=300,
        )
        return json.loads(done.stdout or done.stderr)

    asked = as_asker("ask", "--route", "best", QUESTION, "--max-tokens", "32", "--rate", "90")
    delivered.get(timeout=30)
    assert asked["route"]["why"] == "exploring: no paid ratings yet, and no offer within the cap has positive ones"
    assert asked["route"]["explored"] is False  # nobody led: no budget spent
    pending = as_asker("agent", "feedback", "--routed")
    assert [p["record"] for p in pending["pending"]] == [asked["record"]] and pending["rated"] == []
    assert "is not settled yet" in pending["pending"][0]["reason"]
    settlement.settle(paid_node, {paid_node.address: paid_node.account})
    done = as_asker("agent", "feedback", "--routed")
    assert [(f["record"], f["agent_id"], f["value"]) for f in done["rated"]] == [(asked["record"], offered.agent_id, "90")]
    assert done["pending"] == []
    assert market.reputations(paid_node, [offered.agent_id])[offered.agent_id] == Reputation(1, 1)
    again = as_asker("agent", "feedback", asked["record"], "--value", "10")  # found without --node or --agent
    assert "rated already" in again["error"]
    assert as_asker("agent", "feedback", "--routed") == {"rated": [], "pending": []}

    # A new agent at the same node, untried: explored once ahead of the rated leader, then
    # the budget (this client's routed.jsonl) keeps the leader first.
    fresh = faster_hanging_agent(paid_node, offered, offered.endpoint.removesuffix("/v1/chat/completions"))
    explored = as_asker("ask", "--route", "best", QUESTION, "--max-tokens", "32")
    delivered.get(timeout=30)
    assert explored["route"]["answered_by"]["agent_id"] == fresh.agent_id and explored["route"]["explored"] is True
    assert explored["route"]["why"] == (
        f"exploring: no paid ratings yet (ahead of agent #{offered.agent_id}, best lower bound 0.21; one route in 10 may explore)"
    )
    order = as_asker("offers", "--route", "best", "--max-tokens", "32")["offers"]
    assert [(o["agent_id"], o["why"]) for o in order] == [
        (offered.agent_id, "best lower bound 0.21 (1 of 1 paid ratings positive)"), (fresh.agent_id, "no paid ratings yet"),
    ]


@pytest.mark.parametrize("node", ["anvil"], indirect=True)
def test_ask_route_from_treasury__the_cli_pays_from_the_treasury_and_rates_as_it(paid_node, offered, delivered, tantieme_home, tmp_path):
    """The agent's own home on the node's chain with the treasury's record, in other processes:
    `ask --from-treasury --rate`, then `agent feedback --routed` rates as the treasury."""
    address = funded_treasury(paid_node, [paid_node.address])
    client = tmp_path / "client"
    (client / "deployments").mkdir(parents=True)
    shutil.copy(tantieme_home / "node.json", client / "node.json")
    for folder in ("deployments", "agents"):
        shutil.copytree(tantieme_home / folder, client / folder, dirs_exist_ok=True)

    def as_agent(*args: str) -> dict:
        done = subprocess.run(
            [str(BIN / "tantieme"), *args, "--json"], env=env(client, TANTIEME_PRIVATE_KEY=AGENT.key.to_0x_hex()),
            capture_output=True, text=True, timeout=300,
        )
        return json.loads(done.stdout or done.stderr)

    data = as_agent("ask", "--route", "best", QUESTION, "--max-tokens", "32", "--from-treasury", "--rate", "90")
    delivered.get(timeout=60)
    assert data["payer"] == address and data["route"]["answered_by"]["agent_id"] == offered.agent_id
    assert paid_node.balance(address) == 2 * TAI - int(data["fee"])
    settlement.settle(paid_node, {paid_node.address: paid_node.account})
    done = as_agent("agent", "feedback", "--routed")  # the treasury's answer, rated as the treasury
    assert [(f["record"], f["client"], f["value"]) for f in done["rated"]] == [(data["record"], address, "90")]
    assert market.reputations(paid_node, [offered.agent_id])[offered.agent_id] == Reputation(1, 1)
    again = as_agent("agent", "feedback", data["record"], "--value", "10")
    assert "rated already" in again["error"]


def faster_hanging_agent(paid_node, offered, url):
    """Another agent of the paid node (paid at the same wallet), advertising a faster answer,
    served at `url`."""
    fns = identity.identity_registry(paid_node).functions
    paid_node.conn.transact(fns.register(), gas=500_000)
    mine = replace(offered, agent_id=fns.totalSupply().call(), endpoint=f"{url}/v1/chat/completions", p95_latency_ms=1)
    market.set_offer(paid_node, mine)
    return mine


def test_ask_market__provider_hangs_before_settling__canceled_then_the_next_paid_once(paid_node, offered, hanging, delivered):
    slow = faster_hanging_agent(paid_node, offered, hanging("before"))
    before = paid_node.balance(ASKER.address)
    routed = ask_market(paid_node, QUESTION, ASKER, "fastest", Need(prompt_bound(32), 32, TAI), timeout=SECONDS)
    canceled, answered = routed.attempts
    assert canceled.agent_id == slow.agent_id and "; the payment signed for it was canceled on chain (transaction 0x" in canceled.error
    assert canceled.ms >= SECONDS * 1000 and answered.agent_id == offered.agent_id and answered.error is None
    delivered.get(timeout=60)
    hanging.release.set()
    assert hanging.done.wait(60)  # the slow node woke and could not collect the canceled authorization
    assert paid_node.balance(ASKER.address) == before - routed.answer.fee
    assert Latencies().samples[slow.endpoint] == [round(SECONDS * 1000)]


def test_ask_market__provider_settles_then_hangs__charged_once_no_fallback(paid_node, offered, hanging, delivered):
    slow = faster_hanging_agent(paid_node, offered, hanging("after"))
    before, charged = paid_node.balance(ASKER.address), quote(chat_body(max_tokens=32))
    with pytest.raises(ChargedError, match="you were charged without an answer, so no other node is asked"):
        ask_market(paid_node, QUESTION, ASKER, "fastest", Need(prompt_bound(32), 32, TAI), timeout=SECONDS)
    assert paid_node.balance(ASKER.address) == before - charged
    assert len(settlement.journal().records()) == 1 and list(routed_answers()) == []
    hanging.release.set()
    delivered.get(timeout=60)  # the slow node's refund of quote − fee: charged once, the fee
    (record,) = settlement.journal().records()
    assert paid_node.balance(ASKER.address) == before - record.signed.record.fee and slow.agent_id != offered.agent_id
