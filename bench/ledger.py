"""Batch settlement: gas per interaction and records per second, beside one transaction per interaction.

On a fresh embedded chain, through the same code `tantieme ask` and `tantieme
settle` run (minus inference): records are signed by the payer and journaled,
then settled as one batch (Merkle root + netted payments + permit, one
transaction). LazAI's model, one settlement transaction per interaction, is
the anchor: it is measured here as a batch of one record.

    python bench/ledger.py [--json] [--sizes 1,10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

TARGET_GAS_PER_INTERACTION = 1_000
TARGET_RECORDS_PER_S = 1_000
SOURCES = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--sizes", default="1,10,100,1000,10000", help="batch sizes, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ["TANTIEME_HOME"] = tempfile.mkdtemp(prefix="tantieme-bench-")

    from tantieme import node as node_mod
    from tantieme.assets import registry
    from tantieme.assets.terms import preset
    from tantieme.chain.accounts import dev_account
    from tantieme.ledger import settlement
    from tantieme.ledger.merkle import StandardMerkleTree
    from tantieme.node import Node

    node_mod.init("embedded")
    node = Node.open()
    book = settlement.journal()
    payer = dev_account(5)
    node.faucet(payer.address, 10**30)
    terms = preset("open")
    works = [registry.register_hash(node, os.urandom(32), kind="work", terms=terms, title=f"w{i}", media_type="text/plain").id for i in range(SOURCES)]
    model = registry.register_hash(node, os.urandom(32), kind="model", terms=terms, title="m", media_type="application/octet-stream").id
    rng = random.Random(7)

    def make_records(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            sources = rng.sample(works, 3)
            settlement.record(
                node, payer, model=model, question=f"question {i}", answer=f"answer {i}",
                sources=sources, weights=[0.3, 0.2, 0.1], prompt_tokens=600, completion_tokens=40,
                fee=rng.randrange(10**15, 10**17), details={}, book=book,
            )
        return time.perf_counter() - start

    # Warm the router's storage for every asset, as on a live node.
    make_records(1)
    settlement.settle(node, {payer.address: payer}, book=book)

    rows = []
    with Progress(transient=True, disable=args.json) as progress:
        task = progress.add_task("settling batches", total=len(sizes))
        for n in sizes:
            record_s = make_records(n)
            start = time.perf_counter()
            (settled,) = settlement.settle(node, {payer.address: payer}, book=book)
            settle_s = time.perf_counter() - start
            largest_batch = settled.batch
            rows.append(
                {
                    "records": n,
                    "assets": len(settled.owed),
                    "settle gas": settled.gas,
                    "gas per interaction": settled.gas / n,
                    "sign + journal s": record_s,
                    "batch + settle s": settle_s,
                    "records per s": n / (record_s + settle_s),
                }
            )
            progress.advance(task)

    single = rows[0]["settle gas"] if sizes[0] == 1 else None
    for row in rows:
        row["vs one tx per interaction"] = (row["gas per interaction"] / single) if single else None

    # Proof verification at the largest batch.
    largest = book.batch(largest_batch)
    tree = StandardMerkleTree.load(largest.tree)
    record = book.batch_records(largest.id)[len(tree) // 2]
    proof = tree.get_proof(record.signed.leaf())
    call = node.ledger.functions.verifyRecord(
        largest.chain_batch_id, record.signed.digest, record.signed.record.model, record.signed.record.fee,
        [bytes.fromhex(p[2:]) for p in proof],
    )
    assert call.call()
    proof_stats = {
        "records": len(tree),
        "siblings": len(proof),
        "proof bytes": 32 * len(proof),
        "verifyRecord gas (as a transaction)": call.estimate_gas(),
    }

    result = {"batches": rows, "proof": proof_stats, "one tx per interaction gas": single}
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    console = Console(width=140)
    table = Table(*rows[0].keys(), title="settlement per batch size (embedded chain, excluding inference)")
    for row in rows:
        table.add_row(*(f"{v:,.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else "" for v in row.values()))
    console.print(table)
    console.print(
        f"targets: ≤ {TARGET_GAS_PER_INTERACTION:,} gas per interaction at 1,000 records; "
        f"≥ {TARGET_RECORDS_PER_S:,} records/s. One transaction per interaction (LazAI's model): {single:,} gas."
    )
    console.print(proof_stats)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
