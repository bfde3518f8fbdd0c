"""Signed token approvals: an owner lets others move its tokens by signature, without gas.

EIP-2612 `permit` (a spender may take up to a value) and EIP-3009
`ReceiveWithAuthorization` (one transfer to a payee, which the payee submits), and the
EIP-3009 `CancelAuthorization` of an authorization never used.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

PERMIT_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}

_AUTHORIZATION_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
RECEIVE_AUTHORIZATION_TYPES = {
    "EIP712Domain": PERMIT_TYPES["EIP712Domain"],
    "ReceiveWithAuthorization": _AUTHORIZATION_FIELDS,
}
CANCEL_AUTHORIZATION_TYPES = {
    "EIP712Domain": PERMIT_TYPES["EIP712Domain"],
    "CancelAuthorization": [{"name": "authorizer", "type": "address"}, {"name": "nonce", "type": "bytes32"}],
}
TRANSFER_AUTHORIZATION_TYPES = {
    "EIP712Domain": PERMIT_TYPES["EIP712Domain"],
    "TransferWithAuthorization": _AUTHORIZATION_FIELDS,
}


def _token_domain(domain: tuple[Any, ...]) -> dict[str, Any]:
    _, name, version, chain_id, verifying, *_ = domain
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": str(verifying)}


def _vrs(owner: LocalAccount, data: dict[str, Any]) -> tuple[int, bytes, bytes]:
    signature = bytes(Account.sign_typed_data(owner.key, full_message=data).signature)
    return signature[64], signature[:32], signature[32:64]


def permit_typed_data(
    domain: tuple[Any, ...], owner: str, spender: str, value: int, nonce: int, deadline: int
) -> dict[str, Any]:
    """The typed data of a permit; `domain` is the token's EIP-5267 `eip712Domain()` result."""
    return {
        "types": PERMIT_TYPES,
        "primaryType": "Permit",
        "domain": _token_domain(domain),
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }


def sign_permit(
    owner: LocalAccount, domain: tuple[Any, ...], spender: str, value: int, nonce: int, deadline: int
) -> tuple[int, bytes, bytes]:
    """`owner`'s permit signature as (v, r, s)."""
    return _vrs(owner, permit_typed_data(domain, owner.address, spender, value, nonce, deadline))


def sign_receive_authorization(
    owner: LocalAccount, domain: tuple[Any, ...], to: str, value: int, valid_after: int, valid_before: int,
    nonce: bytes,
) -> tuple[int, bytes, bytes]:
    """`owner`'s EIP-3009 `ReceiveWithAuthorization` of `value` to `to` as (v, r, s);
    `domain` is the token's `eip712Domain()`."""
    message = {
        "from": owner.address, "to": to, "value": value, "validAfter": valid_after,
        "validBefore": valid_before, "nonce": nonce,
    }
    data = {
        "types": RECEIVE_AUTHORIZATION_TYPES, "primaryType": "ReceiveWithAuthorization",
        "domain": _token_domain(domain), "message": message,
    }
    return _vrs(owner, data)


def sign_cancel_authorization(owner: LocalAccount, domain: tuple[Any, ...], nonce: bytes) -> tuple[int, bytes, bytes]:
    """`owner`'s EIP-3009 `CancelAuthorization` of its authorization `nonce` as (v, r, s);
    `domain` is the token's `eip712Domain()`."""
    data = {
        "types": CANCEL_AUTHORIZATION_TYPES, "primaryType": "CancelAuthorization",
        "domain": _token_domain(domain), "message": {"authorizer": owner.address, "nonce": nonce},
    }
    return _vrs(owner, data)
