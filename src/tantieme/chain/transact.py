"""Sign locally, send raw, wait, and turn failures into `ChainError`s.

The same path on every backend: the embedded chain sees exactly the raw
transactions a JSON-RPC node would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from requests.exceptions import RequestException
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception, Web3RPCError
from web3.types import TxParams, TxReceipt

from tantieme.errors import ChainError, RevertedError

__all__ = ["approve_if_short", "revert_reason", "send_checked", "transact"]

_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_REVERTED = "execution reverted"
_APPROVE_GAS = 100_000  # an ERC-20 approve
_SIGNER_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def revert_reason(error: ContractLogicError) -> str:
    """The revert string of a failed call (`assert ..., "reason"`), else the node's message."""
    data = error.data
    if isinstance(data, str) and data.startswith("0x"):
        raw = HexBytes(data)
        if raw[:4] == _ERROR_SELECTOR:
            try:
                return abi.decode(["string"], raw[4:])[0]
            except (DecodingError, UnicodeDecodeError):
                pass
    message = error.message or _REVERTED
    return message.removeprefix(f"{_REVERTED}: ") or _REVERTED


def send_checked(conn: Any, call: Any, gas: int, refused: Callable[[str], Exception]) -> TxReceipt:
    """Try `call` from `conn`'s account (an `eth_call`), then send it; a revert, in the call or
    in the transaction, raises `refused(reason)`: a refused call sends nothing."""
    try:
        call.call({"from": conn.account.address})
        return conn.transact(call, gas=gas)
    except ContractLogicError as e:
        raise refused(revert_reason(e)) from None
    except ChainError as e:
        raise refused(str(e)) from None


def approve_if_short(conn: Any, token: Any, call: Any, spender: str, amount: int, refused: Callable[[str], Exception]) -> None:
    """Try `call` from `conn`'s account; when only the token allowance stops it (every other
    check passed), approve exactly `amount` of `token` to `spender`. Any other revert raises
    `refused(reason)`, and nothing is sent."""
    try:
        call.call({"from": conn.account.address})
    except ContractLogicError as e:
        reason = revert_reason(e)
        if reason != "erc20: insufficient allowance":
            raise refused(reason) from None
        conn.transact(token.functions.approve(spender, amount), gas=_APPROVE_GAS)


def transact(
    w3: Web3,
    account: LocalAccount,
    fn_or_tx: Any,
    gas: int | None = None,
    *,
    timeout: float = 120.0,
) -> TxReceipt:
    """Sign `fn_or_tx` with `account`, send it raw and return its receipt once mined.

    `fn_or_tx` is a contract function call (`contract.functions.f(x)`), a
    constructor (`Contract.constructor(...)`), or a transaction dict (`to`,
    `value`, `data`; no `to` deploys `data`). Fees follow web3's EIP-1559
    defaults; the nonce is the account's pending nonce. Pass `gas` to skip the
    estimate (~19 ms on the embedded chain). A revert, whether found by the
    estimate or in the receipt, raises `RevertedError(reason)` (a `ChainError`) with
    the contract's revert string; a rejected or unmined transaction raises
    `ChainError`: it may still be mined.
    """
    try:
        with _signer_lock(account.address):  # pending nonce: one send at a time per signer
            tx = _build(w3, account, fn_or_tx, gas)
            signed = account.sign_transaction(tx)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.1)
    except ContractLogicError as e:
        raise RevertedError(revert_reason(e)) from None
    except Web3RPCError as e:
        raise ChainError(f"the node rejected the transaction: {e.message}") from None
    except TimeExhausted:
        raise ChainError(f"transaction {tx_hash.to_0x_hex()} not mined in {timeout:g} s") from None
    except (RequestException, OSError) as e:
        raise ChainError(f"cannot reach the chain: {e}") from None
    if receipt["status"] != 1:
        raise RevertedError(_failure_reason(w3, tx, receipt))
    return receipt


def _signer_lock(address: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _SIGNER_LOCKS.setdefault(address, threading.Lock())


def _build(w3: Web3, account: LocalAccount, fn_or_tx: Any, gas: int | None) -> TxParams:
    eth = w3.eth
    tx: dict[str, Any] = {} if hasattr(fn_or_tx, "build_transaction") else dict(fn_or_tx)
    tx["from"] = account.address
    tx.setdefault("chainId", eth.chain_id)
    tx.setdefault("nonce", eth.get_transaction_count(account.address, "pending"))
    if "gasPrice" not in tx:  # EIP-1559, as web3 fills it
        tx.setdefault("maxPriorityFeePerGas", eth.max_priority_fee)
        tx.setdefault(
            "maxFeePerGas",
            tx["maxPriorityFeePerGas"] + 2 * eth.get_block("latest")["baseFeePerGas"],
        )
    if gas is not None:
        tx["gas"] = gas
    if hasattr(fn_or_tx, "build_transaction"):
        return fn_or_tx.build_transaction(tx)  # adds to, data, and gas if missing
    tx.setdefault("value", 0)
    tx.setdefault("data", b"")
    if "gas" not in tx:
        tx["gas"] = eth.estimate_gas(tx)
    return tx


def _failure_reason(w3: Web3, tx: TxParams, receipt: TxReceipt) -> str:
    """Why a mined transaction failed: replay it as a call at, then before, its block.

    The block itself has the right number and timestamp (what commitments and
    expiries depend on) and, where the transaction was mined alone, the same
    state; the parent block has the right state when others shared the block.
    """
    if receipt["gasUsed"] >= tx["gas"]:
        return f"out of gas: the transaction used all of its {tx['gas']} gas"
    call = {k: tx[k] for k in ("from", "to", "value", "data", "gas") if k in tx}
    for block in (receipt["blockNumber"], receipt["blockNumber"] - 1):
        try:
            w3.eth.call(call, block_identifier=block)
        except ContractLogicError as e:
            return revert_reason(e)
        except Web3Exception:  # the node cannot replay it (pruned state...)
            break
    return f"transaction {receipt['transactionHash'].to_0x_hex()} reverted"
