"""The offer registry from the library (`tantieme.market.offers`) on a real embedded chain:
offers set by their agents' owners, listed, routed among, removed; refusals said before any
gas is spent; paid reputation read back for `best`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tantieme import interaction
from tantieme.agents import identity
from tantieme.agents.reputation import give_feedback
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.errors import ConfigError, InputError
from tantieme.ledger import settlement
from tantieme.ledger.bundle import export
from tantieme.market import offers as market
from tantieme.market.routing import CONSENT, ModelOffer, Need, Reputation, route
from tantieme.node import Node

TAI = 10**18
RETRIEVAL = CONSENT["retrieval"]


@pytest.fixture
def node(init_embedded) -> Iterator[Node]:
    init_embedded()
    with Node.open() as opened:
        yield opened


def new_asset(node: Node, kind: str = "model") -> int:
    return registry.register_hash(
        node, os.urandom(32), kind=kind, terms=preset("open"), title=kind, media_type="application/octet-stream",
    ).id


def new_agent(owner: Node) -> int:
    fns = identity.identity_registry(owner).functions
    owner.conn.transact(fns.register(), gas=500_000)
    return fns.totalSupply().call()


def account(node: Node, n: int) -> Node:
    node.faucet(dev_account(n).address)
    return node.as_account(dev_account(n))


def offer_of(agent_id: int, model: int, n: int, **changes) -> ModelOffer:
    return replace(
        ModelOffer(agent_id, model, n * 10 * TAI, n * 40 * TAI, f"http://127.0.0.1:{8400 + n}/v1/chat/completions",
                   1_000 * n, RETRIEVAL),
        **changes,
    )


def test_offers__set_list_route_remove(node):
    model = new_asset(node)
    owners = [node, account(node, 1), account(node, 2)]
    offers = [offer_of(new_agent(owner), model, n + 1) for n, owner in enumerate(owners)]
    assert market.list_offers(node) == []
    for owner, offer in zip(owners, offers):
        done = market.set_offer(owner, offer)
        assert done.tx and 100_000 < done.gas < 300_000
    assert market.list_offers(node) == offers
    assert market.get_offer(node, offers[1].agent_id) == offers[1]

    need = Need(prompt_tokens=500, completion_tokens=100, cap=2 * 10**16)  # fees: 0.009, 0.018, 0.027 TAI
    assert [c.offer for c in route(market.list_offers(node), need, "cheapest")] == offers[:2]  # the third is over the cap

    cheaper = replace(offers[2], price_prompt_per_million=TAI, price_completion_per_million=TAI)
    market.set_offer(owners[2], cheaper)
    assert market.list_offers(node) == [*offers[:2], cheaper]
    assert market.remove_offer(owners[0], offers[0].agent_id).offer is None
    assert market.list_offers(node) == [cheaper, offers[1]]  # the last took the first's place
    assert market.get_offer(node, offers[0].agent_id) is None
    with pytest.raises(InputError, match=f"agent #{offers[0].agent_id} has no offer to remove"):
        market.remove_offer(owners[0], offers[0].agent_id)


def test_offers__many__read_page_by_page(node, monkeypatch):
    monkeypatch.setattr(market, "_PAGE", 2)
    model = new_asset(node)
    agents = [new_agent(node) for _ in range(5)]
    for agent in agents:
        market.set_offer(node, offer_of(agent, model, 1))
    assert [o.agent_id for o in market.list_offers(node)] == agents


def test_set_offer__refusals__said_and_nothing_sent(node):
    model, work = new_asset(node), new_asset(node, "work")
    agent = new_agent(node)
    stranger = account(node, 3)
    offer = offer_of(agent, model, 1)
    nonce = node.conn.w3.eth.get_transaction_count(node.address)
    refusals = [
        (stranger, offer, f"{stranger.address} is neither the owner nor the wallet of agent #{agent}"),
        (node, replace(offer, agent_id=agent + 1), f"there is no agent #{agent + 1} on chain"),
        (node, replace(offer, model=work), f"asset #{work} is not a model"),
        (node, replace(offer, model=work + 1), f"there is no asset #{work + 1}"),
        (node, replace(offer, price_prompt_per_million=0, price_completion_per_million=0), "both prices are zero"),
        (node, replace(offer, price_prompt_per_million=2**128), "a price is above 2\\^128 - 1"),
        (node, replace(offer, p95_latency_ms=0), "the advertised p95 latency is zero"),
        (node, replace(offer, p95_latency_ms=2**32), "the advertised p95 latency must be from 1 to"),
        (node, replace(offer, consent=16), "consent bits beyond training"),
        (node, replace(offer, endpoint="ftp://node.example"), "is not an http\\(s\\) URL"),
        (node, replace(offer, endpoint="http://n.example/" + "x" * 240), "is 257 bytes long: the registry takes at most 256"),
    ]
    for sender, bad, message in refusals:
        with pytest.raises(InputError, match=message):
            market.set_offer(sender, bad)
    assert node.conn.w3.eth.get_transaction_count(node.address) == nonce
    assert market.list_offers(node) == []


def test_set_offer__the_agents_wallet_may_and_a_new_owner_takes_over(node):
    model = new_asset(node)
    agent = new_agent(node)
    buyer = account(node, 4)
    market.set_offer(node, offer_of(agent, model, 1))
    fns = identity.identity_registry(node).functions
    node.conn.transact(fns.transferFrom(node.address, buyer.address, agent), gas=300_000)
    with pytest.raises(InputError, match="is neither the owner nor the wallet"):
        market.set_offer(node, offer_of(agent, model, 2))
    market.set_offer(buyer, offer_of(agent, model, 3))
    assert market.get_offer(node, agent) == offer_of(agent, model, 3)


def test_offer_node_model__sent_once_and_kept_current(node):
    with pytest.raises(ConfigError, match="not an agent on this chain yet: run `tantieme agent register --url URL`"):
        market.offer_node_model(node, latency_ms=2_000)
    identity.register(node)
    model = new_asset(node)
    models = interaction.Models(default=model, models={str(model): interaction.ModelEntry(
        asset_id=model, name="m", backend="local", options={}, weights_hash="00" * 32,
        price_prompt_per_million=100 * TAI, price_completion_per_million=400 * TAI,
    )})
    models.save()
    with pytest.raises(InputError, match="the node has no public URL to offer: give --url"):
        market.offer_node_model(node, latency_ms=2_000)
    first = market.offer_node_model(node, latency_ms=2_000, url="http://127.0.0.1:8402/")
    agent = identity.load_profile(node).agent_id
    assert first.offer == ModelOffer(agent, model, 100 * TAI, 400 * TAI, "http://127.0.0.1:8402/v1/chat/completions", 2_000, RETRIEVAL)
    assert first.tx is not None
    assert market.offer_node_model(node, latency_ms=2_000, url="http://127.0.0.1:8402").tx is None
    models.set_price(model, prompt=90 * TAI)
    again = market.offer_node_model(node, latency_ms=2_000, url="http://127.0.0.1:8402")
    assert again.tx is not None and market.get_offer(node, agent).price_prompt_per_million == 90 * TAI


def test_reputations__paid_feedback_only_positive_from_50(node, make_answer, payer):
    agent = identity.register(node)[0].agent_id
    assert market.reputations(node, [agent]) == {agent: Reputation(0, 0)}
    asker = node.as_account(payer)
    for rating in ("90", "20", "50", "4.9"):
        row = make_answer(node)
        settlement.settle(node, {payer.address: payer}, book=settlement.journal())
        give_feedback(asker, export(node, settlement.journal(), row.digest), rating, agent_id=agent,
                      tag1="starred" if rating == "90" else "")
    row = make_answer(node)
    settlement.settle(node, {payer.address: payer}, book=settlement.journal())
    give_feedback(asker, export(node, settlement.journal(), row.digest), "99", agent_id=agent, tag1="latency")
    # 90, 50 of the four ratings; the "latency" measure is not a rating.
    assert market.reputations(node, [agent]) == {agent: Reputation(2, 4)}


def test_keep_offer_current__prices_and_url_follow_the_node(node, stub_model):
    model = interaction.register_model(node, backend="stub").asset_id
    assert market.keep_offer_current(node) is None  # not an agent
    identity.register(node, url="http://127.0.0.1:8402")
    assert market.keep_offer_current(node) is None  # an agent without an offer: none is made
    offered = market.offer_node_model(node, latency_ms=2_000).offer
    assert market.keep_offer_current(node) == market.OfferChange(offered, None, 0)

    interaction.Models.load().set_price(model, prompt=7 * TAI, completion=9 * TAI)
    identity.register(node, url="https://bees.example")
    done = market.keep_offer_current(node)
    assert done.tx and done.offer == replace(
        offered, price_prompt_per_million=7 * TAI, price_completion_per_million=9 * TAI,
        endpoint="https://bees.example/v1/chat/completions",
    )
    assert market.get_offer(node, offered.agent_id) == done.offer


def test_set_offer__agent_names_another_model__refused(node):
    model, other = new_asset(node), new_asset(node)
    agent = new_agent(node)
    fns = identity.identity_registry(node).functions
    node.conn.transact(fns.setMetadata(agent, "model", other.to_bytes(32, "big")), gas=200_000)
    with pytest.raises(InputError, match=f"agent #{agent} names model #{other} in its metadata"):
        market.set_offer(node, offer_of(agent, model, 1))
    assert market.set_offer(node, offer_of(agent, other, 1)).tx
    node.conn.transact(fns.setMetadata(agent, "model", b"\x01"), gas=200_000)
    with pytest.raises(InputError, match=f"agent #{agent}'s `model` metadata is 1 bytes, not a model id"):
        market.set_offer(node, offer_of(agent, other, 1))
