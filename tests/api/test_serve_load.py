"""`tantieme serve` under load, small: the load run of `bench/serve.py --load` (bench/load.py)
on a real process, the real model and the embedded chain, paid per request over x402 and
from deposits, with its checks from the chain and the journal."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sys
from pathlib import Path

import pytest

from tantieme.ledger.settlement import journal
from tantieme.node import Node

from .served import serving
from .test_serve_e2e import QUESTION, embedded_home  # noqa: F401  (a node with the bees work)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import load  # noqa: E402  (bench/load.py)

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def _serve(home: Path, *args: str):
    with serving(home, *args, "--queue", "1") as (url, _process):  # a short queue: some questions wait
        yield url


@pytest.mark.parametrize("mode", ["x402", "deposit"])
def test_serve_under_load__none_lost_none_charged_twice_conserved(embedded_home, mode):  # noqa: F811
    run, before, checks = load.measure(
        load.MODES[mode], functools.partial(_serve, embedded_home), [QUESTION],
        clients=3, requests=12, max_tokens=4, max_seconds=600, settle_every=1,  # settling beside the deliveries
    )
    ran = load.summary(run)
    assert ran["answered"] == 12 and ran["errors"] == 0 and not ran["timed_out"], ran
    assert ran["retries_503"] > 0  # three clients, room for two questions: some were turned away and retried
    assert [c.name for c in checks if not c.ok] == [], [c for c in checks if not c.ok]
    assert {c.name for c in checks} >= {
        "0 lost records", "no record without an answer",
        "every record in a settled batch", "each batch's split adds up to its total",
        "0 double charges: each payer paid exactly its fees", "conservation to the wei",
    } | ({"0 authorizations settled twice"} if mode == "x402" else set())

    # The checks see what goes wrong: an answer the journal holds twice or never delivered,
    # and a payer charged one wei more than its fees.
    failing = {
        "0 lost records": dataclasses.replace(run, answered=run.answered + run.answered[:1]),
        "no record without an answer": dataclasses.replace(run, answered=run.answered[1:]),
    }
    book = journal()
    try:
        with Node.open(readonly=True) as node:
            for name, tampered in failing.items():
                assert _failed(load.check(node, book, before, tampered, mode)) == {name}
        payer = load.client_account(0)
        with Node.open() as node:
            node.conn.transact({"to": payer.address, "value": 10**16}, gas=21_000)  # gas money
        with Node.open(account=payer) as node:
            node.conn.transact(node.token.functions.transfer(node.settings.address, 1), gas=100_000)
        with Node.open(readonly=True) as node:
            assert _failed(load.check(node, book, before, run, mode)) == {"0 double charges: each payer paid exactly its fees"}
    finally:
        book.close()


def _failed(checks) -> set[str]:
    return {c.name for c in checks if not c.ok}
