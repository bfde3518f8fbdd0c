# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Staked AI Token (ERC-5805 voting power)
@custom:contract-name staked_votes
@license GNU Affero General Public License v3.0 only
@notice The DAO's voting power: AI tokens staked here become
        non-transferable voting units, one per token wei, with ERC-5805
        delegation and checkpoints:
        - `stake(amount)` takes AI tokens (approved beforehand) and adds
          units; the first stake delegates the account's votes to itself,
          so every staked unit always counts for someone;
        - `requestWithdrawal(amount)` removes units, and their votes, at
          once; `withdraw()` returns the tokens after `withdrawalDelay`
          seconds, so whoever voted keeps the tokens at stake while the
          outcome can still execute;
        - ERC-5805: `delegate`, `delegateBySig` (EIP-712
          `Delegation(address delegatee,uint256 nonce,uint256 expiry)`),
          `delegates`, `getVotes`, `getPastVotes`, `getPastTotalSupply`,
          `DelegateChanged`, `DelegateVotesChanged`; ERC-6372 `clock()`
          (block numbers) and `CLOCK_MODE()`;
        - ERC-20 read functions (`name`, `symbol`, `decimals`,
          `balanceOf`, `totalSupply`) and `Transfer` events at stake and
          withdrawal request, so that wallets and governance tools read
          the units; units cannot be transferred.
        Votes live here rather than in the AI token so that a token
        transfer, and thus every paid answer, writes no checkpoint (see
        `SPEC.md`).
        https://eips.ethereum.org/EIPS/eip-5805
