"""`tantieme quickstart`: the whole flow on the sample corpus, from a clean home."""

from __future__ import annotations

import typer
from rich.table import Table

from tantieme import node as node_mod
from tantieme import quickstart as qs
from tantieme.assets.royalties import format_amount, pay
from tantieme.cli import app
from tantieme.cli.output import JsonOption, console, emit, user_errors
from tantieme.node import Node


@app.command()
def quickstart(as_json: bool = JsonOption) -> None:
    """Run tantieme end to end on the embedded chain with the sample corpus.

    Sets up the node if needed, registers the sample works from several
    creators, pays for their use, and shows who earned what upstream.

    Example: tantieme quickstart
    """
    say = (lambda _msg: None) if as_json else console.print
    with user_errors(as_json):
        init = node_mod.init("embedded")
        say(f"[bold]node[/] {init.address} on chain {init.chain_id} (dev key)")
        with Node.open() as node:
            catalog = qs.Catalog.load()
            say("[bold]registering the sample corpus[/]")
            registered = qs.register_catalog(node, catalog, say)
            paid = {}
            for work in catalog.works:
                asset_id = registered.assets[work["file"]]
                amount = 10 * 10**18
                pay(node, asset_id, amount)
                paid[asset_id] = amount
            earned = qs.collect_all(node, registered)
        result = {"assets": registered.assets, "creators": registered.creators, "paid": paid, "earned": earned}

    def render(r: dict) -> None:
        table = Table("creator", "account", "earned (TAI)")
        for name, wei in r["earned"].items():
            table.add_row(name, r["creators"][name], format_amount(wei))
        console.print(table)

    emit(result, as_json, render)
