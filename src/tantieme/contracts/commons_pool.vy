# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Commons Pool (the machine tax, paid out as a dividend)
@custom:contract-name commons_pool
@license GNU Affero General Public License v3.0 only
@notice Receives the machine tax (the ledger's `commons_bps` of every
        batch, or any plain AI token transfer) and pays it out to its
        members as an equal daily dividend, in the manner of GoodDollar's
        UBI scheme:
        - members join by owning a registered WORK in the IP asset
          registry (`join(asset_id)`, one membership per work at a time),
          or by invitation: a member `invite`s an account and deposits
          the `bond` for it (Circles-style trust: the inviter vouches with
          its own tokens);
        - a member `leave`s at will (its inviter gets the bond back, its
          work is freed); the owner (the DAO's timelock) `remove`s a
          member for fraud: the bond is slashed into the dividend funds,
          the address and its work can never join again;
        - the daily amount is set once a day, lazily, by the day's first
          claim: (funds − reserve) / (cycle days × members), the funds
          being the pool's balance less the bonds it holds;
        - each member claims once a day in O(1) gas, and missed days up
          to `backClaimCap` at the day's amount;
        - `memberAt(account, block)` answers whether an account was a
          member at the end of a past block and was never removed (the
          governor's quadratic voting reads it at a proposal's
          snapshot).
        Rules and invariants: `SPEC.md` ("CommonsPool").
@custom:security The token and registry are fixed at deployment and
                 trusted (tantieme's own). A day's claims never exceed the
                 funds when its amount was set: only members counted then
                 may claim that day (a member who joins later waits for
                 the next day), and each claims at most `backClaimCap` ≤
                 `cycleDays` days. Bonds are never paid out as dividend.
                 Nothing is `payable`. Sybil resistance is economic, not
                 biometric: a membership costs a work's registration or a
                 member's bond (see `SPEC.md`).
"""


# @dev The AI token the pool holds and pays.
from ethereum.ercs import IERC20


# @dev What the pool reads from the registry: a joining work's kind and owner.
interface IPAssetRegistry:
    def exists(asset_id: uint256) -> bool: view
    def assetKind(asset_id: uint256) -> uint8: view
    def ownerOf(asset_id: uint256) -> address: view
    def token() -> address: view


# @dev The owner (the DAO's timelock, after the handover) removes members
# and sets the parameters.
from snekmate.auth import ownable
initializes: ownable


# @dev `ownable`'s functions, as they are.
exports: (
    ownable.owner,
    ownable.transfer_ownership,
    ownable.renounce_ownership,
)


# @dev A member, as `members` returns it.
struct Member:
    # @dev Whether the account is a member now.
    active: bool
    # @dev The last day it claimed (or the day before it could first).
    last_claimed: uint256
    # @dev The work it joined by (0: invited).
    work: uint256
    # @dev Who invited it and put up its bond (zero: joined by a work).
    inviter: address
    # @dev The bond held for it, in token wei.
    bond: uint256


# @dev Seconds in a dividend day.
DAY: public(constant(uint256)) = 86_400


# @dev Basis points in a whole.
BPS: public(constant(uint256)) = 10_000


# @dev Exclusive bound of a bond, in token wei (it packs in 96 bits).
MAX_BOND: public(constant(uint256)) = 2**96


# @dev The registry's kind of a work.
_WORK: constant(uint8) = 0


# @dev Bit layout of a member word: active (bit 0), last claimed day
# (bits 1-64), the block it joined in (bits 65-112), the work joined by
# (bits 113-255; asset ids are below 2**53).
_DAY_SHIFT: constant(uint256) = 1
_JOINED_SHIFT: constant(uint256) = 65
_WORK_SHIFT: constant(uint256) = 113
_DAY_MASK: constant(uint256) = 2**64 - 1
_BLOCK_MASK: constant(uint256) = 2**48 - 1


# @dev Bit layout of a past membership word: the block it began in (bits
# 0-47) and the block it ended in (bits 48-95).
_ENDED_SHIFT: constant(uint256) = 48


# @dev Bit layout of the day word: day (bits 0-63), daily amount
# (64-191), the day's back-claim cap (192-207).
_AMOUNT_SHIFT: constant(uint256) = 64
_CAP_SHIFT: constant(uint256) = 192
_AMOUNT_MASK: constant(uint256) = 2**128 - 1


# @dev Bit layout of a bond word: inviter (bits 0-159), amount (160-255).
_BOND_SHIFT: constant(uint256) = 160
_ADDRESS_MASK: constant(uint256) = 2**160 - 1


# @dev The AI token.
token: public(immutable(IERC20))


# @dev The IP asset registry whose works admit their owners.
registry: public(immutable(IPAssetRegistry))


# @dev Unix time in seconds when day 1 began (the deployment).
start: public(immutable(uint256))


# @dev What an inviter deposits for its invitee, in token wei.
bond: public(uint256)


# @dev Days the funds are spread over: each day pays 1/cycleDays of them.
cycleDays: public(uint16)


# @dev The share of the funds kept back from the daily amount, in bps.
reserveBps: public(uint16)


# @dev Most days a member claims at once (missed days included).
backClaimCap: public(uint16)


# @dev Number of members.
memberCount: public(uint256)


# @dev The bonds held for members, in token wei (never dividend).
bondsHeld: public(uint256)


# @dev Every dividend paid so far, in token wei.
totalClaimed: public(uint256)


# @dev The member each work admitted (zero: none, or it left); a removed
# member's work stays bound to it.
workMember: public(HashMap[uint256, address])


# @dev Accounts the owner removed: they never join again.
removed: public(HashMap[address, bool])


# @dev Each member's word (see `_DAY_SHIFT`); zero: not a member.
_members: HashMap[address, uint256]


# @dev Each account's last ended membership (see `_ENDED_SHIFT`).
_past: HashMap[address, uint256]


# @dev Each invited member's bond word (see `_BOND_SHIFT`).
_bonds: HashMap[address, uint256]


# @dev The day whose amount was set last, packed (see `_AMOUNT_SHIFT`).
_day: uint256


# @dev Emitted when a work's owner joins.
event Joined:
    member: indexed(address)
    work: indexed(uint256)


# @dev Emitted when a member invites an account, which joins.
event Invited:
    member: indexed(address)
    inviter: indexed(address)
    bond: uint256


# @dev Emitted when a member leaves; its bond went back to its inviter.
event Left:
    member: indexed(address)
    inviter: indexed(address)
    bond: uint256


# @dev Emitted when the owner removes a member; its bond joins the funds.
event Removed:
    member: indexed(address)
    slashed: uint256


# @dev Emitted when a member claims its dividend.
event Claimed:
    member: indexed(address)
    day: indexed(uint256)
    days: uint256
    amount: uint256


# @dev Emitted when a day's amount is set, by the day's first claim.
event DailyAmountSet:
    day: indexed(uint256)
    amount: uint256
    members: uint256
    funds: uint256


# @dev Emitted when the owner changes the bond.
event BondChanged:
    bond: uint256


# @dev Emitted when the owner changes the dividend rules.
event DividendRulesChanged:
    cycle_days: uint16
    reserve_bps: uint16
    back_claim_cap: uint16


@deploy
def __init__(
    token_: address,
    registry_: address,
    bond_: uint256,
    cycle_days_: uint16,
    reserve_bps_: uint16,
    back_claim_cap_: uint16,
):
    """
    @dev Fixes the token and the registry (which must use that token),
         sets the parameters; day 1 starts now. The deployer becomes
         `owner`.
    @param token_ The AI token.
    @param registry_ The IP asset registry.
    @param bond_ The invitation bond in token wei (below `MAX_BOND`).
    @param cycle_days_ Days the funds are spread over (at least 1).
    @param reserve_bps_ Share of the funds kept back, in basis points.
    @param back_claim_cap_ Most days claimed at once (1 to `cycle_days_`).
    """
    assert token_ != empty(address), "commons_pool: token is the zero address"
    assert staticcall IPAssetRegistry(registry_).token() == token_, "commons_pool: registry uses another token"
    token = IERC20(token_)
    registry = IPAssetRegistry(registry_)
    start = block.timestamp
    ownable.__init__()
    self._set_bond(bond_)
    self._set_dividend_rules(cycle_days_, reserve_bps_, back_claim_cap_)


# MEMBERSHIP #


@external
def join(asset_id: uint256):
    """
    @dev The caller joins by a WORK it owns; each work admits one member
         at a time (again once that member leaves, never after it was
         removed).
    @param asset_id The work's IP asset id.
    """
    self._check_can_join(msg.sender)
    assert staticcall registry.exists(asset_id), "commons_pool: unknown asset"
    assert staticcall registry.assetKind(asset_id) == _WORK, "commons_pool: asset is not a work"
    assert staticcall registry.ownerOf(asset_id) == msg.sender, "commons_pool: caller does not own the work"
    assert self.workMember[asset_id] == empty(address), "commons_pool: work already admitted a member"
    self.workMember[asset_id] = msg.sender
    self._admit(msg.sender, asset_id)
    log Joined(member=msg.sender, work=asset_id)


@external
@nonreentrant
def invite(account: address):
    """
    @dev A member admits `account` and deposits the current `bond` for it
         (approve the pool beforehand). The bond returns to the inviter
         when the account leaves, and is slashed into the dividend funds
         if the owner removes it.
    @param account The account to admit, not the caller, not a member.
    """
    assert self._members[msg.sender] != 0, "commons_pool: caller is not a member"
    assert account != empty(address), "commons_pool: invitee is the zero address"
    assert account != msg.sender, "commons_pool: cannot invite oneself"
    self._check_can_join(account)
    amount: uint256 = self.bond
    # Below 2**96: `_set_bond` checks it.
    self._bonds[account] = convert(msg.sender, uint256) | (amount << _BOND_SHIFT)
    self.bondsHeld += amount
    self._admit(account, 0)
    log Invited(member=account, inviter=msg.sender, bond=amount)
    if amount != 0:
        assert extcall token.transferFrom(msg.sender, self, amount, default_return_value=True), "commons_pool: transfer failed"


@external
@nonreentrant
def leave():
    """
    @dev The caller stops being a member: its unclaimed days are
         forfeited (claim first), its work may admit a member again, and
         its bond goes back to whoever deposited it.
    """
    word: uint256 = self._members[msg.sender]
    assert word != 0, "commons_pool: not a member"
    work: uint256 = word >> _WORK_SHIFT
    if work != 0:
        self.workMember[work] = empty(address)
    inviter: address = empty(address)
    amount: uint256 = 0
    inviter, amount = self._drop(msg.sender)
    log Left(member=msg.sender, inviter=inviter, bond=amount)
    if amount != 0:
        assert extcall token.transfer(inviter, amount, default_return_value=True), "commons_pool: transfer failed"


@external
def remove(member: address):
    """
    @dev Owner only (the DAO): removes a member for fraud. Its bond stays
         in the pool as dividend funds; the address, and the work it
         joined by, can never join again.
    @param member The member to remove.
    """
    ownable._check_owner()
    assert self._members[member] != 0, "commons_pool: not a member"
    inviter: address = empty(address)
    amount: uint256 = 0
    inviter, amount = self._drop(member)
    self.removed[member] = True
    log Removed(member=member, slashed=amount)


# DIVIDEND #


@external
@nonreentrant
def claim() -> uint256:
    """
    @dev Pays the caller the day's amount for each day since its last
         claim, at most `backClaimCap` days (as the day's amount was set).
         The day's first claim sets the day's amount.
    @return uint256 The amount paid, in token wei.
    """
    word: uint256 = self._members[msg.sender]
    assert word != 0, "commons_pool: not a member"
    today: uint256 = self._today()
    day_word: uint256 = self._day
    if day_word & _DAY_MASK != today:
        day_word = self._new_day(today)
    last: uint256 = (word >> _DAY_SHIFT) & _DAY_MASK
    assert last < today, "commons_pool: already claimed today"
    days: uint256 = min(today - last, day_word >> _CAP_SHIFT)
    amount: uint256 = ((day_word >> _AMOUNT_SHIFT) & _AMOUNT_MASK) * days
    assert amount != 0, "commons_pool: nothing to claim"
    self._members[msg.sender] = (word & ~(_DAY_MASK << _DAY_SHIFT)) | (today << _DAY_SHIFT)
    self.totalClaimed += amount
    log Claimed(member=msg.sender, day=today, days=days, amount=amount)
    assert extcall token.transfer(msg.sender, amount, default_return_value=True), "commons_pool: transfer failed"
    return amount


# OWNER #


@external
def setBond(bond_: uint256):
    """
    @dev Owner only: the bond of future invitations (bonds already held
         keep their amount).
    @param bond_ The bond in token wei, below `MAX_BOND`.
    """
    ownable._check_owner()
    self._set_bond(bond_)


@external
def setDividendRules(cycle_days_: uint16, reserve_bps_: uint16, back_claim_cap_: uint16):
    """
    @dev Owner only: the rules of the daily amount, from the next day
         whose amount is set (today's stands).
    @param cycle_days_ Days the funds are spread over (at least 1).
    @param reserve_bps_ Share of the funds kept back, in basis points
           (at most 10,000).
    @param back_claim_cap_ Most days claimed at once (1 to `cycle_days_`).
    """
    ownable._check_owner()
    self._set_dividend_rules(cycle_days_, reserve_bps_, back_claim_cap_)


# VIEWS #


@external
@view
def members(account: address) -> Member:
    """
    @dev An account's membership.
    @param account The account.
    @return Member Whether it is a member, its last claimed day, the work
            it joined by, its inviter and bond (token wei).
    """
    word: uint256 = self._members[account]
    bond_word: uint256 = self._bonds[account]
    return Member(
        active=word != 0,
        last_claimed=(word >> _DAY_SHIFT) & _DAY_MASK,
        work=word >> _WORK_SHIFT,
        inviter=convert(bond_word & _ADDRESS_MASK, address),
        bond=bond_word >> _BOND_SHIFT,
    )


@external
@view
def memberAt(account: address, timepoint: uint256) -> bool:
    """
    @dev Whether `account` was a member at the end of block `timepoint`
         (by its current membership or the last one it ended) and was
         never removed. Memberships ended before the last are forgotten:
         an account that left and rejoined twice since `timepoint` reads
         as no member then.
    @param account The account.
    @param timepoint A block number before the current one.
    @return bool Whether it was a member then.
    """
    assert timepoint < block.number, "commons_pool: future lookup"
    if self.removed[account]:
        return False
    word: uint256 = self._members[account]
    if word != 0 and (word >> _JOINED_SHIFT) & _BLOCK_MASK <= timepoint:
        return True
    past: uint256 = self._past[account]
    return past & _BLOCK_MASK <= timepoint and timepoint < past >> _ENDED_SHIFT


@external
@view
def claimable(account: address) -> uint256:
    """
    @dev What `claim` would pay `account` now (0 if it may not claim).
    @param account The account.
    @return uint256 The amount in token wei.
    """
    word: uint256 = self._members[account]
    if word == 0:
        return 0
    today: uint256 = self._today()
    last: uint256 = (word >> _DAY_SHIFT) & _DAY_MASK
    if last >= today:
        return 0
    day_word: uint256 = self._day
    if day_word & _DAY_MASK != today:
        day_word = self._day_word(today)
    return ((day_word >> _AMOUNT_SHIFT) & _AMOUNT_MASK) * min(today - last, day_word >> _CAP_SHIFT)


@external
@view
def dailyAmount() -> (uint256, uint256, uint256):
    """
    @dev The latest day whose amount was set.
    @return uint256 The day (0: none yet).
    @return uint256 Its amount per member per day, in token wei.
    @return uint256 Its back-claim cap in days.
    """
    word: uint256 = self._day
    return word & _DAY_MASK, (word >> _AMOUNT_SHIFT) & _AMOUNT_MASK, word >> _CAP_SHIFT


@external
@view
def todayAmount() -> uint256:
    """
    @dev Today's amount per member per day: as today's first claim set
         it, or what a claim would set now.
    @return uint256 The amount in token wei.
    """
    day_word: uint256 = self._day
    today: uint256 = self._today()
    if day_word & _DAY_MASK != today:
        day_word = self._day_word(today)
    return (day_word >> _AMOUNT_SHIFT) & _AMOUNT_MASK


@external
@view
def currentDay() -> uint256:
    """
    @dev Today's number: day 1 began at deployment.
    @return uint256 The day.
    """
    return self._today()


@external
@view
def dayStart(day: uint256) -> uint256:
    """
    @dev When a day begins.
    @param day The day (from 1).
    @return uint256 Unix time in seconds.
    """
    assert day != 0, "commons_pool: day zero"
    return start + (day - 1) * DAY


@external
@view
def funds() -> uint256:
    """
    @dev The dividend funds: the pool's balance less the bonds it holds.
    @return uint256 The amount in token wei.
    """
    return self._funds()


# INTERNAL #


@internal
@view
def _check_can_join(account: address):
    """
    @dev Reverts unless `account` may become a member.
    @param account The account.
    """
    assert not self.removed[account], "commons_pool: account was removed"
    assert self._members[account] == 0, "commons_pool: already a member"


@internal
def _admit(account: address, work: uint256):
    """
    @dev Makes `account` a member. If today's amount is already set, it
         was set without counting this member, which therefore claims
         from tomorrow; otherwise from today.
    @param account The new member.
    @param work The work it joins by (0: invited).
    """
    today: uint256 = self._today()
    last: uint256 = today if self._day & _DAY_MASK == today else today - 1
    self._members[account] = 1 | (last << _DAY_SHIFT) | (block.number << _JOINED_SHIFT) | (work << _WORK_SHIFT)
    self.memberCount += 1


@internal
def _drop(member: address) -> (address, uint256):
    """
    @dev Ends a membership (remembered for `memberAt`) and releases its
         bond from `bondsHeld`.
    @param member The member.
    @return address Who deposited its bond (zero: none).
    @return uint256 The bond in token wei.
    """
    bond_word: uint256 = self._bonds[member]
    amount: uint256 = bond_word >> _BOND_SHIFT
    joined: uint256 = (self._members[member] >> _JOINED_SHIFT) & _BLOCK_MASK
    self._past[member] = joined | (block.number << _ENDED_SHIFT)
    self._members[member] = 0
    self._bonds[member] = 0
    self.memberCount -= 1
    self.bondsHeld -= amount
    return convert(bond_word & _ADDRESS_MASK, address), amount


@internal
def _new_day(today: uint256) -> uint256:
    """
    @dev Sets today's amount (the day's first claim).
    @param today Today's number.
    @return uint256 The new day word.
    """
    word: uint256 = self._day_word(today)
    self._day = word
    log DailyAmountSet(
        day=today, amount=(word >> _AMOUNT_SHIFT) & _AMOUNT_MASK, members=self.memberCount, funds=self._funds()
    )
    return word


@internal
@view
def _day_word(today: uint256) -> uint256:
    """
    @dev Today's word under the current rules: (funds − reserve) /
         (cycleDays × members) per member per day, rounded down (the dust
         stays in the funds).
    @param today Today's number.
    @return uint256 The packed day, amount and back-claim cap.
    """
    funds_: uint256 = self._funds()
    # The funds are at most the token's supply (below 2**128): no overflow.
    spendable: uint256 = funds_ - funds_ * convert(self.reserveBps, uint256) // BPS
    amount: uint256 = spendable // (convert(self.cycleDays, uint256) * max(self.memberCount, 1))
    return today | (amount << _AMOUNT_SHIFT) | (convert(self.backClaimCap, uint256) << _CAP_SHIFT)


@internal
@view
def _funds() -> uint256:
    """
    @dev The pool's balance less the bonds it holds.
    @return uint256 The amount in token wei.
    """
    return staticcall token.balanceOf(self) - self.bondsHeld


@internal
@view
def _today() -> uint256:
    """
    @dev Today's number (from 1).
    @return uint256 The day.
    """
    return (block.timestamp - start) // DAY + 1


@internal
def _set_bond(bond_: uint256):
    """
    @dev Sets the invitation bond.
    @param bond_ The bond in token wei.
    """
    assert bond_ < MAX_BOND, "commons_pool: bond too large"
    self.bond = bond_
    log BondChanged(bond=bond_)


@internal
def _set_dividend_rules(cycle_days_: uint16, reserve_bps_: uint16, back_claim_cap_: uint16):
    """
    @dev Sets the rules of the daily amount, checking them.
    @param cycle_days_ Days the funds are spread over.
    @param reserve_bps_ Share kept back, in basis points.
    @param back_claim_cap_ Most days claimed at once.
    """
    assert cycle_days_ != 0, "commons_pool: cycle is zero"
    assert convert(reserve_bps_, uint256) <= BPS, "commons_pool: reserve exceeds 10,000 bps"
    assert back_claim_cap_ != 0, "commons_pool: back-claim cap is zero"
    assert back_claim_cap_ <= cycle_days_, "commons_pool: back-claim cap exceeds the cycle"
    self.cycleDays = cycle_days_
    self.reserveBps = reserve_bps_
    self.backClaimCap = back_claim_cap_
    log DividendRulesChanged(cycle_days=cycle_days_, reserve_bps=reserve_bps_, back_claim_cap=back_claim_cap_)
