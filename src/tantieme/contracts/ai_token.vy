# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme AI Token (ERC-20 + EIP-2612 + EIP-3009, ERC-1271 signers)
@custom:contract-name ai_token
@license GNU Affero General Public License v3.0 only
@notice The ERC-20 token in which answers, licences and royalties are
        paid. It is snekmate's `erc20` module (ERC-20, EIP-5267
        `eip712Domain`, owner and minter roles) with 18 decimals, plus:
        - a supply minted to the deployer at deployment, and `mint` (the
          dev faucet) only on local chains (the embedded chain 82684363
          and anvil 31337): elsewhere nobody, not even the owner, can
          mint, and the supply never exceeds `MAX_SUPPLY` (2**128), so
          cumulative counters such as the router's `totalPaid` cannot be
          pushed to their maximum;
        - EIP-2612 `permit` and EIP-3009 signed transfers (x402 clients pay
          without gas): `transferWithAuthorization`,
          `receiveWithAuthorization`, `cancelAuthorization`,
          `authorizationState`, `version` (as USDC has);
        - the USDC v2.2 overloads that take one `bytes signature` instead
          of `v, r, s` (`permit` and the three EIP-3009 functions; x402
          facilitators call these), served by `__default__` because Vyper
          has no overloading; they are not in the generated ABI, see
          `SPEC.md`;
        - ERC-1271 contract wallets as signers, as USDC v2.2 accepts them:
          when the signer has code, its `isValidSignature(digest,
          signature)` must return the magic value; externally owned
          accounts sign with secp256k1 (`ecrecover`).
        EIP-3009 authorizations and EIP-2612 permits share one EIP-712
        domain (name, version, chain id, this contract).
        https://eips.ethereum.org/EIPS/eip-3009
@custom:security High-s (malleable) secp256k1 signatures are rejected by
                 snekmate's `ecdsa`. A contract wallet's signature is
                 whatever its `isValidSignature` accepts, now (it may
                 change its mind later, as ERC-1271 allows). Replay is
                 prevented by the random 32-byte nonce per authorizer
                 (EIP-3009) or the sequential nonce (EIP-2612), and across
                 chains and deployments by the domain separator, which is
                 rebuilt if the chain id changes. Nothing is `payable`:
                 ether sent with any call reverts.
