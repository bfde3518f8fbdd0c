# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Agent Treasury
@custom:contract-name agent_treasury
@license GNU Affero General Public License v3.0 only
@notice An ERC-1271 wallet holding AI tokens that an agent's key spends
        only within limits its owner sets: a daily limit, a per-payment
        cap and an allow-list of payees. The agent pays over x402 (an
        EIP-3009 `transferWithAuthorization` from this wallet) in two
        steps:
        1. `approvePayment(to, amount, valid_after, valid_before, nonce)`:
           checks the pause, the payee, the cap and the day's spending,
           counts the payment against the day and stores the EIP-3009
           digest it computes itself in the token's domain;
        2. the agent signs that digest with its key; whoever holds the
           authorization submits it to the token, which asks
           `isValidSignature(digest, signature)`: valid only for a stored,
           unexpired digest of the current generation, signed by the
           current agent, while the treasury is not paused.
        `isValidSignature` is a view (the token staticcalls it), so the
        spending is counted in step 1. An approval the token shows
        uncollected can be released (`releasePayment`) at any time, and
        can never be collected after: the treasury's EIP-3009 cancel (the
        token's `cancelAuthorization` asks for a signature this wallet
        never gives). The day's allowance comes back if that day is still
        today. A payee refunds what it took above its fee (x402's quote −
        metered fee) with `refundPayment`: the treasury pulls the refund
        with the payee's EIP-3009 `receiveWithAuthorization`, once per
        collected payment, and a payment approved today gives the refund
        back to today's allowance (ERC-165 tells a payee the treasury
        takes refunds so). The owner can pause (every pending approval dies: a new
        generation), resume, withdraw at any time (paused or not), change
        the limits, the payees and the agent key (a new generation too).
        The agent rates what the treasury paid for through `rate`: the
        treasury forwards the agent's `provePayment`, `giveFeedback` or
        `revokeFeedback` to the one reputation registry fixed at
        deployment, so the registry's client is the treasury (the x402
        payer), and its rules (a paid, anchored record; one feedback per
        payment) are the registry's own. Limits start at zero: nothing can be spent until the owner sets
        them. Rules: `SPEC.md`.
@custom:security The token is fixed at deployment. Approvals count
                 `amount` against the day when approved, whether or not
                 they are collected; a refund through `refundPayment`
                 (at most the payment, once, tokens received) counts back
                 only on the day the payment was approved; plain
                 transfers in count nothing. Limit and allow-list changes apply to new
                 approvals; `pause` stops pending ones. Nothing is
                 payable; ownership cannot be renounced (funds would be
                 locked).
