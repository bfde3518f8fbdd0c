"""The load run of `bench/serve.py --load`: many paying clients at once against a real
`tantieme serve`, then checks of what happened, read from the chain and the node's journal.

Each client is a thread with its own funded account (x402, deposit; the node's own in
`self` mode); the clients share `requests` questions (the quickstart's, in turn) and
stop when they are answered or after `max_seconds`. With `greedy` > 1, client 0 asks that many
questions at once (a burst that fair admission must not let hold the others back); the summary
then times its waits apart from the others'. A 503 (the model's queue is full) or a 429 (the payer's rate limit) is
retried after its `Retry-After`, and counted. A mode is one small function: it funds the
clients' payers and returns, per client, how it asks one question (`Mode`).

    run, before, checks = measure(MODES["x402"], serve, questions, clients=50, requests=1000,
                                  max_tokens=8, max_seconds=1800, settle_every=30)
    print(summary(run), [c for c in checks if not c.ok])

After the run (`check`): every 200 answer has exactly one journaled record and every
record of the run was delivered as a 200 answer; no x402 authorization settled twice;
each payer's balance fell by exactly the fees of its records (x402: refunds included),
the operator's moved by what it was paid, less what its batches paid, plus its share of
them; after settlement every record is in a batch anchored on chain, each batch's split
adds up to its total and its records' fees, and the token is conserved: the sum of every
holder's balance (accounts and contracts) is the total supply, unchanged, to the wei.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from tantieme.ledger.journal import Journal
    from tantieme.node import Node
    from tantieme.payments.client import RemoteAnswer

BIN = Path(sys.executable).parent
# What each client's account is given before a run (token wei): quotes are ≈ 0.2 TAI.
CLIENT_FUNDS = 100 * 10**18

Ask = Callable[[str, str, int], "RemoteAnswer"]
"""One paid question: (node URL, question, max_tokens) → the answer, or `NodeBusyError`."""


@dataclass(frozen=True)
class Mode:
    """How clients pay: `tantieme serve`'s arguments, and `payers(node, clients)`, which funds
    the clients' payers (the node open for writing, before the server starts) and returns
    each client's `Ask`."""

    name: str
    serve_args: tuple[str, ...]
    payers: Callable[[Node, int], list[Ask]]


def client_account(client: int) -> LocalAccount:
    """The account of client number `client` (the same in every run)."""
    from eth_account import Account
    from eth_utils import keccak

    return Account.from_key(keccak(text=f"tantieme load client {client}"))


def _x402_payers(node: Node, clients: int) -> list[Ask]:
    """Each client its own account, paying per request with the official x402 client (`ask_node`)."""
    from tantieme.payments.client import ask_node

    token = node.deployment.token
    accounts = [client_account(i) for i in range(clients)]
    for account in accounts:
        node.faucet(account.address, CLIENT_FUNDS)

    def asker(account) -> Ask:
        return lambda url, question, max_tokens: ask_node(url, question, account, max_tokens=max_tokens, token=token)

    return [asker(a) for a in accounts]