"""


# @dev The ERC-20 interfaces this token answers to.
from ethereum.ercs import IERC20
implements: IERC20


# @dev Optional ERC-20 metadata (`name`, `symbol`, `decimals`).
from ethereum.ercs import IERC20Detailed
implements: IERC20Detailed


# @dev EIP-2612 `permit`, implemented by the `erc20` module.
from snekmate.tokens.interfaces import IERC20Permit
implements: IERC20Permit


# @dev EIP-5267 `eip712Domain`, so wallets can discover the domain.
from snekmate.utils.interfaces import IERC5267
implements: IERC5267


# @dev The owner (who grants the minter role) for the `erc20` module.
from snekmate.auth import ownable
initializes: ownable


# @dev The audited ERC-20 + EIP-2612 logic; it also initializes the
# EIP-712 domain separator that EIP-3009 reuses.
from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]


# @dev Stateless secp256k1 recovery that rejects high-s signatures.
from snekmate.utils import ecdsa




# @dev The `erc20` surface, less `permit` and `mint`, which this token
# replaces (ERC-1271 signers; minting on local chains only): the ERC-20
# functions, `nonces`, `DOMAIN_SEPARATOR`, `eip712Domain`, `owner`,
# `set_minter`, `is_minter`, `burn`, `burn_from`, `transfer_ownership` and
# `renounce_ownership` (the latter two move the minter role with it).
exports: (
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.nonces,
    erc20.is_minter,
    erc20.transfer,
    erc20.approve,
    erc20.transferFrom,
    erc20.burn,
    erc20.burn_from,
    erc20.set_minter,
    erc20.DOMAIN_SEPARATOR,
    erc20.transfer_ownership,
    erc20.renounce_ownership,
    erc20.owner,
    erc20.eip712Domain,
)


# @dev EIP-2612 type hash of a signed allowance.
PERMIT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)


# @dev EIP-3009 type hash of a signed transfer any relayer may submit.
TRANSFER_WITH_AUTHORIZATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
)


# @dev EIP-3009 type hash of a signed transfer only the payee may submit.
RECEIVE_WITH_AUTHORIZATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
)


# @dev EIP-3009 type hash of a signed cancellation of an unused nonce.
CANCEL_AUTHORIZATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "CancelAuthorization(address authorizer,bytes32 nonce)"
)


# @dev Most tokens that can ever exist, in token wei.
MAX_SUPPLY: public(constant(uint256)) = 2**128


# @dev Longest signature accepted, in bytes: room for contract wallets'
# signatures (multisig owners' signatures, passkeys); an externally owned
# account's is 65 bytes.
MAX_SIGNATURE: public(constant(uint256)) = 1_024


# @dev ERC-1271's `isValidSignature(bytes32,bytes)` selector, also the
# magic value a contract wallet returns for a valid signature.
_ERC1271_MAGIC_VALUE: constant(bytes4) = 0x1626BA7E


# @dev Chains where `mint` works: tantieme's embedded chain and anvil.
_EMBEDDED_CHAIN_ID: constant(uint256) = 82_684_363
_ANVIL_CHAIN_ID: constant(uint256) = 31_337


# @dev Decimal places of the token (token wei per token: 10**18).
_DECIMALS: constant(uint8) = 18


# @dev Selectors of the USDC v2.2 `bytes signature` overloads that
# `__default__` dispatches.
_PERMIT_BYTES_SELECTOR: constant(bytes4) = method_id(
    "permit(address,address,uint256,uint256,bytes)", output_type=bytes4
)
_TRANSFER_BYTES_SELECTOR: constant(bytes4) = method_id(
    "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)", output_type=bytes4
)
_RECEIVE_BYTES_SELECTOR: constant(bytes4) = method_id(
    "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)", output_type=bytes4
)
_CANCEL_BYTES_SELECTOR: constant(bytes4) = method_id(
    "cancelAuthorization(address,bytes32,bytes)", output_type=bytes4
)


# @dev Whether `authorizer` has used or cancelled the EIP-3009 `nonce`.
authorizationState: public(HashMap[address, HashMap[bytes32, bool]])


# @dev Emitted when an EIP-3009 authorization is executed.
event AuthorizationUsed:
    authorizer: indexed(address)
    nonce: indexed(bytes32)


# @dev Emitted when an unused EIP-3009 authorization is cancelled.
event AuthorizationCanceled:
    authorizer: indexed(address)
    nonce: indexed(bytes32)


@deploy
def __init__(
    name_: String[25],
    symbol_: String[5],
    name_eip712_: String[50],
    version_eip712_: String[20],
    initial_supply_: uint256,
):
    """
    @dev The deployer becomes `owner` and minter and receives the initial
         supply. We deploy with name and EIP-712 name "tantieme AI Token",
         symbol "TAI", version "1".
    @param name_ The token name (at most 25 characters).
    @param symbol_ The token symbol (at most 5 characters).
    @param name_eip712_ The EIP-712 domain name (at most 50 characters).
    @param version_eip712_ The EIP-712 domain version (at most 20
           characters); signatures of other versions are not valid.
    @param initial_supply_ Tokens minted to the deployer, in token wei (at
           most `MAX_SUPPLY`; on public chains the only tokens there are).
    """
    ownable.__init__()
    erc20.__init__(name_, symbol_, _DECIMALS, name_eip712_, version_eip712_)
    assert initial_supply_ <= MAX_SUPPLY, "ai_token: supply cap exceeded"
    if initial_supply_ != 0:
        erc20._mint(msg.sender, initial_supply_)


@external
def __default__():
    """
    @dev Serves the USDC v2.2 overloads taking `bytes signature` that x402
         facilitators and contract wallets call: `permit`,
         `transferWithAuthorization`, `receiveWithAuthorization` and
         `cancelAuthorization`. The static arguments are ABI-decoded (with
         bounds and address checks) from the calldata head, the signature
         (at most `MAX_SIGNATURE` bytes) from its offset; anything else,
         and ether, reverts.
    """
    selector: bytes4 = convert(slice(msg.data, 0, 4), bytes4)
    if selector == _TRANSFER_BYTES_SELECTOR or selector == _RECEIVE_BYTES_SELECTOR:
        from_: address = empty(address)
        to: address = empty(address)
        amount: uint256 = empty(uint256)
        valid_after: uint256 = empty(uint256)
        valid_before: uint256 = empty(uint256)
        nonce: bytes32 = empty(bytes32)
        from_, to, amount, valid_after, valid_before, nonce = abi_decode(
            slice(msg.data, 4, 6 * 32), (address, address, uint256, uint256, uint256, bytes32)
        )
        type_hash: bytes32 = TRANSFER_WITH_AUTHORIZATION_TYPEHASH
        if selector == _RECEIVE_BYTES_SELECTOR:
            assert to == msg.sender, "ai_token: caller must be the payee"
            type_hash = RECEIVE_WITH_AUTHORIZATION_TYPEHASH
        self._transfer_with_authorization(
            type_hash, from_, to, amount, valid_after, valid_before, nonce, self._calldata_signature(6)
        )
    elif selector == _CANCEL_BYTES_SELECTOR:
        authorizer: address = empty(address)
        nonce: bytes32 = empty(bytes32)
        authorizer, nonce = abi_decode(slice(msg.data, 4, 2 * 32), (address, bytes32))
        self._cancel_authorization(authorizer, nonce, self._calldata_signature(2))
    elif selector == _PERMIT_BYTES_SELECTOR:
        owner: address = empty(address)
        spender: address = empty(address)
        amount: uint256 = empty(uint256)
        deadline: uint256 = empty(uint256)
        owner, spender, amount, deadline = abi_decode(
            slice(msg.data, 4, 4 * 32), (address, address, uint256, uint256)
        )
        self._permit(owner, spender, amount, deadline, self._calldata_signature(4))
    else:
        raise "ai_token: unknown function"


# MINTING #


@external
def mint(owner: address, amount: uint256):
    """
    @dev The dev faucet: a minter creates tokens, on local chains only
         (the embedded chain 82684363 and anvil 31337); the supply stays
         at most `MAX_SUPPLY`.
    @param owner The receiver.
    @param amount The amount in token wei.
    """
    assert chain.id == _EMBEDDED_CHAIN_ID or chain.id == _ANVIL_CHAIN_ID, "ai_token: minting only on local chains"
    assert erc20.is_minter[msg.sender], "erc20: access is denied"
    erc20._mint(owner, amount)
    assert erc20.totalSupply <= MAX_SUPPLY, "ai_token: supply cap exceeded"


# SIGNED APPROVALS AND TRANSFERS #


@external
def permit(owner: address, spender: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @dev EIP-2612: sets `spender`'s allowance over `owner`'s tokens to
         `amount`, signed by `owner` (an account or an ERC-1271 wallet)
         over its current nonce; anyone may submit it.
    @param owner The account whose tokens are approved.
    @param spender The account allowed to spend them.
    @param amount The allowance in token wei.
    @param deadline Unix time in seconds up to which the permit is valid.
    @param v The secp256k1 signature parameter `v` (27 or 28).
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s` (low half only).
    """
    self._permit(owner, spender, amount, deadline, self._packed(v, r, s))


