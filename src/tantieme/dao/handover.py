"""The handover: every owner role of the deployment goes to the DAO's timelock.

Until then the deploying account sets the parameters (the ledger's split and
commons pool, the AI token's minter role); afterwards only proposals that pass
the governor and wait out the timelock can, and the deployer's key changes
nothing. `OWNED` lists what is handed over, one line per contract: a contract
added to the deployment joins with one more line.

The handover is idempotent and resumable: each contract's owner is read first,
and only those the deployer still owns are transferred, one transaction each.
Before any transaction every owner is checked, so a contract owned by a third
account stops the handover before anything moves. `state` tells how far it
went (`tantieme dao status`, `tantieme doctor`).
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract

from tantieme.chain.deploy import contract
from tantieme.errors import ConfigError
from tantieme.node import Node

__all__ = ["OWNED", "Handed", "Owned", "handover", "state"]

_CALL_GAS = 200_000


@dataclass(frozen=True)
class Owned:
    """A contract whose owner sets parameters: where the deployment names it, and what its owner can do."""

    name: str
    field: str  # the `Deployment` attribute holding its address
    artifact: str  # contracts/<artifact>.vy, with snekmate's `owner()` and one-step `transfer_ownership`
    powers: str


OWNED: tuple[Owned, ...] = (
    Owned("AI token", "token", "ai_token", "grants the minter role (the faucet, on local chains)"),
    Owned("interaction ledger", "ledger", "interaction_ledger", "sets the split and the commons pool"),
    Owned("commons pool", "commons_pool", "commons_pool", "removes members, sets the bond and the dividend rules"),
    Owned("dispute module", "disputes", "dispute_module",
          "appoints the arbiter, judges disputes, clears tags, sets the bond, the cancellation fee and the reasons"),
)


@dataclass(frozen=True)
class Handed:
    """One contract's owner role: who holds it, and the transaction that handed it over (if this call did)."""

    name: str
    address: str
    owner: str
    dao: bool  # owned by the DAO's timelock
    tx: str | None = None


def state(node: Node) -> list[Handed]:
    """Who owns each contract of `OWNED` now."""
    return [handed for _, handed in _holdings(node)]


def handover(node: Node) -> list[Handed]:
    """Transfer every owner role the node's account holds to the DAO's timelock; what each holds after.

    Contracts the timelock owns already are left as they are (running it again
    changes nothing). A contract owned by anyone else is refused before any
    transaction: its owner must hand it over.
    """
    timelock = _timelock(node)
    before = _holdings(node)
    strangers = [h for _, h in before if not h.dao and h.owner != node.address]
    if strangers:
        listed = ", ".join(f"the {h.name} ({h.address}) is owned by {h.owner}" for h in strangers)
        raise ConfigError(
            f"{listed}, neither this account ({node.address}) nor the DAO's timelock: "
            "only its owner can hand it over; nothing was transferred"
        )
    after = []
    for bound, handed in before:
        if handed.dao:
            after.append(handed)
            continue
        receipt = node.conn.transact(bound.functions.transfer_ownership(timelock), gas=_CALL_GAS)
        after.append(Handed(handed.name, handed.address, timelock, True, receipt["transactionHash"].to_0x_hex()))
    return after


def _holdings(node: Node) -> list[tuple[Contract, Handed]]:
    """Each contract of `OWNED` in this deployment, bound, with its owner now."""
    timelock = _timelock(node)
    out = []
    for owned in OWNED:
        address = getattr(node.deployment, owned.field)
        if address is None:  # a contract this deployment does not have (yet)
            continue
        bound = contract(node.conn, owned.artifact, address)
        owner = bound.functions.owner().call()
        out.append((bound, Handed(owned.name, address, owner, owner == timelock)))
    return out


def _timelock(node: Node) -> str:
    if node.deployment.timelock is None:
        raise ConfigError("this deployment has no DAO yet: run `tantieme init` to deploy it")
    return node.deployment.timelock
