"""`tantieme deposit`, `withdraw`: prepaying a node's answers (deposit mode)."""

from __future__ import annotations

import time

import typer

from tantieme.amounts import format_amount, parse_amount
from tantieme.cli import app
from tantieme.cli.common import open_node
from tantieme.cli.output import JsonOption, console, emit
from tantieme.errors import InputError

OperatorOption = typer.Option(
    None, "--operator", help="The node (its operator's address) the deposit is for; default: this node.",
    show_default=False,
)


def _when(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


@app.command()
def deposit(
    amount: str = typer.Argument(None, help="AI tokens to deposit, e.g. 10.", show_default=False),
    operator: str = OperatorOption,
    status: bool = typer.Option(False, "--status", help="Show the deposit, its pending withdrawal and unsettled credit."),
    node_url: str = typer.Option(
        None, "--node", metavar="URL",
        help="Deposit with the node at URL through it: sign an authorization, the node pays the gas.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Prepay a node's answers: deposit AI tokens with the ledger, earmarked for one node.

    The node then answers on credit: each answer's record and the batch of all
    unsettled ones are signed by this account, and the node settles them in one
    transaction, from the deposit. Withdrawing takes two days' notice
    (`tantieme withdraw --request AMOUNT`), so the node is always paid. With
    --node URL the account (TANTIEME_PRIVATE_KEY, or this home's) signs an EIP-3009
    authorization that the node submits: no gas needed, only the tokens.

    Example: tantieme deposit 10 --node http://127.0.0.1:8402
    """
    from tantieme.ledger.journal import journal
    from tantieme.node import parse_address
    from tantieme.payments import deposit as dep

    if status == (amount is not None):
        raise InputError("give an AMOUNT to deposit, or --status to see the deposit (not both)")
    wei = None if status else parse_amount(amount)
    if node_url is not None:
        if operator or status:
            raise InputError("--node deposits with that node: leave out --operator and --status")
        return _deposit_through(node_url, wei, as_json)
    target = parse_address(operator) if operator else None
    with open_node() as node:
        target = target or node.address
        tx = dep.deposit(node, wei, target) if wei is not None else None
        standing = dep.credit(node, node.address, journal(), target)
        local_owed = journal().owed(node.address, node.conn.chain_id, node.deployment.ledger)[0] if target == node.address else 0
    unsettled = standing.vouchered + local_owed
    data = {
        "payer": standing.payer,
        "operator": standing.operator,
        "deposit": str(standing.deposit),
        "withdrawing": str(standing.withdrawing),
        "ready_at": standing.ready_at or None,
        "unsettled": str(unsettled),
        "available": str(max(0, standing.deposit - standing.withdrawing - unsettled)),
        **({"deposited": str(wei), "tx": tx} if wei is not None else {}),
    }

    def render(d: dict) -> None:
        if wei is not None:
            console.print(f"deposited {format_amount(wei)} TAI for {d['operator']}")
        line = f"deposit {format_amount(int(d['deposit']))} TAI with {d['operator']}"
        if int(d["withdrawing"]):
            line += f"; withdrawing {format_amount(int(d['withdrawing']))} TAI from {_when(d['ready_at'])}"
        line += f"; unsettled {format_amount(int(d['unsettled']))} TAI; available {format_amount(int(d['available']))} TAI"
        console.print(line)

    emit(data, as_json, render)


def _deposit_through(url: str, wei: int, as_json: bool) -> None:
    from tantieme.cli.ai_cmd import deposit_client

    with deposit_client(url) as client:
        data = client.deposit(wei)

    def render(d: dict) -> None:
        console.print(
            f"deposited {format_amount(int(d['deposited']))} TAI for {d['operator']} through the node "
            f"(tx {d['tx'][:18]}…); deposit {format_amount(int(d['deposit']))} TAI"
        )

    emit(data, as_json, render)


@app.command()
def withdraw(
    request: str = typer.Option(
        None, "--request", metavar="AMOUNT", help="Ask to take back this many AI tokens (ready in two days).",
        show_default=False,
    ),
    operator: str = OperatorOption,
    as_json: bool = JsonOption,
) -> None:
    """Take back a deposit: request it, then withdraw it two days later.

    The node keeps settling what this account signed from the deposit in
    between; `withdraw` pays what was requested, or what is left.

    Example: tantieme withdraw --request 10
    """
    from tantieme.node import parse_address
    from tantieme.payments import deposit as dep

    wei = parse_amount(request) if request is not None else None
    target = parse_address(operator) if operator else None
    with open_node() as node:
        target = target or node.address
        if wei is not None:
            ready_at = dep.request_withdrawal(node, wei, target)
            data = {"operator": target, "requested": str(wei), "ready_at": ready_at}
        else:
            data = {"operator": target, "withdrawn": str(dep.withdraw(node, target))}

    def render(d: dict) -> None:
        if "requested" in d:
            console.print(
                f"withdrawal of {format_amount(int(d['requested']))} TAI requested: "
                f"run `tantieme withdraw` from {_when(d['ready_at'])}"
            )
        else:
            console.print(f"withdrew {format_amount(int(d['withdrawn']))} TAI from the deposit with {d['operator']}")

    emit(data, as_json, render)