@external
def transferWithAuthorization(
    from_: address,
    to: address,
    amount: uint256,
    valid_after: uint256,
    valid_before: uint256,
    nonce: bytes32,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    """
    @dev Executes a transfer signed by `from_` (EIP-3009); anyone may
         submit it, once.
    @param from_ The payer, who signed the authorization.
    @param to The payee.
    @param amount The amount in token wei.
    @param valid_after Unix time in seconds after which it is valid
           (strictly greater).
    @param valid_before Unix time in seconds before which it is valid
           (strictly less).
    @param nonce A unique 32-byte nonce chosen by the payer.
    @param v The secp256k1 signature parameter `v` (27 or 28).
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s` (low half only).
    """
    self._transfer_with_authorization(
        TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from_, to, amount, valid_after, valid_before, nonce, self._packed(v, r, s)
    )


@external
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
):
    """
    @dev Executes a transfer signed by `from_` (EIP-3009); only the payee
         may submit it, which stops front-running of deposits into
         contracts.
    @param from_ The payer, who signed the authorization.
    @param to The payee, who must be the caller.
    @param amount The amount in token wei.
    @param valid_after Unix time in seconds after which it is valid
           (strictly greater).
    @param valid_before Unix time in seconds before which it is valid
           (strictly less).
    @param nonce A unique 32-byte nonce chosen by the payer.
    @param v The secp256k1 signature parameter `v` (27 or 28).
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s` (low half only).
    """
    assert to == msg.sender, "ai_token: caller must be the payee"
    self._transfer_with_authorization(
        RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from_, to, amount, valid_after, valid_before, nonce, self._packed(v, r, s)
    )