"""


# @dev What the treasury reads of and does with the AI token (`ai_token.vy`).
interface IAIToken:
    def transfer(to: address, amount: uint256) -> bool: nonpayable
    def DOMAIN_SEPARATOR() -> bytes32: view
    def authorizationState(authorizer: address, nonce: bytes32) -> bool: view
    def receiveWithAuthorization(
        from_: address,
        to: address,
        amount: uint256,
        valid_after: uint256,
        valid_before: uint256,
        nonce: bytes32,
        v: uint8,
        r: bytes32,
        s: bytes32,
    ): nonpayable


# @dev ERC-1271 `isValidSignature`.
interface IERC1271:
    def isValidSignature(digest: bytes32, signature: Bytes[1024]) -> bytes4: view
implements: IERC1271


# @dev ERC-165: the interfaces a payee may ask about.
interface IERC165:
    def supportsInterface(interface_id: bytes4) -> bool: view
implements: IERC165


# @dev The owner (limits, payees, agent key, pause, withdrawals).
from snekmate.auth import ownable
initializes: ownable


# @dev `owner` and `transfer_ownership`; `renounce_ownership` is left out,
# as an ownerless treasury's tokens could never be withdrawn.
exports: (ownable.owner, ownable.transfer_ownership)


# @dev EIP-3009 type hash of a transfer any relayer may submit (the token's).
TRANSFER_WITH_AUTHORIZATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
)


# @dev Longest validity of an approval, in seconds: an approval holds its
# day's allowance until it is collected or released after expiry.
MAX_VALIDITY: public(constant(uint256)) = 86_400


# @dev Length of a spending day, in seconds (days start at 00:00 UTC).
DAY: public(constant(uint256)) = 86_400


# @dev Highest `s` of a signature accepted (the lower half of the curve's
# order: no malleable twin), as snekmate's `ecdsa`.
_MALLEABILITY_THRESHOLD: constant(uint256) = (
    57896044618658097711785492504343953926418782139537452191302581570759080747168
)


# @dev Longest call `rate` forwards: a `provePayment` with a record of the
# ledger's most sources (64) and the longest proof (32) is under 6 KiB.
MAX_RATE_CALL: public(constant(uint256)) = 8_192


# @dev The reputation registry's calls `rate` forwards (`agent_reputation.vy`).
_PROVE_PAYMENT: constant(bytes4) = method_id(
    "provePayment(uint256,uint256,(address,address,uint256,bytes32,bytes32,uint256[],uint16[],uint32,uint32,uint256,uint256,uint64),bytes32[],bytes32)",
    output_type=bytes4,
)
_GIVE_FEEDBACK: constant(bytes4) = method_id(
    "giveFeedback(uint256,int128,uint8,string,string,string,string,bytes32)", output_type=bytes4
)
_REVOKE_FEEDBACK: constant(bytes4) = method_id("revokeFeedback(uint256,uint64)", output_type=bytes4)


# @dev The magic value of a valid ERC-1271 signature, and of an invalid one.
_ERC1271_MAGIC_VALUE: constant(bytes4) = 0x1626BA7E
_ERC1271_INVALID: constant(bytes4) = 0xFFFFFFFF


# @dev ERC-165 identifiers: ERC-165 itself, and the refund a payee sends
# through `refundPayment` (its selector, the interface's only function).
_ERC165_ID: constant(bytes4) = 0x01FFC9A7
REFUND_INTERFACE_ID: public(constant(bytes4)) = method_id(
    "refundPayment(address,uint256,uint256,uint256,bytes32,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
    output_type=bytes4,
)


# @dev Layout of a stored approval (one word): amount (bits 0-127: the
# token's supply is at most 2^128), valid_before (128-191), day (192-223),
# generation (224-255). Zero: no approval.
_VALID_BEFORE_SHIFT: constant(uint256) = 128
_DAY_SHIFT: constant(uint256) = 192
_GENERATION_SHIFT: constant(uint256) = 224
_MASK_128: constant(uint256) = 2**128 - 1
_MASK_64: constant(uint256) = 2**64 - 1
_MASK_32: constant(uint256) = 2**32 - 1


# STORAGE #


# @dev The AI token this treasury holds and pays in.
token: public(immutable(address))


# @dev The ERC-8004 reputation registry `rate` calls (zero: none, no rating).
reputation: public(immutable(address))


# @dev The key allowed to approve payments.
agent: public(address)


# @dev Most the agent may approve per day, in token wei.
dailyLimit: public(uint256)


# @dev Most one payment may be, in token wei.
perPaymentCap: public(uint256)


# @dev Whether an address may be paid.
payees: public(HashMap[address, bool])


# @dev Whether payments are stopped.
paused: public(bool)


# @dev Grows at every pause and agent change: approvals of an older
# generation are never valid again.
generation: public(uint256)


# @dev The day (block.timestamp // DAY) `_spent` counts, and what was
# approved that day, in token wei.
_spent_day: uint256
_spent: uint256


# @dev Approvals by their EIP-3009 digest, packed (see the layout above).
_approvals: HashMap[bytes32, uint256]


# EVENTS #


# @dev Emitted when the agent approves a payment (counted against `day`).
event PaymentApproved:
    payee: indexed(address)
    nonce: indexed(bytes32)
    amount: uint256
    validAfter: uint256
    validBefore: uint256
    digest: bytes32
    day: uint256


# @dev Emitted when an approval never collected is released; `refunded`:
# its amount was given back to today's allowance.
event PaymentReleased:
    nonce: indexed(bytes32)
    amount: uint256
    digest: bytes32
    refunded: bool


# @dev Emitted when a payee refunds part of a collected payment; `restored`:
# the refund was given back to today's allowance.
event PaymentRefunded:
    payee: indexed(address)
    nonce: indexed(bytes32)
    refund: uint256
    digest: bytes32
    restored: bool


# @dev Emitted when the owner sets the limits (token wei).
event LimitsSet:
    dailyLimit: uint256
    perPaymentCap: uint256


# @dev Emitted when the owner allows or disallows a payee.
event PayeeSet:
    payee: indexed(address)
    allowed: bool


# @dev Emitted when the owner sets the agent key.
event AgentSet:
    agent: indexed(address)
    generation: uint256


# @dev Emitted when the owner pauses or resumes payments.
event PausedSet:
    paused: bool
    generation: uint256


# @dev Emitted when the owner withdraws tokens.
event Withdrawn:
    receiver: indexed(address)
    amount: uint256


@deploy
def __init__(token_: address, agent_: address, reputation_: address):
    """
    @dev The deployer becomes the owner. Limits start at zero and no
         payee is allowed: nothing can be spent until the owner sets them.
    @param token_ The AI token (EIP-3009, ERC-1271 signers).
    @param agent_ The agent's key.
    @param reputation_ The reputation registry `rate` calls (a contract),
           or zero: the agent cannot rate.
    """
    assert token_.is_contract, "treasury: token is not a contract"
    assert agent_ != empty(address), "treasury: zero agent"
    assert reputation_ == empty(address) or reputation_.is_contract, "treasury: reputation is not a contract"
    ownable.__init__()
    token = token_
    reputation = reputation_
    self.agent = agent_
    log AgentSet(agent=agent_, generation=0)


# AGENT #


@external
def approvePayment(to: address, amount: uint256, valid_after: uint256, valid_before: uint256, nonce: bytes32) -> bytes32:
    """
    @dev The agent approves an EIP-3009 `transferWithAuthorization` from
         this treasury: within the pause, the allow-list, the cap and the
         day's limit, counted against today. The agent then signs the
         returned digest with its key.
    @param to The payee (allowed by the owner).
    @param amount The amount in token wei (at most `perPaymentCap`).
    @param valid_after Unix time in seconds after which it is valid.
    @param valid_before Unix time in seconds before which it is valid
           (after now, at most `MAX_VALIDITY` from now).
    @param nonce The EIP-3009 nonce, unused by this treasury.
    @return bytes32 The EIP-712 digest the token will ask about.
    """
    assert msg.sender == self.agent, "treasury: caller is not the agent"
    assert not self.paused, "treasury: paused"
    assert self.payees[to], "treasury: payee not allowed"
    assert amount != 0, "treasury: zero payment"
    assert amount <= self.perPaymentCap, "treasury: above the per-payment cap"
    assert amount <= _MASK_128, "treasury: amount too large"
    assert valid_before > block.timestamp, "treasury: authorization is expired"
    assert valid_before <= block.timestamp + MAX_VALIDITY, "treasury: validity too long"
    assert valid_after < valid_before, "treasury: empty validity window"
    assert not staticcall IAIToken(token).authorizationState(self, nonce), "treasury: nonce is used"
    digest: bytes32 = self._digest(to, amount, valid_after, valid_before, nonce)
    assert self._approvals[digest] == 0, "treasury: already approved"

    today: uint256 = block.timestamp // DAY
    spent: uint256 = self._spent_today(today)
    assert spent + amount <= self.dailyLimit, "treasury: above the daily limit"
    self._spent_day = today
    self._spent = spent + amount
    # The fields fit: amount < 2^128 (checked above), valid_before < 2^64
    # (at most a day from now), the day < 2^32 for 10^7 years, the
    # generation < 2^32 (checked where it grows).
    self._approvals[digest] = (
        amount
        | (valid_before << _VALID_BEFORE_SHIFT)
        | (today << _DAY_SHIFT)
        | (self.generation << _GENERATION_SHIFT)
    )
    log PaymentApproved(
        payee=to, nonce=nonce, amount=amount, validAfter=valid_after, validBefore=valid_before, digest=digest, day=today
    )
    return digest


@external
def releasePayment(to: address, amount: uint256, valid_after: uint256, valid_before: uint256, nonce: bytes32):
    """
    @dev Forgets an approval that was never collected (the token must
         show its nonce unused): expired, of an older generation, or still
         valid, which it cancels (`isValidSignature` refuses its digest
         from then on, so the token can never collect it). If it was
         approved today, its amount is given back to today's allowance.
         The agent or the owner may call it.
    @param to The payee of the approval.
    @param amount The amount in token wei.
    @param valid_after Unix time in seconds after which it was valid.
    @param valid_before Unix time in seconds before which it was valid.
    @param nonce The EIP-3009 nonce.
    """
    assert msg.sender == self.agent or msg.sender == ownable.owner, "treasury: caller is not the agent or the owner"
    digest: bytes32 = self._digest(to, amount, valid_after, valid_before, nonce)
    approval: uint256 = self._approvals[digest]
    assert approval != 0, "treasury: no such approval"
    assert not staticcall IAIToken(token).authorizationState(self, nonce), "treasury: payment was collected"

    self._approvals[digest] = 0
    refunded: bool = (approval >> _DAY_SHIFT) & _MASK_32 == block.timestamp // DAY
    if refunded:
        # Cannot underflow: approved today, so today's `_spent` includes it.
        self._spent = unsafe_sub(self._spent, amount)
    log PaymentReleased(nonce=nonce, amount=amount, digest=digest, refunded=refunded)


@external
def refundPayment(
    to: address,
    amount: uint256,
    valid_after: uint256,
    valid_before: uint256,
    nonce: bytes32,
    refund: uint256,
    refund_valid_before: uint256,
    refund_nonce: bytes32,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    """
    @dev Takes back `refund` of a collected payment from its payee, once:
         the treasury submits the payee's EIP-3009
         `receiveWithAuthorization` of `refund` to itself. If the payment
         was approved today, `refund` is given back to today's allowance;
         the payment's approval is then forgotten (no second refund).
         Anyone may submit it: the payee signed the refund.
    @param to The payment's payee, who signs the refund.
    @param amount The payment's amount in token wei.
    @param valid_after The payment's valid_after.
    @param valid_before The payment's valid_before.
    @param nonce The payment's EIP-3009 nonce.
    @param refund The refund in token wei (at most `amount`).
    @param refund_valid_before Unix time in seconds before which the
           refund's authorization is valid (valid from 0).
    @param refund_nonce The refund authorization's nonce (the payee's).
    @param v The payee's signature parameter `v`.
    @param r The payee's signature parameter `r`.
    @param s The payee's signature parameter `s`.
    """
    digest: bytes32 = self._digest(to, amount, valid_after, valid_before, nonce)
    approval: uint256 = self._approvals[digest]
    assert approval != 0, "treasury: no such approval"
    assert staticcall IAIToken(token).authorizationState(self, nonce), "treasury: payment not collected"
    assert refund != 0, "treasury: zero refund"
    assert refund <= amount, "treasury: refund above the payment"

    self._approvals[digest] = 0
    restored: bool = (approval >> _DAY_SHIFT) & _MASK_32 == block.timestamp // DAY
    if restored:
        # Approved today and collected (so never released): today's `_spent`
        # includes `amount`, hence `refund`; checked all the same.
        self._spent -= refund
    extcall IAIToken(token).receiveWithAuthorization(to, self, refund, 0, refund_valid_before, refund_nonce, v, r, s)
    log PaymentRefunded(payee=to, nonce=nonce, refund=refund, digest=digest, restored=restored)


@external
def rate(data: Bytes[MAX_RATE_CALL]) -> Bytes[32]:
    """
    @dev The agent's call to the reputation registry as the treasury (the
         payer of its x402 payments): `data` is the ABI-encoded call of
         `provePayment`, `giveFeedback` or `revokeFeedback`, nothing else.
         The registry's revert is the call's. Refused while paused.
    @param data The call (its selector first).
    @return Bytes[32] The registry's return data (`provePayment`: the
            record's digest; otherwise empty).
    """
    assert msg.sender == self.agent, "treasury: caller is not the agent"
    assert not self.paused, "treasury: paused"
    assert reputation != empty(address), "treasury: no reputation registry"
    assert len(data) >= 4, "treasury: not a rating call"
    selector: bytes4 = convert(slice(data, 0, 4), bytes4)
    assert selector in [_PROVE_PAYMENT, _GIVE_FEEDBACK, _REVOKE_FEEDBACK], "treasury: not a rating call"
    return raw_call(reputation, data, max_outsize=32)


# ERC-165 #


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @dev ERC-165: ERC-165 itself and `REFUND_INTERFACE_ID` (refunds through
         `refundPayment`).
    @param interface_id The 4-byte interface identifier.
    @return bool Whether the treasury supports it.
    """
    return interface_id == _ERC165_ID or interface_id == REFUND_INTERFACE_ID


