"""x402 pay per request on the embedded chain: the 402 quote, the payment's overhead, its gas.

What a paid request adds to an answer, through the same code `tantieme serve` runs
(`tantieme.payments.per_request`, the official SDK's resource server and its
facilitator in process) and the official client, on a fresh embedded chain,
excluding inference and HTTP: the 402 an unpaid request gets (the SDK builds the
requirements of the quote), the client signing its EIP-3009 authorization, the
verification before the work (signature, balance, a simulated transfer), the
settlement after it and before the answer is sent (`transferWithAuthorization`
from the payer to the operator: on the request's path), then the refund of quote
− fee (after the answer is sent). The record itself is journaled as any answer's,
with its payment (not timed). Gas from the receipts, beside x402's measured 61–90k
per payment.

Targets (issue 8): 402 quote p50 <= 20 ms; payment overhead p50 <= 150 ms.

    .venv/bin/python bench/payments.py [--requests 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

TARGET_QUOTE_S = 0.020
TARGET_OVERHEAD_S = 0.150
X402_GAS = (61_000, 90_000)
QUOTE = 3 * 10**17
FEE = 10**17


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered), "p95": ordered[round(0.95 * (len(ordered) - 1))], "n": len(ordered)}


def request(payload=None):
    """A Starlette request to the paid route, with `payload` in its PAYMENT-SIGNATURE header."""
    from starlette.requests import Request
    from x402.http import encode_payment_signature_header

    headers = [(b"payment-signature", encode_payment_signature_header(payload).encode())] if payload else []
    return Request({
        "type": "http", "method": "POST", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
        "query_string": b"", "scheme": "http", "server": ("127.0.0.1", 8402), "headers": headers,
    })


def run(requests: int) -> dict:
    os.environ["TANTIEME_HOME"] = tempfile.mkdtemp(prefix="tantieme-bench-")
    from types import SimpleNamespace

    from x402 import x402ClientSync
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact import register_exact_evm_client

    from tantieme import node as node_mod
    from tantieme.assets import registry
    from tantieme.assets.terms import preset
    from tantieme.chain.accounts import dev_account
    from tantieme.ledger import settlement
    from tantieme.node import Node
    from tantieme.payments.per_request import PaymentRefused, PayPerRequest

    node_mod.init("embedded")
    node = Node.open()
    book = settlement.journal()
    asker = dev_account(6)
    node.faucet(asker.address)
    model = registry.register_hash(node, os.urandom(32), kind="model", terms=preset("open"), title="m",
                                   media_type="application/octet-stream").id
    gate = PayPerRequest(node)
    client = register_exact_evm_client(x402ClientSync(), EthAccountSigner(asker))
    client.set_spend_controls({"allowed_assets": [{"network": gate.network, "asset": gate.asset}]})

    quotes, signing, verifying, settling, refunding, gas_settle, gas_refund = [], [], [], [], [], [], []
    before = node.balance(asker.address)
    for i in range(requests + 1):  # the first one warms the caches, untimed
        t0 = time.perf_counter()
        try:
            gate.verify(request(), QUOTE)
        except PaymentRefused as refused:
            required = refused.headers["PAYMENT-REQUIRED"]
        t1 = time.perf_counter()
        from x402.http import decode_payment_required_header

        payload = client.create_payment_payload(decode_payment_required_header(required))
        t2 = time.perf_counter()
        payment = gate.verify(request(payload), QUOTE)
        t3 = time.perf_counter()
        row = settlement.record(
            node, node.account, model=model, question=f"q{i}", answer=f"a{i}", sources=[], weights=[],
            prompt_tokens=600, completion_tokens=40, fee=FEE, details={}, book=book, nonce=payment.record_nonce,
            payment=gate.entry(payment, FEE),
        )
        done = SimpleNamespace(fee=FEE, record=row)
        t4 = time.perf_counter()
        settled = gate.settle(payment, done)
        t5 = time.perf_counter()
        refund_tx = gate.refund(payment, done)
        t6 = time.perf_counter()
        if i:
            quotes.append(t1 - t0)
            signing.append(t2 - t1)
            verifying.append(t3 - t2)
            settling.append(t5 - t4)
            refunding.append(t6 - t5)
            receipt = node.conn.w3.eth.get_transaction_receipt
            gas_settle.append(receipt(settled.transaction)["gasUsed"])
            gas_refund.append(receipt(refund_tx)["gasUsed"])
    assert node.balance(asker.address) == before - (requests + 1) * FEE, "the payer paid other than the fees"
    overhead = [v + s + r for v, s, r in zip(verifying, settling, refunding)]
    on_path = [v + s for v, s in zip(verifying, settling)]
    return {
        "requests": requests,
        "quote_402_s": percentiles(quotes),
        "client_signing_s": percentiles(signing),
        "verify_s": percentiles(verifying),
        "settle_s": percentiles(settling),
        "refund_s": percentiles(refunding),
        "payment_overhead_s": percentiles(overhead),
        "before_the_answer_s": percentiles(on_path),
        "gas_transfer_with_authorization": int(statistics.median(gas_settle)),
        "gas_refund": int(statistics.median(gas_refund)),
        "gas_per_paid_request": int(statistics.median(s + r for s, r in zip(gas_settle, gas_refund))),
        "x402_measured_gas": list(X402_GAS),
        "targets": {"quote_402_p50_s": TARGET_QUOTE_S, "payment_overhead_p50_s": TARGET_OVERHEAD_S},
        "load_average_1m": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="paid requests timed")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    r = run(args.requests)
    if args.json:
        json.dump(r, sys.stdout, indent=2)
        print()
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"x402 pay per request on the embedded chain ({r['requests']} requests, no inference, no HTTP)")
    for column in ("measure", "p50", "p95", "target"):
        table.add_column(column, justify="left" if column == "measure" else "right")

    def ms(key: str, label: str, target: str = "") -> None:
        table.add_row(label, f"{r[key]['p50'] * 1000:.1f} ms", f"{r[key]['p95'] * 1000:.1f} ms", target)

    ms("quote_402_s", "402 with the quote (the SDK's requirements)", "p50 ≤ 20 ms")
    ms("client_signing_s", "client: sign the EIP-3009 authorization")
    ms("verify_s", "verify before the work (signature, balance, simulated transfer)")
    ms("settle_s", "before the answer is sent: transferWithAuthorization")
    ms("before_the_answer_s", "on the request's path (verify + settle)")
    ms("refund_s", "after the answer is sent: refund of quote − fee")
    ms("payment_overhead_s", "payment overhead per request (verify + settle + refund)", "p50 ≤ 150 ms")
    console = Console(width=140)
    console.print(table)
    gas = Table(title="gas per paid request (receipts)")
    for column in ("transaction", "gas", "x402 measured"):
        gas.add_column(column, justify="left" if column == "transaction" else "right")
    gas.add_row("transferWithAuthorization (payer → operator, the quote)", f"{r['gas_transfer_with_authorization']:,}", "61,000–90,000")
    gas.add_row("refund (operator → payer, quote − fee)", f"{r['gas_refund']:,}", "")
    gas.add_row("per paid request", f"{r['gas_per_paid_request']:,}", "")
    console.print(gas)
    console.print(f"1-minute load average at the end: {r['load_average_1m']:.2f} (2 cores)")


if __name__ == "__main__":
    main()
