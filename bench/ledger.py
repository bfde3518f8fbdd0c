"""Batch settlement: gas per interaction and records per second, beside one transaction per interaction.

On a fresh embedded chain, through the same code `tantieme ask`, `tantieme
settle` and `tantieme claim` run (minus inference): records are signed by the
payer and journaled, then settled as one batch (records root + the payer's
asset tree root + permit, one transaction). LazAI's model, one settlement
transaction per interaction, is the anchor: it is measured here as a batch of
one record.

The realistic load (`--zipf`): batches of 1,000 records, each citing 3 sources
drawn Zipf(1.1) from 10,000 registered works (seeded). Settling costs the same
whatever the sources; the assets then credit their amounts by proof
(`RoyaltyRouter.credit`, multiproofs of up to 128 leaves). The claim side is
reported amortized over the interactions, in steady state (every asset
credited before, two warm-up batches per payer), for two ways of crediting:
after every batch (what one Merkle root per batch would force), and once after
all the batches (cumulative trees: one proof per asset for any number of
batches). Crediting a ledger pool also earns the assets' owners their
reputation (the DAO's reputation votes), in the same transactions.

The works belong to one creator (the node's account) unless `--owners N`
(up to 7 dev accounts, taking turns by asset id): each distinct owner in a
credit transaction writes its own reputation checkpoint.

    python bench/ledger.py [--json] [--sizes 1,10,100,1000,10000] [--zipf BATCHES | --zipf 0] [--owners N]
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
ZIPF_ASSETS = 10_000
ZIPF_EXPONENT = 1.1
ZIPF_RECORDS = 1_000
ZIPF_SOURCES = 3
ZIPF_WARMUP = 2
OWNERS = (0, 1, 2, 3, 4, 8, 9)  # dev accounts that may own the Zipf load's works (5-7 pay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--sizes", default="1,10,100,1000,10000", help="batch sizes, comma-separated")
    parser.add_argument("--zipf", type=int, default=5, help="measured batches of the Zipf(1.1) load (0: skip it)")
    parser.add_argument("--owners", type=int, default=1, choices=range(1, len(OWNERS) + 1),
                        help="creators owning the Zipf load's works, taking turns")
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
    if args.zipf:
        result["zipf"] = zipf_load(node, book, model, args.zipf, args.owners)
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
        f"≥ {TARGET_RECORDS_PER_S:,} records/s. One transaction per interaction (LazAI's model): "
        + (f"{single:,} gas." if single else "not measured (add size 1 to --sizes).")
    )
    console.print(proof_stats)
    if args.zipf:
        z = result["zipf"]
        table = Table("crediting", "settlement gas / interaction", "claim side: credits", "claim side: gas / credit",
                      "claim side: gas / interaction",
                      title=f"Zipf({ZIPF_EXPONENT}) sources from {ZIPF_ASSETS:,} assets, {z['batches']} batches "
                            f"of {ZIPF_RECORDS:,} records per payer ({z['distinct per batch']:,.0f} distinct assets a "
                            f"batch, {z['distinct']:,} in {z['batches']} batches; {z['owners']} owner(s) taking turns)")
        for name in ("credit after every batch", "credit once after all batches"):
            row = z[name]
            table.add_row(name, f"{z['settle gas per interaction']:,.0f}", f"{row['credits']:,} in {row['transactions']:,} tx",
                          f"{row['gas per credit']:,.0f}", f"{row['gas per interaction']:,.0f}")
        console.print(table)
        console.print(
            f"settlement: {z['settle gas per batch']:,.0f} gas a batch (target ≤ {TARGET_GAS_PER_INTERACTION:,} "
            f"per interaction); crediting, the owners' reputation included: "
            f"{z['credit once after all batches']['gas per credit']:,.0f} gas per asset credited once, "
            f"{z['credit after every batch']['gas per credit']:,.0f} when crediting every batch"
        )


def zipf_load(node, book, model: int, batches: int, owners: int = 1) -> dict:
    """Settle batches of Zipf-drawn records for two payers and credit their assets:
    payer A's after every batch, payer B's once after `batches` batches. Measured in
    steady state, as on a live node: every asset was credited before, and both payers
    ran `ZIPF_WARMUP` batches (credited) before the measured ones."""
    from tantieme.assets.royalties import credit
    from tantieme.chain.accounts import dev_account
    from tantieme.ledger import settlement

    rng = random.Random(11)
    works = register_many(node, ZIPF_ASSETS, owners)
    warm_router(node, [model, *works])
    weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, ZIPF_ASSETS + 1)]
    every, once = dev_account(6), dev_account(7)
    for payer in (every, once):
        node.faucet(payer.address, 10**30)

    def draw_sources() -> list[int]:
        chosen: list[int] = []
        while len(chosen) < ZIPF_SOURCES:
            (work,) = rng.choices(works, weights)
            if work not in chosen:
                chosen.append(work)
        return chosen

    def batch(payer) -> tuple[settlement.Settled, set[int]]:
        cited: set[int] = set()
        for i in range(ZIPF_RECORDS):
            sources = draw_sources()
            cited.update(sources)
            settlement.record(
                node, payer, model=model, question=f"q{i}", answer=f"a{i}", sources=sources,
                weights=[0.3, 0.2, 0.1], prompt_tokens=600, completion_tokens=40,
                fee=rng.randrange(10**15, 10**17), details={}, book=book,
            )
        (done,) = settlement.settle(node, {payer.address: payer}, book=book)
        return done, cited

    for _ in range(ZIPF_WARMUP):
        for payer in (every, once):
            _, cited = batch(payer)
            credit_gas(node, book, payer, [model, *cited], credit)

    settle_gas, distinct_per_batch, touched = [], [], set()
    credits = {"credit after every batch": [], "credit once after all batches": []}
    for _ in range(batches):
        for payer in (every, once):
            done, cited = batch(payer)
            settle_gas.append(done.gas)
            distinct_per_batch.append(len(done.owed))
            if payer is every:
                credits["credit after every batch"].append(credit_gas(node, book, every, [model, *cited], credit))
            else:
                touched |= cited
    credits["credit once after all batches"].append(credit_gas(node, book, once, [model, *touched], credit))
    interactions = batches * ZIPF_RECORDS
    result = {
        "batches": batches,
        "owners": owners,
        "warm-up batches": ZIPF_WARMUP,
        "records per batch": ZIPF_RECORDS,
        "distinct per batch": sum(distinct_per_batch) / len(distinct_per_batch),
        "distinct": len(touched) + 1,
        "settle gas per batch": sum(settle_gas) / len(settle_gas),
        "settle gas per interaction": sum(settle_gas) / len(settle_gas) / ZIPF_RECORDS,
    }
    for name, runs in credits.items():
        gas = sum(r[0] for r in runs)
        count = sum(r[1] for r in runs)
        result[name] = {
            "credits": count,
            "transactions": sum(r[2] for r in runs),
            "gas": gas,
            "gas per credit": gas / count,
            "gas per interaction": gas / interactions,
        }
    return result


def warm_router(node, assets: list[int]) -> None:
    """Credit every asset once (1 wei each, through one pool of the node's own), so the
    router holds a pending slot for each, as on a live node."""
    from tantieme.assets.royalties import credit_proofs
    from tantieme.ledger.records import asset_tree

    tree = asset_tree({asset: 1 for asset in assets})
    router = node.router.functions
    node.ensure_allowance(len(assets))
    key = b"\x00" * 31 + b"\x01"
    node.conn.transact(router.fund(key, bytes.fromhex(tree.root[2:]), len(assets)), gas=300_000)
    pool = router.poolId(node.address, key).call()
    for multi in credit_proofs(tree, list(range(len(tree)))):
        node.conn.transact(
            router.credit(
                pool, [a for a, _ in multi.leaves], [m for _, m in multi.leaves],
                [bytes.fromhex(p[2:]) for p in multi.proof], list(multi.proof_flags),
            ),
            gas=10_000_000,
        )


def credit_gas(node, book, payer, assets: list[int], credit) -> tuple[int, int, int]:
    """(gas, credits, transactions) of crediting `assets` from `payer`'s pool: each `credit`
    also earns the owners' reputation (the router tells the DAO's reputation votes), so
    crediting is every transaction `royalties.credit` sends."""
    from web3.logs import DISCARD

    router = node.router.address
    before = node.conn.w3.eth.block_number
    credit(node, sorted(assets), book, payers={payer.address})
    gas = credits = txs = 0
    for number in range(before + 1, node.conn.w3.eth.block_number + 1):
        for tx in node.conn.w3.eth.get_block(number)["transactions"]:
            receipt = node.conn.w3.eth.get_transaction_receipt(tx)
            assert receipt["to"] == router, "crediting sent a transaction elsewhere"
            gas += receipt["gasUsed"]
            txs += 1
            credits += len(node.router.events.Credited().process_receipt(receipt, errors=DISCARD))
    return gas, credits, txs


def register_many(node, count: int, owners: int = 1) -> list[int]:
    """`count` works registered straight through the registry contract (fast), by the first
    `owners` of `OWNERS` in turn (the node's account alone by default)."""
    from tantieme.assets.registry import commitment
    from tantieme.assets.terms import preset
    from tantieme.chain.accounts import dev_account

    terms = preset("open").as_struct()
    first = node.registry.functions.totalAssets().call() + 1
    creators = [node if i == 0 else node.as_account(dev_account(i)) for i in OWNERS[:owners]]
    for n in range(count):  # commit, then register in a later block (the registry's commit-reveal)
        creator = creators[n % owners]
        content, salt = os.urandom(32), os.urandom(32)
        registry = creator.registry.functions
        creator.conn.transact(registry.commitRegistration(commitment(creator.address, content, salt)), gas=100_000)
        creator.conn.transact(registry.register(0, content, "ipfs://bench", [], terms, salt), gas=400_000)
    return list(range(first, first + count))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
