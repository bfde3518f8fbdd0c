"""`tantieme simulate`: the economy under today's rules, the baselines and a proposed change."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tantieme.cli import app
from tantieme.cli.output import JsonOption, console, emit, err_console

if TYPE_CHECKING:
    from tantieme.simulation.report import Comparison, Outcome, Progress
    from tantieme.simulation.rules import Rules

MAX_STEPS = 1040


def _tai(wei: int) -> str:
    return f"{wei / 10**18:,.2f}"


def _percent(bps: int) -> str:
    return f"{bps / 100:g} %"


@contextlib.contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Progress | None]:
    """A progress bar on stderr over `total` weeks simulated, when someone watches."""
    if quiet or not err_console.is_terminal:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("simulating", total=total)
        yield lambda weeks: bar.advance(task, weeks)


def _render(comparison: Comparison, swept: list[Outcome]) -> None:
    from tantieme.simulation.report import SUMMARY_ROWS, cell

    today = comparison.today.rules
    console.print(
        f"rules from {comparison.source}: machine tax {_percent(today.commons_bps)}, operator "
        f"{_percent(today.operator_bps)}, offer {_tai(today.price_prompt_per_million)} / "
        f"{_tai(today.price_completion_per_million)} TAI per million prompt / completion tokens, dividend: each day "
        f"1/{today.cycle_days} of the commons' funds less a reserve of {_percent(today.reserve_bps)}"
    )
    console.print(
        f"{comparison.steps} weeks, seed {comparison.seed}, automation shock after week "
        f"{comparison.today.shock_step}; weekly means after the shock, in TAI (productivity: wages + answer fees; equality: 1 − Gini)"
    )
    if comparison.proposal_from is not None:
        proposal = comparison.proposal.rules
        console.print(
            f"judging {comparison.proposal_from}: machine tax {_percent(proposal.commons_bps)}, operator {_percent(proposal.operator_bps)}, "
            f"dividend: each day 1/{proposal.cycle_days} of the funds less a reserve of {_percent(proposal.reserve_bps)}"
        )
    before = comparison.outcomes[0].summary
    console.print(
        f"before the shock, without tax: mean purchasing power {_tai(before['before_mean_power'])}, "
        f"bottom 50 % {_tai(before['before_bottom_half_power'])}"
    )
    columns = {
        "no tax": "no tax",
        "machine tax + dividend": f"machine tax {_percent(today.commons_bps)} + dividend (today)",
        "flat tax + dividend": f"flat tax {_percent(comparison.flat_tax_bps)} + dividend (same revenue)",
    }
    outcomes = list(comparison.outcomes)
    headers = [columns[o.name] for o in outcomes]
    if comparison.proposal:
        outcomes.append(comparison.proposal)
        changed = today.changes(comparison.proposal.rules)
        headers += [f"proposal: {'; '.join(changed) or 'no change'}", "proposal − today"]
    table = Table("", *headers)
    difference = comparison.difference()
    for label, key, kind in SUMMARY_ROWS:
        cells = [cell(o.summary[key], kind) for o in outcomes]
        if difference:
            cells.append(cell(difference[key], kind, signed=True))
        table.add_row(label, *cells)
    console.print(table)
    if swept:
        sweep = Table("machine tax", "dividend cycle", "reserve", "bottom 50 %", "Gini", "dividend per person",
                      "equality × productivity", title="sweep")
        for o in swept:
            sweep.add_row(
                _percent(o.rules.commons_bps), f"{o.rules.cycle_days} days", _percent(o.rules.reserve_bps),
                _tai(o.summary["bottom_half_power"]), f"{o.summary['gini']:.4f}",
                _tai(o.summary["dividend_per_person"]), _tai(o.summary["welfare"]),
            )
        console.print(sweep)
    for path in comparison.plots:
        console.print(f"plot {path}")


def simulate_rules(
    today: Rules, proposal: Rules | None, *, steps: int, seed: int, source: str, sweep: bool,
    out: Path | None, quiet: bool, judged: str | None = None,
) -> tuple[Comparison, list[Outcome]]:
    """Run the comparison (and the sweep) and write the plots: what the command shows.
    `judged` says what the proposal is when it is a DAO's."""
    from tantieme.simulation import report

    if out is not None:
        _writable(out)
    total = steps * (report.runs(proposal) + (len(report.MACHINE_TAXES) * len(report.DIVIDENDS) if sweep else 0))
    with _progress(total, quiet) as progress:
        comparison = report.compare(today, proposal, steps=steps, seed=seed, source=source, progress=progress)
        comparison.proposal_from = judged
        swept = report.sweep(today, steps=steps, seed=seed, progress=progress) if sweep else []
    if out is not None:
        comparison.plots = report.write_plots(out, comparison, swept)
        (out / "simulation.json").write_text(json.dumps(_document(comparison, swept), indent=2) + "\n")
    return comparison, swept


def _writable(out: Path) -> None:
    """Make the output folder before the run, so a bad one fails at once and writes nothing."""
    from tantieme.errors import InputError

    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".tantieme-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the plots to {out}: {exc.strerror or exc}; choose another --out folder") from None


def _document(comparison: Comparison, swept: list[Outcome]) -> dict:
    return {**comparison.to_json(), "sweep": [o.to_json() for o in swept]}


@app.command()
def simulate(
    steps: int = typer.Option(104, min=1, max=MAX_STEPS, help="Weeks to simulate."),
    seed: int = typer.Option(0, min=0, max=2**32 - 1, help="Random seed: the same seed gives the same figures."),
    commons_bps: int = typer.Option(
        None, "--commons-bps", min=0, max=10_000, help="A machine tax to judge (basis points) beside today's."
    ),
    proposal_ref: int = typer.Option(
        None, "--proposal", min=1, help="A DAO proposal to judge beside today's rules: its number (as `tantieme dao proposals` lists them) or its id."
    ),
    sweep: bool = typer.Option(False, "--sweep", help="Also sweep the machine tax and the dividend's settings."),
    out: Path = typer.Option(None, "--out", help="Write PNG plots and simulation.json into this folder."),
    as_json: bool = JsonOption,
) -> None:
    """Simulate the economy around the node: who gains when answers replace work, and what a machine tax with a dividend changes.

    Runs an agent-based model (people with wages, creators, employers, operators, model
    owners, the commons) under today's rules (this node's chain, or the defaults) against
    three baselines: no tax, a flat tax on all income, the machine tax with its dividend;
    given --commons-bps, under that machine tax too, with the difference; given --proposal,
    under the rules the DAO's proposal would set (its split, its dividend rules).

    Example: tantieme simulate --commons-bps 1000 --out sim
    """
    from tantieme.errors import InputError
    from tantieme.simulation.proposal import proposed
    from tantieme.simulation.rules import Rules

    if commons_bps is not None and proposal_ref is not None:
        raise InputError("judge either a machine tax (--commons-bps) or a DAO proposal (--proposal), not both at once")
    proposal, judged = None, None
    if proposal_ref is not None:
        from tantieme.node import Node

        with Node.open(readonly=True) as node:  # once: today's rules and the proposal's from the same chain
            today, source = Rules.of(node)
            proposal, judged = proposed(node, today, proposal_ref)
    else:
        today, source = Rules.current()
        if commons_bps is not None:
            proposal = today.with_(commons_bps=commons_bps)
    comparison, swept = simulate_rules(
        today, proposal, steps=steps, seed=seed, source=source, sweep=sweep, out=out, quiet=as_json, judged=judged,
    )
    emit(_document(comparison, swept), as_json, lambda _: _render(comparison, swept))
