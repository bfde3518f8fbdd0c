# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Royalty Router
@custom:contract-name royalty_router
@license GNU Affero General Public License v3.0 only
@notice Collects revenue for IP assets and splits it up their derivative
        graph, conserving every token wei:
        - `pay` credits an asset's `pending` revenue in O(1) gas,
          whatever the size of the graph above it;
        - `fund` pays many assets at once in O(1) gas: it takes one lump
          into a pool (one per funder and key, e.g. a payer and its node)
          and sets the pool's Merkle root of cumulative per-asset amounts
          (OpenZeppelin "standard-v1" leaves `(uint256 asset, uint256
          amount)`); `credit` (anyone, for any asset) proves leaves and
          moves each asset's increase since its last credit from the pool
          to its pending revenue. No tree, however built, credits more
          than its pool was paid: the rest stays `unassigned`;
        - `distribute` (anyone, any time) splits an asset's pending
          revenue: each parent's pending grows by its `royalty_bps` share,
          rounded down, and the rest, rounding dust included, becomes the
          asset's `claimable`. Distributing the parents in turn moves
          revenue further up, so any ancestor can collect without the
          descendants' owners doing anything;
        - `claim` (the asset's current ERC-721 owner only) pulls the
          asset's claimable revenue;
        - `sweep` (anyone) credits an asset with the tokens sent by plain
          transfer to its royalty vault, the ERC-2981 receiver the
          registry names, deploying the vault on first use;
        - `redirect` (the dispute module only, wired once by the
          deployer) distributes a tagged asset's pending revenue, sends
          its claimable revenue to the rightful party a judgement named
          and marks the asset tagged: its owner's `claim` reverts until
          the module's `untag` (an appeal upheld), so revenue credited
          later waits for the next `redirect`;
        - credits from the pools of the reputation votes' ledger (wired
          once by the deployer) are told to the reputation votes in the
          same transaction (`earn`): each asset's increase, once, as the
          router credits it, so creators' reputation needs no recording
          of its own.
        Invariants (`SPEC.md`): the router's token balance equals the sum
        of all pending, claimable and unassigned amounts plus `surplus()`,
        and `totalPaid == Σ pending + Σ claimable + totalUnassigned +
        totalClaimed`.
