"""How a batch's fees are split and netted per recipient, exactly to the wei.

The on-chain split (`InteractionLedger.commons_bps`, `operator_bps`) takes
`total * bps // 10_000` for the commons pool and for the operator; the assets
get exactly the rest. Within that rest each record contributes its fee's share,
divided by its attribution weights: source *i* gets `w_i / 10_000` of it and the
model gets the model's own-knowledge share `1 - Σ w_i / 10_000`.

Per-asset amounts are summed as exact fractions and floored; the few wei of
rounding left over (the dust) go to the model asset with the largest amount
(ties: the smallest id), so the amounts always sum to the assets' part exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from tantieme.errors import LedgerError
from tantieme.ledger.records import InteractionRecord

BPS = 10_000


@dataclass(frozen=True)
class Split:
    """The on-chain split of a batch total: commons, operator, assets (token wei)."""

    commons: int
    operator: int
    assets: int

    @classmethod
    def of(cls, total: int, commons_bps: int, operator_bps: int) -> Split:
        if commons_bps < 0 or operator_bps < 0 or commons_bps + operator_bps > BPS:
            raise LedgerError(f"invalid split: commons {commons_bps} + operator {operator_bps} bps")
        commons = total * commons_bps // BPS
        operator = total * operator_bps // BPS
        return cls(commons=commons, operator=operator, assets=total - commons - operator)


@dataclass(frozen=True)
class Netted:
    """A batch's payments: the split and the amount owed to each asset."""

    total: int
    split: Split
    assets: tuple[int, ...]
    amounts: tuple[int, ...]

    def owed(self) -> dict[int, int]:
        return dict(zip(self.assets, self.amounts, strict=True))


def record_shares(record: InteractionRecord, commons_bps: int, operator_bps: int) -> dict[int, Fraction]:
    """The exact (fractional) amount each asset earns from one record."""
    part = Fraction(record.fee * (BPS - commons_bps - operator_bps), BPS)
    shares: dict[int, Fraction] = {}
    for source, weight in zip(record.sources, record.weights, strict=True):
        shares[source] = shares.get(source, Fraction(0)) + part * weight / BPS
    own = BPS - sum(record.weights)
    shares[record.model] = shares.get(record.model, Fraction(0)) + part * own / BPS
    return shares


class Netting:
    """A running netting of a batch: add records one at a time (a deposit-mode batch
    grows by one record per answer); `netted()` is what `net` gives for them all."""

    def __init__(self, commons_bps: int, operator_bps: int) -> None:
        Split.of(0, commons_bps, operator_bps)  # checks the split
        self.commons_bps, self.operator_bps = commons_bps, operator_bps
        self.total = 0
        self.count = 0
        self._exact: dict[int, Fraction] = {}
        self._models: set[int] = set()

    def add(self, record: InteractionRecord) -> Netting:
        """Add a record's fee and shares; returns self."""
        self.total += record.fee
        self.count += 1
        for asset, share in record_shares(record, self.commons_bps, self.operator_bps).items():
            self._exact[asset] = self._exact.get(asset, Fraction(0)) + share
        self._models.add(record.model)
        return self

    def copy(self) -> Netting:
        other = Netting(self.commons_bps, self.operator_bps)
        other.total, other.count = self.total, self.count
        other._exact, other._models = dict(self._exact), set(self._models)
        return other

    def netted(self) -> Netted:
        """One amount per asset, floored; the dust goes to the model asset owed most."""
        if not self.count:
            raise LedgerError("a batch needs at least one record")
        split = Split.of(self.total, self.commons_bps, self.operator_bps)
        exact = self._exact
        floored = {asset: int(value) for asset, value in exact.items()}
        dust = split.assets - sum(floored.values())
        if dust:
            heir = max(self._models, key=lambda m: (exact[m], -m))
            floored[heir] += dust
        paid = sorted((a, v) for a, v in floored.items() if v > 0)
        return Netted(
            total=self.total,
            split=split,
            assets=tuple(a for a, _ in paid),
            amounts=tuple(v for _, v in paid),
        )


def net(records: Iterable[InteractionRecord], commons_bps: int, operator_bps: int) -> Netted:
    """Net a batch's records into one amount per asset, conserving every wei."""
    netting = Netting(commons_bps, operator_bps)
    for record in records:
        netting.add(record)
    return netting.netted()
