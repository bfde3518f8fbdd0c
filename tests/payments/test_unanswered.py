"""A node that takes no answer back after the payment was signed (x402 settles, then responds):
the client cancels the authorization on chain before giving up — EIP-3009 `cancelAuthorization`
for an account, `releasePayment` for an agent treasury — so the node can never collect it; a
node that collected it already charged the payer once, and the client says so (`ChargedError`)."""

from __future__ import annotations

import contextlib
import threading

import pytest

from tantieme.agents import treasury
from tantieme.api.app import running
from tantieme.errors import ChargedError, RemoteNodeError
from tantieme.ledger import settlement
from tantieme.payments.client import ask_node, ask_node_from_treasury, cancel_authorization
from tantieme.payments.per_request import PayPerRequest

from .conftest import ASKER, QUESTION, chat_body, make_app, quote
from .test_treasury_pay import AGENT, FUNDS, funded  # noqa: F401 (fixture)

SECONDS = 3.0


@pytest.fixture
def hanging(paid_node, delivered):
    """`serve(when)`: another app of the paid node whose settlement hangs `before` it settles or
    `after` it settled, until `release` is set (at the end of the test at the latest); `done`
    is set once it settled or failed to."""
    release, done = threading.Event(), threading.Event()
    servers = contextlib.ExitStack()

    def serve(when: str) -> str:
        gate = PayPerRequest(paid_node)
        settle = gate.settle

        def hangs(payment, answered):
            try:
                if when == "before":
                    release.wait(60)
                    return settle(payment, answered)
                settled = settle(payment, answered)
                release.wait(60)
                return settled
            finally:
                done.set()

        gate.settle = hangs
        return servers.enter_context(running(make_app(paid_node, gate, delivered)))

    serve.release, serve.done = release, done
    with servers:
        yield serve
        release.set()


def _asker(paid_node):
    return paid_node.as_account(ASKER)


def test_node_hangs_before_settling__authorization_canceled__nothing_charged(paid_node, hanging):
    url, before = hanging("before"), paid_node.balance(ASKER.address)
    with pytest.raises(RemoteNodeError) as err:
        ask_node(url, QUESTION, ASKER, max_tokens=32, timeout=SECONDS, cancel=lambda a: cancel_authorization(_asker(paid_node), a))
    said = str(err.value)
    assert said.startswith(f"the node at {url} did not answer within ")
    assert "; the payment signed for it was canceled on chain (transaction 0x" in said and said.endswith(": nothing was charged")
    hanging.release.set()  # the node wakes and tries to settle: the token refuses a canceled authorization
    assert hanging.done.wait(60) and paid_node.balance(ASKER.address) == before


def test_node_settles_then_hangs__charged_once__the_client_says_so(paid_node, hanging, delivered):
    url, before = hanging("after"), paid_node.balance(ASKER.address)
    charged = quote(chat_body(max_tokens=32))
    with pytest.raises(ChargedError) as err:
        ask_node(url, QUESTION, ASKER, max_tokens=32, timeout=SECONDS, cancel=lambda a: cancel_authorization(_asker(paid_node), a))
    said = str(err.value)
    assert f"; but the node collected the payment signed for it, {charged / 10**18:g} TAI" in said
    assert "you were charged without an answer, so no other node is asked" in said
    assert paid_node.balance(ASKER.address) == before - charged
    hanging.release.set()  # the node answers a closed connection and refunds quote − fee
    delivered.get(timeout=60)
    (record,) = settlement.journal().records()
    assert paid_node.balance(ASKER.address) == before - record.signed.record.fee


def test_without_cancel__the_error_says_the_node_may_still_charge(paid_node, hanging):
    url = hanging("before")
    with pytest.raises(RemoteNodeError, match=" s after the payment was signed: the node may still charge it$"):
        ask_node(url, QUESTION, ASKER, max_tokens=32, timeout=SECONDS)


def test_treasury__node_hangs_before_settling__approval_released(paid_node, hanging, funded):
    url = hanging("before")
    payer = treasury.TreasuryPayer(paid_node.as_account(AGENT))
    with pytest.raises(RemoteNodeError, match="; the payment signed for it was canceled on chain"):
        ask_node_from_treasury(url, QUESTION, payer, max_tokens=32, timeout=SECONDS)
    report = treasury.report(paid_node)
    (payment,) = report["payments"]
    assert payment["status"] == "released" and report["spent_today"] == "0"  # the day's room is back at once
    hanging.release.set()
    assert hanging.done.wait(60) and paid_node.balance(funded) == FUNDS


def test_treasury__node_settles_then_hangs__charged_once(paid_node, hanging, funded, delivered):
    url = hanging("after")
    charged = quote(chat_body(max_tokens=32))
    payer = treasury.TreasuryPayer(paid_node.as_account(AGENT))
    with pytest.raises(ChargedError, match="you were charged without an answer"):
        ask_node_from_treasury(url, QUESTION, payer, max_tokens=32, timeout=SECONDS)
    (payment,) = treasury.report(paid_node)["payments"]
    assert payment["status"] == "collected" and paid_node.balance(funded) == FUNDS - charged
