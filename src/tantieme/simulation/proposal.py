"""A DAO proposal as rules: the calls it would make, read as changes of `Rules`.

The proposal's actions are the governor's (`tantieme.dao.governance.Dao.find`). Of
them the simulation understands the ledger's `setSplit(commons_bps, operator_bps)`
and the commons pool's `setDividendRules(cycle_days, reserve_bps, back_claim_cap)`
(the simulation's members are paid every day, so the cap on days claimed at once plays
no part); the timelock runs the calls in order, so a later one wins. Other calls change
nothing the simulation models; a proposal made only of them cannot be judged.
"""

from __future__ import annotations

from eth_abi.exceptions import DecodingError
from web3.contract import Contract

from tantieme.errors import InputError
from tantieme.simulation.rules import Rules

__all__ = ["proposed"]

# What each understood call changes: the function's name, then the rules' fields in the order of its arguments.
UNDERSTOOD = {
    "setSplit": ("commons_bps", "operator_bps"),
    "setDividendRules": ("cycle_days", "reserve_bps"),
}


def proposed(today: Rules, ref: int) -> tuple[Rules, str]:
    """`today` as proposal `ref` (its number from 1, or its id) of this home's DAO would leave it,
    and what the proposal is ("proposal #1: its description's first line")."""
    from tantieme.chain.deploy import contract
    from tantieme.dao.governance import Dao
    from tantieme.node import Node

    with Node.open(readonly=True) as node:
        proposal = Dao(node).find(ref)
        contracts = {node.deployment.ledger: ("the ledger", node.ledger)}
        if node.deployment.commons_pool is not None:
            pool = contract(node.conn, "commons_pool", node.deployment.commons_pool)
            contracts[node.deployment.commons_pool] = ("the commons pool", pool)
        changes: dict[str, int] = {}
        found = []
        for target, calldata in zip(proposal.targets, proposal.calldatas, strict=True):
            name, call, args = _decode(contracts.get(target), target, calldata)
            found.append(f"{name}'s {call}")
            changes.update(zip(UNDERSTOOD.get(call, ()), args, strict=False))
    if not changes:
        raise InputError(
            f"proposal #{proposal.number} changes nothing the simulation models: it calls {', '.join(found)}; "
            "the simulation judges the ledger's setSplit and the commons pool's setDividendRules"
        )
    title = proposal.description.strip().splitlines()[0]
    return today.with_(**changes), f"proposal #{proposal.number}: {title}"


def _decode(known: tuple[str, Contract] | None, target: str, calldata: bytes) -> tuple[str, str, list[int]]:
    """Who a call goes to, the function it calls (or its selector) and its arguments in order."""
    selector = f"0x{calldata[:4].hex()}"
    if known is None:
        return target, selector, []
    name, bound = known
    try:
        fn, args = bound.decode_function_input(calldata)
    except (ValueError, DecodingError):  # no function of this contract, or arguments that do not decode
        return name, selector, []
    return name, fn.fn_name, [args[i["name"]] for i in fn.abi["inputs"]]
