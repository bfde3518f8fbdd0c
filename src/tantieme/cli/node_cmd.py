"""`tantieme init`, `tantieme chain status`, `tantieme faucet`."""

from __future__ import annotations

import typer
from rich.table import Table

from tantieme.amounts import format_amount, parse_amount
from tantieme.cli import app
from tantieme.cli.common import completes, open_node, passphrase_prompt
from tantieme.cli.output import JsonOption, console, emit
from tantieme.jsonsafe import to_json

chain_app = typer.Typer(help="The chain this node uses.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")


@app.command()
def init(
    chain: str = typer.Option(
        "embedded", help="embedded (in-process EVM, no setup) or rpc.", autocompletion=completes("embedded", "rpc")
    ),
    rpc_url: str = typer.Option(None, "--rpc-url", envvar="TANTIEME_RPC_URL", help="JSON-RPC URL for --chain rpc."),
    force: bool = typer.Option(False, "--force", help="Switch chains or deploy anew even if this home holds records or works (backed up first)."),
    dao: bool = typer.Option(False, "--dao", help="Then give every owner role to the DAO (`tantieme dao handover`)."),
    as_json: bool = JsonOption,
) -> None:
    """Set up this node: account, contracts, and test funds on a local chain.

    On the embedded chain or a local dev node the account is a public dev key
    (for testing only); on any other chain a passphrase-encrypted keystore is
    created (passphrase from TANTIEME_PASSPHRASE or a prompt). Safe to re-run:
    it never redeploys or switches chains under a home that holds records,
    works or models, unless --force (which backs the home up first).

    The deploying account owns the parameters (the split, the commons pool, the
    token's minter role) until `tantieme dao handover`, or --dao, gives them to
    the DAO for good.

    Example: tantieme init --chain rpc --rpc-url http://127.0.0.1:8545
    """
    from tantieme import node as node_mod

    result = node_mod.init(chain, rpc_url, passphrase_prompt(new=True), force=force)
    handed = _hand_over() if dao else None

    def render(r: node_mod.InitResult) -> None:
        marker = " [yellow](public dev key: local testing only)[/]" if r.signer == "dev" else ""
        console.print(f"chain     {r.chain} (id {r.chain_id})")
        console.print(f"account   {r.address}{marker}")
        state = "deployed now" if r.deployed else "already deployed"
        console.print(f"contracts {state}: token {r.deployment.token}, registry {r.deployment.registry}, router {r.deployment.router}")
        if r.funded:
            console.print(f"faucet    +{format_amount(r.funded)} TAI")
        if r.backup:
            console.print(f"backup    of the home before --force: {r.backup}")
        console.print(f"balance   {format_amount(r.balance)} TAI")
        if r.disputes:
            console.print(f"[yellow]warning[/]   disputes: {r.disputes}", soft_wrap=True)
        if handed is not None:
            from tantieme.cli.dao_cmd import render_handed

            render_handed(handed)

    data = result if handed is None else {**to_json(result), "handover": handed}
    emit(data, as_json, lambda _data: render(result))


def _hand_over() -> list[dict]:
    from tantieme.cli.dao_cmd import handed_json
    from tantieme.dao import handover

    with open_node() as node:
        return handed_json(handover(node))


@chain_app.command("status")
def chain_status(as_json: bool = JsonOption) -> None:
    """Show the chain, the contracts and this node's balances.

    Example: tantieme chain status --json
    """
    with open_node(readonly=True) as node:
        w3 = node.conn.w3
        data = {
            "backend": node.conn.backend,
            "chain_id": node.conn.chain_id,
            "block": w3.eth.block_number,
            "account": node.address,
            "dev_key": node.settings.signer == "dev",
            "eth_balance": w3.eth.get_balance(node.address),
            "token_balance": node.balance(),
            "contracts": {
                "token": node.deployment.token,
                "registry": node.deployment.registry,
                "router": node.deployment.router,
            },
            "assets": node.registry.functions.totalAssets().call(),
        }

    def render(d: dict) -> None:
        table = Table(show_header=False, box=None)
        table.add_row("backend", f"{d['backend']} (chain id {d['chain_id']}, block {d['block']})")
        table.add_row("account", d["account"] + (" [yellow](dev key)[/]" if d["dev_key"] else ""))
        table.add_row("balance", f"{format_amount(d['token_balance'])} TAI, {format_amount(d['eth_balance'])} ETH")
        for name, address in d["contracts"].items():
            table.add_row(name, address)
        table.add_row("assets", str(d["assets"]))
        console.print(table)

    emit(data, as_json, render)


@app.command()
def faucet(
    amount: str = typer.Argument("1000", help="AI tokens to mint."),
    to: str = typer.Option(None, help="Receiver (default: this node's account)."),
    as_json: bool = JsonOption,
) -> None:
    """Mint test AI tokens (local chains only).

    Example: tantieme faucet 500
    """
    from tantieme.node import parse_address

    wei = parse_amount(amount)
    with open_node() as node:
        receiver = parse_address(to) if to else node.address
        node.faucet(receiver, wei)
        data = {"to": receiver, "amount": wei, "balance": node.balance(receiver)}
    emit(data, as_json, lambda d: console.print(f"+{format_amount(d['amount'])} TAI → {d['to']} (balance {format_amount(d['balance'])})"))
