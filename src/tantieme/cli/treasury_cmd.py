"""`tantieme agent fund|limits|spend|withdraw`: the node's agent treasury, bounded by contract.

The treasury holds AI tokens that the agent key may spend only within the limits its owner
(this home's account) sets: a daily limit, a per-payment cap and an allow-list of payees.
`tantieme ask --node URL --from-treasury` pays a node from it. Amounts are AI tokens; in
`--json` they are decimal strings of token wei, as everywhere.
"""

from __future__ import annotations

import time

import typer

from tantieme.amounts import format_amount, parse_amount
from tantieme.cli.agent_cmd import agent_app
from tantieme.cli.common import open_node
from tantieme.cli.output import JsonOption, console, emit


def _when(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


@agent_app.command("fund")
def agent_fund(
    amount: str = typer.Argument(..., help="AI tokens to move from your account into the treasury."),
    as_json: bool = JsonOption,
) -> None:
    """Fund this node's agent treasury from your account, deploying it on first use.

    A new treasury is owned by your account, which is also its agent key until you name
    another (`tantieme agent limits --agent ADDRESS`); its limits start at zero and no payee
    is allowed, so it spends nothing until you set them.

    Example: tantieme agent fund 5
    """
    from tantieme.agents import treasury

    wei = parse_amount(amount)
    with open_node() as node:
        address, deployed = treasury.fund(node, wei)
        data = {"treasury": address, "deployed": deployed, "funded": str(wei), "balance": str(node.balance(address))}

    def render(d: dict) -> None:
        if d["deployed"]:
            console.print(f"deployed the agent treasury {d['treasury']} (no limits yet: `tantieme agent limits`)", soft_wrap=True)
        console.print(f"funded it with {format_amount(int(d['funded']))} TAI: it holds {format_amount(int(d['balance']))} TAI")

    emit(data, as_json, render)


@agent_app.command("limits")
def agent_limits(
    daily: str = typer.Option(None, "--daily", help="Most the agent may spend per day (UTC), in AI tokens.", show_default=False),
    per_payment: str = typer.Option(None, "--per-payment", help="Most one payment may be, in AI tokens.", show_default=False),
    allow: list[str] = typer.Option(
        [], "--allow", metavar="ADDRESS|AGENT_ID", help="Allow paying this address, or this ERC-8004 agent's wallet (repeatable).",
    ),
    disallow: list[str] = typer.Option([], "--disallow", metavar="ADDRESS|AGENT_ID", help="Stop allowing a payee (repeatable)."),
    paused: bool = typer.Option(
        None, "--pause/--resume", help="Stop every payment, pending ones included / take payments again.", show_default=False,
    ),
    agent: str = typer.Option(None, "--agent", metavar="ADDRESS", help="The agent key (pending payments of the old one die).", show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """Show or change what the treasury's agent key may spend (you must own the treasury).

    Only what differs from the chain is sent, each change tried first, so a refused one
    sends nothing. Without options, shows the limits.

    Example: tantieme agent limits --daily 1 --per-payment 0.1 --allow 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from tantieme.agents import treasury

    daily_wei = None if daily is None else parse_amount(daily, allow_zero=True)
    cap_wei = None if per_payment is None else parse_amount(per_payment, allow_zero=True)
    with open_node() as node:
        sent = treasury.set_limits(
            node, daily=daily_wei, per_payment=cap_wei, allow=allow, disallow=disallow, paused=paused, agent=agent,
        )
        report = treasury.report(node)
    data = {key: report[key] for key in ("treasury", "owner", "agent", "paused", "daily_limit", "per_payment_cap", "payees")}
    data["txs"] = sent

    def render(d: dict) -> None:
        console.print(f"treasury {d['treasury']}{' (paused)' if d['paused'] else ''} · agent key {d['agent']}", soft_wrap=True)
        console.print(
            f"daily limit {format_amount(int(d['daily_limit']))} TAI · per payment {format_amount(int(d['per_payment_cap']))} TAI"
        )
        console.print("payees: " + (", ".join(d["payees"]) or "none allowed"), soft_wrap=True)
        if not d["txs"]:
            console.print("nothing changed")

    emit(data, as_json, render)


@agent_app.command("spend")
def agent_spend(
    show: bool = typer.Option(False, "--report", help="Spent today, what is left, and the treasury's payments and refunds."),
    release: bool = typer.Option(
        False, "--release", help="Release payments never collected that can no longer be (their allowance comes back today).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """The treasury's spending: spent today, what is left, its payments and what their
    payees refunded (--report); or release approved payments never collected (--release).

    Example: tantieme agent spend --report
    """
    from tantieme.agents import treasury

    if show == release:
        raise typer.BadParameter("choose --report or --release", param_hint="'--report'")
    if release:
        with open_node() as node:
            released = treasury.release_expired(node)
        emit(
            {"released": released}, as_json,
            lambda d: console.print(f"released {len(d['released'])} payment(s) never collected"),
        )
        return
    with open_node(readonly=True) as node:
        data = treasury.report(node)

    def render(d: dict) -> None:
        left, daily = format_amount(int(d["left_today"])), format_amount(int(d["daily_limit"]))
        console.print(f"treasury {d['treasury']}{' (paused)' if d['paused'] else ''} holds {format_amount(int(d['balance']))} TAI", soft_wrap=True)
        console.print(
            f"spent today {format_amount(int(d['spent_today']))} of {daily} TAI, {left} TAI left until {_when(d['day_ends_at'])}"
        )
        for p in d["payments"]:
            refunded = f" · refunded {format_amount(int(p['refunded']))} TAI" if int(p["refunded"]) else ""
            console.print(
                f"  {format_amount(int(p['amount']))} TAI to {p['payee']} · {p['status']}{refunded} · {p['tx'][:18]}…",
                soft_wrap=True,
            )
        if not d["payments"]:
            console.print("  no payments yet")

    emit(data, as_json, render)


@agent_app.command("withdraw")
def agent_withdraw(
    amount: str = typer.Argument(..., help="AI tokens to take out of the treasury."),
    to: str = typer.Option(None, "--to", metavar="ADDRESS", help="Who receives them (default: you).", show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """Take AI tokens out of the treasury (its owner only), paused or not.

    Example: tantieme agent withdraw 1
    """
    from tantieme.agents import treasury

    wei = parse_amount(amount)
    with open_node() as node:
        tx = treasury.withdraw(node, wei, to)
        data = {"treasury": treasury.load(node), "withdrawn": str(wei), "to": to or node.address, "tx": tx}
    emit(data, as_json, lambda d: console.print(f"withdrew {format_amount(int(d['withdrawn']))} TAI to {d['to']}", soft_wrap=True))
