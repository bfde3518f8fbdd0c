"""`tantieme demo market`: three nodes on one anvil, an agent asking, paying and rating."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from tantieme.amounts import format_amount
from tantieme.cli import app
from tantieme.cli.output import JsonOption, console, emit, err_console

demo = typer.Typer(no_args_is_help=True, help="See tantieme at work on this machine.")
app.add_typer(demo, name="demo")


@demo.command()
def market(
    questions: int = typer.Option(6, "--questions", min=1, max=100, help="Questions the agent routes with `best`."),
    home_dir: Path = typer.Option(
        None, "--home", metavar="DIR", file_okay=False,
        help="Keep the nodes' and the agent's homes in DIR (default: a temporary folder, removed after).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """A market on one machine: three nodes on one anvil with their own corpora and prices,
    one of them (the cheapest) answering from the model alone, without its sources.

    An agent routes --questions questions with `best` (the Wilson lower bound of paid
    feedback; a node nobody has rated is tried while nobody is rated positively, or within
    an exploration budget); it pays each answer over x402 and, once the node has
    settled it, rates it from the anchored record: 90 if it cites sources, 10 if not.
    Prints each node's traffic, what it and the creators behind it earned (read from the
    chain), and the sourceless node's share of the answers as the run goes on.

    Example: tantieme demo market --questions 6
    """
    from tantieme.market.demo import run

    if home_dir is not None and home_dir.exists() and any(home_dir.iterdir()):
        raise typer.BadParameter(f"{home_dir} is not empty: give a new or empty folder", param_hint="'--home'")
    with contextlib.ExitStack() as stack:
        root = home_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tantieme-market-")))
        root.mkdir(parents=True, exist_ok=True)
        bar = None
        if not as_json:
            bar = stack.enter_context(Progress(
                TextColumn("questions"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                console=err_console, transient=True,
            ))
            task = bar.add_task("", total=questions)

        def advance(asked) -> None:
            if bar is not None:
                bar.update(task, advance=1, description=f"#{asked.n} → {asked.node} ({asked.why}), rated {asked.rating}")

        result = run(root, questions, progress=advance)
    emit(_data(result) if as_json else result, as_json, render)


def _data(result) -> dict:
    from tantieme.market.demo import SOURCELESS

    return {
        "chain_id": result.chain_id,
        "nodes": [{
            "name": n.spec.name, "agent_id": n.agent_id, "operator": n.operator, "url": n.url,
            "prices_per_million": {"prompt": str(n.spec.prompt_price), "completion": str(n.spec.completion_price)},
            "answers": n.answers, "earned": str(n.earned), "creators": {c: str(v) for c, v in n.creators.items()},
        } for n in result.nodes],
        "asked": [{
            "n": a.n, "question": a.question, "why": a.why, "agent_id": a.agent_id, "node": a.node,
            "sources": a.sources, "rating": a.rating, "fee": str(a.fee),
        } for a in result.asked],
        "sourceless_share": [round(s, 4) for s in result.share(SOURCELESS)],
    }


def render(result) -> None:
    from tantieme.market.demo import SOURCELESS

    table = Table("node", "agent", "price (TAI / 1M prompt, completion)", "answers", "node earned (TAI)", "creators earned (TAI)")
    for n in result.nodes:
        creators = ", ".join(f"{c} {format_amount(v)}" for c, v in n.creators.items()) or "none: no sources"
        table.add_row(
            n.spec.name, f"#{n.agent_id}", f"{format_amount(n.spec.prompt_price)}, {format_amount(n.spec.completion_price)}",
            str(n.answers), format_amount(n.earned), creators,
        )
    console.print(table)
    for a in result.asked:
        console.print(f"#{a.n} {a.node}: {a.why}", soft_wrap=True)
    route = ", ".join(f"{a.node}{'' if a.sources else ' (no sources)'}" for a in result.asked)
    console.print(f"answered, in order: {route}", soft_wrap=True)
    shares = result.share(SOURCELESS)
    console.print(
        "sourceless node's share of the answers, after each question: " + " ".join(f"{s:.0%}" for s in shares),
        soft_wrap=True,
    )
