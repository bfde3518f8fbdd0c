# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Reputation Votes (creators' attributed earnings, decaying)
@custom:contract-name reputation_votes
@license GNU Affero General Public License v3.0 only
@notice The voting power of the DAO's REPUTATION proposals: a creator's
        reputation is what the interaction ledger's settlements
        attributed to the works it owns, decaying with a half-life:
        - `earn(asset_ids, amounts)` (the royalty router only, wired to
          these votes once by its deployer) adds what the router has
          just credited each asset from a pool of the ledger (proved
          against a settled batch's Merkle root; each increase once, as
          the router credits it) to the reputation of the asset's owner
          now, one checkpoint per run of assets of one owner, and to the
          total;
        - reputation halves every `halfLife` blocks, continuously
          (2^(-elapsed / halfLife), exact to about 1 part in 10^5
          within a half-life, exact halvings between them);
        - ERC-5805 reads as the governor needs them: `getVotes`,
          `getPastVotes`, `getPastTotalSupply`, with ERC-6372 `clock()`
          (block numbers); there is no transfer, approval or delegation.
        Reputation cannot be bought or moved: only the ledger's pools
        count (a `pay` to the router, licence fees or a pool funded by
        anyone else earn nothing), and it stays with the account that
        owned the work when it was credited.
@custom:security Trusts the router (tantieme's own, fixed at deployment)
                 for what was credited and reads the registry's owners;
                 calls nothing else. An earning credited late starts
                 decaying late (anyone may credit any asset, and `claim`
                 credits what it collects). Paying for answers that cite
                 one's own work through one's own node earns reputation
                 at the cost of the machine tax and the other shares
                 (see `SPEC.md`).
"""


# @dev The owner of a work now.
interface IRegistry:
    def ownerOf(asset_id: uint256) -> address: view


# @dev Each account's reputation, and the total, by block number (the
# value as it stood at each checkpoint's block, before decay).
from . import checkpoints
initializes: checkpoints


# @dev Most assets in one `earn` (the router's most credits in one call).
MAX_EARNED: public(constant(uint256)) = 128


# @dev The checkpoint key of the total: address 0 owns no work.
_TOTAL: constant(address) = empty(address)


# @dev Reputation above this cannot be multiplied by a 64-bit fraction
# within 256 bits (far above any token supply).
_MAX_REPUTATION: constant(uint256) = 2**192 - 1


# @dev Bits of the fraction of a half-life (2**16 steps).
_FRACTION_BITS: constant(uint256) = 16


# @dev 2^(-1/2^i) for i = 1..16, in 64-bit fixed point, rounded down.
_ROOTS: constant(uint256[16]) = [
    13043817825332782212,
    15511800964685064948,
    16915738899553466670,
    17664662643191237676,
    18051468387014017850,
    18248035989933441396,
    18347121020861646923,
    18396865112328554661,
    18421787711448657617,
    18434261669329232139,
    18440501815349552981,
    18443622680442407997,
    18445183311048607332,
    18445963675871538003,
    18446353870663572145,
    18446548971154807802,
]


# @dev Longest half-life in blocks (a block number's bound).
_MAX_HALF_LIFE: constant(uint256) = 2**48


# @dev One in 64-bit fixed point.
_ONE: constant(uint256) = 2**64


# @dev The interaction ledger whose pools count (the router marks them).
ledger: public(immutable(address))


# @dev The royalty router that credits assets from those pools, the only
# caller of `earn`.
router: public(immutable(address))


# @dev The IP asset registry whose owners earn.
registry: public(immutable(IRegistry))


# @dev Blocks in which reputation halves.
halfLife: public(immutable(uint256))


# @dev `account` earned `amount` reputation: token wei the router
# credited to its works in this transaction (its `Credited` events name
# the pool and the assets).
event ReputationEarned:
    account: indexed(address)
    amount: uint256


@deploy
def __init__(ledger_: address, router_: address, registry_: address, half_life_: uint256):
    """
    @dev Fixes the ledger, router and registry (the ledger's own) and the
         half-life. The router's deployer then wires these votes to it
         (`setReputation`).
    @param ledger_ The interaction ledger.
    @param router_ The royalty router the ledger funds.
    @param registry_ The IP asset registry.
    @param half_life_ Blocks in which reputation halves (1 to 2**48).
    """
    assert half_life_ != 0, "reputation_votes: half-life is zero"
    assert half_life_ <= _MAX_HALF_LIFE, "reputation_votes: half-life too long"
    checkpoints.__init__()
    ledger = ledger_
    router = router_
    registry = IRegistry(registry_)
    halfLife = half_life_


# RECORDING #


@external
def earn(asset_ids: DynArray[uint256, MAX_EARNED], amounts: DynArray[uint256, MAX_EARNED]):
    """
    @dev Adds what the router just credited each asset from a pool of
         the ledger to the reputation of the asset's owner now (one
         checkpoint per run of assets of one owner), and to the total.
         Only the router, from `credit`.
    @param asset_ids The assets credited.
    @param amounts What each was credited, in token wei.
    """
    assert msg.sender == router, "reputation_votes: caller is not the router"
    owner: address = empty(address)
    earned: uint256 = 0
    total: uint256 = 0
    for i: uint256 in range(len(asset_ids), bound=MAX_EARNED):
        next_owner: address = staticcall registry.ownerOf(asset_ids[i])
        if next_owner != owner:
            self._earn(owner, earned)
            owner = next_owner
            earned = 0
        earned += amounts[i]
        total += amounts[i]
    self._earn(owner, earned)
    self._add(_TOTAL, total)


# VOTES #


@external
@view
def clock() -> uint48:
    """
    @dev ERC-6372: the current timepoint, the block number.
    @return uint48 The block number.
    """
    return convert(block.number, uint48)


@external
@pure
def CLOCK_MODE() -> String[32]:
    """
    @dev ERC-6372: the clock counts blocks.
    @return String The clock's description.
    """
    return "mode=blocknumber&from=default"


@external
@view
def getVotes(account: address) -> uint256:
    """
    @dev `account`'s reputation now.
    @param account The account.
    @return uint256 Its reputation (token wei, decayed).
    """
    return self._value_at(account, block.number)


@external
@view
def getPastVotes(account: address, timepoint: uint256) -> uint256:
    """
    @dev `account`'s reputation at the end of block `timepoint`, which
         must be over.
    @param account The account.
    @param timepoint A block number before the current one.
    @return uint256 Its reputation then (token wei, decayed).
    """
    assert timepoint < block.number, "reputation_votes: future lookup"
    return self._value_at(account, timepoint)


@external
@view
def getPastTotalSupply(timepoint: uint256) -> uint256:
    """
    @dev The reputation of all accounts at the end of block `timepoint`,
         which must be over.
    @param timepoint A block number before the current one.
    @return uint256 The total then (token wei, decayed).
    """
    assert timepoint < block.number, "reputation_votes: future lookup"
    return self._value_at(_TOTAL, timepoint)


@external
@view
def decay(amount: uint256, elapsed: uint256) -> uint256:
    """
    @dev What `amount` of reputation is worth `elapsed` blocks later.
    @param amount Reputation in token wei (below 2**192).
    @param elapsed Blocks.
    @return uint256 The decayed reputation.
    """
    return self._decay(amount, elapsed)


# INTERNAL #


@internal
@view
def _value_at(key: address, timepoint: uint256) -> uint256:
    """
    @dev The reputation of `key` at the end of block `timepoint`: its
         last checkpoint then, decayed from that checkpoint's block.
    @param key An account, or `_TOTAL`.
    @param timepoint A block number.
    @return uint256 The reputation in token wei.
    """
    word: uint256 = checkpoints._word_at(key, timepoint)
    # The checkpoint is at or before `timepoint` (or the empty word).
    return self._decay(word & _MAX_REPUTATION, timepoint - (word >> 208))


@internal
def _earn(account: address, amount: uint256):
    """
    @dev Adds `amount` to `account`'s reputation now, if any.
    @param account An owner (zero before the first run: nothing earned).
    @param amount Reputation in token wei.
    """
    if amount == 0:
        return
    self._add(account, amount)
    log ReputationEarned(account=account, amount=amount)


@internal
def _add(key: address, amount: uint256):
    """
    @dev Adds `amount` to `key`'s reputation now.
    @param key An account, or `_TOTAL`.
    @param amount Reputation in token wei.
    """
    value: uint256 = self._value_at(key, block.number) + amount
    assert value <= _MAX_REPUTATION, "reputation_votes: reputation too large"
    checkpoints._push(key, value)


@internal
@view
def _decay(amount: uint256, elapsed: uint256) -> uint256:
    """
    @dev `amount` × 2^(-elapsed / halfLife), rounded down: halved once
         per whole half-life, then times 2^(-f) for the fraction f of a
         half-life left (in 1/65,536 steps, from the table of roots).
         Never grows with `elapsed`.
    @param amount Reputation in token wei (below 2**192).
    @param elapsed Blocks.
    @return uint256 The decayed reputation.
    """
    if elapsed == 0:
        return amount
    halvings: uint256 = elapsed // halfLife
    if halvings >= 192:
        return 0
    fraction: uint256 = ((elapsed % halfLife) << _FRACTION_BITS) // halfLife
    factor: uint256 = _ONE
    for i: uint256 in range(_FRACTION_BITS):
        if (fraction >> (_FRACTION_BITS - 1 - i)) & 1 == 1:
            factor = factor * _ROOTS[i] >> 64
    # Below 2**192 times at most 2**64: no overflow.
    return (amount >> halvings) * factor >> 64
