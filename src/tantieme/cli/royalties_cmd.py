"""`tantieme pay`, `royalties`, `claim`, `balance`, `transfer`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tantieme.amounts import format_amount, parse_amount
from tantieme.cli import app, view
from tantieme.cli.common import IdArgument, open_node, parse_id
from tantieme.cli.output import JsonOption, console, emit

if TYPE_CHECKING:
    from tantieme.node import Node


@app.command()
def pay(
    asset_id: int = IdArgument(help="The asset to pay."),
    amount: str = typer.Argument(..., help="AI tokens, e.g. 12.5."),
    as_json: bool = JsonOption,
) -> None:
    """Pay an asset; the revenue flows upstream to its parents by their royalty share.

    Example: tantieme pay 3 25
    """
    from tantieme.assets import royalties as roy

    wei = parse_amount(amount)
    with open_node() as node:
        result = roy.pay(node, asset_id, wei)
    emit(result, as_json, lambda r: console.print(f"paid {format_amount(r['amount'])} TAI to #{r['asset']} (gas {r['gas']:,})"))


@view.query("royalties")
def _royalties(node: Node, owner: str | None) -> list:
    from tantieme.assets import royalties as roy
    from tantieme.node import parse_address

    return roy.royalties(node, parse_address(owner) if owner else None)


@app.command("royalties")
def show_royalties(
    owner: str = typer.Option(None, help="Whose assets (default: this node's account)."),
    as_json: bool = JsonOption,
) -> None:
    """What your assets have earned: claimable now, and after collecting upstream.

    Example: tantieme royalties --json
    """
    rows = view.read("royalties", owner=owner)

    def render(_: object) -> None:
        table = Table("asset", "title", "claimable", "collectable", "pending", "uncredited")
        for r in rows:
            table.add_row(
                f"#{r['asset']}", r["title"] or "",
                *(format_amount(int(r[key])) for key in ("claimable", "collectable", "pending", "uncredited")),
            )
        console.print(table)
        console.print(
            "[dim]collectable: what `tantieme claim` pays out, after crediting settled answers' fees "
            "(uncredited) and distributing the revenue of derivatives[/]"
        )

    emit(rows, as_json, render)


@app.command()
def claim(
    asset_id: list[str] = typer.Argument(None, help="Assets to claim for (default: all of yours).", metavar="[ID]..."),
    as_json: bool = JsonOption,
) -> None:
    """Credit settled answers' fees, collect revenue from derivatives and claim it to your account.

    Example: tantieme claim
    """
    from tantieme.assets import royalties as roy

    ids = [parse_id(a) for a in asset_id] if asset_id else None
    with open_node() as node:
        result = roy.claim(node, ids)
    emit(result, as_json, lambda r: console.print(
        f"claimed {format_amount(r['claimed'])} TAI for {len(r['assets'])} asset(s); balance {format_amount(r['balance'])} TAI"
        + "".join(f"\nasset #{a} is tagged by an upheld dispute: its revenue goes to the rightful party "
                  f"(`tantieme dispute redirect {a}`)" for a in r["tagged"])
    ))


@view.query("balance")
def _balance(node: Node, address: str | None) -> dict:
    from tantieme.node import parse_address

    who = parse_address(address) if address else node.address
    return {"address": who, "balance": node.balance(who), "eth_balance": node.conn.w3.eth.get_balance(who)}


@app.command()
def balance(
    address: str = typer.Argument(None, help="Whose balance (default: this node's account)."),
    as_json: bool = JsonOption,
) -> None:
    """AI tokens held by this node's account (or any address), and ether for gas.

    Example: tantieme balance
    """
    emit(view.read("balance", address=address), as_json, lambda d: console.print(
        f"{d['address']}: [bold]{format_amount(int(d['balance']))} TAI[/], {format_amount(int(d['eth_balance']))} ETH for gas"
    ))


@app.command()
def transfer(
    to: str = typer.Argument(..., help="The receiving address (0x…)."),
    amount: str = typer.Argument(..., help="AI tokens, e.g. 12.5."),
    as_json: bool = JsonOption,
) -> None:
    """Send AI tokens from this node's account to another address.

    Example: tantieme transfer 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 5
    """
    from tantieme.assets import royalties as roy
    from tantieme.node import parse_address

    receiver = parse_address(to)
    wei = parse_amount(amount)
    with open_node() as node:
        result = roy.transfer(node, receiver, wei)
    emit(result, as_json, lambda r: console.print(
        f"sent {format_amount(r['amount'])} TAI → {r['to']}; balance {format_amount(r['balance'])} TAI"
    ))
