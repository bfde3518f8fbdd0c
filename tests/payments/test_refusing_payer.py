"""A payer contract that says it takes refunds through `refundPayment` (ERC-165, as an agent
treasury does) but refuses them: its `refundPayment` reverts or burns all the gas it is given,
or its `supportsInterface` burns all its gas. The node still refunds it quote − fee, by a plain
transfer a payer cannot refuse, journaled once; the payer's ERC-165 answer costs the node at most
ERC-165's 30,000 gas, and the next payer is paid and refunded as usual. A `refundPayment` that
may still be mined (not known to have reverted) is never followed by a plain transfer: the refund
stays owed for `recover` (`PayPerRequest._refund`, `refund_call`; `data/refusing_payer.vy`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import vyper

from tantieme.chain.accounts import dev_account
from tantieme.chain.backend import Connection
from tantieme.errors import ChainError
from tantieme.ledger import settlement

from .conftest import ASKER, chat_body, paying_session, x402_client
from .test_per_request import _verified_and_answered

OWNER = dev_account(8)
REVERTS, BURNS, BURNS_ERC165 = 1, 2, 3  # the contract's modes
MODES = {"refundPayment reverts": REVERTS, "refundPayment burns its gas": BURNS, "supportsInterface burns its gas": BURNS_ERC165}


@cache
def _artifact() -> dict[str, Any]:
    source = (Path(__file__).parent / "data" / "refusing_payer.vy").read_text()
    return vyper.compile_code(source, output_formats=["abi", "bytecode"])


def _wallet_client(node, mode: int):
    """A funded refusing payer owned by dev account 8, and the official x402 client paying
    from it (its owner key signs; the token checks the signature through ERC-1271)."""
    from x402 import x402ClientSync
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact import register_exact_evm_client

    artifact = _artifact()
    factory = node.conn.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    wallet = node.conn.transact(factory.constructor(OWNER.address, mode), gas=1_000_000)["contractAddress"]
    node.faucet(wallet)

    class WalletSigner(EthAccountSigner):
        @property
        def address(self) -> str:
            return wallet

    client = register_exact_evm_client(x402ClientSync(), WalletSigner(OWNER))
    client.set_spend_controls({"allowed_assets": [
        {"network": f"eip155:{node.conn.chain_id}", "asset": node.deployment.token},
    ]})
    return wallet, client


def _ask(url: str, client) -> int:
    """One paid question; the fee charged."""
    response = paying_session(client).post(f"{url}/v1/chat/completions", json=chat_body())
    assert response.status_code == 200, response.text
    return int(response.json()["tantieme"]["fee"])


@pytest.mark.parametrize("mode", MODES)
def test_payer_refusing_its_refund__refunded_by_plain_transfer_next_payer_unaffected(paid_node, url, delivered, mode):
    wallet, client = _wallet_client(paid_node, MODES[mode])
    held = paid_node.balance(wallet)
    fee = _ask(url, client)
    refund_tx = delivered.get(timeout=60)
    assert paid_node.balance(wallet) == held - fee  # quote out, quote − fee back
    receipt = paid_node.conn.w3.eth.get_transaction_receipt(refund_tx)
    assert (receipt["to"], receipt["status"]) == (paid_node.deployment.token, 1)  # the token's transfer
    book = settlement.journal()
    (row,) = book.records()
    assert (book.payment(row.id)["payer"], book.payment(row.id)["refund_tx"]) == (wallet, refund_tx)

    held = paid_node.balance(ASKER.address)
    fee = _ask(url, x402_client(ASKER, paid_node))
    assert delivered.get(timeout=60) is not None
    assert paid_node.balance(ASKER.address) == held - fee


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_refund_call__erc165_asked_with_at_most_30000_gas(paid_node, monkeypatch):
    """ERC-165: `supportsInterface` uses less than 30,000 gas; the node gives it no more, so a
    payer burning gas there cannot hold the node's sending of other refunds and settlements."""
    from web3.eth import Eth

    from tantieme.payments.per_request import refund_call

    wallet, _ = _wallet_client(paid_node, BURNS_ERC165)
    asked, real = [], Eth.call

    def spied(self, transaction, *args, **kwargs):
        asked.append(transaction.get("gas"))
        return real(self, transaction, *args, **kwargs)

    monkeypatch.setattr(Eth, "call", spied)
    authorization = {"from": wallet, "to": paid_node.address, "value": "10", "validAfter": "0", "validBefore": "1",
                     "nonce": "0x" + "11" * 32}
    assert refund_call(paid_node, authorization, 1) is None
    assert asked == [30_000]


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_refund_payment_maybe_still_mined__no_plain_transfer_recover_refunds_once(paid_node, gate, url, monkeypatch):
    wallet, client = _wallet_client(paid_node, REVERTS)
    held = paid_node.balance(wallet)
    payment, done = _verified_and_answered(paid_node, gate, url, client)
    gate.settle(payment, done)
    sent = Connection.transact

    def unmined(self, fn_or_tx, gas=None):
        if getattr(fn_or_tx, "fn_name", None) == "refundPayment":
            raise ChainError("transaction 0x01 not mined in 120 s")
        return sent(self, fn_or_tx, gas)

    with monkeypatch.context() as patched:
        patched.setattr(Connection, "transact", unmined)
        with pytest.raises(ChainError, match="not mined"):
            gate.refund(payment, done)
    book = settlement.journal()
    assert book.payment(done.record.id)["refund_tx"] is None  # owed, not sent a second way
    assert paid_node.balance(wallet) == held - payment.quote
    assert gate.recover(book) == [done.record.id]  # the call reverts now: a plain transfer, once
    assert gate.recover(book) == []
    assert paid_node.balance(wallet) == held - done.fee
