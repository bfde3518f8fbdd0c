"""Runs, baselines, proposals and sweeps, summarised as tax-policy simulations report them.

Like the AI Economist (Zheng et al. 2020), each policy is judged on equality
(1 − Gini of people's purchasing power) × productivity (what the economy pays for
work per step: wages plus answer fees), against three baselines:

- **no tax**: no machine tax, no dividend;
- **flat tax**: no machine tax; a flat tax on all of people's income (wages,
  royalties, profits), paid to the commons and out as the same dividend. Its rate is
  revenue-neutral: what the machine tax raised after the shock, over the income the
  no-tax economy paid people in that time;
- **machine tax with dividend**: today's rules (and a proposal's, given one).

Summaries are taken after the automation shock (the whole run when there is none):
mean and bottom-50 % purchasing power per step, the Gini coefficient of each person's
purchasing power over that window, creators' share of the answer fees, the commons
dividend per person per step, the taxes raised per step. Money is token wei (ints).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tantieme.simulation.model import EconomyModel, gini
from tantieme.simulation.rules import Economy, Rules

__all__ = ["SUMMARY_ROWS", "Comparison", "cell", "Outcome", "compare", "run", "sweep", "write_plots"]

# Series whose values are token wei (strings in JSON).
MONEY_SERIES = (
    "mean_power", "bottom_half_power", "fees", "creator_income", "dividend_per_person",
    "productivity", "gross_income", "tax_raised", "commons_pool",
)
# Summary fields that are token wei.
MONEY_SUMMARY = (
    "mean_power", "bottom_half_power", "productivity", "welfare", "dividend_per_person",
    "tax_raised", "before_mean_power", "before_bottom_half_power",
)
SUMMARY_ROWS = (
    ("tax raised", "tax_raised", "tai"),
    ("productivity", "productivity", "tai"),
    ("equality", "equality", "ratio"),
    ("equality × productivity", "welfare", "tai"),
    ("mean purchasing power", "mean_power", "tai"),
    ("bottom 50 %", "bottom_half_power", "tai"),
    ("Gini", "gini", "ratio"),
    ("creators' share", "creators_share", "share"),
    ("dividend per person", "dividend_per_person", "tai"),
)
"""A summary as tables show it: label, key, kind (token wei per week, a ratio, a share)."""
DIVIDENDS = ((1, 0), (30, 1000), (90, 5000))
"""Dividend settings a sweep tries: (cycle in days, reserve in bps)."""
MACHINE_TAXES = (0, 250, 500, 1000, 2000, 3000)
"""Machine taxes a sweep tries, in bps."""

Progress = Callable[[int], None]


def cell(value: int | float | str, kind: str, signed: bool = False) -> str:
    """A summary's value as tables show it (`SUMMARY_ROWS`' kinds); token wei may be a JSON string."""
    if kind == "tai":
        wei = int(value)
        text = f"{(abs(wei) if signed else wei) / 10**18:,.2f}"
        return (("+" if wei >= 0 else "-") + text) if signed else text
    if kind == "share":
        return f"{value:+.1%}" if signed else f"{value:.1%}"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


@dataclass
class Outcome:
    """One economy run under one set of rules."""

    name: str
    rules: Rules
    steps: int
    shock_step: int
    series: dict[str, list]
    summary: dict[str, int | float]
    # Money in (wages, employers' purchases), out (spent outside) and held at the end.
    books: dict[str, int]

    def after(self, key: str) -> list:
        """A series' values from the shock on (all of them when the shock comes after the run)."""
        return self.series[key][_start(self.shock_step, self.steps):]

    def to_json(self) -> dict:
        series = {k: [str(v) for v in vs] if k in MONEY_SERIES else [round(v, 6) for v in vs]
                  for k, vs in self.series.items()}
        summary = {k: str(v) if k in MONEY_SUMMARY else round(v, 6) for k, v in self.summary.items()}
        return {
            "name": self.name,
            "rules": asdict(self.rules),
            "summary": summary,
            "books": {k: str(v) for k, v in self.books.items()},
            "series": series,
        }


