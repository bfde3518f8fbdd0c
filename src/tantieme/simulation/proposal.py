"""A DAO proposal as rules: the calls it would make, read as changes of `Rules`.

The proposal's actions are the governor's (`tantieme.dao.governance.Dao.find`), decoded
by `tantieme.dao.decode`. Of them the simulation understands the ledger's `setSplit(commons_bps, operator_bps)`
and the commons pool's `setDividendRules(cycle_days, reserve_bps, back_claim_cap)`
(the simulation's members are paid every day, so the cap on days claimed at once plays
no part); the timelock runs the calls in order, so a later one wins. Other calls change
nothing the simulation models; a proposal made only of them cannot be judged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tantieme.dao.decode import Call, calls, contracts
from tantieme.errors import InputError
from tantieme.simulation.rules import Rules

if TYPE_CHECKING:
    from tantieme.dao.governance import Proposal
    from tantieme.node import Node

__all__ = ["judged", "proposed"]

# What each understood call changes: the contract and function, then the rules' fields in the order of its arguments.
UNDERSTOOD = {
    ("the ledger", "setSplit"): ("commons_bps", "operator_bps"),
    ("the commons pool", "setDividendRules"): ("cycle_days", "reserve_bps"),
}


def proposed(node: Node, today: Rules, ref: int) -> tuple[Rules, str]:
    """`today` as proposal `ref` (its number from 1, or its id) of `node`'s DAO would leave it,
    and what the proposal is ("proposal #1: its description's first line")."""
    from tantieme.dao.governance import Dao

    proposal = Dao(node).find(ref)
    return judged(today, proposal, calls(contracts(node), proposal))


def judged(today: Rules, proposal: Proposal, decoded: list[Call]) -> tuple[Rules, str]:
    """`today` as `proposal` (its actions `decoded`) would leave it, and what the proposal is."""
    changes: dict[str, int] = {}
    for call in decoded:
        fields = UNDERSTOOD.get((call.contract, call.function), ())
        changes.update(zip(fields, (value for _, value in call.args), strict=False))
    if not changes:
        found = ", ".join(f"{call.contract or call.target}'s {call.function}" for call in decoded)
        raise InputError(
            f"proposal #{proposal.number} changes nothing the simulation models: it calls {found}; "
            "the simulation judges the ledger's setSplit and the commons pool's setDividendRules"
        )
    title = proposal.description.strip().splitlines()[0]
    return today.with_(**changes), f"proposal #{proposal.number}: {title}"
