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


def _take_refund(node, wallet: str, refused: Any) -> Any:
    """The payer (its owner, through the wallet) submits the operator's refund authorization that
    the refused `refundPayment` transaction `refused` carried; the receipt."""
    from tantieme.chain.deploy import contract

    _, args = contract(node.conn, "agent_treasury", wallet).decode_function_input(refused.get("input", refused.get("data")))
    take = node.token.functions.receiveWithAuthorization(
        node.address, wallet, args["refund"], 0, args["refund_valid_before"], args["refund_nonce"],
        args["v"], args["r"], args["s"],
    )
    owner = node.as_account(OWNER)
    wallet_contract = owner.conn.w3.eth.contract(address=wallet, abi=_artifact()["abi"])
    return owner.conn.transact(wallet_contract.functions.execute(node.deployment.token, take._encode_transaction_data()),
                               gas=300_000)


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_refused_refund_call__the_refund_it_carried_cannot_be_taken_after_the_plain_transfer(paid_node, url, delivered):
    """The reverted `refundPayment` transaction is on chain with the operator's signed
    `ReceiveWithAuthorization` of the refund to the payer in its calldata: once refunded by plain
    transfer, the payer must not be able to take that authorization too (a second refund)."""
    wallet, client = _wallet_client(paid_node, REVERTS)
    held = paid_node.balance(wallet)
    fee = _ask(url, client)
    assert delivered.get(timeout=60) is not None
    assert paid_node.balance(wallet) == held - fee
    w3 = paid_node.conn.w3
    refused = next(
        tx for number in range(w3.eth.block_number, 0, -1) for tx in w3.eth.get_block(number, True)["transactions"]
        if tx["to"] == wallet and w3.eth.get_transaction_receipt(tx["hash"])["status"] == 0
    )
    with pytest.raises(ChainError, match="ai_token: authorization is used or canceled"):
        _take_refund(paid_node, wallet, refused)
    assert paid_node.balance(wallet) == held - fee


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_refused_refund_call__taken_by_the_payer_before_the_cancel__no_plain_transfer(paid_node, gate, url, monkeypatch):
    wallet, client = _wallet_client(paid_node, REVERTS)
    held = paid_node.balance(wallet)
    payment, done = _verified_and_answered(paid_node, gate, url, client)
    gate.settle(payment, done)
    sent, taken = Connection.transact, []

    def front_run(self, fn_or_tx, gas=None):  # the payer takes the refund as soon as the call reverted
        try:
            return sent(self, fn_or_tx, gas)
        except ChainError:
            if getattr(fn_or_tx, "fn_name", None) == "refundPayment":
                w3 = paid_node.conn.w3
                refused = w3.eth.get_transaction(w3.eth.get_block("latest")["transactions"][-1])
                taken.append(_take_refund(paid_node, wallet, refused)["transactionHash"].to_0x_hex())
            raise

    monkeypatch.setattr(Connection, "transact", front_run)
    assert gate.refund(payment, done) == taken[0]
    assert settlement.journal().payment(done.record.id)["refund_tx"] == taken[0]
    assert paid_node.balance(wallet) == held - done.fee  # refunded once


@pytest.mark.parametrize("node", ["anvil"], indirect=True)
def test_refund_still_pending__recover_does_not_refund_twice(paid_node, gate, url, monkeypatch):
    from web3.eth import Eth
    from web3.exceptions import TimeExhausted

    from .conftest import x402_client

    held = paid_node.balance(ASKER.address)
    payment, done = _verified_and_answered(paid_node, gate, url, x402_client(ASKER, paid_node))
    gate.settle(payment, done)
    w3 = paid_node.conn.w3
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        with monkeypatch.context() as patched:  # the refund's transfer is sent and not mined in time
            patched.setattr(Eth, "wait_for_transaction_receipt", lambda *_a, **_k: (_ for _ in ()).throw(TimeExhausted()))
            with pytest.raises(ChainError, match="not mined"):
                gate.refund(payment, done)
        assert gate.recover(settlement.journal()) == []  # while it is pending: nothing sent, looked at again
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    w3.provider.make_request("evm_mine", [])
    book = settlement.journal()
    assert gate.recover(book) == [done.record.id]  # mined now: found and journaled
    assert book.payment(done.record.id)["refund_tx"] is not None
    assert paid_node.balance(ASKER.address) - (held - payment.quote) == payment.quote - done.fee  # refunded once
