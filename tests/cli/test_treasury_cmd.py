"""`tantieme agent fund|limits|spend|withdraw` as a user sees them (embedded chain): the
treasury deployed on first funding, limits and payees set (an agent id resolved to its
wallet), the report; every refusal one line that says what to do, sending nothing."""

from __future__ import annotations

import pytest

from tantieme.agents import treasury
from tantieme.chain.accounts import dev_account
from tantieme.errors import TreasuryError
from tantieme.node import Node

from .conftest import run, run_json

ONE = 10**18
PAYEE = dev_account(6).address
AGENT = dev_account(7)


@pytest.fixture
def initialised(init_embedded):
    init_embedded()
    return run_json("init")


def refused(*args: str, kind: str = "TreasuryError") -> str:
    assert run_json(*args, ok=False)["kind"] == kind
    return " ".join(run(*args, ok=False).output.split())


def test_agent_treasury__fund_limits_report_withdraw(initialised, json_rules):
    me = initialised["address"]
    assert "has no agent treasury on chain" in refused("agent", "spend", "--report", kind="ConfigError")
    funded = run_json("agent", "fund", "3")
    json_rules(funded)
    assert funded["deployed"] and funded["balance"] == str(3 * ONE)
    again = run_json("agent", "fund", "1.5")
    assert not again["deployed"] and again["treasury"] == funded["treasury"] and again["balance"] == str(45 * ONE // 10)

    shown = run_json("agent", "limits")  # nothing given: shows, sends nothing
    assert (shown["owner"], shown["agent"], shown["daily_limit"], shown["payees"], shown["txs"]) == (me, me, "0", [], [])
    set_ = run_json("agent", "limits", "--daily", "1", "--per-payment", "0.25", "--allow", PAYEE, "--agent", AGENT.address)
    json_rules(set_)
    assert (set_["daily_limit"], set_["per_payment_cap"], set_["payees"], set_["agent"]) == (str(ONE), str(ONE // 4), [PAYEE], AGENT.address)
    assert len(set_["txs"]) == 3
    assert run_json("agent", "limits", "--daily", "1", "--allow", PAYEE)["txs"] == []  # already so
    assert "nothing changed" in run("agent", "limits").output

    with Node.open() as node:  # the agent approves a payment, which the report lists
        agent = node.as_account(AGENT)
        until = node.conn.w3.eth.get_block("latest")["timestamp"] + 600
        agent.conn.transact(treasury.treasury(agent).functions.approvePayment(PAYEE, ONE // 5, 0, until, b"\x01" * 32), gas=200_000)
    report = run_json("agent", "spend", "--report")
    json_rules(report)
    assert (report["spent_today"], report["left_today"], report["balance"]) == (str(ONE // 5), str(4 * ONE // 5), str(45 * ONE // 10))
    (payment,) = report["payments"]
    assert (payment["payee"], payment["amount"], payment["status"]) == (PAYEE, str(ONE // 5), "pending")
    out = " ".join(run("agent", "spend", "--report").output.split())
    assert "spent today 0.2 of 1 TAI, 0.8 TAI left until" in out and f"0.2 TAI to {PAYEE} · pending" in out

    paused = run_json("agent", "limits", "--pause")
    assert paused["paused"] and run_json("agent", "spend", "--report")["payments"][0]["status"] == "dead"
    assert run_json("agent", "spend", "--release")["released"][0]["status"] == "released"
    assert run_json("agent", "spend", "--report")["spent_today"] == "0"

    before = int(run_json("balance")["balance"])
    withdrawn = run_json("agent", "withdraw", "0.5")  # paused or not
    assert (withdrawn["withdrawn"], withdrawn["to"]) == (str(ONE // 2), me)
    assert int(run_json("balance")["balance"]) > before  # the faucet account's gas is not in TAI
    assert run_json("agent", "spend", "--report")["balance"] == str(4 * ONE)


def test_agent_spend_report__shows_what_a_payee_refunded(initialised):
    """A payment collected, then part of it refunded through the treasury's `refundPayment`:
    the report's text says so beside the payment, as its JSON does."""
    from eth_account import Account

    from tantieme.payments.per_request import refund_call

    run_json("agent", "fund", "1")
    run_json("agent", "limits", "--daily", "1", "--per-payment", "0.5", "--allow", PAYEE, "--agent", AGENT.address)
    nonce, amount = b"\x02" * 32, ONE // 5
    with Node.open() as node:
        address, agent, payee = treasury.load(node), node.as_account(AGENT), node.as_account(dev_account(6))
        until = node.conn.w3.eth.get_block("latest")["timestamp"] + 600
        approve = treasury.treasury(agent).functions.approvePayment(PAYEE, amount, 0, until, nonce)
        signed = Account.unsafe_sign_hash(approve.call({"from": AGENT.address}), AGENT.key)
        agent.conn.transact(approve, gas=200_000)
        r, s = (n.to_bytes(32, "big") for n in (signed.r, signed.s))
        payee.conn.transact(payee.token.functions.transferWithAuthorization(
            address, PAYEE, amount, 0, until, nonce, signed.v, r, s), gas=200_000)
        authorization = {"from": address, "to": PAYEE, "value": str(amount), "validAfter": "0",
                         "validBefore": str(until), "nonce": "0x" + nonce.hex()}
        payee.conn.transact(refund_call(payee, authorization, ONE // 20), gas=300_000)
    report = run_json("agent", "spend", "--report")
    (payment,) = report["payments"]
    assert (payment["status"], payment["refunded"], report["spent_today"]) == ("collected", str(ONE // 20), str(3 * ONE // 20))
    out = " ".join(run("agent", "spend", "--report").output.split())
    assert f"0.2 TAI to {PAYEE} · collected · refunded 0.05 TAI · 0x" in out


def test_agent_treasury__refusals_send_nothing(initialised):
    assert run_json("agent", "fund", "0", ok=False)["kind"] == "InputError"
    run_json("agent", "fund", "1")
    assert "is neither an address (0x…) nor an agent id" in refused("agent", "limits", "--allow", "bob", kind="InputError")
    assert "there is no agent #9" in refused("agent", "limits", "--allow", "9", kind="InputError")
    assert "the agent key 'x' is not an address" in refused("agent", "limits", "--agent", "x", kind="InputError")
    assert "not enough AI tokens: nothing was sent" in refused("agent", "withdraw", "2")
    assert "choose --report or --release" in run("agent", "spend", ok=False).output
    assert "--from-treasury pays a remote node" in run("ask", "hello", "--from-treasury", ok=False).output
    with Node.open() as node, pytest.raises(TreasuryError, match="only the treasury's owner"):
        treasury.set_limits(node.as_account(AGENT), daily=5 * ONE)  # someone else than the owner
    assert run_json("agent", "spend", "--report")["daily_limit"] == "0"


def test_agent_treasury__allow_an_agent_by_id__its_wallet(initialised):
    run_json("agent", "register", "--name", "Roof bees node")
    run_json("agent", "fund", "1")
    allowed = run_json("agent", "limits", "--allow", "1")
    assert allowed["payees"] == [initialised["address"]]  # agent #1 is paid at its owner's address
