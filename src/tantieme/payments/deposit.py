"""Deposit mode: a payer prepays the ledger for one operator, then signs each answer.

(Filled in below.)
"""

from __future__ import annotations

from eth_abi import encode as abi_encode
from eth_hash.auto import keccak


def authorization_nonce(operator: str, salt: bytes) -> bytes:
    """The EIP-3009 nonce of a deposit by authorization: `keccak256(abi.encode(operator, salt))`,
    so the payer's signature names the operator its tokens are earmarked for."""
    return keccak(abi_encode(["address", "bytes32"], [operator, salt]))
