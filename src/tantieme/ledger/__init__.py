"""The interaction ledger: signed interaction records (DATs), their Merkle batches,
settlement and verification.

`records` defines what the payer signs (EIP-712 `Interaction` and `Batch`
structs) and the Merkle leaf of a record; `merkle` builds and checks the batch
trees in OpenZeppelin's "standard-v1" format, so that OpenZeppelin's
`@openzeppelin/merkle-tree` and `MerkleProof` accept our roots and proofs.
"""
