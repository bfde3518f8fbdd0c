"""Paying assets, selling licences, and collecting royalties upstream.

Payments land as an asset's *pending* revenue in O(1) gas. Distribution is
permissionless: it moves pending revenue to the parents by their royalty share
and leaves the rest *claimable* by the owner. To collect everything an asset is
owed, its descendants are distributed first, children before parents (a child's
id is always greater than its parents', so descending ids is such an order).
"""

from __future__ import annotations

from dataclasses import dataclass

from tantieme.amounts import format_amount
from tantieme.assets.registry import Asset, all_assets, get
from tantieme.errors import AssetError
from tantieme.node import Node

MAX_MANY = 64
_PAY_GAS = 200_000
_LICENSE_GAS = 400_000
_TRANSFER_GAS = 100_000
_PER_DISTRIBUTE_GAS = 120_000
_PER_CLAIM_GAS = 80_000


def pay(node: Node, asset_id: int, amount: int) -> dict:
    """Pay `amount` token wei to `asset_id` from the node's account."""
    get(node, asset_id)
    _check_funds(node, amount)
    node.ensure_allowance(amount)
    receipt = node.conn.transact(node.router.functions.pay(asset_id, amount), gas=_PAY_GAS)
    return {"asset": asset_id, "amount": amount, "tx": receipt["transactionHash"].to_0x_hex(), "gas": receipt["gasUsed"]}


def transfer(node: Node, to: str, amount: int) -> dict:
    """Send `amount` token wei from the node's account to `to`."""
    _check_funds(node, amount)
    receipt = node.conn.transact(node.token.functions.transfer(to, amount), gas=_TRANSFER_GAS)
    return {
        "to": to,
        "amount": amount,
        "balance": node.balance(),
        "tx": receipt["transactionHash"].to_0x_hex(),
        "gas": receipt["gasUsed"],
    }


def mint_license(node: Node, asset_id: int, amount: int = 1, receiver: str | None = None) -> dict:
    """Buy `amount` licence tokens of `asset_id` for `receiver` (default: the node's account)."""
    asset = get(node, asset_id)
    if amount <= 0:
        raise AssetError("the number of licences must be at least 1")
    fee = asset.terms.minting_fee * amount
    if fee:
        _check_funds(node, fee)
        node.ensure_allowance(fee)
    receiver = receiver or node.address
    receipt = node.conn.transact(
        node.registry.functions.mintLicense(asset_id, amount, receiver), gas=_LICENSE_GAS
    )
    held = node.registry.functions.licenseBalance(receiver, asset_id).call()
    return {
        "asset": asset_id,
        "amount": amount,
        "receiver": receiver,
        "fee": fee,
        "held": held,
        "tx": receipt["transactionHash"].to_0x_hex(),
        "gas": receipt["gasUsed"],
    }


@dataclass(frozen=True)
class Royalty:
    """An asset's revenue: `claimable` now, and `collectable` once everything below it is distributed."""

    asset: int
    title: str | None
    pending: int
    claimable: int
    collectable: int


def simulate(
    assets: list[Asset], pending: dict[int, int], claimable: dict[int, int]
) -> tuple[dict[int, int], dict[int, int]]:
    """Distribute every pending revenue, children first, off chain.

    Returns the amount each asset splits on the way (its pending plus what its
    derivatives forward) and each asset's claimable amount at the end.
    Mirrors `RoyaltyRouter._distribute`: each parent receives
    `pending * royalty_bps // 10_000`, the asset keeps the rest (dust included).
    """
    bps = {a.id: a.terms.royalty_bps for a in assets}
    flowing = dict(pending)
    final = dict(claimable)
    for asset in sorted(assets, key=lambda a: a.id, reverse=True):
        amount = flowing.get(asset.id, 0)
        kept = amount
        for parent in asset.parents:
            share = amount * bps[parent] // 10_000
            flowing[parent] = flowing.get(parent, 0) + share
            kept -= share
        final[asset.id] = final.get(asset.id, 0) + kept
    return flowing, final


def children_map(assets: list[Asset]) -> dict[int, list[int]]:
    """Each asset's direct derivatives."""
    children: dict[int, list[int]] = {}
    for asset in assets:
        for parent in asset.parents:
            children.setdefault(parent, []).append(asset.id)
    return children


def descendants(children: dict[int, list[int]], asset_id: int) -> list[int]:
    """Every asset that derives from `asset_id`, directly or not."""
    found: set[int] = set()
    stack = [asset_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return sorted(found)


def distribute_upstream(node: Node, asset_ids: list[int]) -> int:
    """Distribute the pending revenue of `asset_ids` and everything below them.

    Permissionless: any account may do it for anyone. Returns the number of
    assets distributed.
    """
    assets = all_assets(node)
    children = children_map(assets)
    targets: set[int] = set()
    for asset_id in asset_ids:
        targets.add(asset_id)
        targets.update(descendants(children, asset_id))
    router = node.router.functions
    pending = {a: router.pending(a).call() for a in targets}
    flowing, _ = simulate(assets, pending, {})
    # Children first: an asset is split after everything below it forwarded its share.
    order = [a for a in sorted(targets, reverse=True) if flowing.get(a, 0) > 0]
    done = 0
    for start in range(0, len(order), MAX_MANY):
        batch = order[start : start + MAX_MANY]
        node.conn.transact(
            router.distributeMany(batch), gas=50_000 + _PER_DISTRIBUTE_GAS * len(batch)
        )
        done += len(batch)
    return done


def royalties(node: Node, owner: str | None = None) -> list[Royalty]:
    """What each asset of `owner` (default: the node's account) has and will have."""
    owner = owner or node.address
    router = node.router.functions
    assets = all_assets(node)
    pending = {a.id: router.pending(a.id).call() for a in assets}
    claimable = {a.id: router.claimable(a.id).call() for a in assets}
    _, final = simulate(assets, pending, claimable)
    return [
        Royalty(
            asset=a.id,
            title=a.title,
            pending=pending[a.id],
            claimable=claimable[a.id],
            collectable=final[a.id],
        )
        for a in assets
        if a.owner.lower() == owner.lower()
    ]


def claim(node: Node, asset_ids: list[int] | None = None) -> dict:
    """Collect and claim everything owed to the node's assets (or to `asset_ids`).

    Distributes the revenue waiting downstream first, so an ancestor collects
    without its descendants' owners doing anything.
    """
    if asset_ids is None:
        asset_ids = [a.id for a in all_assets(node) if a.owner.lower() == node.address.lower()]
    for asset_id in asset_ids:
        owner = get(node, asset_id).owner
        if owner.lower() != node.address.lower():
            raise AssetError(f"asset {asset_id} belongs to {owner}, not to this node's account")
    distributed = distribute_upstream(node, asset_ids)
    router = node.router.functions
    owed = [a for a in asset_ids if router.claimable(a).call() > 0]
    before = node.balance()
    for start in range(0, len(owed), MAX_MANY):
        batch = owed[start : start + MAX_MANY]
        node.conn.transact(router.claimMany(batch), gas=50_000 + _PER_CLAIM_GAS * len(batch))
    return {
        "assets": owed,
        "distributed": distributed,
        "claimed": node.balance() - before,
        "balance": node.balance(),
    }


def _check_funds(node: Node, amount: int) -> None:
    balance = node.balance()
    if balance < amount:
        hint = " (on a local chain: `tantieme faucet`)" if node.is_local else ""
        raise AssetError(
            f"not enough AI tokens: {format_amount(balance)} held, {format_amount(amount)} needed{hint}"
        )
