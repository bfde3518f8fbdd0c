"""Choosing a provider among model offers: the cheapest, the fastest or the best, with fallback.

    order = route(offers, Need(400, 96, cap=10**17), "best", reputation=scores, latency=book.p95s())
    choice, answer, attempts = first_answer(order, ask_node, timeout=30.0, book=book)

`route` keeps the offers an asker may take — the estimated fee (the offer's prices for
the question's estimated prompt and completion tokens, rounded up as the node meters
it) within the asker's cap, and every consent bit the asker requires served — and
orders them:

- `cheapest`: the estimated fee, then p95 latency;
- `fastest`: p95 latency — measured by this client (`Latencies`, kept in its home),
  the offer's advertised figure until measured — then the fee;
- `best`: the lower bound of the Wilson score interval (95 %) of the agent's positive
  paid feedback (`Reputation`: on chain every feedback spends a paid, settled record,
  so all of it is over paid interactions), then the fee, then latency, with one
  exploration rule below.

Ties go to the lower agent id, so the order is total and the same on every machine.

Exploring. The Wilson lower bound is 0 both for "no evidence" and for "only negative
evidence", so by it alone an offer nobody has rated yet could never win. `best` tries
an untried offer (no paid ratings) first — the first untried one in the order, so the
cheapest, then the fastest:

- always, while no offer within the cap has a positive lower bound (there is no leader
  to pass: among offers without positive ratings, evidence speaks for none);
- else only when `explore` says this route may pass the leader, and the caller keeps
  that to at most one route in `EXPLORE_EVERY` (`may_explore`: `ask --route` and
  `offers --route` count this home's routes in `routed.jsonl`).

One paid rating is the evidence that ends it: from there the offer stands by its lower
bound, so an offer with only negative ratings is never put ahead of one with positive
ones. A provider that registers again as a new agent is untried again, so it can win
at most the exploration share of a client's `best` routes (1 in `EXPLORE_EVERY`) from a
provider with positive ratings, however often it does. Each `Choice` says why it stands
where it does (`why`), the first by what put it first: "exploring: no paid ratings yet …",
"best lower bound 0.62 (9 of 10 paid ratings positive)", "cheapest estimated fee 0.05 TAI",
"fastest p95 1,200 ms measured".

The order is the fallback list, as Olas' mech marketplace treats a request's priority
mech: the first provider has `timeout` seconds to answer; then the next one is asked,
and so on. A provider that was paid and did not answer (`ChargedError`) ends the
fallback: the next one would be paid too.

What enters `Latencies` (the p95 `fastest` ranks by) is answer time only:

- an answer, at the time it took;
- a timeout, at `timeout`: the provider gave no answer within it, so its p95 rises;
- a refusal or failure that comes sooner (a 402 that fails the checks, an HTTP error, a
  node that cannot be reached) is not kept: it says nothing about how fast the provider
  answers, and kept at its time it would make a provider that refuses at once look fast,
  kept as `timeout` one refused quote would push an honest provider's p95 to the timeout.

Each `Attempt` says what it really took, a refusal too.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tantieme.amounts import format_amount
from tantieme.config import home
from tantieme.errors import ChargedError, ConfigError, InputError, RemoteNodeError, TantiemeError
from tantieme.files import write_json

__all__ = [
    "CONSENT",
    "STRATEGIES",
    "Attempt",
    "Choice",
    "Latencies",
    "ModelOffer",
    "Need",
    "Reputation",
    "consent_bits",
    "first_answer",
    "may_explore",
    "route",
    "wilson_lower_bound",
]

# `offer_registry.vy`'s consent bits, in the order of the asset registry's `aiConsent`.
CONSENT = {"training": 1, "fine_tuning": 2, "retrieval": 4, "output_commercial": 8}
STRATEGIES = ("cheapest", "fastest", "best")
# z of a two-sided 95 % interval.
Z_95 = 1.959963984540054
# At most one `best` route in this many may pass a positively rated leader to try an untried offer.
EXPLORE_EVERY = 10
# Measured latencies kept per endpoint (the newest).
KEEP_SAMPLES = 64

T = TypeVar("T")

if TYPE_CHECKING:
    from tantieme.ai.metering import Offer as Prices


@dataclass(frozen=True)
class ModelOffer:
    """An agent's offer, as the offer registry holds it."""

    agent_id: int
    model: int
    price_prompt_per_million: int
    price_completion_per_million: int
    endpoint: str
    p95_latency_ms: int
    consent: int

    @property
    def prices(self) -> Prices:
        from tantieme.ai.metering import Offer as Prices  # `tantieme.ai` loads the model stack: not at start-up

        return Prices(self.price_prompt_per_million, self.price_completion_per_million)


