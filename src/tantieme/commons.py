"""The commons pool: the machine tax, paid out to its members as an equal daily dividend.

Members join by a registered work they own (`join`) or by a member's invitation,
for which the inviter bonds AI tokens (`invite`); they `claim` once a day (missed
days up to the pool's cap) and may `leave` (the bond returns to the inviter).
Every call is tried first (an `eth_call`), so a refused one sends nothing and
says why, and how to fix it, in one line; the contract's rules are in
`contracts/SPEC.md` ("CommonsPool").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from web3.contract import Contract
from web3.logs import DISCARD

from tantieme.addresses import ZERO_ADDRESS
from tantieme.amounts import format_amount
from tantieme.chain.deploy import contract, is_commons_pool
from tantieme.chain.transact import approve_if_short, send_checked
from tantieme.errors import ChainError, CommonsError, ConfigError, TantiemeError
from tantieme.node import Node

__all__ = ["Claim", "CommonsError", "Membership", "Status", "claim", "invite", "join", "leave", "pool", "status"]

_GAS = 300_000
_WORK = 0


@dataclass(frozen=True)
class Status:
    """The pool, and one account's membership in it (amounts in token wei, times in unix seconds)."""

    pool: str
    owner: str
    receives_the_tax: bool  # the ledger's commons is this pool
    balance: int  # all the pool holds: dividend funds and bonds
    funds: int  # what the dividend is paid from (the balance less the bonds)
    bonds_held: int
    total_claimed: int
    members: int
    bond: int
    cycle_days: int
    reserve_bps: int
    back_claim_cap: int
    day: int  # today's number (day 1 began at deployment)
    daily_amount: int  # today's, if set, else what the next claim would set
    account: str
    member: bool
    work: int | None  # the work it joined by
    inviter: str | None  # who invited it (and bonded for it)
    bonded: int  # the bond held for it
    last_claimed: int  # the day it last claimed
    claimable: int  # what `claim` pays it now
    next_claim_at: int | None  # when it may claim next, if not now


@dataclass(frozen=True)
class Membership:
    """A membership gained or ended: who, by which work or inviter, the bond, the transaction."""

    member: str
    work: int | None
    inviter: str | None
    bond: int
    tx: str


@dataclass(frozen=True)
class Claim:
    """A dividend paid: how much, for how many days, on which day, in which transaction."""

    member: str
    amount: int
    days: int
    day: int
    tx: str
    gas: int


def pool(node: Node) -> Contract:
    """The commons pool, bound: the ledger's commons when it is a commons pool over this
    deployment's registry (a DAO proposal may have set another since the deployment was
    recorded), else the deployment's own pool."""
    current = node.ledger.functions.commons().call()
    if current == node.deployment.commons_pool or is_commons_pool(node.conn, current, node.deployment.registry):
        return contract(node.conn, "commons_pool", current)
    if node.deployment.commons_pool is None:
        raise ConfigError("this deployment has no commons pool yet: run `tantieme init` to deploy it")
    return contract(node.conn, "commons_pool", node.deployment.commons_pool)


def status(node: Node, account: str | None = None) -> Status:
    """The pool's state, and `account`'s (default: the node's) membership."""
    bound_pool = pool(node)
    bound = bound_pool.functions
    account = account or node.address
    member = bound.members(account).call()
    active, last, work, inviter, bonded = member
    today = bound.currentDay().call()
    return Status(
        pool=bound_pool.address,
        owner=bound.owner().call(),
        receives_the_tax=node.ledger.functions.commons().call() == bound_pool.address,
        balance=node.balance(bound_pool.address),
        funds=bound.funds().call(),
        bonds_held=bound.bondsHeld().call(),
        total_claimed=bound.totalClaimed().call(),
        members=bound.memberCount().call(),
        bond=bound.bond().call(),
        cycle_days=bound.cycleDays().call(),
        reserve_bps=bound.reserveBps().call(),
        back_claim_cap=bound.backClaimCap().call(),
        day=today,
        daily_amount=bound.todayAmount().call(),
        account=account,
        member=active,
        work=work or None,
        inviter=inviter if active and inviter != ZERO_ADDRESS else None,
        bonded=bonded,
        last_claimed=last,
        claimable=bound.claimable(account).call(),
        next_claim_at=bound.dayStart(today + 1).call() if active and last >= today else None,
    )


