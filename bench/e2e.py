"""A cold `tantieme ask`, as a whole process, against a user's own minimal local RAG.

The anchor (``bench/data/minimal_rag.py``, a dozen lines) indexes the same
corpus with bm25s (paragraphs as passages), retrieves 4 passages and answers
with the same GGUF through llama-cpp-python's ``create_chat_completion``: no
consent check, no attribution, no fee, no record, no credential. Both run as
new processes, alternately, on the same questions, in the same run; the
figure is the ratio of median wall times. The anchor runs twice: with
llama-cpp-python's default threads (2 for prefill on 2 cores, which stall when
the other core is busy, so its time swings with the machine's load) and on one
thread (a comparison that load moves less). ``ask`` encodes its prompt on one
thread, and on the other cores too when other processes left them idle while it
started (``tantieme.ai.threads.IdleCores``).

`tantieme ask` runs on an initialised home: the sample corpus registered by
its creators (the no-ai work included; the anchor's corpus is the consenting
works only), the local model registered, and the index built by one warm-up
question. The batch size is set high so that no settlement runs inside a timed
`ask` (`bench/ledger.py` measures settlement).

Target: tantieme ask / minimal RAG <= 2.0.

    .venv/bin/python bench/e2e.py [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "src"))

SETUP = """
from tantieme import interaction, node as node_mod, quickstart as qs
from tantieme.node import Node
node_mod.init("embedded")
with Node.open() as node:
    node.settings.batch_size = 1_000_000
    node.settings.save()
    catalog = qs.Catalog.load()
    registered = qs.register_catalog(node, catalog, lambda _m: None)
    dataset = next(registered.assets[w["file"]] for w in catalog.works if w.get("training_data_of_model"))
    interaction.register_model(node, datasets=(dataset,))
"""


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {out.stderr[-2000:]}")
    return elapsed, out.stdout


def run(repeats: int) -> dict:
    from tantieme.ai.backends.llamacpp import default_model_path
    from tantieme.quickstart import Catalog

    catalog = Catalog.load()
    questions = [q["question"] for q in catalog.questions]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for work in catalog.works:
            if work["terms"] != "no-ai":
                shutil.copy(catalog.root / work["file"], corpus / work["file"])
        env = {**os.environ, "TANTIEME_HOME": str(home)}
        subprocess.run([str(BIN / "python"), "-c", SETUP], env=env, check=True, capture_output=True)
        ask = [str(BIN / "tantieme"), "ask", "--json"]
        minimal = [str(BIN / "python"), str(ROOT / "bench" / "data" / "minimal_rag.py"), str(corpus),
                   str(default_model_path())]
        timed(ask + ["warm-up: how are hives strapped down?"], env)  # builds the index
        rows = []
        for _ in range(repeats):
            for q in questions:
                t_min, a_min = timed(minimal + [q], env)
                t_one, _ = timed(minimal + [q, "1"], env)
                t_ask, out = timed(ask + [q], env)
                answer = json.loads(out)["answer"]
                rows.append({"question": q, "minimal_s": t_min, "minimal_one_thread_s": t_one, "ask_s": t_ask,
                             "minimal_answer": a_min.strip(), "ask_answer": answer["text"],
                             "ask_timings": answer["timings"], "prompt_tokens": answer["prompt_tokens"]})
    minimal_s = statistics.median(r["minimal_s"] for r in rows)
    one_s = statistics.median(r["minimal_one_thread_s"] for r in rows)
    ask_s = statistics.median(r["ask_s"] for r in rows)
    inner = {k: statistics.median(r["ask_timings"][k] for r in rows) for k in rows[0]["ask_timings"]}
    return {
        "runs": len(rows),
        "minimal_rag_s": minimal_s,
        "tantieme_ask_s": ask_s,
        "ratio": ask_s / minimal_s,
        "ratio_target": 2.0,
        "minimal_rag_one_thread_s": one_s,
        "ratio_one_thread": ask_s / one_s,
        "ask_inside_s": inner,
        "load_average_1m": os.getloadavg()[0],
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds over the quickstart questions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run(args.repeats)
    if args.json:
        print(json.dumps(r, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Cold ask, whole process — median of {r['runs']} runs each")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("minimal local RAG (bm25s + llama-cpp-python)", f"{r['minimal_rag_s']:.2f} s", "")
    table.add_row("tantieme ask", f"{r['tantieme_ask_s']:.2f} s", "")
    table.add_row("ratio", f"{r['ratio']:.2f}×", "≤ 2.0×")
    table.add_row("minimal RAG on one thread", f"{r['minimal_rag_one_thread_s']:.2f} s", "")
    table.add_row("ratio to it", f"{r['ratio_one_thread']:.2f}×", "")
    for key, value in r["ask_inside_s"].items():
        table.add_row(f"  inside ask: {key}", f"{value:.2f} s", "")
    Console().print(table)
    Console().print(f"1-minute load average at the end: {r['load_average_1m']:.2f} (2 cores)")


if __name__ == "__main__":
    main()
