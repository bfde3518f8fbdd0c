# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme AI Token (ERC-20 + EIP-2612 + EIP-3009)
@custom:contract-name ai_token
@license GNU Affero General Public License v3.0 only
@notice The ERC-20 token in which answers, licences and royalties are
        paid. It is snekmate's `erc20` module (ERC-20, EIP-2612 `permit`,
        EIP-5267 `eip712Domain`, owner and minter roles; the dev faucet
        mints on local chains) with 18 decimals, plus EIP-3009 signed
        transfers so that HTTP 402 (x402) clients can pay without gas:
        - `transferWithAuthorization` (`external` function),
        - `receiveWithAuthorization` (`external` function),
        - `cancelAuthorization` (`external` function),
        - `authorizationState` (`external` `view` function),
        - `version` (`external` `view` function, as USDC has),
        - the USDC v2.2 overloads that take one 65-byte `bytes signature`
          instead of `v, r, s` (x402 facilitators call these), served by
          `__default__` because Vyper has no overloading; they are not in
          the generated ABI, see `SPEC.md`.
        EIP-3009 authorizations and EIP-2612 permits share one EIP-712
        domain (name, version, chain id, this contract).
        https://eips.ethereum.org/EIPS/eip-3009
@custom:security Signatures are verified with `ecrecover` only, so only
                 externally owned accounts can sign authorizations and
                 permits (no EIP-1271 contract wallets). High-s
                 (malleable) signatures are rejected by snekmate's `ecdsa`.
                 Replay is prevented by the random 32-byte nonce per
                 authorizer (EIP-3009) or the sequential nonce (EIP-2612),
                 and across chains and deployments by the domain
                 separator, which is rebuilt if the chain id changes.
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


# @dev Everything from `erc20` is exposed: the ERC-20 surface, `permit`,
# `nonces`, `DOMAIN_SEPARATOR`, `eip712Domain`, `owner`, `mint`,
# `set_minter`, `is_minter`, `burn`, `burn_from`, `transfer_ownership` and
# `renounce_ownership` (the latter two move the minter role with it).
exports: erc20.__interface__


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


# @dev Decimal places of the token (token wei per token: 10**18).
_DECIMALS: constant(uint8) = 18


# @dev Selectors of the USDC v2.2 `bytes signature` overloads that
# `__default__` dispatches.
_TRANSFER_BYTES_SELECTOR: constant(bytes4) = method_id(
    "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)", output_type=bytes4
)
_RECEIVE_BYTES_SELECTOR: constant(bytes4) = method_id(
    "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)", output_type=bytes4
)
_CANCEL_BYTES_SELECTOR: constant(bytes4) = method_id(
    "cancelAuthorization(address,bytes32,bytes)", output_type=bytes4
)


# @dev ABI-encoded argument sizes of those overloads with a 65-byte
# signature: static head words, then the signature's length word and
# its 65 bytes padded to 96.
_TRANSFER_BYTES_ARGS: constant(uint256) = 7 * 32 + 32 + 96
_CANCEL_BYTES_ARGS: constant(uint256) = 3 * 32 + 32 + 96


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
@payable
def __init__(name_: String[25], symbol_: String[5], name_eip712_: String[50], version_eip712_: String[20]):
    """
    @dev The deployer becomes `owner` and minter. We deploy with name and
         EIP-712 name "tantieme AI Token", symbol "TAI", version "1".
    @param name_ The token name (at most 25 characters).
    @param symbol_ The token symbol (at most 5 characters).
    @param name_eip712_ The EIP-712 domain name (at most 50 characters).
    @param version_eip712_ The EIP-712 domain version (at most 20
           characters); signatures of other versions are not valid.
    """
    ownable.__init__()
    erc20.__init__(name_, symbol_, _DECIMALS, name_eip712_, version_eip712_)


