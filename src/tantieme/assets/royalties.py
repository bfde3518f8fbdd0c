"""Paying assets, selling licences, and collecting royalties upstream.

Payments land as an asset's *pending* revenue in O(1) gas. Settled answers pay
the assets' part into the payer's pool at the router, under the root of a tree
of each asset's cumulative amount: anyone *credits* an asset from the journal's
trees (one multiproof for many assets, and one credit for any number of
batches), which moves what it gained since its last credit to its pending
revenue. Distribution is permissionless: it moves pending revenue to the
parents by their royalty share and leaves the rest *claimable* by the owner.
To collect everything an asset is owed, its descendants are credited and
distributed first, children before parents (a child's id is always greater
than its parents', so descending ids is such an order).
"""

from __future__ import annotations

from dataclasses import dataclass

from tantieme.amounts import format_amount
from tantieme.assets.registry import Asset, all_assets, get
from tantieme.disputes import tagged as tagged_check
from tantieme.errors import AssetError
from tantieme.ledger.journal import BatchRow, Journal, journal
from tantieme.ledger.merkle import MultiProof, StandardMerkleTree
from tantieme.node import Node

MAX_MANY = 64
MAX_CREDIT_LEAVES = 128  # RoyaltyRouter.MAX_CREDITS
MAX_CREDIT_NODES = 256  # leaves + proof nodes of one multiproof (at most 255 flags)
# A credit's gas limit: the proof, each asset's slots, and the reputation a ledger pool's
# credit earns (the call to the reputation votes, the total's checkpoint, and at most an
# owner's first checkpoint per asset).
_CREDIT_BASE_GAS = 160_000
_PER_CREDIT_GAS = 120_000
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
    for allowed, use in ((asset.terms.commercial_use, "commercial use"), (asset.terms.derivatives_allowed, "derivatives")):
        if not allowed:
            raise AssetError(
                f"asset {asset_id}'s terms forbid {use}: a licence is the right to build a commercial "
                "derivative, so none is sold for it"
            )
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
    """An asset's revenue: `uncredited` in payers' pools, `pending`, `claimable` now, and
    `collectable` once it and everything below it is credited and distributed."""

    asset: int
    title: str | None
    uncredited: int
    pending: int
    claimable: int
    collectable: int


def _pools(node: Node, book: Journal) -> list[tuple[BatchRow, bytes]]:
    """Each settled (payer, operator) pool of this ledger in the journal: its latest batch
    and its id at the router."""
    ledger = node.ledger.functions
    return [
        (row, ledger.assetPool(row.payer, row.operator).call())
        for row in book.settled_pools(node.conn.chain_id, node.deployment.ledger)
        if row.cumulative
    ]


def uncredited(node: Node, book: Journal | None = None) -> dict[int, int]:
    """What each asset can still credit from the journal's pools, in token wei."""
    book = book or journal()
    router = node.router.functions
    owed: dict[int, int] = {}
    for row, pool_id in _pools(node, book):
        for asset, amount in row.cumulative.items():
            gain = amount - router.credited(pool_id, asset).call()
            if gain > 0:
                owed[asset] = owed.get(asset, 0) + gain
    return owed


def credit_proofs(tree: StandardMerkleTree, indices: list[int]) -> list[MultiProof]:
    """Multiproofs for the tree's leaves `indices`, each small enough for one `credit`.

    Leaves next to each other in the tree share most of their proof, so they are
    taken in tree order and cut into runs of at most `MAX_CREDIT_LEAVES` whose
    leaves and proof together stay within `MAX_CREDIT_NODES`.
    """
    order = sorted(indices, key=tree.tree_index)
    proofs: list[MultiProof] = []
    start, size = 0, MAX_CREDIT_LEAVES
    while start < len(order):
        multi = tree.get_multi_proof(order[start : start + size])
        if len(multi.leaves) + len(multi.proof) > MAX_CREDIT_NODES:
            size //= 2
            continue
        proofs.append(multi)
        start += len(multi.leaves)
        size = MAX_CREDIT_LEAVES
    return proofs


