"""Deposit mode: signed records per second the node accepts, and gas per interaction settled.

On a fresh embedded chain, through the code a node runs for a deposit-mode
payer (minus inference): the payer deposits once; the node journals an
invoice per answer, the payer checks the terms against the chain and signs
each record and the updated voucher, and the node checks both and journals
them (`Desk.accept`, timed back to back as "accepted records/s": check +
journal, the node's cache of the chain warm as in a busy node; also per second
of the process's CPU time, which leaves out the time other processes held the
shared cores). Then the node
settles the latest voucher, one transaction from the deposit. Anchors: ≥ 1,000
accepted records/s (issue 8), and x402's 61,000–90,000 gas per payment (one
token transfer per answer).

The payer keeps the records it signed (deposit protocol 2): the terms it is sent carry the
open batch's count and root, not its records. "Payer round" is its whole round for an
answer as `DepositClient` does it (`deposit.pay_kept`: the terms to JSON and back, its kept
records read from its journal, the checks against the chain, the signatures, the new record
kept), p50 over the batch and over its last answers; "terms" their size then. "Recovery" is
that round once at the batch's end for a payer that lost its records: the node's whole list
(`records=all`) sent, checked and kept.

    python bench/deposit.py [--json] [--sizes 1,100,1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

TARGET_RECORDS_PER_S = 1_000
X402_GAS = (61_000, 90_000)
FEE = 10**15
ROUNDS = 5  # the batch's last answers timed as whole rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--sizes", default="1,100,1000", help="records per settled batch, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ["TANTIEME_HOME"] = tempfile.mkdtemp(prefix="tantieme-bench-")

    from tantieme import node as node_mod
    from tantieme.chain.accounts import dev_account
    from tantieme.ledger.journal import Journal, journal
    from tantieme.node import Node
    from tantieme.payments import deposit

    node_mod.init("embedded")
    payer_account = dev_account(5)
    rows = []
    with Node.open() as node:
        node.faucet(payer_account.address)
        payer = node.as_account(payer_account)
        deposit.deposit(payer, FEE * (sum(sizes) + 10), node.address)
        desk = deposit.Desk(node, journal())
        kept = Journal(Path(os.environ["TANTIEME_HOME"]) / "payer.db")  # the payer's own journal
        for size in sizes:
            # The node invoices `size` answers; the payer signs each record and the voucher of
            # the records it kept and this one, as the node's terms (count and root) say; then
            # the node accepts them all, one after another: what a busy node does.
            invoices = [
                desk.invoice(
                    payer_account.address, model=1, question=f"q{size}-{i}", answer=f"a{size}-{i}",
                    sources=[2 + i % 7, 9 + i % 5, 14], weights=[0.5, 0.25, 0.125], prompt_tokens=300,
                    completion_tokens=60, fee=FEE, details={},
                )
                for i in range(size)
            ]
            terms = desk.terms(payer_account.address)
            payments, round_s, wire = [], [], 0
            for i, record in enumerate(invoices):
                sent = json.dumps(dataclasses.replace(terms, invoices=(record,)).to_dict())

                def fetch(*, records: bool, sent: str = sent) -> deposit.Terms:
                    assert not records, "the payer kept every record it signed"
                    return deposit.Terms.from_dict(json.loads(sent))

                started = time.perf_counter()
                payment = deposit.pay_kept(payer, payer_account, kept, fetch, record, question=f"q{size}-{i}",
                                           answer=f"a{size}-{i}", max_fee=FEE)
                round_s.append(time.perf_counter() - started)
                wire = len(sent)
                payments.append(payment)
                terms = dataclasses.replace(terms, count=i + 1, root=payment.voucher.batch.root)
            accept_s, accept_cpu_s = [], []
            for payment in payments:
                started, cpu = time.perf_counter(), time.process_time()
                desk.accept(payment)
                accept_s.append(time.perf_counter() - started)
                accept_cpu_s.append(time.process_time() - cpu)
            recovery_s, recovery_wire = _recovery(desk, payer, payer_account, size)
            (settled,) = desk.settle()
            assert settled.records == size
            rows.append({
                "records": size,
                "accepted_per_s": round(len(accept_s) / sum(accept_s)),
                "accepted_per_cpu_s": round(len(accept_cpu_s) / sum(accept_cpu_s)),
                "accept_p50_ms": round(statistics.median(accept_s) * 1000, 2),
                "payer_round_p50_ms": round(statistics.median(round_s) * 1000, 2),
                "payer_round_at_end_ms": round(statistics.median(round_s[-ROUNDS:]) * 1000, 2),
                "terms_at_end_kb": round(wire / 1000, 1),
                "recovery_ms": round(recovery_s * 1000, 1),
                "recovery_terms_kb": round(recovery_wire / 1000, 1),
                "settle_gas": settled.gas,
                "gas_per_interaction": settled.gas // size,
            })

    if args.json:
        json.dump({"rows": rows, "target_records_per_s": TARGET_RECORDS_PER_S, "x402_gas": X402_GAS,
                   "load_average_1m": os.getloadavg()[0]}, sys.stdout, indent=2)
        print()
        return
    table = Table(
        "records per batch", "accepted records/s", "per second of CPU", "accept p50 (ms)", "payer round p50 (ms)",
        "payer round at the batch's end p50 (ms)", "terms (kB)", "recovery at the end (ms)", "its terms (kB)",
        "settle gas", "gas per interaction",
        title=f"deposit mode (target ≥ {TARGET_RECORDS_PER_S:,} records/s; x402: {X402_GAS[0]:,}–{X402_GAS[1]:,} gas per payment)",
    )
    for r in rows:
        table.add_row(
            f"{r['records']:,}", f"{r['accepted_per_s']:,}", f"{r['accepted_per_cpu_s']:,}", str(r["accept_p50_ms"]),
            str(r["payer_round_p50_ms"]), str(r["payer_round_at_end_ms"]), f"{r['terms_at_end_kb']:,}",
            str(r["recovery_ms"]), f"{r['recovery_terms_kb']:,}", f"{r['settle_gas']:,}", f"{r['gas_per_interaction']:,}",
        )
    Console().print(table)
    Console().print(f"1-minute load average at the end: {os.getloadavg()[0]:.2f} (2 cores); records/s of CPU time "
                    "leave out the time other processes held the cores")


def _recovery(desk, payer, payer_account, size: int) -> tuple[float, int]:
    """A payer that lost its records pays one more answer at the batch's end: (seconds, bytes of
    the terms with the node's records)."""
    from tantieme.ledger.journal import Journal
    from tantieme.payments import deposit

    record = desk.invoice(
        payer_account.address, model=1, question=f"q{size}-last", answer=f"a{size}-last", sources=[2],
        weights=[0.5], prompt_tokens=300, completion_tokens=60, fee=FEE, details={},
    )
    sent: dict[bool, str] = {}

    def fetch(*, records: bool) -> deposit.Terms:
        sent[records] = json.dumps(desk.terms(payer_account.address, records=records).to_dict())
        return deposit.Terms.from_dict(json.loads(sent[records]))

    lost = Journal(Path(tempfile.mkdtemp(prefix="tantieme-bench-lost-")) / "payer.db")
    started = time.perf_counter()
    payment = deposit.pay_kept(payer, payer_account, lost, fetch, record, question=f"q{size}-last",
                               answer=f"a{size}-last", max_fee=FEE)
    took = time.perf_counter() - started
    assert payment.voucher.batch.count == size + 1
    desk.book.drop_invoices(["0x" + payment.record.digest.hex()])  # measured only: the batch settles as it was
    return took, len(sent[True])


if __name__ == "__main__":
    main()
