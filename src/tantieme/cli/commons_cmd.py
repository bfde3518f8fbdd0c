"""`tantieme commons ...`: membership of the commons pool and its daily dividend.

The pool receives the machine tax (the commons share of every settled batch) and
pays it out to its members in equal daily amounts. Amounts are AI tokens; in
`--json` they are decimal strings of token wei, as everywhere.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from tantieme.amounts import format_amount
from tantieme.cli import app
from tantieme.cli.common import open_node
from tantieme.cli.output import JsonOption, console, emit

if TYPE_CHECKING:
    from tantieme.commons import Membership

commons_app = typer.Typer(help="The commons pool: join, invite, claim the daily dividend, leave.", no_args_is_help=True)
app.add_typer(commons_app, name="commons")


def _when(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def _membership(m: Membership) -> dict:
    return {"member": m.member, "work": m.work, "inviter": m.inviter, "bond": str(m.bond), "tx": m.tx}


@commons_app.command()
def join(
    asset_id: int = typer.Argument(None, help="The work to join by (default: your first work that admitted nobody).",
                                   show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """Join the commons by a registered work you own (one membership per work).

    Example: tantieme commons join 1
    """
    from tantieme import commons

    with open_node() as node:
        joined = commons.join(node, asset_id)
    emit(_membership(joined), as_json, lambda d: console.print(f"{d['member']} joined the commons by work #{d['work']}"))


@commons_app.command()
def invite(
    address: str = typer.Argument(..., help="The account to admit."),
    as_json: bool = JsonOption,
) -> None:
    """Admit an account to the commons, bonding the pool's bond for it.

    The bond comes back to you when it leaves, and is lost to the pool if the
    DAO removes it for fraud: invite people you vouch for.

    Example: tantieme commons invite 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from tantieme import commons
    from tantieme.node import parse_address

    account = parse_address(address)
    with open_node() as node:
        invited = commons.invite(node, account)
    emit(_membership(invited), as_json, lambda d: console.print(
        f"{d['member']} joined the commons on your invitation; bond {format_amount(int(d['bond']))} TAI"))


@commons_app.command()
def leave(as_json: bool = JsonOption) -> None:
    """Leave the commons: unclaimed days are forfeited; a bond returns to whoever deposited it.

    Example: tantieme commons leave
    """
    from tantieme import commons

    with open_node() as node:
        left = commons.leave(node)

    def render(d: dict) -> None:
        bond = f"; bond {format_amount(int(d['bond']))} TAI returned to {d['inviter']}" if d["inviter"] else ""
        console.print(f"{d['member']} left the commons{bond}")

    emit(_membership(left), as_json, render)


@commons_app.command()
def claim(as_json: bool = JsonOption) -> None:
    """Claim the dividend: today's amount for each day since your last claim (up to the pool's cap).

    Example: tantieme commons claim
    """
    from tantieme import commons

    with open_node() as node:
        paid = commons.claim(node)
    data = {"member": paid.member, "amount": str(paid.amount), "days": paid.days, "day": paid.day,
            "tx": paid.tx, "gas": str(paid.gas)}
    emit(data, as_json, lambda d: console.print(
        f"claimed {format_amount(int(d['amount']))} TAI: {d['days']} day{'s' if d['days'] != 1 else ''} "
        f"of the dividend (day {d['day']})"))


@commons_app.command()
def status(
    address: str = typer.Argument(None, help="Whose membership to show (default: yours).", show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """The pool (funds, members, today's dividend, rules) and a membership.

    Example: tantieme commons status
    """
    from tantieme import commons
    from tantieme.node import parse_address

    account = parse_address(address) if address else None
    with open_node(readonly=True) as node:
        s = commons.status(node, account)
    amounts = ("balance", "funds", "bonds_held", "total_claimed", "bond", "daily_amount", "bonded", "claimable")
    data = {k: str(v) if k in amounts else v for k, v in vars(s).items()}

    def render(d: dict) -> None:
        tax = "receives the machine tax" if d["receives_the_tax"] else "does NOT receive the machine tax yet"
        console.print(
            f"commons pool {d['pool']} ({tax}): {format_amount(int(d['funds']))} TAI of dividend funds, "
            f"{format_amount(int(d['bonds_held']))} TAI of bonds; {format_amount(int(d['total_claimed']))} TAI paid out"
        )
        console.print(
            f"{d['members']} member{'s' if d['members'] != 1 else ''}; day {d['day']}: "
            f"{format_amount(int(d['daily_amount']))} TAI per member; rules: the funds over {d['cycle_days']} days, "
            f"{d['reserve_bps'] / 100:g} % kept in reserve, up to {d['back_claim_cap']} days claimed at once; "
            f"invitations bond {format_amount(int(d['bond']))} TAI"
        )
        if not d["member"]:
            console.print(f"{d['account']} is not a member: join by a work (`tantieme commons join`) or be invited")
            return
        how = f"by work #{d['work']}" if d["work"] else f"invited by {d['inviter']}"
        when = (f"claimable now: {format_amount(int(d['claimable']))} TAI" if d["next_claim_at"] is None
                else f"claimed today; next claim at {_when(d['next_claim_at'])}")
        console.print(f"{d['account']} is a member ({how}); {when}")

    emit(data, as_json, render)
