"""A proposal's actions in words: which of the deployment's contracts each calls, the function
and its arguments, and whether it needs a close look before anyone votes.

A proposal that passes runs its calls as the timelock, which owns the deployment's contracts
after the handover. Most calls change a parameter; some hand over what the DAO guards:
`setCommons` sends every batch's machine tax to another address, `transfer_ownership` and
`renounce_ownership` move a contract out of the DAO's hands, `set_minter` changes who may
mint AI tokens, `setArbiter` appoints who tags assets and redirects their royalties, and the
timelock's roles decide who may queue and run proposals. Those are
`risky`, with the reason; so is a call to a contract outside the deployment, which this
node cannot read. Only the quorum and the timelock's delay stand between such a proposal
and its effect, so the dashboard shows them in red.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_abi.exceptions import DecodingError

from tantieme.chain.deploy import contract

if TYPE_CHECKING:
    from web3.contract import Contract

    from tantieme.dao.governance import Proposal
    from tantieme.node import Node

__all__ = ["RISKY", "Call", "calls", "contracts"]

# The deployment's contracts a proposal may call: the record's field, what people call it, its artifact.
CONTRACTS = (
    ("ledger", "the ledger", "interaction_ledger"),
    ("commons_pool", "the commons pool", "commons_pool"),
    ("token", "the AI token", "ai_token"),
    ("registry", "the asset registry", "ip_asset_registry"),
    ("router", "the royalty router", "royalty_router"),
    ("governor", "the governor", "governor"),
    ("timelock", "the timelock", "timelock"),
    ("votes", "the staked votes", "staked_votes"),
    ("identity", "the agent identity registry", "agent_identity"),
    ("reputation", "the agent reputation registry", "agent_reputation"),
    ("offers", "the offer registry", "offer_registry"),
    ("disputes", "the dispute module", "dispute_module"),
)
RISKY = {
    "setCommons": "sends every batch's machine tax to this address instead of the commons",
    "transfer_ownership": "moves the contract's ownership out of the DAO's hands",
    "renounce_ownership": "leaves the contract without an owner: its parameters can never change again",
    "set_minter": "changes who may mint AI tokens",
    "grantRole": "gives an account a role of the timelock (who may propose, cancel or run its calls)",
    "revokeRole": "takes a role of the timelock away",
    "renounceRole": "gives up a role of the timelock",
    "setArbiter": "appoints who judges disputes: whoever it is tags assets and sends their royalties elsewhere",
}


@dataclass(frozen=True)
class Call:
    """One action of a proposal, decoded."""

    target: str
    contract: str | None  # what people call the target, when it is one of the deployment's
    function: str  # its name, or its selector ("0x12345678") when it does not decode
    args: tuple[tuple[str, object], ...]  # (name, value) in the function's order
    value: int  # wei sent with the call
    risky: str | None  # why it needs a close look, if it does

    @property
    def shown(self) -> str:
        """'the ledger's setSplit(commons_bps=1000, operator_bps=200)'."""
        where = self.contract or self.target
        return f"{where}'s {self.function}({', '.join(f'{n}={v}' for n, v in self.args)})"


def contracts(node: Node) -> dict[str, tuple[str, Contract]]:
    """The deployment's contracts by lower-case address: what people call each, and its binding
    (binding each takes a while: bind once for many proposals)."""
    known: dict[str, tuple[str, Contract]] = {}
    for field, name, artifact in CONTRACTS:
        address = getattr(node.deployment, field)
        if address is not None:
            known[address.lower()] = (name, contract(node.conn, artifact, address))
    return known


def calls(known: dict[str, tuple[str, Contract]], proposal: Proposal) -> list[Call]:
    """`proposal`'s actions in the order the timelock runs them, decoded against the `known` contracts."""
    return [
        _decode(known.get(target.lower()), target, bytes(data), value)
        for target, value, data in zip(proposal.targets, proposal.values, proposal.calldatas, strict=True)
    ]


def _decode(known: tuple[str, Contract] | None, target: str, data: bytes, value: int) -> Call:
    selector = f"0x{data[:4].hex()}"
    if known is None:
        return Call(target, None, selector, (), value, "calls a contract outside this deployment: this node cannot read it")
    name, bound = known
    try:
        fn, args = bound.decode_function_input(data)
    except (ValueError, DecodingError):  # no function of this contract, or arguments that do not decode
        return Call(target, name, selector, (), value, None)
    ordered = tuple((i["name"], _plain(args[i["name"]])) for i in fn.abi["inputs"])
    return Call(target, name, fn.fn_name, ordered, value, RISKY.get(fn.fn_name))


def _plain(value: object) -> object:
    """Bytes as 0x-hex; everything else as decoded."""
    return f"0x{value.hex()}" if isinstance(value, bytes) else value
