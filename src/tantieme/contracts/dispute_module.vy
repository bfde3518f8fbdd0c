# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Dispute Module
@custom:contract-name dispute_module
@license GNU Affero General Public License v3.0 only
@notice Lets anyone challenge a registered IP asset (content copied under
        another owner, a model that omits its training data, terms that
        contradict a parent), in the manner of Story Protocol's dispute
        module, decided by the DAO or the arbiter it appoints:
        - `raiseDispute` names the asset, an allowed reason tag and the evidence
          (its hash; the URI is logged) and deposits the current `bond` in
          AI tokens; one open dispute per asset and raiser;
        - the raiser may `cancel` before the judgement: the bond comes
          back less `cancelFeeBps`, which goes to the asset's owner for
          the trouble (Story keeps part of a cancelled dispute's fee too);
        - the arbiter or the owner `uphold`s it: the asset is tagged
          (`isTagged`, `tagOf`), its royalties (pending and claimable in
          the router) go to the rightful party the judgement names, and
          the bond goes back to the raiser; or `reject`s it: the bond goes
          to the asset's owner. A dispute is judged once;
        - royalties credited to a tagged asset later (records signed
          before the judgement and settled after it) go to the same party
          by `redirect`, which anyone may call; meanwhile the router
          refuses the owner's `claim` (the judgement marked the asset);
        - the owner (the DAO's timelock, after the handover) appoints the
          arbiter, sets the bond, the cancellation fee and the allowed
          tags, and clears a tag on appeal (`clearTag`).
        Rules and invariants: `SPEC.md` ("DisputeModule").
@custom:security The token, registry and router are fixed at deployment
                 and trusted (tantieme's own). The router pays out only
                 to this module's call (`redirect` in the router checks
                 the caller). Every bond deposited is, at any time, either
                 held for its open dispute or paid out once: to the raiser,
                 to the asset's owner, or split between them on a cancel.
                 A router built before disputes existed has no hook: such
                 a deployment passes the zero address and its judgements
                 tag without moving royalties. Nothing is `payable`.
"""


# @dev The AI token the bonds are paid in.
from ethereum.ercs import IERC20


# @dev What the module reads from the registry: whether an asset exists,
# and its owner (who receives a rejected dispute's bond).
interface IPAssetRegistry:
    def exists(asset_id: uint256) -> bool: view
    def ownerOf(asset_id: uint256) -> address: view
    def token() -> address: view


# @dev The router's hook that moves a tagged asset's royalties.
interface RoyaltyRouter:
    def redirect(asset_id: uint256, to: address) -> uint256: nonpayable
    def untag(asset_id: uint256): nonpayable
    def registry() -> address: view


# @dev The owner (the DAO's timelock, after the handover) appoints the
# arbiter, sets the bond, the fee and the tags, and judges too.
from snekmate.auth import ownable
initializes: ownable


# @dev `ownable`'s functions, as they are.
exports: (
    ownable.owner,
    ownable.transfer_ownership,
    ownable.renounce_ownership,
)


# @dev A dispute, as `disputes` returns it.
struct Dispute:
    # @dev The disputed asset.
    asset_id: uint256
    # @dev Who raised it and deposited the bond.
    raiser: address
    # @dev The bond deposited, in token wei.
    bond: uint256
    # @dev The reason tag.
    tag: bytes32
    # @dev OPEN, UPHELD, REJECTED or CANCELLED (0: no such dispute).
    status: uint8


# @dev A dispute's statuses.
OPEN: public(constant(uint8)) = 1
UPHELD: public(constant(uint8)) = 2
REJECTED: public(constant(uint8)) = 3
CANCELLED: public(constant(uint8)) = 4


# @dev Basis points in a whole.
BPS: public(constant(uint256)) = 10_000


# @dev Exclusive bound of a bond, in token wei (it packs in 96 bits).
MAX_BOND: public(constant(uint256)) = 2**96


# @dev Longest evidence URI, in bytes (only logged).
MAX_URI: public(constant(uint256)) = 256


# @dev Bit layout of a dispute's first word: raiser (bits 0-159), bond
# (160-255); of its second: status (bits 0-7), asset id (8-255).
_BOND_SHIFT: constant(uint256) = 160
_ASSET_SHIFT: constant(uint256) = 8
_ADDRESS_MASK: constant(uint256) = 2**160 - 1
_STATUS_MASK: constant(uint256) = 2**8 - 1


# @dev The AI token.
token: public(immutable(IERC20))


# @dev The IP asset registry whose assets are disputed.
registry: public(immutable(IPAssetRegistry))


# @dev The royalty router whose `redirect` moves a tagged asset's
# royalties (zero: a router without the hook; judgements only tag).
router: public(immutable(RoyaltyRouter))


# @dev What a raiser deposits, in token wei.
bond: public(uint256)


# @dev The share of a cancelled dispute's bond paid to the asset's owner,
# in bps.
cancelFeeBps: public(uint256)


# @dev Who judges disputes besides the owner (zero: the owner alone).
arbiter: public(address)


# @dev Reason tags a dispute may name.
allowedTags: public(HashMap[bytes32, bool])


# @dev Disputes raised so far; ids run from 1.
disputeCount: public(uint256)


# @dev Each raiser's open dispute on each asset (asset → raiser → id;
# zero: none).
openDispute: public(HashMap[uint256, HashMap[address, uint256]])


# @dev Where each tagged asset's royalties go (zero: not tagged).
rightfulParty: public(HashMap[uint256, address])


# @dev Each dispute's raiser and bond, packed (see `_BOND_SHIFT`).
_raised: HashMap[uint256, uint256]


# @dev Each dispute's asset and status, packed (see `_ASSET_SHIFT`).
_target: HashMap[uint256, uint256]


# @dev Each dispute's reason tag.
_tags: HashMap[uint256, bytes32]


# @dev Each tagged asset's tag (zero: not tagged).
_asset_tags: HashMap[uint256, bytes32]


# @dev Emitted when a dispute is raised.
event DisputeRaised:
    dispute_id: indexed(uint256)
    asset_id: indexed(uint256)
    raiser: indexed(address)
    tag: bytes32
    evidence_hash: bytes32
    evidence_uri: String[MAX_URI]
    bond: uint256


# @dev Emitted when a dispute is upheld and its asset tagged.
event DisputeUpheld:
    dispute_id: indexed(uint256)
    asset_id: indexed(uint256)
    rightful_party: indexed(address)
    tag: bytes32
    redirected: uint256


# @dev Emitted when a dispute is rejected; the bond went to the owner.
event DisputeRejected:
    dispute_id: indexed(uint256)
    asset_id: indexed(uint256)
    asset_owner: indexed(address)
    bond: uint256


# @dev Emitted when the raiser cancels; `fee` went to the asset's owner.
event DisputeCancelled:
    dispute_id: indexed(uint256)
    asset_id: indexed(uint256)
    refund: uint256
    fee: uint256


# @dev Emitted when a tagged asset's later royalties are redirected.
event RoyaltiesRedirected:
    asset_id: indexed(uint256)
    rightful_party: indexed(address)
    amount: uint256


# @dev Emitted when the owner clears a tag on appeal.
event TagCleared:
    asset_id: indexed(uint256)
    tag: bytes32


# @dev Emitted when the owner appoints an arbiter.
event ArbiterSet:
    arbiter: indexed(address)


# @dev Emitted when the owner sets the bond.
event BondSet:
    bond: uint256


# @dev Emitted when the owner sets the cancellation fee.
event CancelFeeSet:
    bps: uint256


# @dev Emitted when the owner allows or forbids a reason tag.
event TagAllowed:
    tag: indexed(bytes32)
    allowed: bool


@deploy
def __init__(
    token_: address,
    registry_: address,
    router_: address,
    bond_: uint256,
    cancel_fee_bps_: uint256,
    tags_: DynArray[bytes32, 8],
):
    """
    @dev Fixes the token, registry and router; the deployer owns the module
         until the handover.
    @param token_ The AI token the bonds are paid in.
    @param registry_ The IP asset registry (paying in `token_`).
    @param router_ The royalty router over `registry_` (zero: a router
           without the `redirect` hook).
    @param bond_ The bond, in token wei.
    @param cancel_fee_bps_ The share of a cancelled bond kept for the
           asset's owner, in bps.
    @param tags_ The reason tags allowed at first.
    """
    assert token_ != empty(address), "disputes: token is the zero address"
    assert staticcall IPAssetRegistry(registry_).token() == token_, "disputes: registry uses another token"
    if router_ != empty(address):
        assert staticcall RoyaltyRouter(router_).registry() == registry_, "disputes: router is for another registry"
    ownable.__init__()
    token = IERC20(token_)
    registry = IPAssetRegistry(registry_)
    router = RoyaltyRouter(router_)
    self._set_bond(bond_)
    self._set_cancel_fee(cancel_fee_bps_)
    for tag: bytes32 in tags_:
        self._allow_tag(tag, True)


# DISPUTING #


@external
@nonreentrant
def raiseDispute(asset_id: uint256, tag: bytes32, evidence_hash: bytes32, evidence_uri: String[MAX_URI]) -> uint256:
    """
    @dev Challenges an asset: pulls the current bond from the caller (who
         approved the module for it) and opens a dispute.
    @param asset_id The disputed asset.
    @param tag The reason, one of `allowedTags`.
    @param evidence_hash The evidence's hash (keccak256 of the file, or of
           the URI's text), non-zero.
    @param evidence_uri Where the evidence is (logged only; may be empty).
    @return uint256 The dispute's id.
    """
    assert staticcall registry.exists(asset_id), "disputes: unknown asset"
    assert self.allowedTags[tag], "disputes: tag not allowed"
    assert evidence_hash != empty(bytes32), "disputes: no evidence"
    assert self.openDispute[asset_id][msg.sender] == 0, "disputes: caller has an open dispute on the asset"
    assert self._asset_tags[asset_id] == empty(bytes32), "disputes: asset already tagged"
    amount: uint256 = self.bond
    dispute_id: uint256 = self.disputeCount + 1
    self.disputeCount = dispute_id
    self._raised[dispute_id] = convert(msg.sender, uint256) | (amount << _BOND_SHIFT)
    self._target[dispute_id] = (asset_id << _ASSET_SHIFT) | convert(OPEN, uint256)
    self._tags[dispute_id] = tag
    self.openDispute[asset_id][msg.sender] = dispute_id
    log DisputeRaised(
        dispute_id=dispute_id,
        asset_id=asset_id,
        raiser=msg.sender,
        tag=tag,
        evidence_hash=evidence_hash,
        evidence_uri=evidence_uri,
        bond=amount,
    )
    if amount != 0:
        assert extcall token.transferFrom(msg.sender, self, amount, default_return_value=True), "disputes: transfer failed"
    return dispute_id


@external
@nonreentrant
def cancel(dispute_id: uint256):
    """
    @dev Withdraws an open dispute before its judgement; only its raiser.
         The bond comes back less `cancelFeeBps`, paid to the asset's
         owner.
    @param dispute_id The dispute.
    """
    asset_id: uint256 = self._close(dispute_id, CANCELLED)
    raiser: address = self._raiser(dispute_id)
    assert msg.sender == raiser, "disputes: caller is not the raiser"
    amount: uint256 = self._bond_of(dispute_id)
    # Cannot overflow: the bond is below 2**96 and the fee at most 10,000.
    fee: uint256 = unsafe_mul(amount, self.cancelFeeBps) // BPS
    # Cannot underflow: the fee is at most the bond.
    refund: uint256 = unsafe_sub(amount, fee)
    log DisputeCancelled(dispute_id=dispute_id, asset_id=asset_id, refund=refund, fee=fee)
    self._pay(staticcall registry.ownerOf(asset_id), fee)
    self._pay(raiser, refund)


@external
@nonreentrant
def uphold(dispute_id: uint256, rightful_party: address) -> uint256:
    """
    @dev Upholds an open dispute; only the arbiter or the owner. Tags the
         asset with the dispute's tag, sends its royalties (the router's
         pending, distributed first, and claimable) to `rightful_party`
         and the bond back to the raiser.
    @param dispute_id The dispute.
    @param rightful_party Who receives the asset's royalties from now on.
    @return uint256 The royalties redirected, in token wei.
    """
    self._check_judge()
    assert rightful_party != empty(address), "disputes: rightful party is the zero address"
    asset_id: uint256 = self._close(dispute_id, UPHELD)
    tag: bytes32 = self._tags[dispute_id]
    self._asset_tags[asset_id] = tag
    self.rightfulParty[asset_id] = rightful_party
    raiser: address = self._raiser(dispute_id)
    amount: uint256 = self._redirect(asset_id, rightful_party)
    log DisputeUpheld(
        dispute_id=dispute_id, asset_id=asset_id, rightful_party=rightful_party, tag=tag, redirected=amount
    )
    self._pay(raiser, self._bond_of(dispute_id))
    return amount


@external
@nonreentrant
def reject(dispute_id: uint256):
    """
    @dev Rejects an open dispute; only the arbiter or the owner. The bond
         goes to the asset's current owner.
    @param dispute_id The dispute.
    """
    self._check_judge()
    asset_id: uint256 = self._close(dispute_id, REJECTED)
    owner: address = staticcall registry.ownerOf(asset_id)
    amount: uint256 = self._bond_of(dispute_id)
    log DisputeRejected(dispute_id=dispute_id, asset_id=asset_id, asset_owner=owner, bond=amount)
    self._pay(owner, amount)


@external
@nonreentrant
def redirect(asset_id: uint256) -> uint256:
    """
    @dev Sends royalties credited to a tagged asset since its judgement to
         its rightful party; anyone may call it.
    @param asset_id The tagged asset.
    @return uint256 The amount redirected, in token wei.
    """
    rightful: address = self.rightfulParty[asset_id]
    assert rightful != empty(address), "disputes: asset not tagged"
    assert router.address != empty(address), "disputes: router has no redirect hook"
    amount: uint256 = self._redirect(asset_id, rightful)
    log RoyaltiesRedirected(asset_id=asset_id, rightful_party=rightful, amount=amount)
    return amount


# OWNER #


@external
def clearTag(asset_id: uint256):
    """
    @dev Clears an asset's tag on appeal; only the owner. Royalties
         redirected already stay where they went; later ones, and those
         credited since the last redirect, are the asset owner's again
         (the router lets the owner claim).
    @param asset_id The tagged asset.
    """
    ownable._check_owner()
    tag: bytes32 = self._asset_tags[asset_id]
    assert tag != empty(bytes32), "disputes: asset not tagged"
    self._asset_tags[asset_id] = empty(bytes32)
    self.rightfulParty[asset_id] = empty(address)
    log TagCleared(asset_id=asset_id, tag=tag)
    if router.address != empty(address):
        extcall router.untag(asset_id)


@external
def setArbiter(arbiter_: address):
    """
    @dev Appoints who judges disputes besides the owner; only the owner.
    @param arbiter_ The arbiter (zero: the owner alone).
    """
    ownable._check_owner()
    self.arbiter = arbiter_
    log ArbiterSet(arbiter=arbiter_)


@external
def setBond(bond_: uint256):
    """
    @dev Sets the bond of disputes raised from now on; only the owner.
    @param bond_ The bond in token wei, below `MAX_BOND`.
    """
    ownable._check_owner()
    self._set_bond(bond_)


@external
def setCancelFee(bps: uint256):
    """
    @dev Sets the share of a cancelled bond paid to the asset's owner;
         only the owner.
    @param bps The share in basis points, at most 10,000.
    """
    ownable._check_owner()
    self._set_cancel_fee(bps)


@external
def setTagAllowed(tag: bytes32, allowed: bool):
    """
    @dev Allows or forbids a reason tag for disputes raised from now on;
         only the owner.
    @param tag The tag, non-zero.
    @param allowed Whether disputes may name it.
    """
    ownable._check_owner()
    self._allow_tag(tag, allowed)


# VIEWS #


@external
@view
def disputes(dispute_id: uint256) -> Dispute:
    """
    @dev A dispute (all zero: no such dispute).
    @param dispute_id The dispute.
    @return Dispute Its asset, raiser, bond in token wei, tag and status.
    """
    target: uint256 = self._target[dispute_id]
    return Dispute(
        asset_id=target >> _ASSET_SHIFT,
        raiser=self._raiser(dispute_id),
        bond=self._bond_of(dispute_id),
        tag=self._tags[dispute_id],
        status=convert(target & _STATUS_MASK, uint8),
    )


@external
@view
def isTagged(asset_id: uint256) -> bool:
    """
    @dev Whether an upheld dispute tagged the asset (and no appeal
         cleared it).
    @param asset_id The asset.
    @return bool True if tagged.
    """
    return self._asset_tags[asset_id] != empty(bytes32)


@external
@view
def tagOf(asset_id: uint256) -> bytes32:
    """
    @dev The asset's tag: the reason of the dispute upheld against it.
    @param asset_id The asset.
    @return bytes32 The tag (zero: not tagged).
    """
    return self._asset_tags[asset_id]


# INTERNAL #


@internal
def _check_judge():
    """
    @dev Only the arbiter or the owner judge.
    """
    assert msg.sender == self.arbiter or msg.sender == ownable.owner, "disputes: caller is not the arbiter or the owner"


@internal
def _close(dispute_id: uint256, status: uint8) -> uint256:
    """
    @dev Closes an open dispute with `status`; frees its raiser's slot.
    @param dispute_id The dispute.
    @param status UPHELD, REJECTED or CANCELLED.
    @return uint256 The disputed asset.
    """
    target: uint256 = self._target[dispute_id]
    assert target != 0, "disputes: unknown dispute"
    assert target & _STATUS_MASK == convert(OPEN, uint256), "disputes: dispute already closed"
    asset_id: uint256 = target >> _ASSET_SHIFT
    self._target[dispute_id] = (asset_id << _ASSET_SHIFT) | convert(status, uint256)
    self.openDispute[asset_id][self._raiser(dispute_id)] = 0
    return asset_id


@internal
def _redirect(asset_id: uint256, to: address) -> uint256:
    """
    @dev Has the router send the asset's royalties to `to`, if it can.
    @param asset_id The asset.
    @param to The rightful party.
    @return uint256 The amount sent, in token wei.
    """
    if router.address == empty(address):
        return 0
    return extcall router.redirect(asset_id, to)


@internal
def _pay(to: address, amount: uint256):
    """
    @dev Sends tokens out of the module, if any.
    @param to The receiver.
    @param amount The amount in token wei.
    """
    if amount != 0:
        assert extcall token.transfer(to, amount, default_return_value=True), "disputes: transfer failed"


@internal
@view
def _raiser(dispute_id: uint256) -> address:
    """
    @dev A dispute's raiser.
    @param dispute_id The dispute.
    @return address The raiser.
    """
    return convert(self._raised[dispute_id] & _ADDRESS_MASK, address)


@internal
@view
def _bond_of(dispute_id: uint256) -> uint256:
    """
    @dev A dispute's bond.
    @param dispute_id The dispute.
    @return uint256 The bond in token wei.
    """
    return self._raised[dispute_id] >> _BOND_SHIFT


@internal
def _set_bond(bond_: uint256):
    """
    @dev Sets the bond.
    @param bond_ The bond in token wei.
    """
    assert bond_ < MAX_BOND, "disputes: bond too large"
    self.bond = bond_
    log BondSet(bond=bond_)


@internal
def _set_cancel_fee(bps: uint256):
    """
    @dev Sets the cancellation fee.
    @param bps The fee in basis points.
    """
    assert bps <= BPS, "disputes: fee exceeds 10,000 bps"
    self.cancelFeeBps = bps
    log CancelFeeSet(bps=bps)


@internal
def _allow_tag(tag: bytes32, allowed: bool):
    """
    @dev Allows or forbids a tag.
    @param tag The tag.
    @param allowed Whether disputes may name it.
    """
    assert tag != empty(bytes32), "disputes: empty tag"
    self.allowedTags[tag] = allowed
    log TagAllowed(tag=tag, allowed=allowed)