@custom:security Functions that move tokens are `@nonreentrant` and follow
                 checks-effects-interactions. The token and registry are
                 fixed at deployment and trusted (tantieme's own). Tokens
                 sent to the router itself by plain `transfer` credit
                 nobody; they show as `surplus()` and stay in the router.
                 Royalties go to each asset's vault instead (`sweep`).
"""


# @dev The AI token the router holds and pays out.
from ethereum.ercs import IERC20


# @dev Stateless OpenZeppelin-compatible (sorted-pair) Merkle multiproofs.
from snekmate.utils import merkle_proof_verification


# @dev What the router reads from the registry.
interface IPAssetRegistry:
    def exists(asset_id: uint256) -> bool: view
    def ownerOf(asset_id: uint256) -> address: view
    def parentShares(asset_id: uint256) -> (DynArray[uint256, 16], DynArray[uint256, 16]): view
    def royaltyVault(asset_id: uint256) -> address: view
    def deployRoyaltyVault(asset_id: uint256) -> address: nonpayable


# @dev What the router checks of the dispute module it is wired to.
interface DisputeModule:
    def router() -> address: view


# @dev The reputation votes the router tells its ledger pools' credits.
interface ReputationVotes:
    def router() -> address: view
    def ledger() -> address: view
    def earn(asset_ids: DynArray[uint256, MAX_CREDITS], amounts: DynArray[uint256, MAX_CREDITS]): nonpayable


# @dev Most leaves in one `credit`; with its proof, at most 256 nodes
# (snekmate's multiproof bound).
MAX_CREDITS: public(constant(uint256)) = 128


# @dev Most nodes in a multiproof, and most flags (snekmate's bound).
MAX_PROOF: public(constant(uint256)) = 255


# @dev Most assets in one `distributeMany` or `claimMany`.
MAX_MANY: public(constant(uint256)) = 64


# @dev Basis points in a whole.
_BPS: constant(uint256) = 10_000


# @dev The top bit of a `_claimable` slot: set, the asset is tagged by an
# upheld dispute and its owner cannot claim. The amounts below it stay far
# under 2^255 (they are bounded by the token's supply).
_TAGGED: constant(uint256) = 1 << 255


# @dev The amount bits of a `_claimable` slot.
_AMOUNT: constant(uint256) = _TAGGED - 1


# @dev The top bit of an `_unassigned` slot: set, the pool is the
# reputation votes' ledger's and its credits earn reputation (kept in the
# slot `fund` and `credit` read anyway). The amounts below it stay far
# under 2^255 (they are bounded by the token's supply).
_COUNTED: constant(uint256) = 1 << 255


# @dev The AI token.
token: public(immutable(IERC20))


# @dev The IP asset registry.
registry: public(immutable(IPAssetRegistry))


# @dev The deployer, who wires the dispute module once.
_DEPLOYER: immutable(address)


# @dev Every token wei ever paid in by `pay`, `payFrom` and `fund`,
# plus one (set at deployment, so no payment writes a fresh slot).
_total_paid: uint256


# @dev Every token wei ever sent out by `claim`, plus one (likewise).
_total_claimed: uint256


# @dev Pending (undistributed) revenue of each asset plus one; zero
# means the asset was never credited, so its existence is still to be
# checked. Keeping the slot non-zero makes later credits cheaper.
_pending: HashMap[uint256, uint256]


# @dev Claimable revenue of each asset plus one once it has been
# distributed to (or tagged); zero before. The top bit is the tag
# (`_TAGGED`), kept in the slot `claim` reads anyway.
_claimable: HashMap[uint256, uint256]


# @dev Each pool's Merkle root of cumulative per-asset amounts (the
# latest `fund` set it); zero for a pool never funded.
_pool_root: HashMap[bytes32, bytes32]


# @dev Each pool's unassigned tokens (funded, not yet credited) plus
# one once funded; the top bit is the reputation mark (`_COUNTED`).
_unassigned: HashMap[bytes32, uint256]


# @dev The cumulative amount each asset has been credited from each pool.
credited: public(HashMap[bytes32, HashMap[uint256, uint256]])


# @dev Every pool's unassigned tokens, summed, plus one.
_total_unassigned: uint256


# @dev The dispute module, the only caller of `redirect` (zero: not wired).
disputeModule: public(address)


# @dev The reputation votes told of the credits from their ledger's
# pools (zero: not wired).
reputation: public(address)


# @dev The funder whose pools earn reputation: the reputation votes'
# ledger (zero: not wired).
_reputation_funder: address


# @dev Emitted when revenue is credited to an asset.
event Paid:
    asset_id: indexed(uint256)
    payer: indexed(address)
    amount: uint256


# @dev Emitted when a funder pays a lump into a pool and sets its root.
event PoolFunded:
    pool_id: indexed(bytes32)
    funder: indexed(address)
    key: bytes32
    root: bytes32
    amount: uint256


# @dev Emitted when an asset is credited from a pool.
event Credited:
    pool_id: indexed(bytes32)
    asset_id: indexed(uint256)
    amount: uint256


# @dev Emitted when an asset's pending revenue is split.
event Distributed:
    asset_id: indexed(uint256)
    amount: uint256
    to_parents: uint256
    to_owner: uint256


# @dev Emitted for each parent's share in a split.
event RoyaltyForwarded:
    from_asset: indexed(uint256)
    to_asset: indexed(uint256)
    amount: uint256


# @dev Emitted when an owner pulls an asset's revenue.
event Claimed:
    asset_id: indexed(uint256)
    owner: indexed(address)
    amount: uint256


# @dev Emitted when a judgement sends a tagged asset's revenue elsewhere.
event Redirected:
    asset_id: indexed(uint256)
    to: indexed(address)
    amount: uint256


# @dev Emitted when an appeal lifts an asset's tag: its owner claims again.
event Untagged:
    asset_id: indexed(uint256)


# @dev Emitted once, when the dispute module is wired.
event DisputeModuleSet:
    module: indexed(address)


# @dev Emitted once, when the reputation votes are wired.
event ReputationSet:
    reputation: indexed(address)
    ledger: indexed(address)


@deploy
def __init__(token_: address, registry_: address):
    """
    @dev Fixes the token and the registry; the deployer may later wire
         the dispute module, once.
    @param token_ The AI token.
    @param registry_ The IP asset registry.
    """
    assert token_ != empty(address), "router: token is the zero address"
    assert registry_ != empty(address), "router: registry is the zero address"
    token = IERC20(token_)
    registry = IPAssetRegistry(registry_)
    _DEPLOYER = msg.sender
    self._total_paid = 1
    self._total_claimed = 1
    self._total_unassigned = 1


# PAYING #


@external
@nonreentrant
def pay(asset_id: uint256, amount: uint256):
    """
    @dev Pays revenue to an asset: pulls `amount` from the caller (who
         approved the router) and credits the asset's pending revenue.
         O(1) gas whatever the graph.
    @param asset_id The asset paid.
    @param amount The amount in token wei, non-zero.
    """
    self._credit(asset_id, amount, msg.sender)
    self._pull(msg.sender, amount)


@external
@nonreentrant
def payFrom(payer: address, asset_id: uint256, amount: uint256):
    """
    @dev Licence fees: the registry pays on behalf of the licence buyer,
         who approved the router. Only the registry may call it.
    @param payer The licence buyer.
    @param asset_id The licensed asset.
    @param amount The fee in token wei, non-zero.
    """
    assert msg.sender == registry.address, "router: caller is not the registry"
    self._credit(asset_id, amount, payer)
    self._pull(payer, amount)


@external
@nonreentrant
def fund(key: bytes32, root: bytes32, amount: uint256) -> bytes32:
    """
    @dev Pays `amount` into the caller's pool `key` (pulled from the
         caller, who approved the router) and sets the pool's root: the
         Merkle root of the cumulative amount each asset is owed from the
         pool (leaves `(uint256 asset, uint256 amount)`, OpenZeppelin
         "standard-v1"). O(1) gas however many assets the tree names.
         Assets take their part with `credit`. The root replaces the
         previous one: each asset's amount in it must be at least what
         the previous root gave it. A pool of the reputation votes'
         ledger is marked: its credits earn reputation.
    @param key The caller's name for the pool (the ledger's: its payer
           and operator).
    @param root The new Merkle root, non-zero.
    @param amount The amount in token wei, non-zero.
    @return bytes32 The pool id: `keccak256(abi_encode(caller, key))`.
    """
    assert root != empty(bytes32), "router: empty root"
    assert amount != 0, "router: zero amount"
    pool_id: bytes32 = self._pool_id(msg.sender, key)
    self._pool_root[pool_id] = root
    stored: uint256 = self._unassigned[pool_id]
    mark: uint256 = stored & _COUNTED
    if msg.sender == self._reputation_funder:
        mark = _COUNTED
    self._unassigned[pool_id] = mark | (max(stored & _AMOUNT, 1) + amount)
    self._total_unassigned += amount
    self._total_paid += amount
    log PoolFunded(pool_id=pool_id, funder=msg.sender, key=key, root=root, amount=amount)
    self._pull(msg.sender, amount)
    return pool_id


@external
@nonreentrant
def credit(
    pool_id: bytes32,
    asset_ids: DynArray[uint256, MAX_CREDITS],
    amounts: DynArray[uint256, MAX_CREDITS],
    proof: DynArray[bytes32, MAX_PROOF],
    proof_flags: DynArray[bool, MAX_PROOF],
) -> uint256:
    """
    @dev Credits assets from a pool: proves the leaves `(asset_ids[i],
         amounts[i])` against the pool's current root with one
         OpenZeppelin multiproof (leaves in the order the multiproof
         consumes them; a single leaf's proof is its siblings with all
         flags false) and adds to each asset's pending revenue what its
         cumulative amount exceeds what it was credited before. Anyone
         may call it, for any asset. Reverts if the pool has not that
         much unassigned. A marked pool's credits are told to the
         reputation votes (`earn`), each asset's increase once.
    @param pool_id The pool (see `fund` and `poolId`).
    @param asset_ids The assets, as the multiproof orders the leaves.
    @param amounts Each asset's cumulative amount in token wei.
    @param proof The multiproof's sibling hashes.
    @param proof_flags The multiproof's flags.
    @return uint256 The amount credited in all, in token wei.
    """
    assert len(asset_ids) == len(amounts), "router: length mismatch"
    assert len(asset_ids) != 0, "router: nothing to credit"
    leaves: DynArray[bytes32, MAX_PROOF] = []
    for i: uint256 in range(len(asset_ids), bound=MAX_CREDITS):
        leaves.append(keccak256(keccak256(abi_encode(asset_ids[i], amounts[i]))))
    assert merkle_proof_verification._multi_proof_verify(
        proof, proof_flags, self._pool_root[pool_id], leaves
    ), "router: invalid proof"
    return self._credit_proved(pool_id, asset_ids, amounts)


@external
@nonreentrant
def sweep(asset_id: uint256) -> uint256:
    """
    @dev Credits the asset with every AI token in its royalty vault (what
         marketplaces sent by plain transfer to the ERC-2981 receiver),
         as a payment from the vault; deploys the vault first if it holds
         tokens and has no code yet. Anyone may call it.
    @param asset_id The asset.
    @return uint256 The amount credited, in token wei (0: nothing there).
    """
    vault: address = staticcall registry.royaltyVault(asset_id)
    amount: uint256 = staticcall token.balanceOf(vault)
    if amount == 0:
        return 0
    if not vault.is_contract:
        extcall registry.deployRoyaltyVault(asset_id)
    self._credit(asset_id, amount, vault)
    self._pull(vault, amount)
    return amount


# SPLITTING #


@external
@nonreentrant
def distribute(asset_id: uint256) -> uint256:
    """
    @dev Splits the asset's pending revenue between its parents (their
         royalty bps, rounded down) and its owner (the rest). Anyone may
         call it; nothing happens when nothing is pending.
    @param asset_id The asset.
    @return uint256 The amount split, in token wei.
    """
    return self._distribute(asset_id)


@external
@nonreentrant
def distributeMany(asset_ids: DynArray[uint256, MAX_MANY]) -> uint256:
    """
    @dev `distribute` for each asset in order: list descendants before
         ancestors to move revenue all the way up in one call.
    @param asset_ids The assets.
    @return uint256 The total amount split, in token wei (revenue split
            again higher up counts again).
    """
    total: uint256 = 0
    for asset_id: uint256 in asset_ids:
        total += self._distribute(asset_id)
    return total


# CLAIMING #


@external
@nonreentrant
def claim(asset_id: uint256) -> uint256:
    """
    @dev Sends the asset's claimable revenue to the caller, who must be
         the asset's current owner; reverts while a dispute tags the asset
         (its revenue goes to the rightful party by `redirect`).
    @param asset_id The caller's asset.
    @return uint256 The amount sent, in token wei (may be zero).
    """
    amount: uint256 = self._take_claimable(asset_id)
    self._push(msg.sender, amount)
    return amount


@external
@nonreentrant
def claimMany(asset_ids: DynArray[uint256, MAX_MANY]) -> uint256:
    """
    @dev `claim` for several assets of the caller, with one transfer.
    @param asset_ids The caller's assets, no repeats needed.
    @return uint256 The total sent, in token wei.
    """
    total: uint256 = 0
    for asset_id: uint256 in asset_ids:
        total += self._take_claimable(asset_id)
    self._push(msg.sender, total)
    return total


# DISPUTES #


@external
def setDisputeModule(module: address):
    """
    @dev Wires the dispute module, once; only the deployer. The module
         must be built for this router.
    @param module The `DisputeModule`.
    """
    assert msg.sender == _DEPLOYER, "router: caller is not the deployer"
    assert self.disputeModule == empty(address), "router: dispute module already set"
    assert module != empty(address), "router: dispute module is the zero address"
    assert staticcall DisputeModule(module).router() == self, "router: dispute module is for another router"
    self.disputeModule = module
    log DisputeModuleSet(module=module)


@external
def setReputation(reputation_: address):
    """
    @dev Wires the reputation votes, once; only the deployer. They must
         be built for this router: from then on, the pools their ledger
         funds are marked and their credits earn reputation.
    @param reputation_ The `ReputationVotes`.
    """
    assert msg.sender == _DEPLOYER, "router: caller is not the deployer"
    assert self.reputation == empty(address), "router: reputation already set"
    assert reputation_ != empty(address), "router: reputation is the zero address"
    assert staticcall ReputationVotes(reputation_).router() == self, "router: reputation is for another router"
    ledger: address = staticcall ReputationVotes(reputation_).ledger()
    self.reputation = reputation_
    self._reputation_funder = ledger
    log ReputationSet(reputation=reputation_, ledger=ledger)


@external
@nonreentrant
def redirect(asset_id: uint256, to: address) -> uint256:
    """
    @dev Distributes the asset's pending revenue (its parents keep their
         shares), sends its claimable revenue to `to`, counted as
         claimed, and marks the asset tagged: its owner's `claim` reverts
         until `untag`. Only the dispute module, for an upheld dispute.
    @param asset_id The tagged asset.
    @param to The rightful party the judgement named.
    @return uint256 The amount sent, in token wei (may be zero).
    """
    assert msg.sender == self.disputeModule, "router: caller is not the dispute module"
    self._distribute(asset_id)
    amount: uint256 = self._stored(self._claimable[asset_id] & _AMOUNT)
    self._claimable[asset_id] = _TAGGED | 1
    if amount == 0:
        return 0
    self._total_claimed += amount
    log Redirected(asset_id=asset_id, to=to, amount=amount)
    self._push(to, amount)
    return amount


@external
def untag(asset_id: uint256):
    """
    @dev Lifts the asset's tag (an appeal upheld): its owner claims its
         revenue again, including what was credited since the last
         `redirect`. Only the dispute module.
    @param asset_id The asset.
    """
    assert msg.sender == self.disputeModule, "router: caller is not the dispute module"
    self._claimable[asset_id] &= _AMOUNT
    log Untagged(asset_id=asset_id)


# VIEWS #


@external
@view
def pending(asset_id: uint256) -> uint256:
    """
    @dev Revenue paid to the asset and not yet split.
    @param asset_id The asset.
    @return uint256 The amount in token wei.
    """
    return self._stored(self._pending[asset_id])


@external
@view
def claimable(asset_id: uint256) -> uint256:
    """
    @dev Revenue distributed to the asset's owner and not yet claimed
         (while the asset is tagged, the rightful party's by `redirect`).
    @param asset_id The asset.
    @return uint256 The amount in token wei.
    """
    return self._stored(self._claimable[asset_id] & _AMOUNT)


@external
@view
def isTagged(asset_id: uint256) -> bool:
    """
    @dev Whether an upheld dispute tags the asset: its owner cannot claim.
    @param asset_id The asset.
    @return bool True while tagged.
    """
    return self._claimable[asset_id] >= _TAGGED


@external
@view
def totalPaid() -> uint256:
    """
    @dev Every token wei ever paid in: to assets, or into pools.
    @return uint256 The amount in token wei.
    """
    return self._total_paid - 1


@external
@view
def totalClaimed() -> uint256:
    """
    @dev Every token wei ever claimed by owners (or redirected by a
         judgement).
    @return uint256 The amount in token wei.
    """
    return self._total_claimed - 1


@external
@view
def pools(pool_id: bytes32) -> (bytes32, uint256):
    """
    @dev A pool's current root and its unassigned tokens: paid in by
         `fund`, not yet credited to any asset.
    @param pool_id The pool.
    @return bytes32 The Merkle root of cumulative per-asset amounts.
    @return uint256 The unassigned amount in token wei.
    """
    return self._pool_root[pool_id], self._stored(self._unassigned[pool_id] & _AMOUNT)


@external
@view
def totalUnassigned() -> uint256:
    """
    @dev Every pool's unassigned tokens, summed.
    @return uint256 The amount in token wei.
    """
    return self._total_unassigned - 1


@external
@pure
def poolId(funder: address, key: bytes32) -> bytes32:
    """
    @dev The id of `funder`'s pool `key`.
    @param funder Who funds the pool.
    @param key The funder's name for it.
    @return bytes32 `keccak256(abi_encode(funder, key))`.
    """
    return self._pool_id(funder, key)


@external
@pure
def creditLeaf(asset_id: uint256, amount: uint256) -> bytes32:
    """
    @dev A pool tree's leaf, as the off-chain tree hashes it:
         `keccak256(keccak256(abi_encode(asset_id, amount)))`.
    @param asset_id The asset.
    @param amount Its cumulative amount in token wei.
    @return bytes32 The 32-byte leaf hash.
    """
    return keccak256(keccak256(abi_encode(asset_id, amount)))


@external
@view
def surplus() -> uint256:
    """
    @dev Tokens held beyond what is owed: plain transfers to the router.
    @return uint256 The amount in token wei.
    """
    # Cannot underflow while the invariant holds: the balance covers
    # everything paid and not claimed.
    return staticcall token.balanceOf(self) - (self._total_paid - self._total_claimed)


# INTERNAL #


@internal
def _credit(asset_id: uint256, amount: uint256, payer: address):
    """
    @dev Pays `amount` to the asset's pending revenue.
    @param asset_id The asset.
    @param amount The amount in token wei, non-zero.
    @param payer Who pays, for the event.
    """
    assert amount != 0, "router: zero amount"
    self._add_pending(asset_id, amount)
    self._total_paid += amount
    log Paid(asset_id=asset_id, payer=payer, amount=amount)


@internal
def _credit_proved(
    pool_id: bytes32, asset_ids: DynArray[uint256, MAX_CREDITS], amounts: DynArray[uint256, MAX_CREDITS]
) -> uint256:
    """
    @dev Credits proved leaves: adds to each asset's pending revenue what
         its cumulative amount exceeds what it was credited before, takes
         the sum from the pool, and tells a marked pool's credits to the
         reputation votes. Its own frame keeps the reputation's lists out
         of `credit`'s, so unmarked pools pay no memory for them.
    @param pool_id The pool.
    @param asset_ids The assets.
    @param amounts Each asset's cumulative amount in token wei.
    @return uint256 The amount credited in all, in token wei.
    """
    stored: uint256 = self._unassigned[pool_id]
    counted: bool = stored >= _COUNTED
    earned_ids: DynArray[uint256, MAX_CREDITS] = []
    earned: DynArray[uint256, MAX_CREDITS] = []
    total: uint256 = 0
    for i: uint256 in range(len(asset_ids), bound=MAX_CREDITS):
        asset_id: uint256 = asset_ids[i]
        before: uint256 = self.credited[pool_id][asset_id]
        if amounts[i] <= before:
            continue
        # Cannot underflow: checked just above.
        amount: uint256 = unsafe_sub(amounts[i], before)
        self.credited[pool_id][asset_id] = amounts[i]
        self._add_pending(asset_id, amount)
        total += amount
        log Credited(pool_id=pool_id, asset_id=asset_id, amount=amount)
        if counted:
            earned_ids.append(asset_id)
            earned.append(amount)

    if total != 0:
        assert total <= self._stored(stored & _AMOUNT), "router: credits exceed the pool"
        # Cannot underflow: checked just above, and the amount bits are non-zero.
        self._unassigned[pool_id] = unsafe_sub(stored, total)
        self._total_unassigned = unsafe_sub(self._total_unassigned, total)
        if counted:
            extcall ReputationVotes(self.reputation).earn(earned_ids, earned)
    return total


@internal
def _add_pending(asset_id: uint256, amount: uint256):
    """
    @dev Adds `amount` to the asset's pending revenue; checks with the
         registry that the asset exists the first time only (assets are
         never burned).
    @param asset_id The asset.
    @param amount The amount in token wei.
    """
    stored: uint256 = self._pending[asset_id]
    if stored == 0:
        assert staticcall registry.exists(asset_id), "router: unknown asset"
        stored = 1
    self._pending[asset_id] = stored + amount


@internal
def _distribute(asset_id: uint256) -> uint256:
    """
    @dev Moves the asset's pending revenue to its parents' pending and
         its own claimable; the shares sum to the amount exactly.
    @param asset_id The asset.
    @return uint256 The amount split, in token wei.
    """
    stored: uint256 = self._pending[asset_id]
    if stored <= 1:
        return 0
    # Cannot underflow: `stored` is at least 2.
    amount: uint256 = unsafe_sub(stored, 1)
    self._pending[asset_id] = 1

    parents: DynArray[uint256, 16] = []
    shares: DynArray[uint256, 16] = []
    parents, shares = staticcall registry.parentShares(asset_id)
    to_parents: uint256 = 0
    for i: uint256 in range(len(parents), bound=16):
        # Exact floor(amount * bps / 10,000) without overflow.
        share: uint256 = (amount // _BPS) * shares[i] + (amount % _BPS) * shares[i] // _BPS
        if share == 0:
            continue
        parent: uint256 = parents[i]
        # Parents exist, so their slot may start at 1 without a check.
        self._pending[parent] = max(self._pending[parent], 1) + share
        to_parents += share
        log RoyaltyForwarded(from_asset=asset_id, to_asset=parent, amount=share)

    # The registry bounds the shares' sum by 10,000 bps, so the parents
    # get at most `amount`; checked anyway.
    to_owner: uint256 = amount - to_parents
    self._claimable[asset_id] = max(self._claimable[asset_id], 1) + to_owner
    log Distributed(asset_id=asset_id, amount=amount, to_parents=to_parents, to_owner=to_owner)
    return amount


@internal
def _take_claimable(asset_id: uint256) -> uint256:
    """
    @dev Zeroes the asset's claimable revenue for its owner; reverts
         while the asset is tagged.
    @param asset_id The asset.
    @return uint256 The amount taken, in token wei.
    """
    assert staticcall registry.ownerOf(asset_id) == msg.sender, "router: caller is not the asset owner"
    stored: uint256 = self._claimable[asset_id]
    assert stored < _TAGGED, "router: asset is tagged by a dispute"
    if stored <= 1:
        return 0
    # Cannot underflow: `stored` is at least 2.
    amount: uint256 = unsafe_sub(stored, 1)
    self._claimable[asset_id] = 1
    self._total_claimed += amount
    log Claimed(asset_id=asset_id, owner=msg.sender, amount=amount)
    return amount


@internal
def _pull(payer: address, amount: uint256):
    """
    @dev Pulls tokens from `payer` into the router.
    @param payer The payer, who approved the router.
    @param amount The amount in token wei.
    """
    assert extcall token.transferFrom(payer, self, amount, default_return_value=True), "router: transfer failed"


@internal
def _push(to: address, amount: uint256):
    """
    @dev Sends tokens out of the router, if any.
    @param to The receiver.
    @param amount The amount in token wei.
    """
    if amount != 0:
        assert extcall token.transfer(to, amount, default_return_value=True), "router: transfer failed"


@internal
@pure
def _pool_id(funder: address, key: bytes32) -> bytes32:
    """
    @dev A pool's id: its funder and the funder's key, hashed.
    @param funder Who funds the pool.
    @param key The funder's name for it.
    @return bytes32 The pool id.
    """
    return keccak256(abi_encode(funder, key))


@internal
@pure
def _stored(slot: uint256) -> uint256:
    """
    @dev Decodes a plus-one balance slot.
    @param slot The stored value.
    @return uint256 The balance in token wei.
    """
    if slot == 0:
        return 0
    # Cannot underflow: `slot` is non-zero.
    return unsafe_sub(slot, 1)
