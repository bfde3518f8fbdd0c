"""Retrieval latency at 1,000 / 10,000 / 100,000 chunks, and incremental-add cost.

Chunks are synthesized: each is two paragraphs of words drawn from a Zipf-like
vocabulary of 20,000 made-up words plus real topic words, so BM25 postings
have realistic skew. Their vectors are real MiniLM embeddings of 256 topic
sentences plus Gaussian noise (embedding 100,000 passages with MiniLM on 2
cores would take most of an hour, and the search cost does not depend on
where the vectors came from). Queries are embedded by the real MiniLM, so the
reported latency is the full ``Index.search`` call: query embedding, dense
matrix-vector product, BM25 over postings, rank fusion, and a consent predicate
checked on each candidate work.

Target: p50 <= 20 ms at 100,000 chunks.

    .venv/bin/python bench/retrieval.py [--sizes 1000,10000,100000] [--queries 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from tantieme.ai.embeddings import default_embedder  # noqa: E402
from tantieme.ai.index import Index  # noqa: E402

TOPICS = [
    "bees", "hives", "honey", "sourdough", "levain", "oven", "bicycle", "chain", "brakes",
    "lighthouse", "storm", "harbour", "glacier", "orchard", "violin", "canal", "locks",
    "salt", "pigeon", "choir", "comet", "telescope", "cheese", "wool", "festival", "mine",
    "tram", "bridge", "garden", "library", "kettle", "marathon",
]
CHUNKS_PER_WORK = 50


class SyntheticEmbedder:
    """MiniLM's name and space: topic vectors + noise for passages; real MiniLM for queries."""

    def __init__(self, real, rng: np.random.Generator) -> None:
        self.real = real
        self.name, self.dim = real.name, real.dim
        self.rng = rng
        self.bases = real.encode([f"A passage about {t} and {u}." for t in TOPICS for u in TOPICS[:8]])

    def encode(self, texts):
        if len(texts) == 1:  # a query
            return self.real.encode(texts)
        idx = self.rng.integers(0, len(self.bases), len(texts))
        v = self.bases[idx] + self.rng.normal(0, 0.04, (len(texts), self.dim)).astype(np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def make_text(rng: np.random.Generator, vocab: np.ndarray, probs: np.ndarray) -> str:
    paragraphs = []
    for _ in range(CHUNKS_PER_WORK * 2):
        words = list(rng.choice(vocab, 50, p=probs)) + list(rng.choice(TOPICS, 6))
        rng.shuffle(words)
        paragraphs.append(" ".join(words) + ".")
    return "\n\n".join(paragraphs)


def bench_size(n_chunks: int, queries: int, progress: Progress, real) -> dict:
    rng = np.random.default_rng(n_chunks)
    vocab = np.array([f"w{i}x" for i in range(20000)])
    probs = 1.0 / np.arange(1, len(vocab) + 1)
    probs /= probs.sum()
    emb = SyntheticEmbedder(real, rng)
    with tempfile.TemporaryDirectory() as tmp:
        index = Index(Path(tmp), embedder=emb)
        task = progress.add_task(f"building {n_chunks:,} chunks", total=n_chunks)
        asset = 0
        while len(index) < n_chunks:
            asset += 1
            index.add_work(asset, f"Work {asset}", "bench", make_text(rng, vocab, probs))
            progress.update(task, completed=min(len(index), n_chunks))
        n = len(index)
        # Incremental add of one more work into the full index.
        t0 = time.perf_counter()
        index.add_work(asset + 1, "One more work", "bench", make_text(rng, vocab, probs))
        add_s = time.perf_counter() - t0
        index.close()
        t0 = time.perf_counter()
        index = Index(Path(tmp), embedder=emb)
        open_s = time.perf_counter() - t0
        consents = lambda a: a % 10 != 0  # noqa: E731  (one work in ten refuses)
        qs = [f"how do {a} relate to {b} and {c}" for a, b, c in rng.choice(TOPICS, (queries, 3))]
        for q in qs[:5]:
            index.search(q, k=4, allowed=consents)  # warm-up
        lat = []
        qtask = progress.add_task(f"querying {n:,}", total=len(qs))
        for q in qs:
            t0 = time.perf_counter()
            hits = index.search(q, k=4, allowed=consents)
            lat.append((time.perf_counter() - t0) * 1000)
            assert len(hits) == 4 and all(h.asset_id % 10 for h in hits)
            progress.advance(qtask)
        enc = []
        for q in qs[:50]:
            t0 = time.perf_counter()
            real.encode([q])
            enc.append((time.perf_counter() - t0) * 1000)
        index.close()
    lat.sort()
    return {
        "chunks": n,
        "p50_ms": statistics.median(lat),
        "p95_ms": lat[int(0.95 * (len(lat) - 1))],
        "query_embedding_p50_ms": statistics.median(enc),
        "add_one_work_s": add_s,
        "add_one_work_chunks": CHUNKS_PER_WORK,
        "open_s": open_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    real = default_embedder()
    rows = []
    with Progress(disable=args.json) as progress:
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(bench_size(size, args.queries, progress, real))
    result = {"rows": rows, "target_p50_ms_at_100k": 20.0, "load_average_1m": os.getloadavg()[0]}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    table = Table(title="Retrieval latency (Index.search, k=4, consent predicate on)")
    for col in ("chunks", "p50 ms", "p95 ms", "of which query embedding p50 ms", "add 1 work (50 chunks) s", "open s", "target"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(f"{r['chunks']:,}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}",
                      f"{r['query_embedding_p50_ms']:.1f}", f"{r['add_one_work_s']:.2f}", f"{r['open_s']:.2f}",
                      "p50 ≤ 20" if r["chunks"] >= 100000 else "")
    Console().print(table)
    Console().print(f"1-minute load average at the end: {result['load_average_1m']:.2f} (2 cores)")


if __name__ == "__main__":
    main()