# ERC-1271 #


@external
@view
def isValidSignature(digest: bytes32, signature: Bytes[1024]) -> bytes4:
    """
    @dev ERC-1271: valid when the treasury is not paused, `digest` is an
         approved payment of the current generation still within its
         validity, and `signature` is the agent's 65-byte secp256k1
         signature (`r ‖ s ‖ v`, low s) of `digest`.
    @param digest The EIP-712 digest the token computed.
    @param signature The agent's signature of `digest`.
    @return bytes4 The magic value 0x1626ba7e if valid, else 0xffffffff.
    """
    if self.paused or len(signature) != 65:
        return _ERC1271_INVALID
    approval: uint256 = self._approvals[digest]
    if (
        approval == 0
        or (approval >> _GENERATION_SHIFT) != self.generation
        or ((approval >> _VALID_BEFORE_SHIFT) & _MASK_64) <= block.timestamp
    ):
        return _ERC1271_INVALID
    s: uint256 = extract32(signature, 32, output_type=uint256)
    if s > _MALLEABILITY_THRESHOLD:
        return _ERC1271_INVALID
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    signer: address = ecrecover(digest, v, extract32(signature, 0, output_type=uint256), s)
    if signer == empty(address) or signer != self.agent:
        return _ERC1271_INVALID
    return _ERC1271_MAGIC_VALUE


