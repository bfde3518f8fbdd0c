"""Payments to a node: pay per request over x402 (`per_request`) with the official SDK,
its facilitator on the node's chain (`facilitator`), and the asking side (`client`)."""
