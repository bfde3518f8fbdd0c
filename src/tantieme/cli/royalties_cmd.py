"""`tantieme pay`, `royalties`, `claim`."""

from __future__ import annotations

import typer
from rich.table import Table

from tantieme.assets import royalties as roy
from tantieme.cli import app
from tantieme.cli.node_cmd import open_node
from tantieme.cli.output import JsonOption, console, emit, user_errors


@app.command()
def pay(
    asset_id: int = typer.Argument(..., help="The asset to pay."),
    amount: str = typer.Argument(..., help="AI tokens, e.g. 12.5."),
    as_json: bool = JsonOption,
) -> None:
    """Pay an asset; the revenue flows upstream to its parents by their royalty share.

    Example: tantieme pay 3 25
    """
    with user_errors(as_json), open_node() as node:
        result = roy.pay(node, asset_id, roy.parse_amount(amount))
    emit(result, as_json, lambda r: console.print(f"paid {roy.format_amount(r['amount'])} TAI to #{r['asset']} (gas {r['gas']})"))


@app.command("royalties")
def show_royalties(
    owner: str = typer.Option(None, help="Whose assets (default: this node's account)."),
    as_json: bool = JsonOption,
) -> None:
    """What your assets have earned: claimable now, and after collecting upstream.

    Example: tantieme royalties --json
    """
    with user_errors(as_json), open_node(readonly=True) as node:
        rows = roy.royalties(node, owner)

    def render(_: object) -> None:
        table = Table("asset", "title", "claimable", "collectable", "pending", "uncredited")
        for r in rows:
            table.add_row(
                f"#{r.asset}", r.title or "", roy.format_amount(r.claimable), roy.format_amount(r.collectable),
                roy.format_amount(r.pending), roy.format_amount(r.uncredited),
            )
        console.print(table)
        console.print(
            "[dim]collectable: what `tantieme claim` pays out, after crediting settled answers' fees "
            "(uncredited) and distributing the revenue of derivatives[/]"
        )

    emit([r.__dict__ for r in rows], as_json, render)


@app.command()
def claim(
    asset_id: list[int] = typer.Argument(None, help="Assets to claim for (default: all of yours)."),
    as_json: bool = JsonOption,
) -> None:
    """Credit settled answers' fees, collect revenue from derivatives and claim it to your account.

    Example: tantieme claim
    """
    with user_errors(as_json), open_node() as node:
        result = roy.claim(node, list(asset_id) if asset_id else None)
    emit(result, as_json, lambda r: console.print(
        f"claimed {roy.format_amount(r['claimed'])} TAI for {len(r['assets'])} asset(s); balance {roy.format_amount(r['balance'])} TAI"
    ))
