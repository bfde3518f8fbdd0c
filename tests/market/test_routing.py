"""Routing (`tantieme.market.routing`): which provider answers, and who is next."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tantieme.ai.metering import fee
from tantieme.errors import ChargedError, ConfigError, InputError, PaymentError, RemoteNodeError
from tantieme.market.routing import (
    CONSENT,
    EXPLORE_EVERY,
    KEEP_SAMPLES,
    Latencies,
    ModelOffer,
    Need,
    Reputation,
    consent_bits,
    first_answer,
    may_explore,
    route,
    wilson_lower_bound,
)

RETRIEVAL, COMMERCIAL = CONSENT["retrieval"], CONSENT["output_commercial"]
TAI = 10**18


def offer(agent_id: int, prompt: int = 100 * TAI, completion: int = 400 * TAI, latency: int = 1_000,
          consent: int = RETRIEVAL, endpoint: str | None = None) -> ModelOffer:
    return ModelOffer(agent_id, 1, prompt, completion, endpoint or f"http://node{agent_id}.example", latency, consent)


NEED = Need(prompt_tokens=400, completion_tokens=100, cap=10**18)


def ids(order) -> list[int]:
    return [c.offer.agent_id for c in order]


# ------------------------------------------------------------- Wilson --


def test_wilson__known_values():
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(0, 10) == 0.0
    # 9 of 10 positive: the textbook 95 % interval's lower end, 0.5958.
    assert wilson_lower_bound(9, 10) == pytest.approx(0.5958, abs=1e-4)
    assert wilson_lower_bound(90, 100) == pytest.approx(0.8256, abs=1e-4)


@pytest.mark.parametrize("positive, total", [(-1, 3), (4, 3)])
def test_wilson__impossible_counts__refused(positive, total):
    with pytest.raises(InputError, match="positive must be from 0 to total"):
        wilson_lower_bound(positive, total)


COUNTS = st.integers(1, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(COUNTS)
def test_wilson__within_zero_and_the_observed_share(counts):
    positive, total = counts
    bound = wilson_lower_bound(positive, total)
    assert 0.0 <= bound <= positive / total <= 1.0


@given(COUNTS.filter(lambda c: c[0] < c[1]))
def test_wilson__monotone_in_positives(counts):
    positive, total = counts
    assert wilson_lower_bound(positive + 1, total) > wilson_lower_bound(positive, total)


@given(COUNTS.filter(lambda c: c[0] > 0), st.integers(2, 50))
def test_wilson__more_evidence_narrows(counts, k):
    """The same share over k times the feedback: the bound rises towards the share."""
    positive, total = counts
    assert wilson_lower_bound(positive, total) < wilson_lower_bound(k * positive, k * total) <= positive / total


def test_wilson__fewer_positives_more_evidence_can_win():
    """95 of 100 beats 3 of 3: a perfect record over little evidence is not the best."""
    assert wilson_lower_bound(95, 100) > wilson_lower_bound(3, 3)


# ------------------------------------------------------------- route --


def test_route__cheapest_fastest_best():
    offers = [
        offer(1, prompt=50 * TAI, completion=200 * TAI, latency=3_000),  # cheapest
        offer(2, latency=200),  # fastest
        offer(3, prompt=200 * TAI, completion=800 * TAI, latency=1_000),  # best rated
    ]
    reputation = {1: Reputation(2, 10), 2: Reputation(5, 10), 3: Reputation(95, 100)}
    assert ids(route(offers, NEED, "cheapest", reputation=reputation)) == [1, 2, 3]
    assert ids(route(offers, NEED, "fastest", reputation=reputation)) == [2, 3, 1]
    assert ids(route(offers, NEED, "best", reputation=reputation)) == [3, 2, 1]


def test_route__quote_is_the_metered_fee_of_the_estimate():
    (choice,) = route([offer(1, prompt=7, completion=11)], Need(3, 5, cap=1), "cheapest")
    assert choice.quote == fee(choice.offer.prices, 3, 5) == 1  # 76 / 1e6, rounded up


def test_route__over_the_cap__never_picked():
    cheap, dear = offer(1, prompt=TAI, completion=TAI), offer(2)
    cap = fee(cheap.prices, 400, 100)
    for strategy in ("cheapest", "fastest", "best"):
        assert ids(route([dear, cheap], Need(400, 100, cap=cap), strategy, reputation={2: Reputation(9, 9)})) == [1]
        assert route([dear, cheap], Need(400, 100, cap=cap - 1), strategy) == []


def test_route__without_the_consent__never_picked():
    both = offer(1, consent=RETRIEVAL | COMMERCIAL, latency=5_000)
    only_reading = offer(2, consent=RETRIEVAL, latency=10)
    commercial = Need(400, 100, cap=10**18, consent=RETRIEVAL | COMMERCIAL)
    assert ids(route([both, only_reading], commercial, "fastest")) == [1]
    assert ids(route([both, only_reading], NEED, "fastest")) == [2, 1]
    assert route([offer(3, consent=COMMERCIAL)], NEED, "cheapest") == []  # reads nothing it may retrieve


def test_route__measured_latency_replaces_the_advertised():
    liar, honest = offer(1, latency=5), offer(2, latency=800)
    assert ids(route([liar, honest], NEED, "fastest")) == [1, 2]
    order = route([liar, honest], NEED, "fastest", latency={liar.endpoint: 30_000})
    assert ids(order) == [2, 1]
    assert (order[1].p95_ms, order[1].measured, order[0].p95_ms, order[0].measured) == (30_000, True, 800, False)


def test_route__ties__price_then_latency_then_agent_id():
    offers = [offer(4, latency=900), offer(3, latency=900), offer(2, latency=100), offer(1, prompt=TAI)]
    assert ids(route(offers, NEED, "best")) == [1, 2, 3, 4]  # nobody has feedback: price, latency, id
    assert ids(route(offers, NEED, "cheapest")) == [1, 2, 3, 4]


def test_route__unknown_strategy__refused():
    with pytest.raises(InputError, match="'smartest' is not a routing strategy: use cheapest, fastest, best"):
        route([offer(1)], NEED, "smartest")


@pytest.mark.parametrize("field, value", [("cap", -1), ("prompt_tokens", 1.5), ("completion_tokens", True)])
def test_need__bad_numbers__refused(field, value):
    with pytest.raises(InputError, match=f"{field} must be a non-negative integer"):
        Need(**({"prompt_tokens": 1, "completion_tokens": 1, "cap": 1} | {field: value}))


def test_consent_bits():
    assert consent_bits(["retrieval", "output-commercial"]) == RETRIEVAL | COMMERCIAL
    assert consent_bits([]) == 0
    with pytest.raises(InputError, match="'reading' is not an AI use"):
        consent_bits(["reading"])


OFFERS = st.lists(
    st.builds(
        offer,
        agent_id=st.integers(1, 10**6),
        prompt=st.integers(0, 10**22),
        completion=st.integers(0, 10**22),
        latency=st.integers(1, 60_000),
        consent=st.integers(0, 15),
    ),
    max_size=12,
    unique_by=lambda o: o.agent_id,
)
NEEDS = st.builds(
    Need, prompt_tokens=st.integers(0, 8_192), completion_tokens=st.integers(0, 2_048),
    cap=st.integers(0, 10**19), consent=st.integers(0, 15),
)


@settings(max_examples=200)
@given(OFFERS, NEEDS, st.sampled_from(["cheapest", "fastest", "best"]), st.data())
def test_route__property__exactly_the_allowed_offers_in_order(offers, need, strategy, data):
    reputation = {
        o.agent_id: Reputation(p, n)
        for o in offers
        for n in [data.draw(st.integers(0, 50))]
        for p in [data.draw(st.integers(0, n))]
    }
    order = route(offers, need, strategy, reputation=reputation)
    allowed = [
        o for o in offers
        if fee(o.prices, need.prompt_tokens, need.completion_tokens) <= need.cap and need.consent & o.consent == need.consent
    ]
    assert sorted(ids(order)) == sorted(o.agent_id for o in allowed)
    for choice in order:
        assert choice.quote <= need.cap and choice.offer.consent & need.consent == need.consent
    for first, second in zip(order, order[1:]):
        if strategy == "cheapest":
            assert (first.quote, first.p95_ms) <= (second.quote, second.p95_ms)
        elif strategy == "fastest":
            assert (first.p95_ms, first.quote) <= (second.p95_ms, second.quote)
        else:
            assert (-first.score, first.quote) <= (-second.score, second.quote) or first is order[0]
    if strategy == "best" and order:
        head = reputation[order[0].offer.agent_id]
        if head.positive == 0 < head.total:  # only negative: nobody had a positive rating
            assert all(reputation[c.offer.agent_id].positive == 0 for c in order)
        if order[0].why.startswith("exploring"):
            assert head.total == 0 and order[0].passed is None  # explore=False: only while nobody leads


# ---------------------------------------------------------- exploring --


LEADER = Reputation(9, 10)  # lower bound 0.60


def test_best__an_untried_offer_is_tried_within_the_budget():
    offers = [offer(1), offer(2, prompt=200 * TAI)]  # 2 is dearer and untried
    rated = {1: LEADER}
    explored = route(offers, NEED, "best", reputation=rated, explore=True)
    assert ids(explored) == [2, 1] and explored[0].passed == 1
    assert explored[0].why == "exploring: no paid ratings yet (ahead of agent #1, best lower bound 0.60; one route in 10 may explore)"
    assert explored[1].why == "lower bound 0.60 (9 of 10 paid ratings positive)"
    kept = route(offers, NEED, "best", reputation=rated, explore=False)
    assert ids(kept) == [1, 2] and kept[0].passed is None
    assert kept[0].why == "best lower bound 0.60 (9 of 10 paid ratings positive)" and kept[1].why == "no paid ratings yet"


def test_best__no_leader__the_untried_offer_first_without_the_budget():
    """Nobody has a positive rating: the untried offer is tried ahead of a cheaper one rated
    only negatively, and no budget is spent."""
    offers = [offer(1, prompt=1_000 * TAI), offer(2), offer(3, prompt=50 * TAI)]
    order = route(offers, NEED, "best", reputation={3: Reputation(0, 1)})
    assert ids(order) == [2, 3, 1] and order[0].passed is None
    assert order[0].why == "exploring: no paid ratings yet, and no offer within the cap has positive ones"
    everyone = route(offers, NEED, "best")  # nobody rated: the cheapest untried first
    assert ids(everyone) == [3, 2, 1] and everyone[0].why.startswith("exploring")


def test_best__only_negative_ratings__never_ahead_of_positive_ones():
    offers = [offer(1, prompt=1_000 * TAI), offer(2, prompt=0, completion=0, latency=1)]  # 2: free and fast, rated 0 of 50
    for explore in (True, False):
        order = route(offers, NEED, "best", reputation={1: Reputation(1, 1), 2: Reputation(0, 50)}, explore=explore)
        assert ids(order) == [1, 2] and order[0].passed is None
        assert order[0].why == "best lower bound 0.21 (1 of 1 paid ratings positive)"


def test_best__one_paid_rating_ends_exploring():
    """Once rated, the newcomer stands by its lower bound: 1 of 1 positive (0.21) stays behind
    9 of 10 (0.60), 0 of 1 too, however much the budget allows."""
    offers = [offer(1), offer(2, prompt=0)]
    for newcomer in (Reputation(1, 1), Reputation(0, 1)):
        order = route(offers, NEED, "best", reputation={1: LEADER, 2: newcomer}, explore=True)
        assert ids(order) == [1, 2] and order[0].passed is None and order[0].why.startswith("best lower bound 0.60")


def test_best__exploring_leaves_cheapest_and_fastest_alone():
    offers = [offer(1, latency=100), offer(2, prompt=50 * TAI, latency=900)]
    for explore in (True, False):
        assert ids(route(offers, NEED, "cheapest", reputation={1: LEADER}, explore=explore)) == [2, 1]
        assert ids(route(offers, NEED, "fastest", reputation={2: LEADER}, explore=explore)) == [1, 2]
    fast, slow = route(offers, NEED, "fastest", latency={offers[0].endpoint: 120})
    assert (fast.why, slow.why, fast.passed) == ("fastest p95 120 ms measured", "p95 900 ms advertised", None)
    cheap, dear = route(offers, NEED, "cheapest")
    assert (cheap.why, dear.why) == (f"cheapest estimated fee {cheap.quote / TAI:g} TAI", f"estimated fee {dear.quote / TAI:g} TAI")


def test_may_explore__one_route_in_explore_every():
    assert may_explore([]) and may_explore([False] * 30)
    assert not may_explore([True])
    assert not may_explore([True] + [False] * (EXPLORE_EVERY - 2))
    assert may_explore([True] + [False] * (EXPLORE_EVERY - 1))


@pytest.mark.parametrize("newcomers", [1, 3])
def test_best__re_registering_wins_at_most_the_exploration_share(newcomers):
    """A provider registering again as new agents before every route (cheaper than the honest
    leader, never rated: each of its ids stays untried) gets one route in EXPLORE_EVERY, never
    more; the honest provider, rated as it answers, keeps the rest."""
    routes, honest, explored, won = 200, Reputation(1, 1), [], 0
    fresh = iter(range(100, 10**6))
    for _ in range(routes):
        offers = [offer(1), *(offer(next(fresh), prompt=0, completion=0, latency=1) for _ in range(newcomers))]
        head = route(offers, NEED, "best", reputation={1: honest}, explore=may_explore(explored))[0]
        explored.append(head.passed is not None)
        if head.offer.agent_id == 1:
            honest = Reputation(honest.positive + 1, honest.total + 1)
        else:
            won += 1
    assert won == sum(explored) == routes // EXPLORE_EVERY


# ------------------------------------------------------- first_answer --


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_first_answer__the_priority_provider_answers():
    order = route([offer(1), offer(2)], NEED, "cheapest")
    clock = Clock()

    def ask(choice, timeout):
        clock.now += 0.25
        return f"answer from {choice.offer.agent_id}"

    choice, answer, attempts = first_answer(order, ask, timeout=5, clock=clock)
    assert (choice.offer.agent_id, answer) == (1, "answer from 1")
    assert [(a.agent_id, a.ms, a.error) for a in attempts] == [(1, 250, None)]


def test_first_answer__falls_back_in_order_and_records_latency(tantieme_home):
    order = route([offer(1), offer(2, latency=2_000), offer(3, latency=3_000)], NEED, "fastest")
    book = Latencies()
    asked = []
    clock = Clock()

    def ask(choice, timeout):
        asked.append((choice.offer.agent_id, timeout))
        if choice.offer.agent_id == 1:
            raise TimeoutError("timed out")
        if choice.offer.agent_id == 2:
            clock.now += 0.02
            raise PaymentError("the node asks 2 TAI, above your cap")
        clock.now += 1.5
        return "answer"

    choice, _, attempts = first_answer(order, ask, timeout=4, book=book, clock=clock)
    assert choice.offer.agent_id == 3
    assert asked == [(1, 4), (2, 4), (3, 4)]
    assert [(a.agent_id, a.ms, a.error) for a in attempts] == [
        (1, 4_000, "timed out"), (2, 20, "the node asks 2 TAI, above your cap"), (3, 1_500, None),
    ]
    # Kept in the home: the timeout as slow, 3 as measured; the refusal is no answer time.
    again = Latencies()
    assert again.p95s() == {"http://node1.example": 4_000, "http://node3.example": 1_500}
    assert ids(route([offer(1), offer(2, latency=2_000), offer(3, latency=3_000)], NEED, "fastest",
                     latency=again.p95s())) == [3, 2, 1]


def test_first_answer__refusals_leave_p95_to_answers(tantieme_home):
    """A provider that answers in 0.3 s, then refuses twenty times at once (its prices rose) and
    times out once: its p95 stays an answer time among answers, the timeout counted in full."""
    book = Latencies()
    (choice,) = route([offer(1)], NEED, "cheapest")
    clock = Clock()

    def answers(_choice, _timeout):
        clock.now += 0.3
        return "answer"

    def refuses(_choice, _timeout):
        clock.now += 0.01
        raise PaymentError("agent #1 quotes 2 TAI, above the 1 TAI its offer's prices allow")

    def hangs(_choice, timeout):
        clock.now += timeout + 0.1
        raise RemoteNodeError(f"the node did not answer within {timeout:g} s")

    for ask in [answers] * 40 + [refuses] * 20:
        with contextlib.suppress(RemoteNodeError):
            first_answer([choice], ask, timeout=60, book=book, clock=clock)
    assert book.p95(offer(1).endpoint) == 300
    with pytest.raises(RemoteNodeError) as err:
        first_answer([choice], hangs, timeout=60, book=book, clock=clock)
    assert "agent #1 (http://node1.example): the node did not answer within 60 s" in str(err.value)
    assert book.samples[offer(1).endpoint] == [300] * 40 + [60_000]


def test_first_answer__paid_without_an_answer__no_fallback(tantieme_home):
    """A `ChargedError` (the provider collected the payment and did not answer) ends the fallback:
    the next provider is not asked, so not paid too."""
    asked = []

    def ask(choice, timeout):
        asked.append(choice.offer.agent_id)
        raise ChargedError("the node collected the payment signed for it")

    with pytest.raises(ChargedError):
        first_answer(route([offer(1), offer(2)], NEED, "cheapest"), ask, timeout=2, book=Latencies())
    assert asked == [1]


def test_first_answer__nobody_answers__one_clear_error():
    order = route([offer(1), offer(2)], NEED, "cheapest")

    def ask(choice, timeout):
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(RemoteNodeError) as err:
        first_answer(order, ask, timeout=2)
    assert str(err.value) == (
        "no provider answered within 2 s: agent #1 (http://node1.example): connection refused; "
        "agent #2 (http://node2.example): connection refused"
    )


def test_first_answer__no_offer_fits():
    with pytest.raises(RemoteNodeError, match="no offer fits: raise the price cap"):
        first_answer([], lambda c, t: None, timeout=1)


def test_first_answer__a_bug_propagates():
    def ask(choice, timeout):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        first_answer(route([offer(1), offer(2)], NEED, "cheapest"), ask, timeout=1)


@pytest.mark.parametrize("timeout", [0, -1, float("nan")])
def test_first_answer__bad_timeout__refused(timeout):
    with pytest.raises(InputError, match="the timeout must be a positive number of seconds"):
        first_answer(route([offer(1)], NEED, "cheapest"), lambda c, t: None, timeout=timeout)


# ---------------------------------------------------------- Latencies --


def test_latencies__p95_nearest_rank_of_the_newest(tantieme_home):
    book = Latencies()
    assert book.p95("http://a") is None and book.p95s() == {}
    for ms in range(1, 21):
        book.record("http://a", ms)
    assert book.p95("http://a") == 19  # the 19th of 20
    for ms in range(1_000, 1_000 + KEEP_SAMPLES):
        book.record("http://a", ms)
    assert len(Latencies().samples["http://a"]) == KEEP_SAMPLES
    assert Latencies().p95("http://a") == 1_000 + 60  # the 61st of the newest 64


def test_latencies__damaged_file__clear_error(tantieme_home):
    tantieme_home.mkdir()
    (tantieme_home / "latency.json").write_text("{not json")
    with pytest.raises(ConfigError, match="latency.json is damaged .*delete it"):
        Latencies()
    (tantieme_home / "latency.json").write_text(json.dumps({"http://a": "fast"}))
    with pytest.raises(ConfigError, match="is damaged"):
        Latencies()
