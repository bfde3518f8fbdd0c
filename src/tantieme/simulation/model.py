"""The agent-based model: people, creators, employers, operators, model owners and the commons.

Each step (a week):

1. **Employers pay wages** (money in). From the shock on, each person's wage falls by
   their exposure to automation, and employers spend `machine_spend_bps` of the wages
   they no longer pay on answers instead. Under a flat tax people work less:
   wage × (1 − tax)^elasticity.
2. **Answers are bought.** Each person spends the answer budget put aside last step,
   each employer task its share of the machine budget, at one operator chosen at
   random. An *ask* is a bundle of identical answers: the prompt and completion tokens
   of one answer (a prompt grows with its sources), times as many answers as the budget
   buys at the node's real offer (`tantieme.ai.metering.fee`). Sources are cited by a
   simple, documented attribution model: 1–4 works drawn from those consenting to
   retrieval with probability ∝ popularity (Zipf over a random rank) × quality; the
   model's own knowledge weighs 5–35 % and the sources share the rest ∝ their quality.
3. **Each operator settles its batch** with the ledger's real netting
   (`tantieme.ledger.netting.Netting`: the commons and operator shares, then each asset
   its weights' part, to the wei), and the royalty router's real distribution
   (`tantieme.assets.royalties.simulate`): derivatives pass their parents'
   `royalty_bps` up, the model passes its training datasets' share up.
4. **Firms pay out**: operators and model owners pay all they hold to their owners
   (the best-paid `owner_bps` of people), in equal shares.
5. **Taxes and the dividend.** A flat tax (baseline) takes its share of each person's
   income into the commons; each day of the week the commons pays every member
   (everyone) (funds − reserve) / (cycle days × members), as the commons pool's
   contract does (GoodDollar-like).
6. **People spend**: purchasing power = wage + royalties + profits − flat tax +
   dividend; `ask_bps` of it (`ask_after_bps` after the shock: the services people
   bought from people now come as answers) is put aside for next step's answers and
   the rest is spent outside the model (money out).

Money is integer token wei everywhere and moves only through `Books`, which counts
what came in and went out: minted = burned + held, to the wei, at every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mesa
import numpy as np

from tantieme.ai.metering import Offer, fee
from tantieme.assets.registry import Asset
from tantieme.assets.royalties import simulate as distribute
from tantieme.assets.terms import PRESETS
from tantieme.ledger.netting import BPS, Netting
from tantieme.simulation.rules import Economy, Rules

__all__ = ["Books", "EconomyModel", "gini"]

# The terms creators choose for their works (weights), and for datasets.
WORK_TERMS = (("open", 4), ("non-commercial", 4), ("no-ai", 2))
DATASET_TERMS = "training-data"
PPM = 1_000_000
# Days in a step (a week): the dividend is paid daily.
DAYS = 7


def gini(values: list[int]) -> float:
    """The Gini coefficient of non-negative amounts (0: all equal; 1: one has all)."""
    ordered = sorted(values)
    total = sum(ordered)
    n = len(ordered)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(ordered))
    return (2 * weighted) / (n * total) - (n + 1) / n


class Books:
    """Every account's balance in token wei, and what entered and left the model."""

    def __init__(self) -> None:
        self.balance: dict[object, int] = {}
        self.minted = 0
        self.burned = 0

    def mint(self, to: object, amount: int) -> None:
        """Money in: paid from outside the model (wages, employers' purchases)."""
        self.balance[to] = self.balance.get(to, 0) + amount
        self.minted += amount

    def move(self, source: object, to: object, amount: int) -> None:
        held = self.balance.get(source, 0)
        if amount < 0 or amount > held:
            raise AssertionError(f"{source} cannot move {amount} wei: holds {held}")
        self.balance[source] = held - amount
        self.balance[to] = self.balance.get(to, 0) + amount

    def burn(self, source: object, amount: int) -> None:
        """Money out: spent outside the model."""
        self.move(source, None, amount)
        del self.balance[None]
        self.burned += amount

    def held(self) -> int:
        return sum(self.balance.values())


@dataclass(frozen=True)
class Ask:
    """A bundle of identical answers, duck-typed as an interaction record for `Netting`."""

    fee: int
    sources: tuple[int, ...]
    weights: tuple[int, ...]
    model: int


