# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Checkpoints (histories of values by block number)
@custom:contract-name checkpoints
@license GNU Affero General Public License v3.0 only
@notice A module that keeps, per key (an address), the history of one
        value as it stood at the end of each block where it changed, and
        reads it back at any past block: what ERC-5805 votes
        (`getPastVotes`, `getPastTotalSupply`) and a governor's quorum
        fraction need. Each checkpoint is one storage word, the block
        number in the high 48 bits and the value in the low 208 bits (as
        OpenZeppelin's `Checkpoints.Trace208`); a key changed twice in
        one block keeps one checkpoint, the last value.
@custom:security Reads at a block binary-search the history (at most
                 `_SEARCH_STEPS` storage reads after the latest one),
                 so their gas grows with the logarithm of the number of
                 changes, never with the number of keys. Values above
                 2**208 - 1 and timepoints above 2**48 - 1 revert.
"""


# @dev Most value a checkpoint holds.
_MAX_VALUE: constant(uint256) = 2**208 - 1


# @dev Most timepoint (block number) a checkpoint holds.
_MAX_TIMEPOINT: constant(uint256) = 2**48 - 1


# @dev Bits of the value below the timepoint in a checkpoint word.
_VALUE_BITS: constant(uint256) = 208


# @dev Bound of the binary search: a history holds at most one
# checkpoint per block, at most 2**48 of them.
_SEARCH_STEPS: constant(uint256) = 49


# @dev Each key's checkpoints, oldest first: `timepoint << 208 | value`.
_history: HashMap[address, HashMap[uint256, uint256]]


# @dev Number of checkpoints of each key.
_length: HashMap[address, uint256]


@deploy
def __init__():
    """
    @dev Every history starts empty (the value 0 since block 0).
    """
    pass


@internal
@view
def _count(key: address) -> uint256:
    """
    @dev The number of checkpoints of `key`.
    @param key The history's key.
    @return uint256 The number of checkpoints.
    """
    return self._length[key]


@internal
@view
def _latest(key: address) -> uint256:
    """
    @dev The value of `key` now (0 if it never changed).
    @param key The history's key.
    @return uint256 The latest value.
    """
    length: uint256 = self._length[key]
    if length == 0:
        return 0
    # Cannot underflow: `length` is at least 1.
    return self._history[key][unsafe_sub(length, 1)] & _MAX_VALUE


@internal
@view
def _at(key: address, timepoint: uint256) -> uint256:
    """
    @dev The value of `key` at the end of block `timepoint`: that of the
         last checkpoint at or before it (0 before the first).
    @param key The history's key.
    @param timepoint The block number.
    @return uint256 The value then.
    """
    return self._word_at(key, timepoint) & _MAX_VALUE


@internal
@view
def _word_at(key: address, timepoint: uint256) -> uint256:
    """
    @dev The last checkpoint of `key` at or before block `timepoint`, as
         stored: its block number above bit 208, its value below (0
         before the first). The latest checkpoint is tried first, as
         most reads are of recent blocks.
    @param key The history's key.
    @param timepoint The block number.
    @return uint256 The checkpoint word.
    """
    length: uint256 = self._length[key]
    if length == 0:
        return 0
    # Cannot underflow: `length` is at least 1.
    high: uint256 = unsafe_sub(length, 1)
    latest: uint256 = self._history[key][high]
    if latest >> _VALUE_BITS <= timepoint:
        return latest
    # The first checkpoint after `timepoint` is in [low, high].
    low: uint256 = 0
    for _: uint256 in range(_SEARCH_STEPS):
        if low >= high:
            break
        # Cannot overflow: both are below 2**48.
        middle: uint256 = unsafe_add(low, high) // 2
        if self._history[key][middle] >> _VALUE_BITS > timepoint:
            high = middle
        else:
            # Cannot overflow: `middle` is below `high`.
            low = unsafe_add(middle, 1)
    if low == 0:
        return 0
    # Cannot underflow: `low` is at least 1.
    return self._history[key][unsafe_sub(low, 1)]


@internal
def _push(key: address, amount: uint256):
    """
    @dev Records that `key` holds `amount` from this block on.
    @param key The history's key.
    @param amount The new value (at most 2**208 - 1).
    """
    assert amount <= _MAX_VALUE, "checkpoints: value too large"
    assert block.number <= _MAX_TIMEPOINT, "checkpoints: block number too large"
    word: uint256 = (block.number << _VALUE_BITS) | amount
    length: uint256 = self._length[key]
    if length != 0:
        # Cannot underflow: `length` is at least 1.
        last: uint256 = unsafe_sub(length, 1)
        # Block numbers only grow: the last checkpoint is never later.
        if self._history[key][last] >> _VALUE_BITS == block.number:
            self._history[key][last] = word
            return
    self._history[key][length] = word
    # Cannot overflow: one checkpoint per block at most.
    self._length[key] = unsafe_add(length, 1)
