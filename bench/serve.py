"""`tantieme serve` on loopback: warm answers, `/v1/models` and the unpaid 402, timed by a client.

A home with the quickstart corpus (as `bench/e2e.py` sets it up: the sample works
registered by their creators, the local model with its training dataset) is served by a
real `tantieme serve` process on 127.0.0.1; a client asks the quickstart questions one
after another, `--rounds` times, after one warm-up question, and times each answer as
a client sees it (attribution by ablation, record, credential; no settlement inside:
the batch size is set high). Then it times `GET /v1/models`, and `POST
/v1/chat/completions` on a second server without a payment method (the 402 with the
quote). Bounded: at most `--rounds` × 3 answers and `--max-seconds` in all.

Then the same questions paid over x402 by a second account with the official client (the
server's default gate): each paid answer as the client sees it (402, signing, verified
before the queue), and once each is delivered, its settlement and refund on chain: the
gas from their receipts, and the payer down exactly the sum of the fees. What payment
adds per request inside the server, timed alone: `bench/payments.py`.

Targets (issue 8): warm answer p50 <= 1.5 s with attribution; 402 quote p50 <= 20 ms;
payment overhead p50 <= 150 ms on the embedded chain.

`--load` runs the service under load instead (`bench/load.py`): `--clients` clients at
once, each with its own funded account, share `--requests` paid questions in each mode
(`--mode x402`: the official x402 client per request; `--mode deposit`: deposit mode,
each client signing its records and vouchers; `--mode self`: `--self-pay`),
with short answers (`--max-tokens`, 8 by default, so a thousand answers fit in minutes
on 2 cores), bounded by `--max-seconds` per mode; 503 and 429 are retried after their
`Retry-After`; the server settles every `--settle-every` seconds (30) while it answers. It prints p50/p95 latency, throughput, the retries and the checks read
from the chain and the journal, and exits 1 if a check fails.

    .venv/bin/python bench/serve.py [--rounds 5] [--probes 50] [--json]
    .venv/bin/python bench/serve.py --load [--clients 50] [--requests 1000] [--max-tokens 8] [--mode x402 --mode deposit --mode self]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from api import served  # noqa: E402  (the tests' `tantieme serve` process)
from e2e import SETUP  # noqa: E402  (the same home as the cold-ask benchmark)


@contextmanager
def serving(env: dict, *args: str):
    """`tantieme serve ARGS` in the home of `env`, its log appended to `serve.log` beside that home:
    a context giving the URL."""
    home = Path(env["TANTIEME_HOME"])
    with served.serving(home, *args, log=home.parent / "serve.log") as (url, _process):
        yield url


def serve_in(env: dict):
    """`serving` in the home of `env`, as `load.measure` starts it: a context giving the URL."""
    return lambda *args: serving(env, *args)


def run_load(modes: list[str], clients: int, requests: int, max_tokens: int, max_seconds: float,
             settle_every: float, greedy: int = 1) -> dict:
    import load
    from tantieme.quickstart import Catalog

    questions = [q["question"] for q in Catalog.load().questions]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TANTIEME_HOME"] = str(Path(tmp) / "home")  # this process checks the same node
        env = dict(os.environ)
        subprocess.run([str(BIN / "python"), "-c", SETUP], env=env, check=True, capture_output=True)
        for name in modes:
            ran, _, checks = load.measure(load.MODES[name], serve_in(env), questions, clients=clients,
                                       requests=requests, max_tokens=max_tokens, max_seconds=max_seconds,
                                       settle_every=settle_every, greedy=greedy)
            results[name] = {**load.summary(ran, greedy), "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
                             "load_average_1m": os.getloadavg()[0]}
        log = (Path(tmp) / "serve.log").read_text().splitlines()
    return {"clients": clients, "requests": requests, "max_tokens": max_tokens, "settle_every": settle_every,
            "greedy": greedy, "modes": results,
            "server_log_lines": len(log), "server_log": log[:10]}


def show_load(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"{r['clients']} clients, {r['requests']} paid requests per mode, answers of at most "
                  f"{r['max_tokens']} tokens (short, so a thousand answers fit in minutes on 2 cores); the server "
                  f"settles every {r['settle_every']:g} s while it answers, `tantieme settle` the rest after")
    for name, m in r["modes"].items():
        table = Table(title=f"mode {name}: tantieme serve under load, as the clients saw it")
        for column, justify in (("measure", "left"), ("p50", "right"), ("p95", "right"), ("n", "right")):
            table.add_column(column, justify=justify)
        for key, label in (("latency_s", "answered request (payment included)"),
                           ("waited_s", "question to answer (retries included)"),
                           ("greedy_waited_s", f"  of client 0, {r['greedy']} questions at once"),
                           ("others_waited_s", "  of the other clients, one at a time")):
            if key in m:
                table.add_row(label, f"{m[key]['p50']:.2f} s", f"{m[key]['p95']:.2f} s", str(m[key]["n"]))
        console.print(table)
        console.print(f"{m['answered']} answers in {m['seconds']:.0f} s: {m['answers_per_s']:.2f} answers/s, to "
                      f"{m['clients_answered']} of {r['clients']} clients; "
                      f"retries after 503: {m['retries_503']}, after 429: {m['retries_429']}; errors: {m['errors']}"
                      f"{' (timed out)' if m['timed_out'] else ''}; 1-minute load average {m['load_average_1m']:.2f} (2 cores)")
        for error in m["first_errors"]:
            console.print(f"  error: {error}")
        for check, c in m["checks"].items():
            console.print(f"{'✓' if c['ok'] else '✗'} {check}: {c['detail']}")
    console.print(f"server log: {r['server_log_lines']} lines")
    for line in r["server_log"]:
        console.print(f"  {line}")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "n": len(ordered)}


def _inside(home: Path, records: list[str]) -> list[float]:
    """Seconds each answer spent in `tantieme.ai.ask` (retrieval, generation, attribution), from the journal."""
    from tantieme.ledger.journal import Journal

    book = Journal(home / "ledger.db")
    try:
        return [book.record(r).details["timings"]["total_s"] for r in records]
    finally:
        book.close()


def run(rounds: int, requests: int, max_seconds: float) -> dict:
    from tantieme.quickstart import Catalog

    questions = [q["question"] for q in Catalog.load().questions]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TANTIEME_HOME": str(Path(tmp) / "home")}
        subprocess.run([str(BIN / "python"), "-c", SETUP], env=env, check=True, capture_output=True)
        with httpx.Client(timeout=300) as client:
            with serving(env, "--self-pay", "--rate", "100000") as url:
                chat = f"{url}/v1/chat/completions"
                client.post(chat, json={"messages": [{"role": "user", "content": "warm-up: how are hives strapped down?"}]})
                answers, attributed, records = [], 0, []
                for _ in range(rounds):
                    for q in questions:
                        if time.monotonic() - started > max_seconds:
                            break
                        t0 = time.perf_counter()
                        response = client.post(chat, json={"messages": [{"role": "user", "content": q}]})
                        answers.append(time.perf_counter() - t0)
                        response.raise_for_status()
                        attributed += bool(response.json()["tantieme"]["sources"])
                        records.append(response.json()["tantieme"]["record"])
                models = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    client.get(f"{url}/v1/models").raise_for_status()
                    models.append(time.perf_counter() - t0)
            with serving(env) as url:
                paid = _paid(url, env, client, questions, rounds, started, max_seconds)
                unpaid = []
                body = {"messages": [{"role": "user", "content": questions[0]}]}
                for _ in range(requests):
                    t0 = time.perf_counter()
                    response = client.post(f"{url}/v1/chat/completions", json=body)
                    unpaid.append(time.perf_counter() - t0)
                    assert response.status_code == 402, response.text
        inside = _inside(Path(tmp) / "home", records)
    around = [total - model for total, model in zip(answers, inside)]
    return {
        "warm_answer_s": percentiles(answers),
        "inside_ai_ask_s": percentiles(inside),
        "around_ai_ask_s": percentiles(around),
        "warm_answer_p50_target_s": 1.5,
        "answers_with_sources": attributed,
        "models_s": percentiles(models),
        "quote_402_s": percentiles(unpaid),
        "quote_402_p50_target_s": 0.020,
        **paid,
        "load_average_1m": os.getloadavg()[0],
    }


def _paid(url: str, env: dict, client, questions: list[str], rounds: int, started: float, max_seconds: float) -> dict:
    """Paid answers over x402 from a second account (dev account 8) with the official client."""
    import requests
    from x402 import x402ClientSync
    from x402.http import decode_payment_required_header
    from x402.http.clients import wrapRequestsWithPayment
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact import register_exact_evm_client

    from tantieme.chain.accounts import dev_account

    asker = dev_account(8)
    subprocess.run([str(BIN / "tantieme"), "transfer", asker.address, "100"], env=env, check=True, capture_output=True)
    chat = f"{url}/v1/chat/completions"
    required = decode_payment_required_header(
        client.post(chat, json={"messages": [{"role": "user", "content": questions[0]}]}).headers["PAYMENT-REQUIRED"]
    )
    (accepts,) = required.accepts
    payer = register_exact_evm_client(x402ClientSync(), EthAccountSigner(asker))
    payer.set_spend_controls({"allowed_assets": [{"network": accepts.network, "asset": accepts.asset}]})
    session = wrapRequestsWithPayment(requests.Session(), payer)
    latencies, records = [], []
    for _ in range(rounds):
        for q in questions:
            if time.monotonic() - started > max_seconds:
                break
            t0 = time.perf_counter()
            response = session.post(chat, json={"messages": [{"role": "user", "content": q}]}, timeout=300)
            latencies.append(time.perf_counter() - t0)
            response.raise_for_status()
            records.append(response.json()["tantieme"])
    gas, fees = [], 0
    for extra in records:  # each payment settles once its answer is delivered: read it from the bundle
        deadline = time.monotonic() + 60
        while not (payment := client.get(f"{url}/records/{extra['record']}").json().get("payment") or {}).get("refund_tx"):
            if time.monotonic() > deadline:
                raise SystemExit(f"record {extra['record']}: its x402 payment did not settle")
            time.sleep(0.1)
        gas.append(_gas(env, payment["settlement_tx"]) + _gas(env, payment["refund_tx"]))
        fees += int(extra["fee"])
    balance = json.loads(subprocess.run([str(BIN / "tantieme"), "balance", asker.address, "--json"], env=env,
                                        check=True, capture_output=True, text=True).stdout)
    return {
        "paid_answer_s": percentiles(latencies),
        "gas_per_paid_request": statistics.median(gas),
        "x402_measured_gas": [61_000, 90_000],
        "payer_paid_exactly_the_fees": int(balance["balance"]) == 100 * 10**18 - fees,
    }


def _gas(env: dict, tx: str) -> int:
    """A transaction's gas from its receipt, read from the node's chain beside the server."""
    code = f"from tantieme.node import Node\nwith Node.open(readonly=True) as n: print(n.conn.w3.eth.get_transaction_receipt({tx!r})['gasUsed'])"
    return int(subprocess.run([str(BIN / "python"), "-c", code], env=env, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds over the 3 quickstart questions")
    parser.add_argument("--probes", type=int, default=50, help="requests timed for /v1/models and the 402")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop asking after this long (default 600; with --load, 1800 per mode)")
    parser.add_argument("--load", action="store_true", help="the load run (bench/load.py) instead")
    parser.add_argument("--clients", type=int, default=50, help="--load: clients at once, each its own account")
    parser.add_argument("--requests", type=int, default=1000, help="--load: paid requests per mode")
    parser.add_argument("--max-tokens", type=int, default=8, help="--load: max_tokens of each answer")
    parser.add_argument("--settle-every", type=float, default=30, help="--load: the server settles this often (s)")
    parser.add_argument("--mode", action="append", choices=["x402", "deposit", "self"], help="--load: modes (default: all)")
    parser.add_argument("--greedy", type=int, default=1,
                        help="--load: client 0 asks this many questions at once (x402, self; deposit takes one at a time)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.load:
        r = run_load(args.mode or ["x402", "deposit", "self"], args.clients, args.requests, args.max_tokens, args.max_seconds or 1800,
                     args.settle_every, args.greedy)
        print(json.dumps(r, indent=1)) if args.json else show_load(r)
        raise SystemExit(0 if all(c["ok"] for m in r["modes"].values() for c in m["checks"].values()) else 1)
    r = run(args.rounds, args.probes, args.max_seconds or 600)
    if args.json:
        print(json.dumps(r, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tantieme serve on loopback, as a client sees it")
    for column, justify in (("measure", "left"), ("p50", "right"), ("p95", "right"), ("n", "right"), ("target", "right")):
        table.add_column(column, justify=justify)
    w, m, q = r["warm_answer_s"], r["models_s"], r["quote_402_s"]
    table.add_row("warm answer (attribution, record, credential)", f"{w['p50']:.2f} s", f"{w['p95']:.2f} s", str(w["n"]), "p50 ≤ 1.5 s")
    for key, label in (("inside_ai_ask_s", "  of which the model pipeline (ai.ask)"), ("around_ai_ask_s", "  of which the service around it")):
        table.add_row(label, f"{r[key]['p50']:.2f} s", f"{r[key]['p95']:.2f} s", str(r[key]["n"]), "")
    table.add_row("GET /v1/models", f"{m['p50'] * 1000:.1f} ms", f"{m['p95'] * 1000:.1f} ms", str(m["n"]), "")
    table.add_row("unpaid chat: 402 with the quote", f"{q['p50'] * 1000:.1f} ms", f"{q['p95'] * 1000:.1f} ms", str(q["n"]), "p50 ≤ 20 ms")
    p = r["paid_answer_s"]
    table.add_row("paid answer over x402 (402, signing, verify, answer)", f"{p['p50']:.2f} s", f"{p['p95']:.2f} s", str(p["n"]), "")
    Console().print(table)
    Console().print(f"gas per paid request (transferWithAuthorization + refund): {r['gas_per_paid_request']:,.0f} "
                    f"(x402 measured: 61,000–90,000 for the transfer); the payer paid exactly the metered fees: "
                    f"{r['payer_paid_exactly_the_fees']}")
    Console().print(f"answers with sources: {r['answers_with_sources']} of {w['n']}; "
                    f"1-minute load average at the end: {r['load_average_1m']:.2f} (2 cores)")


if __name__ == "__main__":
    main()
