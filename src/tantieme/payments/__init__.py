"""Paying a node for answers: per request over x402 (`per_request`) with the official SDK,
its facilitator on the node's chain (`facilitator`) and the asking side (`client`); or
from a deposit with the ledger (`deposit`)."""
