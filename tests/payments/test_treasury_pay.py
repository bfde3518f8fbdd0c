"""Paying a node over x402 from an agent treasury (`ask_node_from_treasury`), on both chains:
the node's facilitator (the official SDK) verifies the payment through the token's ERC-1271
check and settles it; a quote outside the treasury's limits is refused before anything is
sent; a pause between the node's verification and its settlement makes the settlement fail
and the node withhold the answer (`tantieme.agents.treasury`, `contracts/SPEC.md` "AgentTreasury")."""

from __future__ import annotations

import pytest

from tantieme.agents import identity, treasury
from tantieme.agents.reputation import give_feedback
from tantieme.chain.accounts import dev_account
from tantieme.chain.deploy import contract
from tantieme.errors import PaymentError, TreasuryError
from tantieme.ledger import settlement
from tantieme.ledger.bundle import export
from tantieme.payments.client import ask_node_from_treasury

from .conftest import ASKER, QUESTION, chat_body, quote

AGENT = dev_account(7)
FUNDS = 2 * 10**18


@pytest.fixture
def funded(paid_node):
    """The node's treasury, funded by the node's account, the agent key dev account 7, the
    node's operator allowed, 1 TAI a day and 0.5 a payment."""
    address, deployed = treasury.fund(paid_node, FUNDS)
    assert deployed and treasury.load(paid_node) == address
    treasury.set_limits(paid_node, daily=10**18, per_payment=10**18 // 2, allow=[paid_node.address], agent=AGENT.address)
    return address


def _payer(paid_node):
    return treasury.TreasuryPayer(paid_node.as_account(AGENT))


def _approvals(paid_node) -> int:
    return len(treasury.report(paid_node)["payments"])


def test_treasury_pays__node_verifies_through_erc1271_and_settles(paid_node, url, delivered, funded):
    payer = _payer(paid_node)
    answer = ask_node_from_treasury(url, QUESTION, payer, max_tokens=32)
    delivered.get(timeout=60)  # the refund of quote − fee
    assert answer.payer == funded and answer.text == "Four hives."
    fee, charged = answer.fee, quote(chat_body(max_tokens=32))
    assert paid_node.balance(funded) == FUNDS - fee  # quote out, quote − fee refunded to the treasury
    report = treasury.report(paid_node)
    assert report["spent_today"] == str(fee)  # the quote approved, less the refund the node sent through the treasury
    (payment,) = report["payments"]
    assert (payment["payee"], payment["amount"], payment["refunded"], payment["status"]) == (
        paid_node.address, str(charged), str(charged - fee), "collected",
    )
    assert len(payer.approved) == 1


REFUSALS = {  # what the owner changes, and what the agent is told
    "cap": (lambda node, charged: {"per_payment": charged - 1}, "above the treasury's per-payment cap of"),
    "payee": (lambda node, charged: {"disallow": [node.address]}, "is not on the treasury's allow-list"),
    "daily": (lambda node, charged: {"daily": charged - 1}, "of the treasury's daily limit is left today"),
    "paused": (lambda node, charged: {"paused": True}, "the treasury is paused"),
    "agent": (lambda node, charged: {"agent": dev_account(8).address}, f"{AGENT.address} is not the treasury's agent key"),
}


def test_treasury_pays__outside_the_limits__refused_before_anything_is_sent(paid_node, url, funded):
    charged = quote(chat_body(max_tokens=32))
    limits = {"daily": 10**18, "per_payment": 10**18 // 2, "allow": [paid_node.address], "paused": False, "agent": AGENT.address}
    for name, (change, expected) in [*REFUSALS.items(), ("balance", (lambda *_: {}, "the treasury holds"))]:
        treasury.set_limits(paid_node, **limits)
        treasury.set_limits(paid_node, **change(paid_node, charged))
        if name == "balance":
            treasury.withdraw(paid_node, FUNDS - charged + 1)
        held, nonce = paid_node.balance(funded), paid_node.conn.w3.eth.get_transaction_count(AGENT.address)
        with pytest.raises(TreasuryError) as refused:
            ask_node_from_treasury(url, QUESTION, _payer(paid_node), max_tokens=32)
        assert expected in str(refused.value) and "not paid" in str(refused.value), name
        assert paid_node.conn.w3.eth.get_transaction_count(AGENT.address) == nonce  # the agent sent nothing
        assert paid_node.balance(funded) == held and _approvals(paid_node) == 0
    assert settlement.journal().records() == []


def test_treasury_paused_mid_request__settlement_refused_answer_withheld(paid_node, gate, url, delivered, funded, monkeypatch):
    """The owner pauses after the node verified the payment, before it settles (x402 settles
    before the answer is sent): the token asks the treasury, which says no; the node withholds
    the answer, voids its record, keeps its money and goes on serving; the client releases
    the approval it signed, so the day's allowance comes back at once."""
    settle = gate.settle

    def paused_first(payment, done):
        treasury.set_limits(paid_node, paused=True)
        return settle(payment, done)

    monkeypatch.setattr(gate, "settle", paused_first)
    operator = paid_node.balance(paid_node.address)
    with pytest.raises(PaymentError, match="the node refused the payment from the treasury: .*; the payment signed for it was canceled on chain"):
        ask_node_from_treasury(url, QUESTION, _payer(paid_node), max_tokens=32)
    assert paid_node.balance(funded) == FUNDS and paid_node.balance(paid_node.address) == operator
    (payment,) = treasury.report(paid_node)["payments"]
    assert payment["status"] == "released" and treasury.report(paid_node)["spent_today"] == "0"
    assert treasury.release_expired(paid_node) == []
    monkeypatch.setattr(gate, "settle", settle)
    treasury.set_limits(paid_node, paused=False)
    answer = ask_node_from_treasury(url, QUESTION, _payer(paid_node), max_tokens=32)  # the node still serves
    delivered.get(timeout=60)
    assert answer.text == "Four hives." and paid_node.balance(funded) == FUNDS - answer.fee


@pytest.mark.parametrize("then", ["paused", "collected"])
def test_treasury_payment__node_verifies_through_the_token__dead_or_replayed_refused(paid_node, url, delivered, funded, then):
    """The node's verification asks the treasury (ERC-1271) and simulates the transfer: an
    authorization the treasury approved but then paused, or one collected already, is refused
    before the question is answered, and nothing is charged or recorded."""
    from x402 import x402ClientSync
    from x402.mechanisms.evm.exact import register_exact_evm_client

    from .conftest import pay, payment_required

    client = register_exact_evm_client(x402ClientSync(), _payer(paid_node))
    client.set_spend_controls({"allowed_assets": [{"network": f"eip155:{paid_node.conn.chain_id}", "asset": paid_node.deployment.token}]})
    payload = client.create_payment_payload(payment_required(url, chat_body()))  # approved on chain, signed
    if then == "paused":
        treasury.set_limits(paid_node, paused=True)
    else:
        assert pay(url, chat_body(), payload).status_code == 200
        delivered.get(timeout=60)
    held, records = paid_node.balance(funded), len(settlement.journal().records())
    refused = pay(url, chat_body(), payload)
    assert refused.status_code == 402
    assert refused.json()["reason"] == {
        "paused": "invalid_exact_evm_payload_signature", "collected": "invalid_exact_evm_nonce_already_used",
    }[then]
    assert paid_node.balance(funded) == held and len(settlement.journal().records()) == records


def test_refund_call__only_to_a_payer_that_says_it_takes_refunds(paid_node, funded):
    """The node refunds through `refundPayment` only a payer contract answering ERC-165 for it
    (the treasury); an account, or a contract that does not answer (the AI token), is refunded
    by a plain transfer."""
    from tantieme.payments.per_request import refund_call

    authorization = {"to": paid_node.address, "value": "10", "validAfter": "0", "validBefore": "1", "nonce": "0x" + "11" * 32}
    assert refund_call(paid_node, {**authorization, "from": ASKER.address}, 1) is None
    assert refund_call(paid_node, {**authorization, "from": paid_node.deployment.token}, 1) is None
    call = refund_call(paid_node, {**authorization, "from": funded}, 1)
    assert call.address == funded and call.fn_name == "refundPayment"


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_treasury_paid_answer__rated_as_the_treasury_by_its_agent_key_only(paid_node, url, delivered, funded):
    """The agent key rates the treasury's answer as the treasury (`tantieme agent feedback`),
    once; a key the owner replaced cannot rate its next answer, the new one can."""
    agent_id = identity.register(paid_node, url=url)[0].agent_id
    answers = [ask_node_from_treasury(url, QUESTION, _payer(paid_node), max_tokens=32) for _ in range(2)]
    for _ in answers:
        delivered.get(timeout=60)
    settlement.settle(paid_node, {paid_node.address: paid_node.account})
    first, second = (export(paid_node, settlement.journal(), a.record) for a in answers)
    done = give_feedback(paid_node.as_account(AGENT), first, "90")
    assert (done.agent_id, done.client, done.value, done.index) == (agent_id, funded, 90, 1)
    reputation = contract(paid_node.conn, "agent_reputation", paid_node.deployment.reputation).functions
    assert reputation.readFeedback(agent_id, funded, 1).call() == [90, 0, "", "", False]
    with pytest.raises(PaymentError, match="rated already: one feedback per paid answer"):
        give_feedback(paid_node.as_account(AGENT), first, "10")

    treasury.set_limits(paid_node, agent=dev_account(8).address)
    with pytest.raises(PaymentError, match=f"{AGENT.address} is not the agent key of the treasury {funded} that paid"):
        give_feedback(paid_node.as_account(AGENT), second, "10")
    paid_node.faucet(dev_account(8).address)
    assert give_feedback(paid_node.as_account(dev_account(8)), second, "70").client == funded
    assert reputation.getSummary(agent_id, [funded], "", "").call() == [2, 80, 0]
