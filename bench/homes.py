"""Throwaway homes full of answers, for the benchmarks (`report.py`, `state.py`)."""

from __future__ import annotations

import os
import random
import time


def answered(records: int, *, works: int = 20, batch: int = 100, seed: int = 7) -> float:
    """Set up an embedded node in `TANTIEME_HOME` (the operator, dev account 0) holding `works`
    works in a graph (each with up to two earlier ones as parents), a dataset and the model
    trained on it, and `records` answers paid by dev account 5, each citing up to three works,
    settled `batch` at a time (the rest pending). Returns the seconds the answers took."""
    from tantieme import node as node_mod
    from tantieme.assets import registry
    from tantieme.assets.terms import LicenseTerms, preset
    from tantieme.chain.accounts import dev_account
    from tantieme.ledger import settlement
    from tantieme.node import Node

    rnd = random.Random(seed)
    payer = dev_account(5)
    node_mod.init("embedded")
    with Node.open() as node:
        node.faucet(payer.address)

        def register(kind: str, terms: LicenseTerms, parents: tuple[int, ...] = ()) -> int:
            return registry.register_hash(
                node, os.urandom(32), kind=kind, terms=terms, parents=parents, title=kind, media_type="text/plain"
            ).id

        cited: list[int] = []
        for _ in range(works):
            parents = tuple(rnd.sample(cited, k=min(len(cited), rnd.randint(0, 2))))
            cited.append(register("work", preset("non-commercial"), tuple(sorted(parents))))
        model = register("model", LicenseTerms(attribution=True, ai_retrieval=True), (register("dataset", preset("training-data")),))
        book = settlement.journal()
        start = time.perf_counter()
        for i in range(records):
            sources = rnd.sample(cited, k=min(len(cited), rnd.randint(0, 3)))
            settlement.record(
                node, payer, model=model, question=f"q{i}", answer=f"a{i}", sources=sources,
                weights=[0.9 / max(1, len(sources))] * len(sources), prompt_tokens=100, completion_tokens=10,
                fee=rnd.randint(10**14, 10**16), details={}, book=book,
            )
            if (i + 1) % batch == 0:
                settlement.settle(node, {payer.address: payer}, book=book)
        return time.perf_counter() - start