@external
def cancelAuthorization(authorizer: address, nonce: bytes32, v: uint8, r: bytes32, s: bytes32):
    """
    @dev Cancels an unused authorization nonce, signed by its authorizer
         (EIP-3009); anyone may submit it.
    @param authorizer The payer whose nonce is cancelled.
    @param nonce The 32-byte nonce to cancel.
    @param v The secp256k1 signature parameter `v` (27 or 28).
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s` (low half only).
    """
    self._cancel_authorization(authorizer, nonce, self._packed(v, r, s))


@external
@view
def version() -> String[20]:
    """
    @dev Returns the EIP-712 domain version, as USDC's `version()` does
         (x402 clients read it to build the domain).
    @return String The EIP-712 domain version.
    """
    return erc20.eip712_domain_separator._VERSION


# INTERNAL #


@internal
def _permit(owner: address, spender: address, amount: uint256, deadline: uint256, signature: Bytes[MAX_SIGNATURE]):
    """
    @dev Checks the deadline and `owner`'s signature over its current
         nonce, spends the nonce and sets the allowance.
    @param owner The account whose tokens are approved.
    @param spender The account allowed to spend them.
    @param amount The allowance in token wei.
    @param deadline Unix time in seconds up to which the permit is valid.
    @param signature The owner's signature.
    """
    assert block.timestamp <= deadline, "ai_token: permit is expired"
    nonce: uint256 = erc20.nonces[owner]
    # Cannot overflow: a nonce grows by one per signed permit.
    erc20.nonces[owner] = unsafe_add(nonce, 1)
    self._check_signature(
        owner, keccak256(abi_encode(PERMIT_TYPEHASH, owner, spender, amount, nonce, deadline)), signature
    )
    erc20._approve(owner, spender, amount)


@internal
def _transfer_with_authorization(
    type_hash: bytes32,
    from_: address,
    to: address,
    amount: uint256,
    valid_after: uint256,
    valid_before: uint256,
    nonce: bytes32,
    signature: Bytes[MAX_SIGNATURE],
):
    """
    @dev Checks the validity window, the nonce and the signature, marks
         the nonce used, then moves the tokens (USDC's order of events:
         `AuthorizationUsed` before `Transfer`).
    @param type_hash The transfer or receive type hash.
    @param from_ The payer, who signed the authorization.
    @param to The payee.
    @param amount The amount in token wei.
    @param valid_after Unix time in seconds after which it is valid.
    @param valid_before Unix time in seconds before which it is valid.
    @param nonce The payer's 32-byte nonce.
    @param signature The payer's signature.
    """
    assert block.timestamp > valid_after, "ai_token: authorization is not yet valid"
    assert block.timestamp < valid_before, "ai_token: authorization is expired"
    self._require_unused(from_, nonce)
    self._check_signature(
        from_, keccak256(abi_encode(type_hash, from_, to, amount, valid_after, valid_before, nonce)), signature
    )

    self.authorizationState[from_][nonce] = True
    log AuthorizationUsed(authorizer=from_, nonce=nonce)
    erc20._transfer(from_, to, amount)


