"""Who profits: fairness analytics over a snapshot of a node's answers and the chain.

Pure functions over a `Snapshot` (records, how each group of records is split,
the asset graph, what the router holds and paid out), so every figure is
testable without a chain; `tantieme.report.snapshot` reads one from a node.

How a fee divides, to the wei, by the rules the contracts apply:

- the records of one batch are netted together (`tantieme.ledger.netting.net`,
  under the split the batch was signed with): the commons pool and the
  operator get `floor(total * bps / 10,000)` each, the assets exactly the rest,
  divided by the attribution weights (the model keeps its own-knowledge share
  and the rounding dust);
- each asset's amount then flows up the graph as the royalty router divides it
  (`tantieme.assets.royalties.simulate`: each parent `floor(amount * bps /
  10,000)`, the asset keeps the rest), one paid asset at a time, so every wei
  keeps the class of the asset it was paid to.

The classes: **creators** — what a cited work keeps of its attribution share;
**upstream** — what reaches the parents (and their parents) of cited works;
**training data** — what reaches a model's datasets and models up its lineage;
**model owner** — what the model keeps (its own-knowledge share, dust included);
**operator**; **commons** (the machine tax). They add up to the fees exactly.
Records not in a settled batch are split as their batch (or, while pending,
the ledger's current split) will be, and counted apart as *unsettled*.

The router distributes whatever is pending on an asset at once, so when several
payments wait on one asset the chain may round a parent's share one wei
differently from this per-payment division; the class totals add up either way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from tantieme.assets.registry import Asset
from tantieme.assets.royalties import simulate
from tantieme.disputes import Tagging, exclusion_rule, retrieval_status
from tantieme.errors import InputError
from tantieme.ledger.netting import BPS, net
from tantieme.ledger.records import InteractionRecord

__all__ = [
    "CLASSES", "PEOPLE", "PERIODS", "Answer", "Batch", "Commons", "Flows", "Snapshot", "WorkStats",
    "exclusions", "flows", "gini", "parse_period", "top_share", "works",
]

CLASSES = ("creators", "upstream", "training_data", "model_owner", "operator", "commons")
"""Recipient classes, in the order reports list them."""
LABELS = {
    "creators": "creators of cited works", "upstream": "upstream (parents)", "training_data": "training data",
    "model_owner": "model owner", "operator": "operator", "commons": "commons pool",
}
PEOPLE = ("creators", "upstream", "training_data")
"""The classes that reach people whose works shaped the answers."""
DAY = 86_400
PERIODS: dict[str, int | None] = {"all": None, "1d": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "90d": 90 * DAY}
TOP = Fraction(1, 10)


@dataclass(frozen=True)
class Batch:
    """How a group of records is split: a settled batch (figures from the chain), a signed
    one not yet settled, or a payer's pending records (the ledger's current split)."""

    key: str
    commons_bps: int
    operator_bps: int
    commons: str
    """The commons pool's address."""
    settled: bool
    chain_batch_id: int | None = None
    tx_hash: str | None = None
    gas: int | None = None
    """Gas of the settlement transaction, when settled."""


@dataclass(frozen=True)
class Answer:
    """One journaled record, the batch (key) it is split with, and its question."""

    digest: str
    record: InteractionRecord
    batch: str
    question: str = ""


@dataclass(frozen=True)
class Commons:
    """The commons pool on chain now (amounts in token wei): what it holds, its members, today's
    dividend per member, what it has paid out (its `Claimed` events) and the bonds it holds."""

    pool: str
    receives_the_tax: bool
    """The ledger's commons is this pool."""
    balance: int
    funds: int
    """What the dividend is paid from: the balance less the bonds."""
    bonds_held: int
    members: int
    day: int
    today_amount: int
    """Today's dividend per member (as today's first claim set it, or a claim would set it now)."""
    paid: int
    claims: int


@dataclass(frozen=True)
class Snapshot:
    """What the analytics read: answers, their batches, the asset graph, and per asset what
    the router holds claimable and has paid out (token wei), at time `now` (unix seconds);
    the commons pool, if the deployment has one; the assets an upheld dispute tagged (id → its tag)."""

    now: int
    answers: Sequence[Answer]
    batches: Mapping[str, Batch]
    assets: Sequence[Asset]
    claimable: Mapping[int, int] = field(default_factory=dict)
    claimed: Mapping[int, int] = field(default_factory=dict)
    commons: Commons | None = None
    disputed: Mapping[int, Tagging] = field(default_factory=dict)

    def since(self, period: str) -> int:
        span = PERIODS[period]
        return 0 if span is None else self.now - span