def join(node: Node, asset_id: int | None = None) -> Membership:
    """Join by the work `asset_id` (default: the first work this account owns that admitted nobody)."""
    bound = pool(node)
    if asset_id is None:
        asset_id = _free_work(node, bound)
    receipt = _send(node, bound.functions.join(asset_id), asset=asset_id)
    return Membership(node.address, asset_id, None, 0, receipt["transactionHash"].to_0x_hex())


def invite(node: Node, account: str) -> Membership:
    """Admit `account`, bonding the pool's current bond from this account (approved here if needed)."""
    bound = pool(node)
    call = bound.functions.invite(account)
    bond = bound.functions.bond().call()
    approve_if_short(node.conn, node.token, call, bound.address, bond, lambda reason: _refused(node, reason, account=account))
    receipt = _send(node, call, account=account)
    return Membership(account, None, node.address, bond, receipt["transactionHash"].to_0x_hex())


def leave(node: Node) -> Membership:
    """Stop being a member: unclaimed days are forfeited (claim first); the bond returns to the inviter."""
    bound = pool(node)
    _, _, work, inviter, bond = bound.functions.members(node.address).call()
    receipt = _send(node, bound.functions.leave())
    return Membership(node.address, work or None, inviter if bond else None, bond,
                      receipt["transactionHash"].to_0x_hex())


def claim(node: Node) -> Claim:
    """Claim the dividend: the day's amount for each day since the last claim (up to the pool's cap)."""
    bound = pool(node)
    receipt = _send(node, bound.functions.claim())
    (event,) = bound.events.Claimed().process_receipt(receipt, errors=DISCARD)
    return Claim(node.address, event.args.amount, event.args.days, event.args.day,
                 receipt["transactionHash"].to_0x_hex(), receipt["gasUsed"])


def _free_work(node: Node, bound: Contract) -> int:
    """The first work this account owns that admitted no member."""
    registry = node.registry.functions
    for asset_id in range(1, registry.totalAssets().call() + 1):
        if (registry.ownerOf(asset_id).call() == node.address and registry.assetKind(asset_id).call() == _WORK
                and bound.functions.workMember(asset_id).call() == ZERO_ADDRESS):
            return asset_id
    raise CommonsError(
        f"{node.address} owns no registered work that could admit it: register one "
        "(`tantieme register FILE`), or ask a member to invite you (`tantieme commons invite ADDRESS`)"
    )


def _send(node: Node, call, **context):
    """Try `call`, then send it; a refusal is a `CommonsError` saying why and what to do."""
    return send_checked(node.conn, call, _GAS, lambda reason: _refused(node, reason, **context))


def _refused(node: Node, reason: str, asset: int | None = None, account: str | None = None) -> TantiemeError:
    """The user's message for a revert reason of the pool (or its token)."""
    if reason == "commons_pool: already claimed today":
        bound = pool(node).functions
        at = bound.dayStart(bound.currentDay().call() + 1).call()
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
        return CommonsError(f"already claimed today; next claim at {when}")
    if reason == "erc20: transfer amount exceeds balance":
        bond = pool(node).functions.bond().call()
        return CommonsError(
            f"an invitation bonds {format_amount(bond)} TAI and {node.address} holds "
            f"{format_amount(node.balance())} TAI: get AI tokens first"
        )
    messages = {
        "commons_pool: not a member": (
            "not a member: ask a member to invite you (`tantieme commons invite`) or register a work "
            "(`tantieme register FILE`, then `tantieme commons join`)"
        ),
        "commons_pool: nothing to claim": (
            "nothing to claim: the pool holds no dividend funds yet (the machine tax arrives as batches settle)"
        ),
        "commons_pool: caller is not a member": (
            "only members invite: join first (`tantieme commons join`, with a work you own)"
        ),
        "commons_pool: cannot invite oneself": "you cannot invite yourself: ask another member to invite you",
        "commons_pool: invitee is the zero address": "the zero address cannot be a member",
        "commons_pool: already a member": f"{account or node.address} is a member already",
        "commons_pool: account was removed": (
            f"{account or node.address} was removed from the commons by its owner (the DAO) and cannot join again"
        ),
        "commons_pool: unknown asset": f"there is no asset #{asset}",
        "commons_pool: asset is not a work": f"asset #{asset} is not a work: only a registered work admits its owner",
        "commons_pool: caller does not own the work": f"work #{asset} is not {node.address}'s: join with a work you own",
        "commons_pool: work already admitted a member": (
            f"work #{asset} admitted a member already (one membership per work): join with another work, "
            "or ask a member to invite you"
        ),
    }
    if reason in messages:
        return CommonsError(messages[reason])
    return ChainError(reason)
