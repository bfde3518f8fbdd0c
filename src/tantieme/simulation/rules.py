"""What a simulation runs under: the node's rules and the economy around it.

`Rules` are what the chain and the DAO set: the machine tax (`commons_bps`), the
operator's cut, the model's offer and the commons dividend. They come from the code
(`Rules.defaults`: the constants deployment and the node start with) or from a node's
chain (`Rules.current`). A proposal is a `Rules` with some fields changed
(`dataclasses.replace`), so `tantieme simulate` can judge any change of parameters
the same way.

`Economy` holds everything the chain does not know: how many people, their wages,
the automation shock, what people spend on answers. Its defaults are documented
assumptions, not measurements.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from tantieme.errors import InputError
from tantieme.ledger.netting import BPS, Split

if TYPE_CHECKING:
    from tantieme.node import Node

__all__ = ["Economy", "Rules"]

TAI = 10**18


@dataclass(frozen=True)
class Rules:
    """A node's economic rules. Shares in basis points, prices in token wei per million
    tokens."""

    commons_bps: int
    operator_bps: int
    price_prompt_per_million: int
    price_completion_per_million: int
    # The commons pool's dividend (GoodDollar-like): each day, every member is paid
    # (funds − reserve_bps of them) / (cycle_days × members).
    cycle_days: int
    reserve_bps: int
    # Baselines only: a flat tax on every person's income, paid to the commons.
    flat_tax_bps: int = 0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(f"{name} must be a non-negative whole number, got {value!r}")
        try:
            Split.of(0, self.commons_bps, self.operator_bps)
        except Exception:
            raise InputError(
                f"the machine tax ({self.commons_bps} bps) and the operator's cut ({self.operator_bps} bps) "
                f"add up to more than {BPS} bps: choose a machine tax of at most {BPS - self.operator_bps}"
            ) from None
        if self.reserve_bps > BPS or self.flat_tax_bps > BPS:
            raise InputError(f"the reserve and the flat tax are shares of at most {BPS} bps")
        if self.cycle_days < 1:
            raise InputError("the dividend's cycle must be at least one day")

    @classmethod
    def defaults(cls) -> Rules:
        """The rules a new deployment and a new node start with (the code's own constants)."""
        from tantieme.chain.deploy import COMMONS_BPS, OPERATOR_BPS, PUBLIC_COMMONS
        from tantieme.interaction import PRICE_COMPLETION_PER_MILLION, PRICE_PROMPT_PER_MILLION

        return cls(
            commons_bps=COMMONS_BPS,
            operator_bps=OPERATOR_BPS,
            price_prompt_per_million=PRICE_PROMPT_PER_MILLION,
            price_completion_per_million=PRICE_COMPLETION_PER_MILLION,
            cycle_days=PUBLIC_COMMONS.cycle_days,
            reserve_bps=PUBLIC_COMMONS.reserve_bps,
        )

    @classmethod
    def current(cls) -> tuple[Rules, str]:
        """Today's rules and where they come from: this home's node when it is set up
        (`of`), else the code's defaults."""
        from tantieme.node import Node, Settings

        if not Settings.path().is_file():
            return cls.defaults(), "defaults (no node is set up in this home)"
        with Node.open(readonly=True) as node:
            return cls.of(node)

    @classmethod
    def of(cls, node: Node) -> tuple[Rules, str]:
        """Today's rules of `node`'s chain (the ledger's split, the commons pool's dividend)
        and home (the default model's offer), and where they come from."""
        from tantieme import commons
        from tantieme.interaction import Models
        from tantieme.ledger.settlement import current_rules

        _, commons_bps, operator_bps = current_rules(node)
        rules = replace(cls.defaults(), commons_bps=commons_bps, operator_bps=operator_bps)
        if node.deployment.commons_pool is not None:
            pool = commons.pool(node).functions
            rules = replace(rules, cycle_days=pool.cycleDays().call(), reserve_bps=pool.reserveBps().call())
        models = Models.load()
        if models.default is not None:
            offer = models.get().offer
            rules = replace(
                rules,
                price_prompt_per_million=offer.price_prompt_per_million,
                price_completion_per_million=offer.price_completion_per_million,
            )
        return rules, f"this node's chain {node.conn.chain_id}"

    def with_(self, **changes: int) -> Rules:
        """These rules with some changed (a proposal), checked."""
        return replace(self, **changes)

    def changes(self, to: Rules) -> list[str]:
        """What `to` changes of these rules, in words: ["machine tax 5 % → 10 %", ...]."""
        return [
            f"{label} {shown(getattr(self, name))} → {shown(getattr(to, name))}"
            for name, (label, shown) in _WORDS.items()
            if getattr(self, name) != getattr(to, name)
        ]


def _percent(bps: int) -> str:
    return f"{bps / 100:g} %"


def _tai(wei: int) -> str:
    return f"{wei / TAI:g} TAI"


# How `Rules.changes` names each field and shows its values.
_WORDS = {
    "commons_bps": ("machine tax", _percent),
    "operator_bps": ("operator's cut", _percent),
    "price_prompt_per_million": ("price per million prompt tokens", _tai),
    "price_completion_per_million": ("price per million completion tokens", _tai),
    "cycle_days": ("dividend cycle", lambda days: f"{days} days"),
    "reserve_bps": ("dividend reserve", _percent),
    "flat_tax_bps": ("flat tax", _percent),
}


@dataclass(frozen=True)
class Economy:
    """The economy around the node: assumptions, each a parameter.

    A step is a week. Money is in token wei (1 TAI = 10**18 wei) and the unit is
    arbitrary: a median weekly wage of 100 TAI.
    """

    people: int = 300
    # Shares of people (bps): creators own works; owners own the operators and model owners.
    creator_bps: int = 2500
    owner_bps: int = 500
    # Weekly wages: log-normal around the median (sigma as a float: only the draw uses it).
    median_wage: int = 100 * TAI
    wage_sigma: float = 0.6
    # Works per creator: 1 + Poisson(mean); a share derives from an earlier work; datasets
    # are works that the models were trained on.
    extra_works_mean: float = 2.0
    derivative_bps: int = 2000
    datasets: int = 6
    models: int = 2
    operators: int = 3
    # Popularity of works is Zipf-like (rank^-zipf_exponent), times a log-normal quality.
    zipf_exponent: float = 1.0
    quality_sigma: float = 0.5
    # What people spend on answers, of their purchasing power, before and after the shock.
    ask_bps: int = 100
    ask_after_bps: int = 300
    # The automation shock: from `shock_step` on, a person loses a share of their wage
    # drawn uniformly from 0 to twice `automation_bps`; employers spend
    # `machine_spend_bps` of the wages they no longer pay on answers instead.
    shock_step: int | None = None
    automation_bps: int = 3000
    machine_spend_bps: int = 5000
    # Employers' purchases of answers per step (each a bundle of answers).
    employer_asks: int = 60
    # Hours worked respond to the flat tax: wage × (1 - tax)^elasticity.
    labour_elasticity: float = 0.25

    def shock_at(self, steps: int) -> int | None:
        """The step the shock hits: `shock_step`, or a quarter of the way by default."""
        return steps // 4 if self.shock_step is None else self.shock_step

    def without_shock(self) -> Economy:
        return replace(self, automation_bps=0, ask_after_bps=self.ask_bps)