class Person(mesa.Agent):
    """Works for a wage, asks questions, may create works or own firms, is a member of the commons."""

    def __init__(self, model: EconomyModel, base_wage: int, exposure_bps: int) -> None:
        super().__init__(model)
        self.base_wage = base_wage
        self.exposure_bps = exposure_bps
        self.wage = self.royalties = self.profits = self.tax = self.dividend = 0
        self.power = self.budget = 0

    def work(self) -> None:
        """Step 1: earn this week's wage (money in)."""
        m = self.model
        kept = BPS - (self.exposure_bps if m.shocked else 0)
        self.wage = self.base_wage * kept * m.labour_ppm // (BPS * PPM)
        self.royalties = self.profits = self.tax = self.dividend = 0
        m.books.mint(self, self.wage)

    def ask(self) -> None:
        """Step 2: spend the answer budget put aside last step."""
        self.model.buy_answers(self, self.budget)

    def pay_tax(self) -> None:
        """Step 5: the flat tax on this step's income (baselines)."""
        m = self.model
        self.tax = (self.wage + self.royalties + self.profits) * m.rules.flat_tax_bps // BPS
        m.books.move(self, m.commons, self.tax)
        m.commons.received += self.tax

    def spend(self) -> None:
        """Step 6: put aside the next answers' budget, spend the rest outside."""
        m = self.model
        self.power = self.wage + self.royalties + self.profits - self.tax + self.dividend
        self.budget = self.power * (m.economy.ask_after_bps if m.shocked else m.economy.ask_bps) // BPS
        m.books.burn(self, m.books.balance.get(self, 0) - self.budget)


class Firm(mesa.Agent):
    """An operator or a model owner: pays out all it holds to its owners each step."""

    def __init__(self, model: EconomyModel, kind: str) -> None:
        super().__init__(model)
        self.kind = kind

    def pay_out(self) -> None:
        m = self.model
        owners = m.owners
        share = m.books.balance.get(self, 0) // len(owners)
        for owner in owners:
            m.books.move(self, owner, share)
            owner.profits += share