def run(name: str, rules: Rules, economy: Economy, steps: int, seed: int, progress: Progress | None = None) -> Outcome:
    """Run the economy under `rules` for `steps` weeks from `seed`."""
    model = EconomyModel(rules, economy, steps, seed)
    after = {p: 0 for p in model.people}
    for _ in range(steps):
        model.step()
        if model.steps > _start(model.shock_step, steps):
            for person in model.people:
                after[person] += person.power
        if progress:
            progress(1)
    series = dict(model.datacollector.model_vars)
    books = {"minted": model.books.minted, "burned": model.books.burned, "held": model.books.held()}
    return Outcome(name, rules, steps, model.shock_step, series, _summary(series, model.shock_step, after), books)


def _start(shock_step: int, steps: int) -> int:
    """Where the summaries' window starts: the shock, or the first step when it comes after the run."""
    return shock_step if shock_step < steps else 0


def _mean(values: Sequence[int]) -> int:
    return sum(values) // len(values) if values else 0


def _summary(series: dict[str, list], shock_step: int, after: dict) -> dict[str, int | float]:
    start = _start(shock_step, len(series["gini"]))
    window = {k: v[start:] for k, v in series.items()}
    before = {k: v[:start] for k, v in series.items()}
    equality = 1 - gini(list(after.values()))
    productivity = _mean(window["productivity"])
    fees = sum(window["fees"])
    return {
        "mean_power": _mean(window["mean_power"]),
        "bottom_half_power": _mean(window["bottom_half_power"]),
        "gini": 1 - equality,
        "equality": equality,
        "productivity": productivity,
        "welfare": int(productivity * equality),
        "creators_share": sum(window["creator_income"]) / fees if fees else 0.0,
        "dividend_per_person": _mean(window["dividend_per_person"]),
        "tax_raised": _mean(window["tax_raised"]),
        "before_mean_power": _mean(before["mean_power"]),
        "before_bottom_half_power": _mean(before["bottom_half_power"]),
    }


@dataclass
class Comparison:
    """The baselines under today's rules, and a proposal's outcome beside them."""

    seed: int
    steps: int
    source: str
    flat_tax_bps: int
    outcomes: list[Outcome]
    proposal: Outcome | None = None
    proposal_from: str | None = None  # the DAO proposal judged ("proposal #1: …"), when it is one
    plots: list[str] = field(default_factory=list)

    @property
    def today(self) -> Outcome:
        return self.outcomes[1]

    def difference(self) -> dict[str, int | float] | None:
        """The proposal's summary minus today's, field by field."""
        if self.proposal is None:
            return None
        return {k: v - self.today.summary[k] for k, v in self.proposal.summary.items()}

    def to_json(self) -> dict:
        difference = self.difference()
        return {
            "seed": self.seed,
            "steps": self.steps,
            "shock_step": self.today.shock_step,
            "rules_from": self.source,
            "flat_tax_bps": self.flat_tax_bps,
            "scenarios": [o.to_json() for o in self.outcomes],
            "proposal": self.proposal.to_json() if self.proposal else None,
            "proposal_from": self.proposal_from,
            "difference": None if difference is None else {
                k: str(v) if k in MONEY_SUMMARY else round(v, 6) for k, v in difference.items()
            },
            "plots": self.plots,
        }


def runs(proposal: Rules | None) -> int:
    """How many economies `compare` runs (for a progress bar)."""
    return 3 + (proposal is not None)


