"""Event scans in bounded block ranges (`tantieme.chain.logs`): behind an RPC node that caps
`eth_getLogs` at a few blocks, as public nodes cap it (at thousands), `agent show`, the agents
paid at a wallet, `dao proposals`, `report` and a bundle's settlement find events older than the
cap, and never ask a range above it."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tantieme.agents import identity
from tantieme.chain.logs import ENV_LOG_RANGE, log_range
from tantieme.errors import ConfigError
from tantieme.ledger import settlement
from tantieme.ledger.bundle import settlement_tx
from tantieme.node import Node

from cli.conftest import run, run_json  # tests/cli/conftest.py

CAP = 8  # blocks one eth_getLogs may span here


class CappedRpc:
    """A JSON-RPC proxy in front of `upstream` that refuses `eth_getLogs` over more than `CAP`
    blocks, as public nodes do; it keeps the ranges it was asked for."""

    def __init__(self, upstream: str) -> None:
        self.upstream, self.ranges = upstream, []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = proxy.refusal(request) or proxy.forward(request)
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def forward(self, request: dict) -> dict:
        sent = urllib.request.Request(self.upstream, data=json.dumps(request).encode(),
                                      headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(sent, timeout=30) as response:
            return json.loads(response.read())

    def block(self, tag: str | None) -> int:
        if tag in (None, "latest", "pending", "safe", "finalized"):
            return int(self.forward({"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []})["result"], 16)
        return 0 if tag == "earliest" else int(tag, 16)

    def refusal(self, request: dict) -> dict | None:
        if request.get("method") != "eth_getLogs":
            return None
        query = request["params"][0]
        first, last = self.block(query.get("fromBlock")), self.block(query.get("toBlock"))
        self.ranges.append((first, last))
        if last - first + 1 <= CAP:
            return None
        return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32005, "message": f"query exceeds max block range {CAP}"}}


@pytest.fixture
def capped(anvil, monkeypatch) -> Iterator[CappedRpc]:
    rpc = CappedRpc(anvil)
    thread = threading.Thread(target=rpc.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(ENV_LOG_RANGE, str(CAP))
    yield rpc
    rpc.server.shutdown()
    rpc.server.server_close()


def test_scans__behind_a_capped_rpc__find_old_events_in_ranges(capped, make_answer, payer):
    run_json("init", "--chain", "rpc", "--rpc-url", capped.url)
    agent = run_json("agent", "register", "--url", "http://127.0.0.1:8402")["agent_id"]
    with Node.open() as node:
        registry = identity.identity_registry(node)
        node.conn.transact(registry.functions.setMetadata(agent, "model", b"\x07"), gas=200_000)
        row = make_answer(node)
        (batch,) = settlement.settle(node, {payer.address: payer})
    run("dao", "stake", "10")
    run("dao", "handover")
    run("dao", "propose", "set-split", "--commons-bps", "800", "--operator-bps", "1000", "-d", "Raise the tax")
    with Node.open() as node:
        node.conn.w3.provider.make_request("anvil_mine", [hex(3 * CAP)])  # the events fall behind the cap
        start, head = node.deployment.block, node.conn.w3.eth.block_number
        assert head - start > 3 * CAP
        capped.ranges.clear()

        operator = node.address
        assert identity.agents_paid_at(node, operator) == [agent]
        assert settlement_tx(node.conn, node.deployment.ledger, batch.chain_batch_id, start) == batch.tx
    shown = run_json("agent", "show", str(agent))
    assert (shown["wallet"], shown["metadata"]) == (operator, {"model": "0x07"})
    assert [p["description"] for p in run_json("dao", "proposals")] == ["Raise the tax"]
    reported = run_json("report")
    assert [(b["settled"], b["records"], b["total"], b["tx_hash"]) for b in reported["batches"]] == [
        (True, 1, str(row.signed.record.fee), batch.tx)]

    assert capped.ranges and max(last - first + 1 for first, last in capped.ranges) <= CAP
    scanned = {first for first, _ in capped.ranges}
    assert {start, start + CAP, start + 2 * CAP} <= scanned  # each scan walked from the deployment's block


def test_log_range__from_the_environment__a_clear_error_when_wrong(monkeypatch):
    monkeypatch.delenv(ENV_LOG_RANGE, raising=False)
    assert log_range() == 10_000
    monkeypatch.setenv(ENV_LOG_RANGE, "500")
    assert log_range() == 500
    for wrong in ("0", "-3", "ten"):
        monkeypatch.setenv(ENV_LOG_RANGE, wrong)
        with pytest.raises(ConfigError, match=f"TANTIEME_LOG_RANGE='{wrong}' is not a number of blocks: give 1 or more"):
            log_range()