class Commons(mesa.Agent):
    """The commons pool: receives the machine tax (and the flat tax) and pays the dividend."""

    def __init__(self, model: EconomyModel) -> None:
        super().__init__(model)
        # Taxes received this step (machine tax and flat tax).
        self.received = 0

    def pay_dividend(self) -> None:
        m = self.model
        members = m.people
        for _ in range(DAYS):
            funds = m.books.balance.get(self, 0)
            daily = (funds - funds * m.rules.reserve_bps // BPS) // (m.rules.cycle_days * len(members))
            for person in members:
                m.books.move(self, person, daily)
                person.dividend += daily


class EconomyModel(mesa.Model):
    """The economy under one set of rules; `step()` runs a week, `datacollector` keeps the series."""

    def __init__(self, rules: Rules, economy: Economy, steps: int, seed: int = 0) -> None:
        super().__init__(rng=seed)
        self.rules, self.economy = rules, economy
        self.offer = Offer(rules.price_prompt_per_million, rules.price_completion_per_million)
        self.shock_step = economy.shock_at(steps)
        self.books = Books()
        self.labour_ppm = round(PPM * (1 - rules.flat_tax_bps / BPS) ** economy.labour_elasticity)
        self.fees = self.creator_income = 0
        self.employer = "employers"
        self._people()
        self.commons = Commons(self)
        self.operators = [Firm(self, "operator") for _ in range(economy.operators)]
        self.model_owners = [Firm(self, "model owner") for _ in range(economy.models)]
        self._assets()
        # Operator i serves model i mod models; each operator settles one batch a step.
        self.serves = [self.model_ids[i % economy.models] for i in range(economy.operators)]
        self.datacollector = mesa.DataCollector(model_reporters=REPORTERS)

    # -- set-up ----------------------------------------------------------------

    def _people(self) -> None:
        e, rng = self.economy, self.rng
        wages = rng.lognormal(0.0, e.wage_sigma, e.people)
        exposure = rng.uniform(0, 2 * e.automation_bps, e.people)
        for wage, exposed in zip(wages, exposure, strict=True):
            Person(self, int(wage * PPM) * (e.median_wage // PPM), min(int(exposed), BPS))
        self.people = list(self.agents_by_type[Person])
        by_wage = sorted(self.people, key=lambda p: (-p.base_wage, p.unique_id))
        self.owners = by_wage[: max(1, e.people * e.owner_bps // BPS)]
        creators = rng.choice(len(self.people), size=max(1, e.people * e.creator_bps // BPS), replace=False)
        self.creators = [self.people[i] for i in sorted(creators)]

    def _assets(self) -> None:
        """Datasets, works and derivatives (ids ascending: parents before children),
        then the models, trained on datasets: the graph the router distributes over."""
        e, rng = self.economy, self.rng
        self.assets: list[Asset] = []
        self.owner_of: dict[int, object] = {}
        self.consents: dict[int, bool] = {}

        def add(owner: object, kind: str, terms: str, parents: tuple[int, ...]) -> int:
            asset_id = len(self.assets) + 1
            self.assets.append(Asset(asset_id, str(owner), kind, "", "", parents, len(parents), PRESETS[terms]))
            self.owner_of[asset_id] = owner
            self.consents[asset_id] = PRESETS[terms].ai_retrieval and all(self.consents[p] for p in parents)
            return asset_id

        datasets = [add(self.creators[int(rng.integers(len(self.creators)))], "dataset", DATASET_TERMS, ())
                    for _ in range(e.datasets)]
        names, weights = zip(*WORK_TERMS, strict=True)
        odds = np.array(weights) / sum(weights)
        works: list[int] = []
        for creator in self.creators:
            for _ in range(1 + int(rng.poisson(e.extra_works_mean))):
                derived = bool(works) and rng.integers(BPS) < e.derivative_bps
                parents = (works[int(rng.integers(len(works)))],) if derived else ()
                works.append(add(creator, "work", names[int(rng.choice(len(names), p=odds))], parents))
        self.model_ids = []
        for i, owner in enumerate(self.model_owners):
            trained = rng.choice(datasets, size=min(len(datasets), 2 + i % 2), replace=False)
            self.model_ids.append(add(owner, "model", "open", tuple(sorted(int(d) for d in trained))))
        citable = [w for w in datasets + works if self.consents[w]]
        rank = rng.permutation(len(citable)) + 1
        quality = rng.lognormal(0.0, e.quality_sigma, len(citable))
        popularity = quality / rank.astype(float) ** e.zipf_exponent
        self.citable = citable
        self.quality = dict(zip(citable, quality.tolist(), strict=True))
        self.cumulative = np.cumsum(popularity).tolist()

    # -- a step ----------------------------------------------------------------

    @property
    def shocked(self) -> bool:
        return self.steps > self.shock_step

    def step(self) -> None:
        people = self.agents_by_type[Person]
        self.fees = self.creator_income = self.commons.received = 0
        self.batches: list[list[Ask]] = [[] for _ in self.operators]
        people.do("work")
        people.shuffle_do("ask")
        self._employers_buy()
        for operator, batch in zip(self.operators, self.batches, strict=True):
            self._settle(operator, batch)
        for firm in self.operators + self.model_owners:
            firm.pay_out()
        people.do("pay_tax")
        self.commons.pay_dividend()
        people.do("spend")
        self.datacollector.collect(self)

    def _employers_buy(self) -> None:
        """From the shock on, employers buy answers with part of the wages they stopped paying."""
        if not self.shocked:
            return
        e = self.economy
        replaced = sum(p.base_wage * p.exposure_bps * self.labour_ppm // (BPS * PPM) for p in self.people)
        budget = replaced * e.machine_spend_bps // BPS
        self.books.mint(self.employer, budget)
        for _ in range(e.employer_asks):
            self.buy_answers(self.employer, budget // e.employer_asks)

    def buy_answers(self, buyer: object, budget: int) -> None:
        """One ask: as many identical answers as `budget` buys at a random operator."""
        draw = self.random
        k = draw.randint(1, 4)
        picked: list[int] = []
        while len(picked) < k:
            (source,) = draw.choices(self.citable, cum_weights=self.cumulative, k=1)
            if source not in picked:
                picked.append(source)
        prompt_tokens = 150 + 80 * k + draw.randrange(100)
        completion_tokens = draw.randint(20, 96)
        operator = draw.randrange(len(self.operators))
        own = draw.randint(500, 3500)
        count = budget // fee(self.offer, prompt_tokens, completion_tokens)
        if count == 0:
            return
        quality = [self.quality[s] for s in picked]
        weights = tuple(int((BPS - own) * q / sum(quality)) for q in quality)
        amount = fee(self.offer, count * prompt_tokens, count * completion_tokens)
        self.books.move(buyer, "ledger", amount)
        self.fees += amount
        self.batches[operator].append(Ask(amount, tuple(picked), weights, self.serves[operator]))

    def _settle(self, operator: Firm, batch: list[Ask]) -> None:
        """One batch: the ledger's split and netting, then the router's distribution upstream."""
        if not batch:
            return
        netting = Netting(self.rules.commons_bps, self.rules.operator_bps)
        for ask in batch:
            netting.add(ask)
        netted = netting.netted()
        self.books.move("ledger", self.commons, netted.split.commons)
        self.commons.received += netted.split.commons
        self.books.move("ledger", operator, netted.split.operator)
        _, claimable = distribute(self.assets, netted.owed(), {})
        for asset_id, amount in claimable.items():
            owner = self.owner_of[asset_id]
            self.books.move("ledger", owner, amount)
            if isinstance(owner, Person):
                owner.royalties += amount
                self.creator_income += amount


def _powers(model: EconomyModel) -> list[int]:
    return [p.power for p in model.people]


def _bottom_half(model: EconomyModel) -> int:
    powers = sorted(_powers(model))
    half = powers[: len(powers) // 2]
    return sum(half) // len(half)


REPORTERS: dict[str, Callable[[EconomyModel], object]] = {
    "mean_power": lambda m: sum(_powers(m)) // len(m.people),
    "bottom_half_power": _bottom_half,
    "gini": lambda m: gini(_powers(m)),
    "fees": lambda m: m.fees,
    "creator_income": lambda m: m.creator_income,
    "dividend_per_person": lambda m: m.people[0].dividend,
    "productivity": lambda m: sum(p.wage for p in m.people) + m.fees,
    "gross_income": lambda m: sum(p.wage + p.royalties + p.profits for p in m.people),
    "tax_raised": lambda m: m.commons.received,
    "commons_pool": lambda m: m.books.balance.get(m.commons, 0),
}
