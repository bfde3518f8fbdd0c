"""Addresses as the contracts hold them: a light module (no web3), so the CLI's read commands
and the EIP-712 records import it without loading the chain."""

ZERO_ADDRESS = "0x" + "00" * 20
"""The zero address: an unset `address` field in a contract (no currency, no wallet, nobody)."""
