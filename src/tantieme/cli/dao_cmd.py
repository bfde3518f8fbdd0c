"""`tantieme dao ...`: the handover, staking for votes, and proposals from propose to execute.

Commands act as `TANTIEME_PRIVATE_KEY`'s account when it is set, else as this
home's. Proposals are numbered from 1 in the order they were made (`dao
proposals`); their long ids work too. Amounts are AI tokens; in `--json` they
are decimal strings of token wei, as everywhere.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tantieme.amounts import format_amount, parse_amount
from tantieme.cli import app
from tantieme.cli.common import IdArgument, completes, open_node
from tantieme.cli.output import JsonOption, console, emit

if TYPE_CHECKING:
    from tantieme.dao import Counting, Dao, Handed, Member, Status

dao_app = typer.Typer(help="The DAO: stake for votes, propose, vote, queue, execute; the handover.", no_args_is_help=True)
app.add_typer(dao_app, name="dao")
propose_app = typer.Typer(help="Propose what the DAO's timelock should do, if the vote passes.", no_args_is_help=True)
dao_app.add_typer(propose_app, name="propose")

ProposalArgument = IdArgument(help="The proposal: its number in `tantieme dao proposals`, or its id.")
WaitOption = typer.Option(False, "--wait", help="Local chains: mine the blocks (or wait the seconds) this step needs first.")
DescriptionOption = typer.Option(..., "--description", "-d", help="What the proposal changes and why.", show_default=False)


@contextlib.contextmanager
def _dao(readonly: bool = False) -> Iterator[Dao]:
    """The DAO, acting as TANTIEME_PRIVATE_KEY's account if set, else as this home's (`readonly`:
    reading beside a command that writes)."""
    import os

    from tantieme.chain.accounts import ENV_PRIVATE_KEY, load_account
    from tantieme.dao import Dao

    with open_node(readonly=readonly) as node:
        yield Dao(node.as_account(load_account()) if os.environ.get(ENV_PRIVATE_KEY) else node)


def _when(timestamp: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp)) if timestamp else "-"


# -- the handover and the DAO at a glance ---------------------------------------------


def handed_json(held: list[Handed]) -> list[dict]:
    return [{"contract": h.name, "address": h.address, "owner": h.owner, "dao": h.dao, "tx": h.tx} for h in held]


def render_handed(held: list[dict]) -> None:
    for h in held:
        who = "the DAO's timelock" if h["dao"] else h["owner"]
        done = f" (handed over now: tx {h['tx'][:18]}…)" if h["tx"] else ""
        console.print(f"{h['contract']} {h['address']}: owned by {who}{done}")


@dao_app.command()
def handover(as_json: bool = JsonOption) -> None:
    """Give every owner role of the deployment to the DAO's timelock, for good.

    The ledger's split and commons pool and the AI token's minter role then
    change only by proposals that pass (and the faucet of a local chain stops:
    minting is the DAO's). Safe to re-run: what the DAO owns already stays, and a
    handover cut short is finished.

    Example: tantieme dao handover
    """
    from tantieme.dao import handover as hand_over

    with open_node() as node:
        data = {"timelock": node.deployment.timelock, "contracts": handed_json(hand_over(node))}
    emit(data, as_json, lambda d: render_handed(d["contracts"]))


def member_json(m: Member) -> dict:
    return {
        "address": m.address, "balance": str(m.balance), "staked": str(m.staked), "votes": str(m.votes),
        "delegate": m.delegate, "withdrawing": str(m.withdrawing), "unlocks_at": m.unlocks_at,
    }


def render_member(m: dict) -> None:
    line = f"{m['address']}: staked {format_amount(int(m['staked']))} TAI, votes {format_amount(int(m['votes']))}"
    if m["delegate"] and m["delegate"] != m["address"]:
        line += f", delegated to {m['delegate']}"
    if int(m["withdrawing"]):
        line += f"; withdrawing {format_amount(int(m['withdrawing']))} TAI from {_when(m['unlocks_at'])}"
    console.print(line + f"; holds {format_amount(int(m['balance']))} TAI")


@dao_app.command()
def status(
    proposal: int = IdArgument(None, help="A proposal (number or id); none: the DAO itself."),
    as_json: bool = JsonOption,
) -> None:
    """Show a proposal (state, votes, quorum, snapshot, deadline, eta), or the DAO and your stake.

    Example: tantieme dao status 1
    """
    from tantieme.dao import state

    with _dao(readonly=True) as dao:
        if proposal is not None:
            data = status_json(dao.status(dao.find(proposal), votes=True))
            return emit(data, as_json, render_status)
        g = dao.governor.functions
        data = {
            "governor": dao.governor.address, "timelock": dao.timelock.address, "votes": dao.votes.address,
            "voting_delay_blocks": g.votingDelay().call(), "voting_period_blocks": g.votingPeriod().call(),
            "proposal_threshold": str(g.proposalThreshold().call()), "quorum_percent": g.quorumNumerator().call(),
            "timelock_delay_seconds": dao.timelock.functions.get_minimum_delay().call(),
            "withdrawal_delay_seconds": dao.votes.functions.withdrawalDelay().call(),
            "staked": str(dao.votes.functions.totalSupply().call()), "proposals": len(dao.proposals()),
            "owners": handed_json(state(dao.node)), "member": member_json(dao.member()),
        }

    def render(d: dict) -> None:
        console.print(
            f"governor {d['governor']}, timelock {d['timelock']}, staked votes {d['votes']}\n"
            f"voting opens {d['voting_delay_blocks']} block(s) after a proposal and lasts {d['voting_period_blocks']} blocks; "
            f"proposing takes {format_amount(int(d['proposal_threshold']))} TAI of votes; quorum {d['quorum_percent']} % "
            f"of the staked {format_amount(int(d['staked']))} TAI; the timelock waits {d['timelock_delay_seconds']} s; "
            f"unstaked tokens return after {d['withdrawal_delay_seconds']} s; {d['proposals']} proposal(s)"
        )
        render_handed(d["owners"])
        render_member(d["member"])

    emit(data, as_json, render)


def status_json(s: Status) -> dict:
    p = s.proposal
    data = {
        "number": p.number, "id": str(p.id), "state": s.state, "description": p.description, "proposer": p.proposer,
        "counting": s.counting, "for": str(s.for_), "against": str(s.against), "abstain": str(s.abstain),
        "quorum": None if s.quorum is None else str(s.quorum), "snapshot": p.snapshot, "deadline": p.deadline,
        "eta": s.eta, "block": s.block,
        "actions": [{"target": t, "value": str(v), "calldata": c} for t, v, c in zip(p.targets, p.values, p.calldatas, strict=True)],
    }
    if s.votes is not None:
        data["votes"] = [
            {"voter": v.voter, "support": v.support, "weight": str(v.weight), "reason": v.reason} for v in s.votes
        ]
    return data


def render_status(d: dict) -> None:
    from tantieme.dao import format_number, format_weight

    def number(key: str) -> str:
        return format_number(d["counting"], int(d[key]))

    quorum = "at the snapshot" if d["quorum"] is None else format_weight(d["counting"], int(d["quorum"]))
    console.print(f"proposal #{d['number']} [bold]{d['state']}[/]: {d['description']}")
    console.print(
        f"counted by {d['counting']} votes: For {number('for')} · Against {number('against')} · "
        f"Abstain {format_weight(d['counting'], int(d['abstain']))}; quorum {quorum} (For + Abstain)"
    )
    for v in d.get("votes", []):
        console.print(f"  {v['voter']} {v['support']} {format_weight(d['counting'], int(v['weight']))}")
    eta = f"; runs from {_when(d['eta'])}" if d["eta"] else ""
    console.print(f"snapshot block {d['snapshot']}, voting until block {d['deadline']} (now {d['block']}){eta}")
    console.print(f"id {d['id']}", soft_wrap=True)


@dao_app.command()
def proposals(as_json: bool = JsonOption) -> None:
    """List the DAO's proposals, oldest first, with their state and votes.

    Example: tantieme dao proposals
    """
    with _dao(readonly=True) as dao:
        data = [status_json(dao.status(p)) for p in dao.proposals()]

    def render(rows: list[dict]) -> None:
        if not rows:
            console.print("no proposals yet: `tantieme dao propose --help`")
            return
        from tantieme.dao import format_number

        table = Table("#", "state", "counting", "description", "For", "Against", "Abstain", "voting until block")
        for d in rows:
            table.add_row(
                str(d["number"]), d["state"], d["counting"], d["description"],
                *(format_number(d["counting"], int(d[k])) for k in ("for", "against", "abstain")), str(d["deadline"]),
            )
        console.print(table)

    emit(data, as_json, render)


# -- votes ----------------------------------------------------------------------------


def _as_member(act, as_json: bool) -> None:
    """Do `act(dao)`, and show the account's standing after it."""
    with _dao() as dao:
        data = member_json(act(dao))
    emit(data, as_json, render_member)


@dao_app.command()
def stake(
    amount: str = typer.Argument(..., help="AI tokens to stake, e.g. 100.", show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """Stake AI tokens for votes (your first stake delegates them to yourself).

    Votes count from the block after the stake: stake before a proposal is made.

    Example: tantieme dao stake 100
    """
    wei = parse_amount(amount)
    _as_member(lambda dao: dao.stake(wei), as_json)


@dao_app.command()
def unstake(
    amount: str = typer.Argument(..., help="AI tokens to take out of the stake.", show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """Take AI tokens out of the stake: their votes go now, the tokens after the withdrawal delay.

    Example: tantieme dao unstake 50
    """
    wei = parse_amount(amount)
    _as_member(lambda dao: dao.unstake(wei), as_json)


@dao_app.command()
def withdraw(as_json: bool = JsonOption) -> None:
    """Take back unstaked AI tokens once their withdrawal delay is over.

    Example: tantieme dao withdraw
    """
    with _dao() as dao:
        data = {"withdrawn": str(dao.withdraw()), "member": member_json(dao.member())}
    emit(data, as_json, lambda d: console.print(f"withdrew {format_amount(int(d['withdrawn']))} TAI"))


@dao_app.command()
def delegate(
    to: str = typer.Argument(..., help="The account that votes with your stake (your own to take it back).", show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """Lend your votes to another account; they count from the next block.

    Example: tantieme dao delegate 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from tantieme.node import parse_address

    address = parse_address(to)
    _as_member(lambda dao: dao.delegate(address), as_json)


# -- proposals ------------------------------------------------------------------------


def _propose(make, description: str, as_json: bool) -> None:
    """Propose the action `make(node)` builds, and show the new proposal."""
    with _dao() as dao:
        data = status_json(dao.status(dao.propose([make(dao.node)], description)))

    def render(d: dict) -> None:
        console.print(
            f"proposal #{d['number']} made, counted by {d['counting']} votes: voting opens at block "
            f"{d['snapshot'] + 1}, until block {d['deadline']}"
        )
        console.print(f"id {d['id']}", soft_wrap=True)

    emit(data, as_json, render)


@propose_app.command("set-split")
def propose_set_split(
    commons_bps: int = typer.Option(..., "--commons-bps", help="The commons pool's share (machine tax), basis points.", show_default=False),
    operator_bps: int = typer.Option(..., "--operator-bps", help="The operator's share, basis points.", show_default=False),
    description: str = DescriptionOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose the ledger's split: the commons pool's and the operator's shares of every batch.

    Basis points: 800 is 8 %. The cited works get the rest.

    Example: tantieme dao propose set-split --commons-bps 800 --operator-bps 1000 -d "Raise the machine tax to 8 %"
    """
    from tantieme.dao import set_split

    _propose(lambda node: set_split(node, commons_bps, operator_bps), description, as_json)


@propose_app.command("set-commons")
def propose_set_commons(
    commons: str = typer.Argument(..., help="The account or contract to receive the machine tax.", show_default=False),
    description: str = DescriptionOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose the ledger's commons pool: who receives the machine tax.

    Example: tantieme dao propose set-commons 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720 -d "Pay the tax to the pool"
    """
    from tantieme.dao import set_commons
    from tantieme.node import parse_address

    address = parse_address(commons)
    _propose(lambda node: set_commons(node, address), description, as_json)


@propose_app.command("call")
def propose_call(
    target: str = typer.Option(..., "--target", help="The contract the timelock calls.", show_default=False),
    calldata: str = typer.Option(..., "--calldata", help="The ABI-encoded call, 0x-hex (e.g. from `cast calldata`).", show_default=False),
    value: int = typer.Option(0, "--value", min=0, help="Wei the timelock sends with the call."),
    description: str = DescriptionOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose any call from the timelock, encoded already (for experts).

    Example: tantieme dao propose call --target 0x5FbDB2315678afecb367f032d93F642f64180aa3 --calldata 0xa9059cbb… -d "…"
    """
    from tantieme.dao import call
    from tantieme.node import parse_address

    address = parse_address(target)
    text = calldata.removeprefix("0x")
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise typer.BadParameter(f"{calldata!r} is not 0x-hex bytes", param_hint="'--calldata'") from None
    if len(data) < 4:
        raise typer.BadParameter("a call starts with a 4-byte function selector", param_hint="'--calldata'")
    _propose(lambda _node: call(address, data, value), description, as_json)


# -- the counting table ---------------------------------------------------------------

counting_app = typer.Typer(
    help="How proposals are counted, by the calls they make: list the table, or propose a change to it.",
    invoke_without_command=True,
)
dao_app.add_typer(counting_app, name="counting")


def counting_json(rows: list[Counting]) -> list[dict]:
    return [{"target": r.target, "selector": "0x" + r.selector.hex(), "function": r.function, "counting": r.counting}
            for r in rows]


@counting_app.callback()
def counting(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List how proposals are counted by the calls they make; any other call counts by tokens.

    A proposal is counted the strictest way its calls name (quadratic, then
    reputation, then tokens), fixed when it is made.

    Example: tantieme dao counting
    """
    if ctx.invoked_subcommand is not None:
        return
    with _dao(readonly=True) as dao:
        data = counting_json(dao.counting_table())

    def render(rows: list[dict]) -> None:
        if not rows:
            console.print("every proposal is counted by staked tokens: `tantieme dao counting set --help` to change it")
            return
        table = Table("function", "counting", "target", "selector")
        for r in rows:
            table.add_row(r["function"], r["counting"], r["target"], r["selector"])
        console.print(table)

    emit(data, as_json, render)


@counting_app.command("set")
def counting_set(
    target: str = typer.Argument(
        ..., help="The contract, by its name in the deployment (ledger, commons_pool, token, …) or address.",
        show_default=False,
    ),
    function: str = typer.Argument(..., help="Its function's name, or a 4-byte selector (0x…).", show_default=False),
    mode: str = typer.Argument(
        ..., help="token, reputation or quadratic.", autocompletion=completes("token", "reputation", "quadratic"),
        show_default=False,
    ),
    description: str = DescriptionOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose how proposals calling a function are counted (the table changes only by proposals).

    Example: tantieme dao counting set commons_pool setDividendRules quadratic -d "Members decide the dividend"
    """
    from tantieme.dao import set_counting
    from tantieme.node import parse_address

    def make(node):
        from tantieme.dao.decode import CONTRACTS

        if target.startswith("0x"):
            return set_counting(node, parse_address(target), function, mode)
        fields = [field for field, _, _ in CONTRACTS if getattr(node.deployment, field) is not None]
        if target not in fields:
            from tantieme.errors import InputError

            raise InputError(f"{target!r} is none of this deployment's {', '.join(fields)}, nor an address (0x…)")
        return set_counting(node, getattr(node.deployment, target), function, mode)

    _propose(make, description, as_json)


def _step(act, as_json: bool) -> None:
    """Take a proposal a step further with `act(dao)`, and show where it stands."""
    with _dao() as dao:
        data = status_json(act(dao))
    emit(data, as_json, render_status)


@dao_app.command()
def vote(
    proposal: int = ProposalArgument,
    support: str = typer.Argument(..., help="for, against or abstain.", autocompletion=completes("for", "against", "abstain"), show_default=False),
    reason: str = typer.Option("", "--reason", help="Why (recorded on chain with the vote)."),
    wait: bool = WaitOption,
    as_json: bool = JsonOption,
) -> None:
    """Vote on a proposal with your votes at its snapshot.

    Example: tantieme dao vote 1 for
    """
    _step(lambda dao: dao.vote(dao.find(proposal), support, reason, wait=wait), as_json)


@dao_app.command()
def queue(proposal: int = ProposalArgument, wait: bool = WaitOption, as_json: bool = JsonOption) -> None:
    """Queue a proposal that passed in the timelock, once voting is over.

    Example: tantieme dao queue 1
    """
    _step(lambda dao: dao.queue(dao.find(proposal), wait=wait), as_json)


@dao_app.command()
def execute(proposal: int = ProposalArgument, wait: bool = WaitOption, as_json: bool = JsonOption) -> None:
    """Run a queued proposal's actions, once the timelock's delay is over.

    Example: tantieme dao execute 1
    """
    _step(lambda dao: dao.execute(dao.find(proposal), wait=wait), as_json)