def parse_period(text: str) -> str:
    """A period name (`all`, `1d`, `7d`, `30d`, `90d`); `InputError` otherwise."""
    if text not in PERIODS:
        raise InputError(f"unknown period {text!r}: choose one of {', '.join(PERIODS)}")
    return text


@dataclass
class Flows:
    """Where the fees of a period's answers go, in token wei.

    `classes` adds up to `total`; `unsettled` is the part of each class from records not
    yet settled on chain. `assets` and `addresses` give each recipient's amount per class
    (the operator and the commons pool as addresses only).
    """

    total: int = 0
    records: int = 0
    classes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    unsettled: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    assets: dict[int, dict[str, int]] = field(default_factory=dict)
    addresses: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def to_people(self) -> Fraction | None:
        """The share of the fees that reached people whose works shaped the answers."""
        return Fraction(sum(self.classes[c] for c in PEOPLE), self.total) if self.total else None

    def _add(self, cls: str, amount: int, settled: bool, address: str, asset: int | None = None) -> None:
        self.classes[cls] += amount
        if not settled:
            self.unsettled[cls] += amount
        who = self.addresses.setdefault(address, dict.fromkeys(CLASSES, 0))
        who[cls] += amount
        if asset is not None:
            mine = self.assets.setdefault(asset, dict.fromkeys(CLASSES, 0))
            mine[cls] += amount


def flows(snapshot: Snapshot, since: int = 0) -> Flows:
    """The division of the fees of every answer made at `since` or later (see the module)."""
    by_id = {a.id: a for a in snapshot.assets}
    groups: dict[str, list[InteractionRecord]] = {}
    for answer in snapshot.answers:
        if answer.record.timestamp >= since:
            groups.setdefault(answer.batch, []).append(answer.record)
    result = Flows()
    for key, records in groups.items():
        batch = snapshot.batches[key]
        netted = net(records, batch.commons_bps, batch.operator_bps)
        result.total += netted.total
        result.records += len(records)
        operator = records[0].operator
        result._add("commons", netted.split.commons, batch.settled, batch.commons)
        result._add("operator", netted.split.operator, batch.settled, operator)
        for origin, amount in netted.owed().items():
            model = origin in by_id and by_id[origin].kind == "model"
            _, final = simulate(list(snapshot.assets), {origin: amount}, {})
            for asset, kept in final.items():
                if kept == 0:
                    continue
                if asset == origin:
                    cls = "model_owner" if model else "creators"
                else:
                    cls = "training_data" if model else "upstream"
                owner = by_id[asset].owner if asset in by_id else f"asset #{asset}"
                result._add(cls, kept, batch.settled, owner, asset)
    return result


def gini(incomes: Iterable[int]) -> Fraction:
    """The Gini coefficient of `incomes` (each ≥ 0): 0 when all are equal (or none is
    positive), at most (n − 1)/n. Exact: Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n Σ x)."""
    values = sorted(incomes)
    if any(v < 0 for v in values):
        raise ValueError("incomes must not be negative")
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return Fraction(0)
    weighted = sum((2 * i - n - 1) * v for i, v in enumerate(values, start=1))
    return Fraction(weighted, n * total)


def top_share(incomes: Iterable[int], fraction: Fraction = TOP) -> Fraction | None:
    """The share of all income that the top `fraction` of earners (at least one) receive;
    None when nobody earned anything."""
    values = sorted(incomes, reverse=True)
    total = sum(values)
    if not values or total == 0:
        return None
    top = max(1, math.ceil(len(values) * fraction))
    return Fraction(sum(values[:top]), total)


def creator_incomes(snapshot: Snapshot, result: Flows) -> dict[str, int]:
    """What each creator (the owner of any work, dataset or other non-model asset) earned
    through their works in `result` (creators, upstream, training data), 0 included."""
    incomes = {a.owner: 0 for a in snapshot.assets if a.kind != "model"}
    for asset in snapshot.assets:
        if asset.kind != "model" and asset.id in result.assets:
            incomes[asset.owner] += sum(result.assets[asset.id][c] for c in PEOPLE)
    return incomes


@dataclass(frozen=True)
class WorkStats:
    """One asset in a period: records citing it, its fee-weighted share of attribution
    (of all fees, the part attributed to it), what it earned by class (token wei); and on
    chain now, what the router holds claimable for it and has paid out."""

    asset: int
    citations: int
    attribution_share: Fraction
    earned: dict[str, int]
    claimable: int
    claimed: int