def _deposit_payers(node: Node, clients: int) -> list[Ask]:
    """Each client its own account with a deposit (an authorization the operator submits: no
    gas), signing each answer's record and voucher itself (`DepositClient`)."""
    from tantieme.node import Node
    from tantieme.payments import deposit
    from tantieme.payments.client import DepositClient

    accounts = [client_account(i) for i in range(clients)]
    for account in accounts:
        node.faucet(account.address, CLIENT_FUNDS)
        deposit.submit_deposit(node, deposit.authorize_deposit(node.as_account(account), CLIENT_FUNDS // 2, node.address))

    def asker(account) -> Ask:
        client: list[DepositClient] = []

        def ask(url: str, question: str, max_tokens: int) -> RemoteAnswer:
            if not client:  # the payer's own view of the chain, opened once the node serves
                client.append(DepositClient(url, Node.open(readonly=True).as_account(account)))
            return client[0].ask(question, max_tokens=max_tokens)

        return ask

    return [asker(a) for a in accounts]


def _self_payers(node: Node, clients: int) -> list[Ask]:
    """The node's own account pays every answer (`--self-pay`): clients send plain questions."""
    from tantieme.payments.client import ask_node

    account = node.account  # never signs a payment: the first request is answered
    return [lambda url, question, max_tokens: ask_node(url, question, account, max_tokens=max_tokens)] * clients


MODES = {
    # One payer per client: the server's own rate limit per payer applies.
    "x402": Mode("x402", (), _x402_payers),
    # One payer (the node) for every client: the limits per payer are lifted.
    "self": Mode("self", ("--self-pay", "--rate", "1000000", "--per-payer", "1024"), _self_payers),
    # Deposit mode beside x402, as `tantieme serve` takes it by default.
    "deposit": Mode("deposit", (), _deposit_payers),
}


# ------------------------------------------------------------------- the run --

def measure(
    mode: Mode,
    serve: Callable[..., AbstractContextManager[str]],
    questions: list[str],
    *,
    clients: int,
    requests: int,
    max_tokens: int,
    max_seconds: float,
    settle_every: float | None = None,
    greedy: int = 1,
) -> tuple[Run, Snapshot, list[Check]]:
    """One mode's load run on the node of `TANTIEME_HOME` (no server running): its payers
    funded, `serve(*mode.serve_args)` started (a context giving the URL; settling by itself
    every `settle_every` seconds while it answers), the run, every delivery finished,
    `tantieme settle` beside the server for the rest, then the checks: the run (`summary`
    of it), the chain and journal before it, and the checks."""
    from tantieme.ledger.settlement import journal
    from tantieme.node import Node

    with Node.open() as node:
        asks = mode.payers(node, clients)
    book = journal()
    try:
        with Node.open(readonly=True) as node:
            before = snapshot(node, book)
        settling = ("--settle-every", f"{settle_every:g}") if settle_every else ()
        with serve(*mode.serve_args, *settling) as url:
            run = load(url, asks, questions, requests=requests, max_tokens=max_tokens, max_seconds=max_seconds,
                       greedy=greedy)
            deadline = time.monotonic() + 300
            while not delivered(book, before) and time.monotonic() < deadline:
                time.sleep(0.2)
            settled = subprocess.run([str(BIN / "tantieme"), "settle", "--json"], env=os.environ,
                                     capture_output=True, text=True)
            if settled.returncode != 0:
                run.errors.append(f"tantieme settle: {settled.stderr.strip()}")
        with Node.open(readonly=True) as node:
            checks = check(node, book, before, run, mode.name)
    finally:
        book.close()
    return run, before, checks


@dataclass(frozen=True)
class Answered:
    """A 200 answer as the client saw it."""

    client: int
    record: str
    fee: int
    payer: str
    latency_s: float
    """The answered request, from sending it to its response (the x402 handshake included)."""
    waited_s: float
    """From the question's first attempt to its answer (the retries and their waits included)."""


@dataclass
class Run:
    answered: list[Answered] = field(default_factory=list)
    busy: Counter = field(default_factory=Counter)
    """Retries, by the status that asked for them (503, 429)."""
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timed_out: bool = False


def load(url: str, asks: list[Ask], questions: list[str], *, requests: int, max_tokens: int, max_seconds: float,
         greedy: int = 1) -> Run:
    """`requests` questions from `len(asks)` clients at once (client 0 `greedy` at once), each
    asked until answered (503 and 429 retried after their `Retry-After`) or `max_seconds` pass."""
    from tantieme.errors import NodeBusyError, TantiemeError

    run = Run()
    lock = threading.Lock()
    taken = iter(range(requests))
    started = time.monotonic()
    deadline = started + max_seconds

    def client(number: int, ask: Ask) -> None:
        while True:
            with lock:
                n = next(taken, None)
            if n is None:
                return
            question, first = questions[n % len(questions)], time.monotonic()
            while True:
                if time.monotonic() > deadline:
                    run.timed_out = True
                    return
                sent = time.perf_counter()
                try:
                    answer = ask(url, question, max_tokens)
                except NodeBusyError as busy:
                    with lock:
                        run.busy[busy.status] += 1
                    time.sleep(busy.retry_after)
                    continue
                except TantiemeError as exc:
                    with lock:
                        run.errors.append(str(exc))
                    break
                done = Answered(number, answer.record, answer.fee, answer.payer, time.perf_counter() - sent,
                                time.monotonic() - first)
                with lock:
                    run.answered.append(done)
                break

    threads = [threading.Thread(target=client, args=(0, asks[0]), name=f"client-0-{n}") for n in range(1, greedy)]
    threads += [threading.Thread(target=client, args=(i, ask), name=f"client-{i}") for i, ask in enumerate(asks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds = time.monotonic() - started
    return run


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples) or [float("nan")]
    return {"p50": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "n": len(samples)}


def summary(run: Run, greedy: int = 1) -> dict[str, Any]:
    """What the clients saw; with a `greedy` client 0, the others' waits apart (`others_waited_s`)."""
    apart = {
        "greedy_waited_s": percentiles([a.waited_s for a in run.answered if a.client == 0]),
        "others_waited_s": percentiles([a.waited_s for a in run.answered if a.client != 0]),
    } if greedy > 1 else {}
    return {
        "answered": len(run.answered),
        "clients_answered": len({a.client for a in run.answered}),
        "seconds": run.seconds,
        "answers_per_s": len(run.answered) / run.seconds if run.seconds else 0.0,
        "latency_s": percentiles([a.latency_s for a in run.answered]),
        "waited_s": percentiles([a.waited_s for a in run.answered]),
        "retries_503": run.busy[503],
        "retries_429": run.busy[429],
        "errors": len(run.errors),
        "first_errors": run.errors[:5],
        "timed_out": run.timed_out,
        **apart,
    }


# ------------------------------------------------------------------ the checks --

@dataclass(frozen=True)
class Snapshot:
    """The chain and the journal before a run."""

    block: int
    last_record: int
    supply: int
    balances: dict[str, int]
    """Every holder of the AI token (accounts and contracts) → its balance."""
    deposits: dict[str, int]
    """Every holder → its deposit with the node's operator (deposit mode), in the ledger's balance."""


def _holders(node: Node) -> set[str]:
    logs = node.token.events.Transfer().get_logs(from_block=node.deployment.block)
    return {log["args"][side] for log in logs for side in ("sender", "receiver")} | {node.address}


def snapshot(node: Node, book: Journal) -> Snapshot:
    last = book.records(limit=1)
    holders = _holders(node)
    return Snapshot(
        block=node.conn.w3.eth.block_number,
        last_record=last[0].id if last else 0,
        supply=node.token.functions.totalSupply().call(),
        balances={a: node.balance(a) for a in holders},
        deposits={a: _deposit(node, a) for a in holders},
    )


def _deposit(node: Node, payer: str) -> int:
    return node.ledger.functions.deposits(payer, node.address).call()


def delivered(book: Journal, before: Snapshot) -> bool:
    """Whether every x402 payment of the run's records is settled and refunded (the server
    finishes them after each answer is sent)."""
    return all(rid <= before.last_record for rid, _ in book.unfinished_payments())


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check(node: Node, book: Journal, before: Snapshot, run: Run, mode: str) -> list[Check]:
    """What the run left on the chain and in the journal (see the module's docstring)."""
    from tantieme.payments.per_request import record_nonce

    checks: list[Check] = []

    def add(name: str, ok: bool, detail: str) -> None:
        checks.append(Check(name, ok, detail))

    records = [r for r in book.records() if r.id > before.last_record]
    journaled = Counter(r.digest for r in records)
    answers = Counter(a.record for a in run.answered)
    lost = [d for d in answers if d not in journaled]
    twice = [d for d, n in answers.items() if n > 1 or journaled.get(d, 0) > 1]
    unanswered = [d for d in journaled if d not in answers]
    add("0 lost records", not lost and not twice,
        f"{len(answers)} answers, {len(lost)} without a record, {len(twice)} given or journaled twice")
    add("no record without an answer", not unanswered, f"{len(records)} records, {len(unanswered)} never delivered")

    by_digest = {r.digest: r for r in records}
    fee_of = {a.record: a.fee for a in run.answered}
    wrong_fee = [d for d, r in by_digest.items() if d in fee_of and r.signed.record.fee != fee_of[d]]
    add("fees as answered", not wrong_fee, f"{len(wrong_fee)} records whose fee is not the answer's")

    operator = node.address
    flows: Counter = Counter()  # account → how its balance should move: x402 payments, then batches
    if mode == "x402":
        payments = {r.id: book.payment(r.id) for r in records}
        unpaid = [rid for rid, p in payments.items() if p is None or p["settlement_tx"] is None
                  or (int(p["refund"]) > 0 and p["refund_tx"] is None)]
        keys = Counter((p["payer"].lower(), p["authorization"]["nonce"].lower()) for p in payments.values() if p)
        unbound = [r.id for r in records if payments[r.id]
                   and r.signed.record.nonce != record_nonce(payments[r.id]["payer"], payments[r.id]["authorization"]["nonce"])]
        used = node.token.events.AuthorizationUsed().get_logs(from_block=before.block + 1)
        on_chain = Counter((log["args"]["authorizer"].lower(), "0x" + log["args"]["nonce"].hex()) for log in used)
        add("x402: every record paid, settled, refunded", not unpaid and not unbound,
            f"{len(unpaid)} records without a finished payment, {len(unbound)} not bound to theirs")
        add("0 authorizations settled twice",
            all(n == 1 for n in keys.values()) and all(n == 1 for n in on_chain.values()) and set(on_chain) == set(keys),
            f"{sum(on_chain.values())} authorizations used on chain, {len(keys)} payments journaled")
        for r in records:
            if payments[r.id]:  # the payer paid the quote, the operator refunded all above the fee
                flows[payments[r.id]["payer"]] -= r.signed.record.fee
                flows[operator] += r.signed.record.fee

    settled = _settled_since(node, before)
    batched = Counter(r.digest for e in settled for r in book.batch_records(_batch_id(book, e)))
    unsettled = [d for d in journaled if batched[d] != 1 or not _anchored(node, book, by_digest[d])]
    add("every record in a settled batch", not unsettled and bool(records) and set(batched) == set(journaled),
        f"{len(records)} records in {len(settled)} batches, {len(unsettled)} not in exactly one anchored batch")
    checks.extend(_splits(node, book, settled))

    commons = node.ledger.functions.commons().call()
    for event in settled:  # each batch's payer pays its total (from its balance or its deposit): the
        # commons and the operator get their parts
        flows[event["args"]["payer"]] -= event["args"]["total"]
        flows[commons] += event["args"]["commons"]
        flows[event["args"]["operator"]] += event["args"]["operator_fee"]
    after = {a: node.balance(a) for a in _holders(node) | set(before.balances)}
    payers = {a for a in flows if a not in (commons, node.deployment.router, node.deployment.ledger)}

    def moved(a: str) -> int:  # what the payer holds, its deposit with the operator included
        return after[a] + _deposit(node, a) - before.balances.get(a, 0) - before.deposits.get(a, 0)

    wrong = [(a, moved(a), flows[a]) for a in payers if moved(a) != flows[a]]
    add("0 double charges: each payer paid exactly its fees", not wrong,
        f"{len(payers)} payers (the operator included); balance changes off: {wrong[:3]}")

    supply = node.token.functions.totalSupply().call()
    add("conservation to the wei", supply == before.supply == sum(after.values()) == sum(before.balances.values()),
        f"supply {supply} (before {before.supply}); sum of {len(after)} balances {sum(after.values())} "
        f"(before {sum(before.balances.values())})")
    return checks


def _settled_since(node: Node, before: Snapshot) -> list[Any]:
    return node.ledger.events.BatchSettled().get_logs(from_block=before.block + 1)


def _batch_id(book: Journal, event: Any) -> int:
    """The journal's batch of a `BatchSettled` event."""
    (row,) = book.db.execute("SELECT id FROM batches WHERE root = ?", ("0x" + event["args"]["root"].hex(),)).fetchall()
    return row[0]


def _anchored(node: Node, book: Journal, record) -> bool:
    if record.batch_id is None:
        return False
    batch = book.batch(record.batch_id)
    return batch.status == "settled" and node.ledger.functions.batchOfRoot(batch.operator, batch.root).call() != 0


def _splits(node: Node, book: Journal, events: list[Any]) -> list[Check]:
    """Each batch: its parts (commons, operator, assets) add up to its total, which is its
    records' fees; the token moved in and out of the ledger in its transaction match."""
    from web3.logs import DISCARD

    ledger, router = node.deployment.ledger, node.deployment.router
    off = []
    for event in events:
        args = event["args"]
        receipt = node.conn.w3.eth.get_transaction_receipt(event["transactionHash"])
        moved = node.token.events.Transfer().process_receipt(receipt, errors=DISCARD)
        # pulled from the payer's balance, or (0) drawn from its deposit with the operator
        into = sum(m["args"]["value"] for m in moved if m["args"]["receiver"] == ledger)
        out = Counter()
        for m in moved:
            if m["args"]["sender"] == ledger:
                out[m["args"]["receiver"]] += m["args"]["value"]
        batch = book.batch(_batch_id(book, event))
        fees = sum(r.signed.record.fee for r in book.batch_records(batch.id))
        to_assets = args["total"] - args["commons"] - args["operator_fee"]
        if not (fees == args["total"] == sum(out.values()) and into in (0, args["total"]) and out[router] == to_assets
                and sum(batch.owed.values()) == to_assets):
            off.append(args["batch_id"])
    return [Check("each batch's split adds up to its total", not off,
                  f"{len(events)} batches settled, {len(off)} off: {off[:5]}")]