def compare(
    today: Rules,
    proposal: Rules | None = None,
    *,
    economy: Economy | None = None,
    steps: int = 104,
    seed: int = 0,
    source: str = "",
    progress: Progress | None = None,
) -> Comparison:
    """The three baselines under `today`'s rules, and `proposal`'s machine tax with dividend."""
    economy = economy or Economy()
    untaxed = run("no tax", today.with_(commons_bps=0, flat_tax_bps=0), economy, steps, seed, progress)
    machine = run("machine tax + dividend", today, economy, steps, seed, progress)
    raised = sum(machine.after("tax_raised"))
    income = sum(untaxed.after("gross_income"))
    flat_bps = round(raised * 10_000 / income) if income else 0
    flat = run("flat tax + dividend", today.with_(commons_bps=0, flat_tax_bps=flat_bps), economy, steps, seed, progress)
    outcomes = [untaxed, machine, flat]
    judged = run("proposal", proposal, economy, steps, seed, progress) if proposal else None
    return Comparison(seed, steps, source, flat_bps, outcomes, judged)


def sweep(
    today: Rules,
    *,
    economy: Economy | None = None,
    steps: int = 104,
    seed: int = 0,
    machine_taxes: Sequence[int] = MACHINE_TAXES,
    dividends: Sequence[tuple[int, int]] = DIVIDENDS,
    progress: Progress | None = None,
) -> list[Outcome]:
    """`today`'s rules with every machine tax × dividend setting (cycle, reserve)."""
    economy = economy or Economy()
    return [
        run(
            f"machine tax {bps} bps, dividend over {cycle} days, reserve {reserve} bps",
            today.with_(commons_bps=bps, cycle_days=cycle, reserve_bps=reserve),
            economy, steps, seed, progress,
        )
        for cycle, reserve in dividends
        for bps in machine_taxes
    ]


def write_plots(out: Path, comparison: Comparison, swept: Sequence[Outcome] = ()) -> list[str]:
    """PNG plots (matplotlib, Agg): purchasing power and Gini over time; the sweep's lines."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    outcomes = comparison.outcomes + ([comparison.proposal] if comparison.proposal else [])
    paths = []

    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for outcome in outcomes:
        weeks = range(1, outcome.steps + 1)
        axes[0].plot(weeks, [v / 10**18 for v in outcome.series["mean_power"]], label=outcome.name)
        axes[1].plot(weeks, [v / 10**18 for v in outcome.series["bottom_half_power"]], label=outcome.name)
        axes[2].plot(weeks, outcome.series["gini"], label=outcome.name)
    titles = ("mean purchasing power (TAI/week)", "bottom 50 % (TAI/week)", "Gini")
    for axis, title in zip(axes, titles, strict=True):
        axis.axvline(comparison.today.shock_step, color="grey", linestyle=":", label="automation shock")
        axis.set_title(title)
        axis.set_xlabel("week")
    paths.append(_save(figure, axes[2], out / "power.png"))

    if swept:
        figure, axes = plt.subplots(1, 2, figsize=(11, 4.5))
        for cycle, reserve in sorted({(o.rules.cycle_days, o.rules.reserve_bps) for o in swept}):
            line = [o for o in swept if (o.rules.cycle_days, o.rules.reserve_bps) == (cycle, reserve)]
            taxes = [o.rules.commons_bps / 100 for o in line]
            label = f"dividend over {cycle} days, reserve {reserve / 100:g} %"
            axes[0].plot(taxes, [o.summary["bottom_half_power"] / 10**18 for o in line], marker="o", label=label)
            axes[1].plot(taxes, [o.summary["gini"] for o in line], marker="o", label=label)
        axes[0].set_title("bottom 50 % purchasing power after the shock (TAI/week)")
        axes[1].set_title("Gini after the shock")
        for axis in axes:
            axis.set_xlabel("machine tax (%)")
        paths.append(_save(figure, axes[1], out / "sweep.png"))
    return paths


def _save(figure, legend, path: Path) -> str:  # noqa: ANN001 (matplotlib's Figure and Axes)
    """Write `figure` as a PNG, the legend on the axes `legend`, and close it."""
    from matplotlib import pyplot as plt

    legend.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return str(path)
