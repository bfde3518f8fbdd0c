"""`tantieme ask --node URL`: a remote node answers, paid from the local account over x402."""

from __future__ import annotations

import pytest

from tantieme.amounts import format_amount
from tantieme.chain.accounts import ENV_PRIVATE_KEY, dev_account
from tantieme.chain.anvil import free_port
from tantieme.ledger import settlement

from cli.conftest import run, run_json
from .conftest import ASKER, QUESTION, chat_body, quote


@pytest.fixture
def asker(monkeypatch) -> None:
    """The CLI pays as the asker (dev account 6), whatever this home's own account."""
    monkeypatch.setenv(ENV_PRIVATE_KEY, ASKER.key.to_0x_hex())


def test_ask_node__answer_paid_at_the_metered_fee(paid_node, url, delivered, asker, json_rules):
    before = paid_node.balance(ASKER.address)
    data = run_json("ask", "--node", url, QUESTION, "--max-tokens", "32", "--max-fee", "10")
    json_rules(data)
    fee = int(data["fee"])
    assert data["answer"]["text"] == "Four hives."
    assert data["quote"] == str(quote(chat_body(max_tokens=32)))
    assert data["record"] == settlement.journal().records()[0].digest
    assert data["payer"] == ASKER.address
    delivered.get(timeout=30)
    assert paid_node.balance(ASKER.address) == before - fee


def test_ask_node__shows_answer_fee_and_record(paid_node, url, delivered, asker):
    out = " ".join(run("ask", "--node", url, QUESTION, "--max-tokens", "32").output.split())
    delivered.get(timeout=30)
    (row,) = settlement.journal().records()
    assert "Four hives." in out and "#1 Bees" in out
    assert f"fee {format_amount(row.signed.record.fee)} TAI (quote {format_amount(quote(chat_body(max_tokens=32)))}" in out
    assert f"record {row.digest[:18]}…" in out


def test_ask_node__quote_above_cap__refused_before_paying(paid_node, url, asker):
    before = paid_node.balance(ASKER.address)
    data = run_json("ask", "--node", url, QUESTION, "--max-tokens", "32", "--max-fee", "0.001", ok=False)
    assert data["kind"] == "PaymentError"
    assert "above your cap --max-fee 0.001" in data["error"]
    assert paid_node.balance(ASKER.address) == before
    assert settlement.journal().records() == []


def test_ask_node__unreachable(paid_node, asker):
    port = free_port()
    data = run_json("ask", "--node", f"http://127.0.0.1:{port}", QUESTION, ok=False)
    assert data["kind"] == "RemoteNodeError"
    assert data["error"].startswith(f"cannot reach the node at http://127.0.0.1:{port}")


def test_ask_node__insufficient_balance_says_what_is_missing(paid_node, url, monkeypatch):
    poor = dev_account(7)
    needed = quote(chat_body(max_tokens=32))
    paid_node.faucet(poor.address, needed - 10**15)
    monkeypatch.setenv(ENV_PRIVATE_KEY, poor.key.to_0x_hex())
    data = run_json("ask", "--node", url, QUESTION, "--max-tokens", "32", ok=False)
    assert data["kind"] == "PaymentError"
    assert "is below the quote of" in data["error"]
    if paid_node.conn.backend == "rpc":  # this home reads the node's chain: the shortfall to the wei
        assert "0.001 TAI missing" in data["error"]
    assert paid_node.balance(poor.address) == needed - 10**15
    assert settlement.journal().records() == []


def test_ask_node__payment_refused(paid_node, url, asker, monkeypatch):
    import time

    import x402.mechanisms.evm.exact.client as exact_client

    an_hour_ago = time.time() - 3600
    monkeypatch.setattr(exact_client.time, "time", lambda: an_hour_ago)  # a payer's clock an hour late
    data = run_json("ask", "--node", url, QUESTION, ok=False)
    assert data == {
        "error": "the node refused the payment: the payment authorization has expired: sign a new one",
        "kind": "PaymentError",
    }


@pytest.mark.parametrize(("status", "retry_after", "seconds"), [(503, "7", 7.0), (429, "30", 30.0), (503, None, 1.0)])
def test_ask_node__busy_node__says_when_to_ask_again(status, retry_after, seconds):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from tantieme.errors import NodeBusyError
    from tantieme.payments.client import ask_node

    class Busy(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"error": {"message": "the node is busy", "code": "queue_full"}}'
            self.send_response(status)
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(NodeBusyError) as busy:
            ask_node(f"http://127.0.0.1:{server.server_port}", QUESTION, ASKER)
    finally:
        server.shutdown()
        server.server_close()
    assert (busy.value.status, busy.value.retry_after) == (status, seconds)
    assert f"nothing was charged: ask again in {seconds:g} s" in str(busy.value)


def test_ask_node__payee_changed_on_the_second_402__not_paid():
    """The payee checked on the first 402 is the only one the client pays: a node naming
    another on the 402 the official client answers gets no signature."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from x402.http import encode_payment_required_header
    from x402.schemas import PaymentRequired, PaymentRequirements, ResourceInfo

    from tantieme.errors import PaymentError
    from tantieme.payments.client import ask_node

    token, payees, signed = dev_account(1).address, [dev_account(2).address, dev_account(3).address], []

    class Switching(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("PAYMENT-SIGNATURE"):
                signed.append(self.headers["PAYMENT-SIGNATURE"])
            required = PaymentRequired(x402_version=2, resource=ResourceInfo(url="http://node/v1/chat/completions"), accepts=[
                PaymentRequirements(scheme="exact", network="eip155:31337", asset=token, amount="1000",
                                    pay_to=payees[min(self.server.asked, 1)], max_timeout_seconds=60,
                                    extra={"name": "tantieme AI", "version": "1"}),
            ])
            self.server.asked += 1
            self.send_response(402)
            self.send_header("PAYMENT-REQUIRED", encode_payment_required_header(required))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Switching)
    server.asked = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen = []
    try:
        with pytest.raises(PaymentError, match="the payment could not be made"):
            ask_node(f"http://127.0.0.1:{server.server_port}", QUESTION, ASKER, token=token, check=seen.append)
    finally:
        server.shutdown()
    assert [r.pay_to for r in seen] == [payees[0]] and server.asked == 2 and signed == []
