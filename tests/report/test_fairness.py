"""The fairness analytics on snapshots built by hand: a worked example to the wei, then
properties over random graphs, answers and batches (hypothesis)."""

from __future__ import annotations

import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from tantieme.assets.registry import Asset
from tantieme.assets.terms import LicenseTerms
from tantieme.ledger.records import InteractionRecord
from tantieme.report.fairness import (
    CLASSES, PEOPLE, Answer, Batch, Snapshot, creator_incomes, flows, gini, summary, top_share, works,
)

OPERATOR = "0x" + "0f" * 20
COMMONS = "0x" + "c0" * 20
PAYER = "0x" + "0a" * 20
NOW = 1_800_000_000


def owner(n: int) -> str:
    return "0x" + f"{n:040x}"


def asset(id: int, kind: str, who: int, parents: tuple[int, ...] = (), royalty_bps: int = 0) -> Asset:
    return Asset(
        id=id, owner=owner(who), kind=kind, content_hash="0x" + f"{id:064x}", uri="", parents=parents,
        ancestors=len(parents), terms=LicenseTerms(royalty_bps=royalty_bps), title=f"asset {id}",
    )


def record(model: int, sources: tuple[int, ...], weights: tuple[int, ...], fee: int, at: int = NOW, nonce: int = 0):
    return InteractionRecord(
        payer=PAYER, operator=OPERATOR, model=model, prompt_hash=b"\x01" * 32, output_hash=b"\x02" * 32,
        sources=sources, weights=weights, prompt_tokens=10, completion_tokens=5, fee=fee, nonce=nonce, timestamp=at,
    )


def batch(key: str, commons_bps: int = 1_000, operator_bps: int = 2_000, settled: bool = True) -> Batch:
    return Batch(key, commons_bps, operator_bps, COMMONS, settled=settled)


# Work 1 (owner 1, takes 10 % of its derivatives' revenue) ← work 2 (owner 2); dataset 3 (owner 3,
# takes 25 %) ← model 4 (owner 9); work 5 (owner 5) stands alone.
GRAPH = [
    asset(1, "work", 1, royalty_bps=1_000), asset(2, "work", 2, (1,)), asset(3, "dataset", 3, royalty_bps=2_500),
    asset(4, "model", 9, (3,)), asset(5, "work", 5),
]


def test_flows__worked_example__every_class_to_the_wei():
    snap = Snapshot(NOW, [Answer("0x01", record(4, (2,), (6_000,), 10_000), "#1")], {"#1": batch("#1")}, GRAPH)
    result = flows(snap)
    # assets' part 7,000: work 2 gets 60 % (4,200, of which 420 up to work 1); the model 2,800 (700 to its dataset).
    assert result.classes == {
        "creators": 3_780, "upstream": 420, "training_data": 700, "model_owner": 2_100, "operator": 2_000, "commons": 1_000,
    }
    assert result.total == 10_000 and result.records == 1
    assert result.to_people == Fraction(4_900, 10_000)
    assert result.addresses[owner(1)]["upstream"] == 420 and result.addresses[COMMONS]["commons"] == 1_000
    assert result.unsettled == dict.fromkeys(CLASSES, 0)
    incomes = creator_incomes(snap, result)
    assert incomes == {owner(1): 420, owner(2): 3_780, owner(3): 700, owner(5): 0}  # the model's owner is no creator
    (w2,) = [w for w in works(snap, result) if w.asset == 2]
    assert (w2.citations, w2.attribution_share) == (1, Fraction(6, 10))


def test_flows__rounding_dust_goes_where_the_ledger_puts_it():
    # 3 wei fees: the split floors commons and operator to 0; the assets get all 3 wei.
    snap = Snapshot(NOW, [Answer("0x01", record(4, (2, 5), (3_333, 3_333), 3), "#1")], {"#1": batch("#1")}, GRAPH)
    result = flows(snap)
    assert sum(result.classes.values()) == 3 and result.classes["commons"] == 0


