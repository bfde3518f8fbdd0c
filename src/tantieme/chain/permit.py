"""EIP-2612 permits: an owner lets a spender take tokens by signature, without gas."""

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


def permit_typed_data(
    domain: tuple[Any, ...], owner: str, spender: str, value: int, nonce: int, deadline: int
) -> dict[str, Any]:
    """The typed data of a permit; `domain` is the token's EIP-5267 `eip712Domain()` result."""
    _, name, version, chain_id, verifying, *_ = domain
    return {
        "types": PERMIT_TYPES,
        "primaryType": "Permit",
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": str(verifying)},
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }


def sign_permit(
    owner: LocalAccount, domain: tuple[Any, ...], spender: str, value: int, nonce: int, deadline: int
) -> tuple[int, bytes, bytes]:
    """`owner`'s permit signature as (v, r, s)."""
    data = permit_typed_data(domain, owner.address, spender, value, nonce, deadline)
    signature = bytes(Account.sign_typed_data(owner.key, full_message=data).signature)
    return signature[64], signature[:32], signature[32:64]
