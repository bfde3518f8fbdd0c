"""Paying a node for answers: per request over x402, or from a deposit with the ledger."""