def test_flows__periods_and_unsettled_records():
    answers = [
        Answer("0x01", record(4, (5,), (10_000,), 1_000, at=NOW - 40 * 86_400, nonce=1), "#1"),
        Answer("0x02", record(4, (5,), (5_000,), 2_000, at=NOW - 3 * 86_400, nonce=2), "#1"),
        Answer("0x03", record(4, (), (), 4_000, at=NOW - 60, nonce=3), "pending"),
    ]
    snap = Snapshot(NOW, answers, {"#1": batch("#1"), "pending": batch("pending", settled=False)}, GRAPH)
    assert flows(snap).total == 7_000
    assert flows(snap, snap.since("30d")).total == 6_000
    assert flows(snap, snap.since("1d")).total == 4_000
    unsettled = flows(snap).unsettled
    assert sum(unsettled.values()) == 4_000 and unsettled["creators"] == 0
    doc = summary(snap)
    assert [p["period"] for p in doc["periods"]] == ["all", "1d", "7d", "30d", "90d"]
    assert [p["total"] for p in doc["periods"]] == ["7000", "4000", "6000", "6000", "7000"]
    assert all(isinstance(c["amount"], str) for p in doc["periods"] for c in p["classes"])
    assert doc["commons_pool"] is None  # a deployment without a commons pool


def test_gini__known_values():
    assert gini([5, 5, 5, 5]) == 0
    assert gini([0, 0, 0, 1]) == Fraction(3, 4)
    assert gini([]) == 0 and gini([0, 0]) == 0
    assert top_share([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]) == Fraction(1, 10)
    assert top_share([0, 0]) is None


# ------------------------------------------------------------------ properties --

incomes = st.lists(st.integers(0, 2**128), min_size=1, max_size=30)


@given(incomes)
def test_gini__in_zero_one(values):
    assert 0 <= gini(values) < 1


@given(st.integers(0, 2**128), st.integers(1, 30))
def test_gini__zero_for_equal_incomes(value, n):
    assert gini([value] * n) == 0


@given(incomes, st.integers(1, 10**30), st.randoms(use_true_random=False))
def test_gini__invariant_under_scaling_and_permutation(values, factor, rnd):
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert gini([v * factor for v in shuffled]) == gini(values)


@given(incomes)
def test_top_share__at_least_a_tenth(values):
    share = top_share(values)
    assert share is None if sum(values) == 0 else Fraction(1, 10) <= share <= 1


@st.composite
def snapshots(draw):
    rnd = random.Random(draw(st.integers(0, 2**32)))
    graph: list[Asset] = []
    for id in range(1, draw(st.integers(1, 8)) + 1):
        kind = rnd.choice(["work", "work", "dataset", "model"])
        parents = tuple(sorted(rnd.sample(range(1, id), k=min(id - 1, rnd.randint(0, 3)))))
        graph.append(asset(id, kind, rnd.randint(1, 4), parents, rnd.randint(0, 3_000)))
    models = [a.id for a in graph if a.kind == "model"] or [graph[0].id]
    others = [a.id for a in graph]
    keys = [f"#{n}" for n in range(1, draw(st.integers(1, 3)) + 1)]
    batches = {}
    for key in keys:
        commons_bps = rnd.randint(0, 10_000)
        batches[key] = batch(key, commons_bps, rnd.randint(0, 10_000 - commons_bps), settled=rnd.random() < 0.7)
    answers = []
    for n in range(draw(st.integers(1, 12))):
        sources = tuple(rnd.sample(others, k=rnd.randint(0, min(4, len(others)))))
        cuts = sorted(rnd.randint(0, 10_000) for _ in sources)
        weights = tuple(b - a for a, b in zip([0, *cuts], cuts))
        fee = draw(st.sampled_from([0, 1, 3, 999, 10**15, 2**96 - 1])) if n == 0 else rnd.randint(1, 2**96)
        at = NOW - rnd.randint(0, 100 * 86_400)
        answers.append(Answer(f"0x{n:02x}", record(rnd.choice(models), sources, weights, fee, at, n), rnd.choice(keys)))
    return Snapshot(NOW, answers, batches, graph)


@settings(max_examples=150, deadline=None)
@given(snapshots(), st.sampled_from(["all", "1d", "7d", "30d", "90d"]))
def test_flows__parts_add_up_to_the_fees_to_the_wei(snap, period):
    since = snap.since(period)
    chosen = [a for a in snap.answers if a.record.timestamp >= since]
    result = flows(snap, since)
    assert result.total == sum(a.record.fee for a in chosen) == sum(result.classes.values())
    assert sum(sum(v.values()) for v in result.addresses.values()) == result.total
    assert sum(result.unsettled.values()) == sum(a.record.fee for a in chosen if not snap.batches[a.batch].settled)
    assert all(v >= 0 for v in result.classes.values())
    people = sum(v for a in snap.assets if a.kind != "model" for c, v in result.assets.get(a.id, {}).items() if c in PEOPLE)
    assert sum(creator_incomes(snap, result).values()) == people
