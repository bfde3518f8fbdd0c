"""The x402 facilitator a node uses: in process on local chains, a service elsewhere.

The official SDK verifies and settles payments (`x402FacilitatorSync` with the
`exact` EVM scheme); this module gives it a chain to act on:

- the embedded chain: `ConnectionSigner`, the SDK's `FacilitatorEvmSigner`
  protocol over the node's own connection (web3 over py-evm, transactions signed
  locally and sent through `tantieme.chain.transact`);
- anvil or any JSON-RPC chain with the node's key: the SDK's own
  `FacilitatorWeb3Signer`;
- any other chain: a hosted facilitator at a URL (`HTTPFacilitatorClientSync`).

The operator's account both receives the payments and pays the gas of settling
them, so no third party holds anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from web3 import Web3

from tantieme.chain import Connection

if TYPE_CHECKING:
    from x402.http import FacilitatorClientSync
    from x402.mechanisms.evm.types import TransactionReceipt, TypedDataDomain, TypedDataField

    from tantieme.node import Node

__all__ = ["ConnectionSigner", "facilitator", "network", "signer"]

# transferWithAuthorization costs ≈ 60k gas; the limit only caps a runaway call.
_WRITE_GAS = 200_000


def network(chain_id: int) -> str:
    """The CAIP-2 name of an EVM chain, as x402 v2 writes it."""
    return f"eip155:{chain_id}"


class ConnectionSigner:
    """The SDK's `FacilitatorEvmSigner` over a tantieme `Connection` (the embedded chain).

    Reads are calls through the connection's web3; writes are signed by the
    connection's account and sent through `Connection.transact`, which keeps one
    pending nonce per signer for the node's own transactions and the facilitator's.
    A node served read-only lends the signer a writer's connection while it settles
    (`sending`).
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._w3 = conn.w3
        self._sender: Connection | None = None

    @contextlib.contextmanager
    def sending(self, conn: Connection) -> Iterator[None]:
        """Send the transactions of this block through `conn` (a writer of the same chain)."""
        self._sender = conn
        try:
            yield
        finally:
            self._sender = None

    def get_addresses(self) -> list[str]:
        return [self._conn.account.address]

    def get_chain_id(self) -> int:
        return self._conn.chain_id

    def _contract(self, address: str, abi: list[dict[str, Any]]) -> Any:
        return self._w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)

    def read_contract(self, address: str, abi: list[dict[str, Any]], function_name: str, *args: Any) -> Any:
        call = getattr(self._contract(address, abi).functions, function_name)(*args)
        return call.call({"from": self._conn.account.address})

    def verify_typed_data(
        self,
        address: str,
        domain: TypedDataDomain,
        types: dict[str, list[TypedDataField]],
        primary_type: str,
        message: dict[str, Any],
        signature: bytes,
    ) -> bool:
        from x402.mechanisms.evm.verify import verify_typed_data_strict

        return verify_typed_data_strict(self, address, domain, types, primary_type, message, signature)

    def write_contract(
        self,
        address: str,
        abi: list[dict[str, Any]],
        function_name: str,
        *args: Any,
        data_suffix: str | None = None,
    ) -> str:
        data = self._contract(address, abi).encode_abi(function_name, args=list(args))
        return self.send_transaction(address, bytes.fromhex(data[2:] + (data_suffix or "").removeprefix("0x")))

    def send_transaction(self, to: str, data: bytes) -> str:
        sender = self._sender or self._conn
        receipt = sender.transact({"to": Web3.to_checksum_address(to), "data": data}, gas=_WRITE_GAS)
        return receipt["transactionHash"].to_0x_hex()

    def wait_for_transaction_receipt(self, tx_hash: str) -> TransactionReceipt:
        from x402.mechanisms.evm.types import TransactionReceipt

        receipt = self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.05)
        return TransactionReceipt(
            status=receipt["status"], block_number=receipt["blockNumber"], tx_hash=tx_hash,
            logs=list(receipt["logs"]),
        )

    def get_balance(self, address: str, token_address: str) -> int:
        if int(token_address or "0x0", 16) == 0:
            return self._w3.eth.get_balance(Web3.to_checksum_address(address))
        from x402.mechanisms.evm.constants import BALANCE_OF_ABI

        return self.read_contract(token_address, BALANCE_OF_ABI, "balanceOf", Web3.to_checksum_address(address))

    def get_code(self, address: str) -> bytes:
        return bytes(self._w3.eth.get_code(Web3.to_checksum_address(address)))


def signer(node: Node) -> Any:
    """The SDK's `FacilitatorEvmSigner` acting as the node's account on its chain: over the
    node's own connection on the embedded chain, the SDK's `FacilitatorWeb3Signer` over the
    node's JSON-RPC URL on any other."""
    if node.conn.backend == "embedded":
        return ConnectionSigner(node.conn)
    from x402.mechanisms.evm import FacilitatorWeb3Signer

    return FacilitatorWeb3Signer(private_key=node.account.key.to_0x_hex(), rpc_url=node.settings.rpc_url)


def facilitator(node: Node, url: str | None = None, evm_signer: Any = None) -> FacilitatorClientSync:
    """The facilitator that verifies and settles this node's x402 payments: a hosted one at
    `url`, or the SDK's in this process, acting through `evm_signer` (default: `signer(node)`)."""
    if url is not None:
        from x402.http import FacilitatorConfig, HTTPFacilitatorClientSync

        return HTTPFacilitatorClientSync(FacilitatorConfig(url=url))
    from x402 import x402FacilitatorSync
    from x402.mechanisms.evm.exact import register_exact_evm_facilitator

    return register_exact_evm_facilitator(
        x402FacilitatorSync(), evm_signer or signer(node), networks=network(node.conn.chain_id)
    )