@dataclass(frozen=True)
class Need:
    """What the asker needs: the question's estimated tokens, the most it pays for the
    answer (token wei) and the consent bits every source must grant."""

    prompt_tokens: int
    completion_tokens: int
    cap: int
    consent: int = CONSENT["retrieval"]

    def __post_init__(self) -> None:
        for name in ("prompt_tokens", "completion_tokens", "cap"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(f"{name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.consent, int) or not 0 <= self.consent <= 15:
            raise InputError(f"consent must be a set of {', '.join(CONSENT)}, got {self.consent!r}")


@dataclass(frozen=True)
class Reputation:
    """An agent's paid feedback: how much of it is positive."""

    positive: int
    total: int

    def __post_init__(self) -> None:
        if not 0 <= self.positive <= self.total:
            raise InputError(f"positive feedback must be from 0 to {self.total}, got {self.positive}")

    @property
    def lower_bound(self) -> float:
        return wilson_lower_bound(self.positive, self.total)


UNRATED = Reputation(0, 0)


@dataclass(frozen=True)
class Choice:
    """An offer the asker may take, with what the router judged it by."""

    offer: ModelOffer
    quote: int
    """The estimated fee, token wei."""
    p95_ms: int
    measured: bool
    """Whether `p95_ms` is this client's measurement (else the offer's advertised figure)."""
    score: float
    """The Wilson lower bound of the agent's positive paid feedback (0 without any)."""
    why: str
    """Why it stands where it does, by the strategy's measure."""
    passed: int | None = None
    """`best` exploring: the positively rated leader's agent id this untried offer was put
    ahead of (such a route spends the exploration budget, `may_explore`)."""


@dataclass(frozen=True)
class Attempt:
    """One provider asked: how long it took and, if it gave no answer, why."""

    agent_id: int
    endpoint: str
    ms: int
    error: str | None


def consent_bits(names: Iterable[str]) -> int:
    """The consent bits of AI uses named as `CONSENT`'s keys (`output-commercial` too)."""
    bits = 0
    for name in names:
        key = name.strip().lower().replace("-", "_")
        if key not in CONSENT:
            raise InputError(f"{name!r} is not an AI use: give any of {', '.join(CONSENT)}")
        bits |= CONSENT[key]
    return bits


def wilson_lower_bound(positive: int, total: int, z: float = Z_95) -> float:
    """The lower bound of the Wilson score interval of `positive` successes in `total`
    trials: a proportion that the evidence supports with the interval's confidence
    (0 without evidence; it rises towards the observed share as evidence grows)."""
    if not 0 <= positive <= total:
        raise InputError(f"positive must be from 0 to total ({total}), got {positive}")
    if positive == 0:
        return 0.0
    share = positive / total
    z2 = z * z
    centre = share + z2 / (2 * total)
    spread = z * math.sqrt(share * (1 - share) / total + z2 / (4 * total * total))
    # The share lies within the interval; the clamp absorbs float rounding.
    return min(share, max(0.0, (centre - spread) / (1 + z2 / total)))


def route(
    offers: Iterable[ModelOffer],
    need: Need,
    strategy: str,
    *,
    reputation: Mapping[int, Reputation] | None = None,
    latency: Mapping[str, int] | None = None,
    explore: bool = False,
) -> list[Choice]:
    """The offers `need` allows, best first by `strategy`: the fallback order.

    `reputation` maps agent ids to their paid feedback (none: no evidence);
    `latency` maps endpoints to this client's measured p95 in ms (`Latencies.p95s`);
    `explore`: whether `best` may pass a positively rated leader to try an untried offer
    (`may_explore`; see the module's doc).
    """
    if strategy not in STRATEGIES:
        raise InputError(f"{strategy!r} is not a routing strategy: use {', '.join(STRATEGIES)}")
    from tantieme.ai.metering import fee

    reputation, latency = reputation or {}, latency or {}
    choices = []
    for offer in offers:
        if need.consent & ~offer.consent:
            continue
        quote = fee(offer.prices, need.prompt_tokens, need.completion_tokens)
        if quote > need.cap:
            continue
        measured = offer.endpoint in latency
        rated = reputation.get(offer.agent_id, UNRATED)
        p95 = latency[offer.endpoint] if measured else offer.p95_latency_ms
        why = {
            "cheapest": f"estimated fee {format_amount(quote)} TAI",
            "fastest": f"p95 {p95:,} ms{' measured' if measured else ' advertised'}",
            "best": (
                f"lower bound {rated.lower_bound:.2f} ({rated.positive} of {rated.total} paid ratings positive)"
                if rated.total else "no paid ratings yet"
            ),
        }[strategy]
        choices.append(Choice(offer, quote, p95, measured, rated.lower_bound, why))
    keys: dict[str, Callable[[Choice], tuple]] = {
        "cheapest": lambda c: (c.quote, c.p95_ms, c.offer.agent_id),
        "fastest": lambda c: (c.p95_ms, c.quote, c.offer.agent_id),
        "best": lambda c: (-c.score, c.quote, c.p95_ms, c.offer.agent_id),
    }
    order = sorted(choices, key=keys[strategy])
    if strategy == "best" and order:
        return _exploring(order, reputation, explore)
    return [replace(order[0], why=f"{strategy} {order[0].why}"), *order[1:]] if order else order


def _exploring(order: list[Choice], reputation: Mapping[int, Reputation], explore: bool) -> list[Choice]:
    """`best`'s order, its first untried offer put first where the rule allows it (the module's doc)."""
    untried = next((c for c in order if reputation.get(c.offer.agent_id, UNRATED).total == 0), None)
    leader = order[0]
    if untried is not None and leader.score == 0:
        first = replace(untried, why="exploring: no paid ratings yet, and no offer within the cap has positive ones")
    elif untried is not None and explore:
        first = replace(
            untried, passed=leader.offer.agent_id,
            why=f"exploring: no paid ratings yet (ahead of agent #{leader.offer.agent_id}, best lower bound "
            f"{leader.score:.2f}; one route in {EXPLORE_EVERY} may explore)",
        )
    else:
        return [replace(leader, why=f"best {leader.why}"), *order[1:]]
    return [first, *(c for c in order if c is not untried)]


def may_explore(explored: Sequence[bool]) -> bool:
    """Whether a `best` route may pass a positively rated leader to explore, given whether
    each of this client's earlier `best` routes did, oldest first: not if one of the last
    `EXPLORE_EVERY - 1` did, so at most one route in `EXPLORE_EVERY` explores."""
    return not any(explored[max(0, len(explored) - (EXPLORE_EVERY - 1)):])


def first_answer(
    order: Sequence[Choice],
    ask: Callable[[Choice, float], T],
    *,
    timeout: float,
    book: Latencies | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Choice, T, list[Attempt]]:
    """Ask the providers in `order` until one answers: the first has `timeout` seconds,
    then the next is asked. `ask(choice, timeout)` must give up after `timeout` (an
    HTTP client's timeout) by raising `TimeoutError`, or raise a `TantiemeError` or
    `OSError` if the provider refuses or cannot be reached; anything else is a bug
    and propagates, and so does a `ChargedError` (paid, not answered: no fallback).
    Answers and timeouts are recorded in `book` (see the module's doc).
    """
    if not timeout > 0:
        raise InputError(f"the timeout must be a positive number of seconds, got {timeout!r}")
    if not order:
        raise RemoteNodeError("no offer fits: raise the price cap, ask for less consent, or wait for more offers")
    attempts: list[Attempt] = []
    for choice in order:
        started = clock()
        try:
            answer = ask(choice, timeout)
        except ChargedError:
            raise
        except (TantiemeError, TimeoutError, OSError) as exc:
            took = clock() - started
            timed_out = isinstance(exc, TimeoutError) or took >= timeout
            if book is not None and timed_out:
                book.record(choice.offer.endpoint, round(timeout * 1000))
            ms = round(max(took, timeout) * 1000) if timed_out else round(took * 1000)
            attempts.append(Attempt(choice.offer.agent_id, choice.offer.endpoint, ms, str(exc) or type(exc).__name__))
            continue
        ms = round((clock() - started) * 1000)
        if book is not None:
            book.record(choice.offer.endpoint, ms)
        attempts.append(Attempt(choice.offer.agent_id, choice.offer.endpoint, ms, None))
        return choice, answer, attempts
    tried = "; ".join(f"agent #{a.agent_id} ({a.endpoint}): {a.error}" for a in attempts)
    raise RemoteNodeError(f"no provider answered within {timeout:g} s: {tried}")


class Latencies:
    """This client's measured answer times per endpoint, in `TANTIEME_HOME/latency.json`:
    the newest `KEEP_SAMPLES` of each, in ms."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home() / "latency.json"
        self.samples: dict[str, list[int]] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text())
                self.samples = {str(k): [int(ms) for ms in v] for k, v in data.items()}
            except (ValueError, TypeError, AttributeError) as exc:
                raise ConfigError(
                    f"{self.path} is damaged ({type(exc).__name__}: {exc}); delete it: latencies are "
                    "measured again as providers answer"
                ) from None

    def record(self, endpoint: str, ms: int) -> None:
        """Add one measured answer time and save."""
        self.samples[endpoint] = [*self.samples.get(endpoint, []), max(0, int(ms))][-KEEP_SAMPLES:]
        write_json(self.path, self.samples, indent=None)

    def p95(self, endpoint: str) -> int | None:
        """The 95th percentile (nearest rank) of the endpoint's samples; None if unmeasured."""
        samples = sorted(self.samples.get(endpoint, ()))
        if not samples:
            return None
        return samples[math.ceil(0.95 * len(samples)) - 1]

    def p95s(self) -> dict[str, int]:
        """Every measured endpoint's p95, for `route`."""
        return {endpoint: p for endpoint in self.samples if (p := self.p95(endpoint)) is not None}