def works(snapshot: Snapshot, result: Flows, since: int = 0) -> list[WorkStats]:
    """`WorkStats` of every asset, by id."""
    cited: dict[int, int] = {}
    attributed: dict[int, int] = {}
    fees = 0
    for answer in snapshot.answers:
        record = answer.record
        if record.timestamp < since:
            continue
        fees += record.fee
        for source, weight in zip(record.sources, record.weights, strict=True):
            cited[source] = cited.get(source, 0) + 1
            attributed[source] = attributed.get(source, 0) + record.fee * weight
    return [
        WorkStats(
            asset=a.id,
            citations=cited.get(a.id, 0),
            attribution_share=Fraction(attributed.get(a.id, 0), fees * BPS) if fees else Fraction(0),
            earned=result.assets.get(a.id, dict.fromkeys(CLASSES, 0)),
            claimable=snapshot.claimable.get(a.id, 0),
            claimed=snapshot.claimed.get(a.id, 0),
        )
        for a in sorted(snapshot.assets, key=lambda a: a.id)
    ]


def exclusions(snapshot: Snapshot) -> Callable[[int], str | None]:
    """Why retrieval leaves each asset out (None: it reads it), by `disputes.exclusion_rule` over
    the snapshot's assets (their effective consent and parents) and tags."""
    by_id = {a.id: a for a in snapshot.assets}
    return exclusion_rule(lambda asset_id: by_id[asset_id].consent.get("retrieval", False),
                          snapshot.disputed.get, lambda asset_id: by_id[asset_id].parents)


def _commons(pool: Commons | None) -> dict | None:
    if pool is None:
        return None
    return {
        "pool": pool.pool, "receives_the_tax": pool.receives_the_tax, "balance": str(pool.balance),
        "funds": str(pool.funds), "bonds_held": str(pool.bonds_held), "members": pool.members, "day": pool.day,
        "today_amount": str(pool.today_amount), "paid": str(pool.paid), "claims": pool.claims,
    }


def _ratio(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 6)


def summary(snapshot: Snapshot, periods: Sequence[str] = tuple(PERIODS), works_period: str = "all") -> dict:
    """The report as JSON-ready data: per period the division by class (amounts as decimal
    strings, shares as fractions of 1), creator incomes, their Gini and top-10 % share; per
    asset its figures over `works_period`; the batches; and the commons pool (`commons_pool`, None without one)."""
    out: dict = {"now": snapshot.now, "periods": [], "works": [], "batches": [], "commons_pool": _commons(snapshot.commons)}
    for period in periods:
        since = snapshot.since(period)
        result = flows(snapshot, since)
        incomes = creator_incomes(snapshot, result)
        out["periods"].append({
            "period": period,
            "since": since,
            "records": result.records,
            "total": str(result.total),
            "classes": [
                {
                    "class": cls, "label": LABELS[cls], "amount": str(result.classes[cls]),
                    "unsettled": str(result.unsettled[cls]),
                    "share": _ratio(Fraction(result.classes[cls], result.total) if result.total else None),
                }
                for cls in CLASSES
            ],
            "to_people": _ratio(result.to_people),
            "creators": [
                {"address": who, "income": str(amount)}
                for who, amount in sorted(incomes.items(), key=lambda item: (-item[1], item[0]))
            ],
            "gini": _ratio(gini(incomes.values())),
            "top10_share": _ratio(top_share(incomes.values())),
        })
    since = snapshot.since(works_period)
    by_id = {a.id: a for a in snapshot.assets}
    left_out = exclusions(snapshot)
    for stats in works(snapshot, flows(snapshot, since), since):
        asset = by_id[stats.asset]
        out["works"].append({
            "asset": stats.asset, "title": asset.title, "kind": asset.kind, "owner": asset.owner,
            "parents": list(asset.parents), "consent": dict(asset.consent),
            "citations": stats.citations, "attribution_share": _ratio(stats.attribution_share),
            "earned": str(sum(stats.earned.values())),
            "by_class": {cls: str(v) for cls, v in stats.earned.items() if v},
            "claimable": str(stats.claimable), "claimed": str(stats.claimed),
            "disputed": tag.reason if (tag := snapshot.disputed.get(stats.asset)) else None,
            "retrieval": retrieval_status(asset.kind, left_out(stats.asset)),
        })
    counts: dict[str, tuple[int, int]] = {}
    for answer in snapshot.answers:
        n, fees = counts.get(answer.batch, (0, 0))
        counts[answer.batch] = (n + 1, fees + answer.record.fee)
    for key, batch in snapshot.batches.items():
        n, fees = counts.get(key, (0, 0))
        out["batches"].append({
            "batch": key, "settled": batch.settled, "chain_batch_id": batch.chain_batch_id,
            "records": n, "total": str(fees), "tx_hash": batch.tx_hash,
            "gas": None if batch.gas is None else str(batch.gas),
        })
    return out