@internal
def _cancel_authorization(authorizer: address, nonce: bytes32, signature: Bytes[MAX_SIGNATURE]):
    """
    @dev Checks the nonce is unused and the authorizer signed its
         cancellation, then marks it used.
    @param authorizer The payer whose nonce is cancelled.
    @param nonce The 32-byte nonce to cancel.
    @param signature The authorizer's signature.
    """
    self._require_unused(authorizer, nonce)
    self._check_signature(
        authorizer, keccak256(abi_encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)), signature
    )

    self.authorizationState[authorizer][nonce] = True
    log AuthorizationCanceled(authorizer=authorizer, nonce=nonce)


@internal
@view
def _require_unused(authorizer: address, nonce: bytes32):
    """
    @dev Reverts if `authorizer` already used or cancelled `nonce`.
    @param authorizer The payer.
    @param nonce The 32-byte nonce.
    """
    assert not self.authorizationState[authorizer][nonce], "ai_token: authorization is used or canceled"


@internal
@view
def _check_signature(signer: address, struct_hash: bytes32, signature: Bytes[MAX_SIGNATURE]):
    """
    @dev Reverts unless `signer` signed the EIP-712 message `struct_hash`
         in this token's domain: a signer with code must answer ERC-1271's
         magic value, any other signs with secp256k1 (65 bytes
         `r ‖ s ‖ v`, low s, never the zero address).
    @param signer The account that must have signed.
    @param struct_hash The 32-byte EIP-712 `hashStruct` of the message.
    @param signature The signature.
    """
    digest: bytes32 = erc20.eip712_domain_separator._hash_typed_data_v4(struct_hash)
    if signer.is_contract:
        success: bool = False
        answer: Bytes[32] = b""
        success, answer = raw_call(
            signer,
            abi_encode(digest, signature, method_id=_ERC1271_MAGIC_VALUE),
            max_outsize=32,
            is_static_call=True,
            revert_on_failure=False,
        )
        assert (
            success and len(answer) == 32 and convert(answer, bytes32) == convert(_ERC1271_MAGIC_VALUE, bytes32)
        ), "ai_token: invalid signature"
        return
    assert len(signature) == 65, "ai_token: invalid signature length"
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    assert ecdsa._recover_vrs(digest, v, r, s) == signer, "ai_token: invalid signature"


@internal
@pure
def _packed(v: uint8, r: bytes32, s: bytes32) -> Bytes[MAX_SIGNATURE]:
    """
    @dev The 65-byte `r ‖ s ‖ v` form of a signature, what a contract
         wallet's `isValidSignature` receives (as from USDC v2.2).
    @param v The secp256k1 signature parameter `v`.
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s`.
    @return Bytes The signature.
    """
    return concat(r, s, convert(v, bytes1))


@internal
@view
def _calldata_signature(head_index: uint256) -> Bytes[MAX_SIGNATURE]:
    """
    @dev The `bytes signature` argument of a `__default__` overload,
         whose offset is the argument head's word `head_index`; read
         32 bytes at a time (calldata slices have a fixed length).
    @param head_index The signature's position among the arguments.
    @return Bytes The signature, at most `MAX_SIGNATURE` bytes.
    """
    start: uint256 = 4 + convert(slice(msg.data, 4 + 32 * head_index, 32), uint256)
    length: uint256 = convert(slice(msg.data, start, 32), uint256)
    assert length <= MAX_SIGNATURE, "ai_token: signature too long"
    words: bytes32[MAX_SIGNATURE // 32] = empty(bytes32[MAX_SIGNATURE // 32])
    for i: uint256 in range(MAX_SIGNATURE // 32):
        if 32 * i >= length:
            break
        words[i] = convert(slice(msg.data, start + 32 + 32 * i, 32), bytes32)
    return slice(abi_encode(words), 0, length)