@external
def __default__():
    """
    @dev Serves the USDC v2.2 overloads taking `bytes signature` (65 bytes,
         r ‖ s ‖ v) that x402 facilitators call; anything else reverts.
         The arguments are ABI-decoded with bounds checks from a fixed-size
         slice of the calldata, so shorter calldata (a shorter signature)
         is rejected before decoding.
    """
    selector: bytes4 = convert(slice(msg.data, 0, 4), bytes4)
    if selector == _TRANSFER_BYTES_SELECTOR or selector == _RECEIVE_BYTES_SELECTOR:
        assert len(msg.data) >= 4 + _TRANSFER_BYTES_ARGS, "ai_token: invalid signature length"
        from_: address = empty(address)
        to: address = empty(address)
        amount: uint256 = empty(uint256)
        valid_after: uint256 = empty(uint256)
        valid_before: uint256 = empty(uint256)
        nonce: bytes32 = empty(bytes32)
        signature: Bytes[65] = b""
        from_, to, amount, valid_after, valid_before, nonce, signature = abi_decode(
            slice(msg.data, 4, _TRANSFER_BYTES_ARGS),
            (address, address, uint256, uint256, uint256, bytes32, Bytes[65]),
        )
        v: uint8 = 0
        r: bytes32 = empty(bytes32)
        s: bytes32 = empty(bytes32)
        v, r, s = self._split_signature(signature)
        if selector == _RECEIVE_BYTES_SELECTOR:
            assert to == msg.sender, "ai_token: caller must be the payee"
            self._transfer_with_authorization(
                RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from_, to, amount, valid_after, valid_before, nonce, v, r, s
            )
        else:
            self._transfer_with_authorization(
                TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from_, to, amount, valid_after, valid_before, nonce, v, r, s
            )
    elif selector == _CANCEL_BYTES_SELECTOR:
        assert len(msg.data) >= 4 + _CANCEL_BYTES_ARGS, "ai_token: invalid signature length"
        authorizer: address = empty(address)
        nonce: bytes32 = empty(bytes32)
        signature: Bytes[65] = b""
        authorizer, nonce, signature = abi_decode(
            slice(msg.data, 4, _CANCEL_BYTES_ARGS), (address, bytes32, Bytes[65])
        )
        v: uint8 = 0
        r: bytes32 = empty(bytes32)
        s: bytes32 = empty(bytes32)
        v, r, s = self._split_signature(signature)
        self._cancel_authorization(authorizer, nonce, v, r, s)
    else:
        raise "ai_token: unknown function"


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
        TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from_, to, amount, valid_after, valid_before, nonce, v, r, s
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
        RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from_, to, amount, valid_after, valid_before, nonce, v, r, s
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
    self._cancel_authorization(authorizer, nonce, v, r, s)


@external
@view
def version() -> String[20]:
    """
    @dev Returns the EIP-712 domain version, as USDC's `version()` does
         (x402 clients read it to build the domain).
    @return String The EIP-712 domain version.
    """
    return erc20.eip712_domain_separator._VERSION


@internal
def _transfer_with_authorization(
    type_hash: bytes32,
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
    @param v The secp256k1 signature parameter `v`.
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s`.
    """
    assert block.timestamp > valid_after, "ai_token: authorization is not yet valid"
    assert block.timestamp < valid_before, "ai_token: authorization is expired"
    self._require_unused(from_, nonce)

    struct_hash: bytes32 = keccak256(abi_encode(type_hash, from_, to, amount, valid_after, valid_before, nonce))
    assert self._recover(struct_hash, v, r, s) == from_, "ai_token: invalid signature"

    self.authorizationState[from_][nonce] = True
    log AuthorizationUsed(authorizer=from_, nonce=nonce)
    erc20._transfer(from_, to, amount)


@internal
def _cancel_authorization(authorizer: address, nonce: bytes32, v: uint8, r: bytes32, s: bytes32):
    """
    @dev Checks the nonce is unused and the authorizer signed its
         cancellation, then marks it used.
    @param authorizer The payer whose nonce is cancelled.
    @param nonce The 32-byte nonce to cancel.
    @param v The secp256k1 signature parameter `v`.
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s`.
    """
    self._require_unused(authorizer, nonce)

    struct_hash: bytes32 = keccak256(abi_encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce))
    assert self._recover(struct_hash, v, r, s) == authorizer, "ai_token: invalid signature"

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
def _recover(struct_hash: bytes32, v: uint8, r: bytes32, s: bytes32) -> address:
    """
    @dev Recovers the signer of an EIP-712 struct hash in this token's
         domain; reverts on a high-s or unrecoverable signature.
    @param struct_hash The 32-byte EIP-712 `hashStruct` of the message.
    @param v The secp256k1 signature parameter `v`.
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s`.
    @return address The signer.
    """
    digest: bytes32 = erc20.eip712_domain_separator._hash_typed_data_v4(struct_hash)
    return ecdsa._recover_vrs(digest, convert(v, uint256), convert(r, uint256), convert(s, uint256))


@internal
@pure
def _split_signature(signature: Bytes[65]) -> (uint8, bytes32, bytes32):
    """
    @dev Splits a 65-byte `r ‖ s ‖ v` signature.
    @param signature The signature bytes.
    @return uint8 The signature parameter `v`.
    @return bytes32 The signature parameter `r`.
    @return bytes32 The signature parameter `s`.
    """
    assert len(signature) == 65, "ai_token: invalid signature length"
    v: uint8 = convert(slice(signature, 64, 1), uint8)
    return v, extract32(signature, 0), extract32(signature, 32)