@custom:security Past votes are read only strictly before the current
                 block (`getPastVotes` reverts for the present), so
                 tokens borrowed and staked in one block count only at
                 the end of that block, when a flash loan must already be
                 repaid, which the withdrawal delay forbids. Signatures
                 are secp256k1 (low s, snekmate's `ecdsa`); replay is
                 prevented by the per-signer nonce and the EIP-712
                 domain (chain id and this contract). Nothing is
                 `payable`.
"""


# @dev The AI token, staked here.
from ethereum.ercs import IERC20


# @dev EIP-5267 `eip712Domain`, so wallets can discover the domain.
from snekmate.utils.interfaces import IERC5267
implements: IERC5267


# @dev The EIP-712 domain of delegation signatures.
from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator


# @dev Stateless secp256k1 recovery that rejects high-s signatures.
from snekmate.utils import ecdsa


# @dev Delegates' votes and the total supply, by block number.
from . import checkpoints
initializes: checkpoints


exports: eip712_domain_separator.eip712Domain


# @dev ERC-20 metadata of the voting units.
name: public(constant(String[25])) = "tantieme Staked AI Token"
symbol: public(constant(String[5])) = "sTAI"
decimals: public(constant(uint8)) = 18


# @dev EIP-712 domain version of delegation signatures.
_VERSION: constant(String[20]) = "1"


# @dev ERC-5805 type hash of a signed delegation.
DELEGATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Delegation(address delegatee,uint256 nonce,uint256 expiry)"
)


# @dev The checkpoint key of the total supply: address 0 never holds
# votes, as nobody can delegate to it.
_TOTAL_SUPPLY: constant(address) = empty(address)


# @dev The AI token.
asset: public(immutable(address))


# @dev Seconds between a withdrawal request and the tokens' return.
withdrawalDelay: public(immutable(uint256))


# @dev A withdrawal on its way: tokens in token wei, and the Unix time in
# seconds from which they can be withdrawn.
struct Withdrawal:
    amount: uint256
    unlocks_at: uint256


# @dev Voting units of each account, in token wei.
balanceOf: public(HashMap[address, uint256])


# @dev Voting units in all, in token wei.
totalSupply: public(uint256)


# @dev Whom each account's votes go to (address 0 before its first
# stake or delegation).
delegates: public(HashMap[address, address])


# @dev The next delegation signature nonce of each account.
nonces: public(HashMap[address, uint256])


# @dev Each account's pending withdrawal.
pendingWithdrawal: public(HashMap[address, Withdrawal])


# @dev ERC-20: units created (from 0) at stake and removed (to 0) at a
# withdrawal request.
event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    amount: uint256


# @dev ERC-5805: `delegator` moved its votes from one delegate to another.
event DelegateChanged:
    delegator: indexed(address)
    fromDelegate: indexed(address)
    toDelegate: indexed(address)


# @dev ERC-5805: `delegate`'s votes changed.
event DelegateVotesChanged:
    delegate: indexed(address)
    previousBalance: uint256
    newBalance: uint256


# @dev `account` asked for `amount` tokens back, withdrawable from
# `unlocksAt` (with any earlier request not yet withdrawn).
event WithdrawalRequested:
    account: indexed(address)
    amount: uint256
    unlocksAt: uint256


# @dev `account` took back `amount` tokens.
event Withdrawn:
    account: indexed(address)
    amount: uint256


@deploy
def __init__(asset_: address, withdrawal_delay_: uint256):
    """
    @dev We deploy with the AI token and a withdrawal delay of at least
         the voting period plus the timelock's delay.
    @param asset_ The AI token staked here.
    @param withdrawal_delay_ Seconds between a withdrawal request and the
           tokens' return.
    """
    eip712_domain_separator.__init__(name, _VERSION)
    checkpoints.__init__()
    asset = asset_
    withdrawalDelay = withdrawal_delay_


# STAKING #


@external
def stake(amount: uint256):
    """
    @dev Takes `amount` AI tokens from the caller (approved beforehand)
         and adds as many voting units; the caller's first stake
         delegates its votes to itself.
    @param amount The amount in token wei (more than 0).
    """
    assert amount != 0, "staked_votes: zero amount"
    assert extcall IERC20(asset).transferFrom(msg.sender, self, amount), "staked_votes: transfer failed"
    if self.delegates[msg.sender] == empty(address):
        self._delegate(msg.sender, msg.sender)
    self.balanceOf[msg.sender] += amount
    self.totalSupply += amount
    checkpoints._push(_TOTAL_SUPPLY, self.totalSupply)
    self._move_votes(empty(address), self.delegates[msg.sender], amount)
    log Transfer(sender=empty(address), receiver=msg.sender, amount=amount)


@external
def requestWithdrawal(amount: uint256):
    """
    @dev Removes `amount` of the caller's voting units, and their votes,
         now; the tokens can be withdrawn `withdrawalDelay` seconds from
         now (an earlier request not yet withdrawn waits as long).
    @param amount The amount in token wei (more than 0, at most the
           caller's units).
    """
    assert amount != 0, "staked_votes: zero amount"
    units: uint256 = self.balanceOf[msg.sender]
    assert amount <= units, "staked_votes: amount exceeds stake"
    # Cannot underflow: checked just above, and the total holds every unit.
    self.balanceOf[msg.sender] = unsafe_sub(units, amount)
    self.totalSupply = unsafe_sub(self.totalSupply, amount)
    checkpoints._push(_TOTAL_SUPPLY, self.totalSupply)
    self._move_votes(self.delegates[msg.sender], empty(address), amount)
    pending: Withdrawal = self.pendingWithdrawal[msg.sender]
    pending.amount += amount
    pending.unlocks_at = block.timestamp + withdrawalDelay
    self.pendingWithdrawal[msg.sender] = pending
    log Transfer(sender=msg.sender, receiver=empty(address), amount=amount)
    log WithdrawalRequested(account=msg.sender, amount=pending.amount, unlocksAt=pending.unlocks_at)


@external
def withdraw() -> uint256:
    """
    @dev Returns the caller's pending withdrawal once its delay is over.
    @return uint256 The amount returned, in token wei.
    """
    pending: Withdrawal = self.pendingWithdrawal[msg.sender]
    assert pending.amount != 0, "staked_votes: nothing to withdraw"
    assert block.timestamp >= pending.unlocks_at, "staked_votes: withdrawal is locked"
    self.pendingWithdrawal[msg.sender] = empty(Withdrawal)
    assert extcall IERC20(asset).transfer(msg.sender, pending.amount), "staked_votes: transfer failed"
    log Withdrawn(account=msg.sender, amount=pending.amount)
    return pending.amount


# DELEGATION #


@external
def delegate(delegatee: address):
    """
    @dev ERC-5805: moves the caller's votes, now and from every later
         stake, to `delegatee`.
    @param delegatee The account that votes with them (not address 0).
    """
    self._delegate(msg.sender, delegatee)


@external
def delegateBySig(delegatee: address, nonce: uint256, expiry: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @dev ERC-5805: a delegation signed by the delegator over its current
         nonce, which it spends; anyone may submit it.
    @param delegatee The account that votes with the signer's units.
    @param nonce The signer's current `nonces` value.
    @param expiry Unix time in seconds up to which the signature is valid.
    @param v The secp256k1 signature parameter `v` (27 or 28).
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s` (low half only).
    """
    assert block.timestamp <= expiry, "staked_votes: signature expired"
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(DELEGATION_TYPEHASH, delegatee, nonce, expiry))
    )
    signer: address = ecdsa._recover_vrs(digest, convert(v, uint256), convert(r, uint256), convert(s, uint256))
    assert nonce == self.nonces[signer], "staked_votes: invalid nonce"
    # Cannot overflow: a nonce grows by one per signed delegation.
    self.nonces[signer] = unsafe_add(nonce, 1)
    self._delegate(signer, delegatee)


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
    @dev ERC-5805: the votes delegated to `account` now.
    @param account The delegate.
    @return uint256 Its votes in token wei.
    """
    return checkpoints._latest(account)


@external
@view
def getPastVotes(account: address, timepoint: uint256) -> uint256:
    """
    @dev ERC-5805: the votes delegated to `account` at the end of block
         `timepoint`, which must be over.
    @param account The delegate.
    @param timepoint A block number before the current one.
    @return uint256 Its votes then, in token wei.
    """
    assert timepoint < block.number, "staked_votes: future lookup"
    return checkpoints._at(account, timepoint)


@external
@view
def getPastTotalSupply(timepoint: uint256) -> uint256:
    """
    @dev ERC-5805: the voting units in all at the end of block
         `timepoint`, which must be over.
    @param timepoint A block number before the current one.
    @return uint256 The units then, in token wei.
    """
    assert timepoint < block.number, "staked_votes: future lookup"
    return checkpoints._at(_TOTAL_SUPPLY, timepoint)


@external
@view
def numCheckpoints(account: address) -> uint32:
    """
    @dev The number of blocks in which `account`'s votes changed.
    @param account The delegate.
    @return uint32 Its number of checkpoints.
    """
    return convert(checkpoints._count(account), uint32)


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    """
    @dev The EIP-712 domain separator of delegation signatures.
    @return bytes32 The domain separator.
    """
    return eip712_domain_separator._domain_separator_v4()


# INTERNAL #


@internal
def _delegate(account: address, delegatee: address):
    """
    @dev Moves `account`'s votes from its delegate to `delegatee`.
    @param account The delegator.
    @param delegatee The new delegate (not address 0).
    """
    assert delegatee != empty(address), "staked_votes: delegate to the zero address"
    previous: address = self.delegates[account]
    self.delegates[account] = delegatee
    log DelegateChanged(delegator=account, fromDelegate=previous, toDelegate=delegatee)
    self._move_votes(previous, delegatee, self.balanceOf[account])


@internal
def _move_votes(source: address, destination: address, amount: uint256):
    """
    @dev Moves `amount` votes between delegates; address 0 stands for
         units created or removed.
    @param source The delegate losing votes, or address 0.
    @param destination The delegate gaining votes, or address 0.
    @param amount The votes in token wei.
    """
    if source == destination or amount == 0:
        return
    if source != empty(address):
        before: uint256 = checkpoints._latest(source)
        checkpoints._push(source, before - amount)
        log DelegateVotesChanged(delegate=source, previousBalance=before, newBalance=before - amount)
    if destination != empty(address):
        before: uint256 = checkpoints._latest(destination)
        checkpoints._push(destination, before + amount)
        log DelegateVotesChanged(delegate=destination, previousBalance=before, newBalance=before + amount)