def credit(
    node: Node, asset_ids: list[int], book: Journal | None = None, payers: set[str] | None = None
) -> int:
    """Credit `asset_ids` from every payer pool in the journal (or `payers`' only), by proof:
    each gets what its cumulative amount gained since its last credit, and its owner as much
    reputation (the router tells the DAO's reputation votes in the same transaction).
    Permissionless (any account may credit any asset). Returns the amount credited, in token wei."""
    book = book or journal()
    router = node.router.functions
    wanted = set(asset_ids)
    total = 0
    for row, pool_id in _pools(node, book):
        if payers is not None and row.payer not in payers:
            continue
        tree = row.asset_tree()
        root, _ = router.pools(pool_id).call()
        if "0x" + bytes(root).hex() != tree.root:
            raise AssetError(
                f"the router's pool of payer {row.payer} holds another root than this node's batch "
                f"{row.id}: run `tantieme settle` to finish it, then claim again"
            )
        gains = {
            i: amount - router.credited(pool_id, asset).call()
            for i, (asset, amount) in tree.entries()
            if asset in wanted
        }
        indices = [i for i, gain in gains.items() if gain > 0]
        total += sum(gains[i] for i in indices)
        for multi in credit_proofs(tree, indices):
            call = router.credit(
                pool_id,
                [asset for asset, _ in multi.leaves],
                [amount for _, amount in multi.leaves],
                [bytes.fromhex(p[2:]) for p in multi.proof],
                list(multi.proof_flags),
            )
            node.conn.transact(call, gas=_CREDIT_BASE_GAS + _PER_CREDIT_GAS * len(multi.leaves))
    return total


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


def upstream_of(assets: list[Asset], asset_ids: list[int]) -> set[int]:
    """`asset_ids` and every asset that derives from them: what pays them."""
    children = children_map(assets)
    targets: set[int] = set()
    for asset_id in asset_ids:
        targets.add(asset_id)
        targets.update(descendants(children, asset_id))
    return targets


def distribute_upstream(node: Node, asset_ids: list[int]) -> int:
    """Distribute the pending revenue of `asset_ids` and everything below them.

    Permissionless: any account may do it for anyone. Returns the number of
    assets distributed.
    """
    assets = all_assets(node)
    targets = upstream_of(assets, asset_ids)
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
    owed = uncredited(node)
    pending = {a.id: router.pending(a.id).call() for a in assets}
    claimable = {a.id: router.claimable(a.id).call() for a in assets}
    _, final = simulate(assets, {a: pending[a] + owed.get(a, 0) for a in pending}, claimable)
    return [
        Royalty(
            asset=a.id,
            title=a.title,
            uncredited=owed.get(a.id, 0),
            pending=pending[a.id],
            claimable=claimable[a.id],
            collectable=final[a.id],
        )
        for a in assets
        if a.owner.lower() == owner.lower()
    ]


def claim(node: Node, asset_ids: list[int] | None = None) -> dict:
    """Collect and claim everything owed to the node's assets (or to `asset_ids`).

    Credits them and everything below them from the journal's pools, then
    distributes the revenue waiting downstream, so an ancestor collects without
    its descendants' owners doing anything. An asset an upheld dispute tags is
    left out (`tagged`): its revenue is its rightful party's, and the router
    refuses its owner's claim; named in `asset_ids`, it is an error.
    """
    assets = all_assets(node)
    is_tagged = tagged_check(node)
    named = asset_ids is not None
    if asset_ids is None:
        asset_ids = [a.id for a in assets if a.owner.lower() == node.address.lower()]
    for asset_id in asset_ids:
        owner = get(node, asset_id).owner
        if owner.lower() != node.address.lower():
            raise AssetError(f"asset {asset_id} belongs to {owner}, not to this node's account")
    tagged = [a for a in asset_ids if is_tagged(a)]
    if named and tagged:
        raise AssetError(
            f"asset {tagged[0]} is tagged by an upheld dispute: its revenue goes to the rightful party "
            f"(`tantieme dispute redirect {tagged[0]}` sends it), not to its owner; nothing was sent"
        )
    asset_ids = [a for a in asset_ids if a not in tagged]
    credited = credit(node, sorted(upstream_of(assets, asset_ids)))
    distributed = distribute_upstream(node, asset_ids)
    router = node.router.functions
    owed = [a for a in asset_ids if router.claimable(a).call() > 0]
    before = node.balance()
    for start in range(0, len(owed), MAX_MANY):
        batch = owed[start : start + MAX_MANY]
        node.conn.transact(router.claimMany(batch), gas=50_000 + _PER_CLAIM_GAS * len(batch))
    return {
        "assets": owed,
        "tagged": tagged,
        "credited": credited,
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