# VIEWS #


@external
@view
def spentToday() -> uint256:
    """
    @dev What the agent approved today (UTC), in token wei.
    @return uint256 The amount.
    """
    return self._spent_today(block.timestamp // DAY)


@external
@view
def approval(digest: bytes32) -> (uint256, uint256, uint256, uint256):
    """
    @dev A stored approval (zeros: none).
    @param digest The EIP-3009 digest.
    @return uint256 The amount in token wei.
    @return uint256 Its valid_before (Unix seconds).
    @return uint256 The day it was counted against.
    @return uint256 Its generation.
    """
    approval: uint256 = self._approvals[digest]
    return (
        approval & _MASK_128,
        (approval >> _VALID_BEFORE_SHIFT) & _MASK_64,
        (approval >> _DAY_SHIFT) & _MASK_32,
        approval >> _GENERATION_SHIFT,
    )


@external
@view
def paymentDigest(to: address, amount: uint256, valid_after: uint256, valid_before: uint256, nonce: bytes32) -> bytes32:
    """
    @dev The EIP-712 digest of an EIP-3009 transfer from this treasury,
         in the token's current domain.
    @param to The payee.
    @param amount The amount in token wei.
    @param valid_after Unix time in seconds after which it is valid.
    @param valid_before Unix time in seconds before which it is valid.
    @param nonce The EIP-3009 nonce.
    @return bytes32 The digest.
    """
    return self._digest(to, amount, valid_after, valid_before, nonce)


# OWNER #


@external
def setLimits(daily_limit: uint256, per_payment_cap: uint256):
    """
    @dev Sets the daily limit and the per-payment cap (for new approvals).
    @param daily_limit Most the agent may approve per day, in token wei.
    @param per_payment_cap Most one payment may be, in token wei.
    """
    ownable._check_owner()
    self.dailyLimit = daily_limit
    self.perPaymentCap = per_payment_cap
    log LimitsSet(dailyLimit=daily_limit, perPaymentCap=per_payment_cap)


@external
def setPayee(payee: address, allowed: bool):
    """
    @dev Allows or disallows paying `payee` (for new approvals).
    @param payee The address.
    @param allowed Whether it may be paid.
    """
    ownable._check_owner()
    assert payee != empty(address), "treasury: zero payee"
    self.payees[payee] = allowed
    log PayeeSet(payee=payee, allowed=allowed)


@external
def setAgent(agent_: address):
    """
    @dev Sets the agent key; every pending approval dies (a new generation).
    @param agent_ The new agent key.
    """
    ownable._check_owner()
    assert agent_ != empty(address), "treasury: zero agent"
    self.agent = agent_
    self._next_generation()
    log AgentSet(agent=agent_, generation=self.generation)


@external
def pause():
    """
    @dev Stops payments: every pending approval dies (a new generation)
         and no new one is taken until `unpause`.
    """
    ownable._check_owner()
    self.paused = True
    self._next_generation()
    log PausedSet(paused=True, generation=self.generation)


@external
def unpause():
    """
    @dev Takes new approvals again (the ones before the pause stay dead).
    """
    ownable._check_owner()
    self.paused = False
    log PausedSet(paused=False, generation=self.generation)


@external
def withdraw(receiver: address, amount: uint256):
    """
    @dev Sends tokens to `receiver`, paused or not.
    @param receiver The receiver.
    @param amount The amount in token wei.
    """
    ownable._check_owner()
    assert extcall IAIToken(token).transfer(receiver, amount, default_return_value=True), "treasury: transfer failed"
    log Withdrawn(receiver=receiver, amount=amount)


# INTERNAL #


@internal
@view
def _digest(to: address, amount: uint256, valid_after: uint256, valid_before: uint256, nonce: bytes32) -> bytes32:
    """
    @dev The token's EIP-712 digest of a `TransferWithAuthorization` from
         this treasury (the token's domain separator read now, so a
         digest of another token or chain never matches).
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(TRANSFER_WITH_AUTHORIZATION_TYPEHASH, self, to, amount, valid_after, valid_before, nonce)
    )
    return keccak256(concat(b"\x19\x01", staticcall IAIToken(token).DOMAIN_SEPARATOR(), struct_hash))


@internal
@view
def _spent_today(today: uint256) -> uint256:
    """
    @dev What was approved on `today` (zero once the day has turned).
    """
    if self._spent_day != today:
        return 0
    return self._spent


@internal
def _next_generation():
    """
    @dev Starts a new generation: approvals of older ones are dead.
    """
    assert self.generation < _MASK_32, "treasury: generations exhausted"
    self.generation += 1
