"""`tantieme dispute ...`: challenge a registered asset with a bond and evidence; the DAO or its arbiter rules.

Amounts are AI tokens; in `--json` they are decimal strings of token wei, as everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from tantieme.amounts import format_amount, parse_amount
from tantieme.cli import app
from tantieme.cli.common import IdArgument, completes, open_node
from tantieme.cli.dao_cmd import DescriptionOption, _propose
from tantieme.cli.output import JsonOption, console, emit

if TYPE_CHECKING:
    from tantieme.disputes import Dispute, Judgement

dispute_app = typer.Typer(help="Disputes: challenge an asset with a bond; the DAO or its arbiter rules.",
                          no_args_is_help=True)
app.add_typer(dispute_app, name="dispute")

DisputeArgument = IdArgument(help="The dispute's number (`tantieme dispute list`).")


def dispute_json(d: Dispute) -> dict:
    return {**vars(d), "bond": str(d.bond)}


def judgement_json(j: Judgement) -> dict:
    return {"dispute": dispute_json(j.dispute), "tx": j.tx, "gas": str(j.gas), "redirected": str(j.redirected),
            "rightful_party": j.rightful_party, "paid_to_owner": str(j.paid_to_owner), "note": j.note}


@dispute_app.command("raise")
def raise_(
    asset_id: int = IdArgument(help="The asset challenged."),
    reason: str = typer.Option(..., "--reason", help="copied-content, missing-training-data or contradicting-terms.",
                               autocompletion=completes("copied-content", "missing-training-data",
                                                        "contradicting-terms"), show_default=False),
    evidence: str = typer.Option(..., "--evidence", help="A file (hashed) or a URI (hashed and logged).",
                                 show_default=False),
    bond: str = typer.Option(None, "--bond", help="The most AI tokens you agree to bond (default: the module's bond).",
                             show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """Challenge an asset: deposits the dispute bond (back if upheld, the owner's if rejected).

    Example: tantieme dispute raise 3 --reason copied-content --evidence https://example.org/original.html
    """
    from tantieme import disputes

    max_bond = parse_amount(bond, allow_zero=True) if bond is not None else None
    with open_node() as node:
        raised = disputes.raise_dispute(node, asset_id, reason, evidence, max_bond)
    emit(judgement_json(raised), as_json, lambda d: console.print(
        f"dispute #{d['dispute']['id']} raised on asset #{d['dispute']['asset_id']} "
        f"({d['dispute']['reason']}); bond {format_amount(int(d['dispute']['bond']))} TAI"))


@dispute_app.command()
def resolve(
    dispute_id: int = DisputeArgument,
    uphold: bool = typer.Option(None, "--uphold/--reject", help="Uphold (tag the asset) or reject the dispute.",
                                show_default=False),
    to: str = typer.Option(None, "--to", help="Upheld: who receives the asset's royalties (default: the raiser).",
                           show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """Judge a dispute, as the dispute module's arbiter or owner.

    Upheld: the asset is tagged (never read or cited again), its royalties go to --to,
    the bond back to the raiser. Rejected: the bond goes to the asset's owner.

    Example: tantieme dispute resolve 1 --uphold --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from tantieme import disputes
    from tantieme.node import parse_address

    if uphold is None:
        raise typer.BadParameter("say --uphold or --reject", param_hint="'--uphold/--reject'")
    rightful = parse_address(to) if to else None
    with open_node() as node:
        judged = disputes.resolve(node, dispute_id, uphold=uphold, to=rightful)

    def render(d: dict) -> None:
        dispute = d["dispute"]
        if dispute["status"] == "upheld" and d["note"]:
            console.print(f"dispute #{dispute['id']} upheld: asset #{dispute['asset_id']} is tagged "
                          f"{dispute['reason']}; the bond went back to {dispute['raiser']}; but {d['note']}",
                          soft_wrap=True)
        elif dispute["status"] == "upheld":
            console.print(f"dispute #{dispute['id']} upheld: asset #{dispute['asset_id']} is tagged "
                          f"{dispute['reason']}; {format_amount(int(d['redirected']))} TAI of its royalties went to "
                          f"{d['rightful_party']}; the bond went back to {dispute['raiser']}")
        else:
            console.print(f"dispute #{dispute['id']} rejected: the bond of {format_amount(int(d['paid_to_owner']))} "
                          f"TAI went to asset #{dispute['asset_id']}'s owner")

    emit(judgement_json(judged), as_json, render)


@dispute_app.command()
def cancel(dispute_id: int = DisputeArgument, as_json: bool = JsonOption) -> None:
    """Withdraw your open dispute: the bond comes back less a fee paid to the asset's owner.

    Example: tantieme dispute cancel 1
    """
    from tantieme import disputes

    with open_node() as node:
        cancelled = disputes.cancel(node, dispute_id)
    emit(judgement_json(cancelled), as_json, lambda d: console.print(
        f"dispute #{d['dispute']['id']} cancelled: {format_amount(int(d['dispute']['bond']) - int(d['paid_to_owner']))}"
        f" TAI back, {format_amount(int(d['paid_to_owner']))} TAI to the asset's owner"))


@dispute_app.command()
def arbiter(
    address: str = typer.Argument(..., help="Who is to judge disputes (0x…; the zero address: the DAO alone).",
                                  show_default=False),
    description: str = DescriptionOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose that the DAO appoint ADDRESS to judge disputes (the module's `setArbiter`); then vote,
    queue and execute it as any proposal (`tantieme dao ...`).

    Example: tantieme dispute arbiter 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC -d "Appoint an arbiter"
    """
    from tantieme import disputes
    from tantieme.node import parse_address

    who = parse_address(address)
    _propose(lambda node: disputes.set_arbiter(node, who), description, as_json)


@dispute_app.command()
def clear(
    asset_id: int = IdArgument(help="The tagged asset."),
    description: str = DescriptionOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose that the DAO clear an asset's tag on appeal (the module's `clearTag`): AI reads and
    cites it, and its copied-content derivatives, again; its owner claims its royalties again.
    Then vote, queue and execute it as any proposal (`tantieme dao ...`).

    Example: tantieme dispute clear 3 -d "Appeal upheld: the bees notes are the owner's own"
    """
    from tantieme import disputes

    _propose(lambda node: disputes.clear(node, asset_id), description, as_json)


@dispute_app.command()
def redirect(asset_id: int = IdArgument(help="The tagged asset."), as_json: bool = JsonOption) -> None:
    """Send a tagged asset's later royalties (records settled after the judgement) to its rightful party.

    Example: tantieme dispute redirect 3
    """
    from tantieme import disputes

    with open_node() as node:
        amount = disputes.redirect(node, asset_id)
    emit({"asset_id": asset_id, "redirected": str(amount)}, as_json, lambda d: console.print(
        f"{format_amount(int(d['redirected']))} TAI of asset #{asset_id}'s royalties went to its rightful party"))


@dispute_app.command("list")
def list_(
    open_only: bool = typer.Option(False, "--open", help="Only disputes awaiting judgement."),
    as_json: bool = JsonOption,
) -> None:
    """The disputes, oldest first: asset, reason, raiser, bond, status, evidence.

    Example: tantieme dispute list --open
    """
    from tantieme import disputes

    with open_node(readonly=True) as node:
        found = [dispute_json(d) for d in disputes.disputes(node, open_only=open_only)]

    def render(rows: list[dict]) -> None:
        if not rows:
            console.print("no open disputes" if open_only else "no disputes")
            return
        for r in rows:
            console.print(f"#{r['id']} asset #{r['asset_id']} {r['reason']}: {r['status']}; bond "
                          f"{format_amount(int(r['bond']))} TAI by {r['raiser']}; evidence "
                          f"{r['evidence_uri'] or r['evidence_hash']}", soft_wrap=True)

    emit(found, as_json, render)
