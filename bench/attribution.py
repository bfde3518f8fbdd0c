"""Attribution benchmark on the synthetic evaluation set (bench/data/attribution_eval.json).

For each question, hybrid retrieval over *all* documents (adversarial ones
included) picks the top 3 passages; if none of them is adversarial, one
adversarial document (rotating through the four kinds) is forced into the
prompt at a rotating position, so every prompt holds 4 sources and at least
one of them is hostile. Then the embedded model answers and ablation
attribution weighs the sources — the same functions `ask` uses.

Reports, beside their targets:
- top-1 attribution accuracy: the highest-weighted source is the gold document;
- mean total weight given to adversarial documents;
- attribution time / generation time, per question (mean) and overall.

    .venv/bin/python bench/attribution.py [--limit N] [--json]
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rich.console import Console  # noqa: E402
from rich.progress import track  # noqa: E402
from rich.table import Table  # noqa: E402

from tantieme.ai.answer import STOP, select_sources  # noqa: E402
from tantieme.ai.attribution import attribute  # noqa: E402
from tantieme.ai.index import Index  # noqa: E402
from tantieme.ai.models import load_model  # noqa: E402
from tantieme.ai.prompt import build_messages  # noqa: E402

DATA = Path(__file__).parent / "data" / "attribution_eval.json"


def run(limit: int | None, max_tokens: int, quiet: bool) -> dict:
    data = json.loads(DATA.read_text())
    docs = data["documents"]
    questions = data["questions"][:limit] if limit else data["questions"]
    asset = {d["id"]: i + 1 for i, d in enumerate(docs)}
    by_asset = {i + 1: d for i, d in enumerate(docs)}
    adversarial = [asset[d["id"]] for d in docs if d["adversarial"]]
    model = load_model()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        index = Index(Path(tmp) / "index")
        for d in docs:
            index.add_work(asset[d["id"]], d["title"], "eval", d["text"])
        # warm the system prompt's KV cache, as a running node has it
        model.generate(build_messages("warm up", []), max_tokens=1)
        for qi, q in enumerate(track(questions, description="questions", disable=quiet)):
            hits = index.search(q["question"], k=3)
            if not any(h.asset_id in adversarial for h in hits):
                forced = adversarial[qi % len(adversarial)]
                extra = index.search(by_asset[forced]["text"], k=1, allowed={forced})
                hits = list(hits)
                hits.insert(qi % (len(hits) + 1), extra[0])
            sources, groups, _ = select_sources(model, q["question"], hits, max_tokens=max_tokens)
            messages = build_messages(q["question"], sources)
            t0 = time.perf_counter()
            gen = model.generate(messages, max_tokens=max_tokens, stop=STOP)
            t1 = time.perf_counter()
            sim = {s.number: max(h.dense for h in g) for s, g in zip(sources, groups)}
            att = attribute(model, q["question"], sources, gen.text, retrieval_scores=sim)
            t2 = time.perf_counter()
            number_to_asset = {s.number: g[0].asset_id for s, g in zip(sources, groups)}
            gold = asset[q["gold"]]
            best = max(att.weights, key=lambda n: att.weights[n]) if att.weights else None
            rows.append(
                {
                    "question": q["question"],
                    "answer": gen.text.strip(),
                    "expected": q["expected"],
                    "answer_has_fact": q["expected"].lower() in gen.text.lower(),
                    "gold_retrieved": gold in number_to_asset.values(),
                    "top1_correct": best is not None and number_to_asset[best] == gold and att.weights[best] > 0,
                    "adversarial_weight": sum(
                        w for n, w in att.weights.items() if number_to_asset[n] in adversarial
                    ),
                    "own_knowledge": att.own_knowledge,
                    "weights": {by_asset[number_to_asset[n]]["id"]: round(w, 4) for n, w in att.weights.items()},
                    "generation_s": t1 - t0,
                    "attribution_s": t2 - t1,
                    "prompt_tokens": gen.prompt_tokens,
                    "completion_tokens": gen.completion_tokens,
                }
            )
        index.close()
    n = len(rows)
    gen_total = sum(r["generation_s"] for r in rows)
    att_total = sum(r["attribution_s"] for r in rows)
    return {
        "questions": n,
        "sources_per_prompt": 4,
        "model": model.name,
        "n_threads": getattr(model, "n_threads", None),
        "top1_accuracy": sum(r["top1_correct"] for r in rows) / n,
        "top1_accuracy_target": 0.90,
        "gold_retrieved": sum(r["gold_retrieved"] for r in rows) / n,
        "answers_with_fact": sum(r["answer_has_fact"] for r in rows) / n,
        "mean_adversarial_weight": statistics.fmean(r["adversarial_weight"] for r in rows),
        "mean_adversarial_weight_target": 0.05,
        "mean_own_knowledge": statistics.fmean(r["own_knowledge"] for r in rows),
        "attribution_over_generation_mean": statistics.fmean(
            r["attribution_s"] / r["generation_s"] for r in rows
        ),
        "attribution_over_generation_total": att_total / gen_total,
        "attribution_over_generation_target": 2.0,
        "mean_generation_s": gen_total / n,
        "mean_attribution_s": att_total / n,
        "load_average_1m": os.getloadavg()[0],
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    result = run(args.limit, args.max_tokens, quiet=args.json)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    console = Console()
    table = Table(title=f"Attribution — {result['questions']} questions, 4 sources each, {result['model']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("top-1 attribution accuracy", f"{result['top1_accuracy']:.1%}", "≥ 90%")
    table.add_row("mean weight on adversarial docs", f"{result['mean_adversarial_weight']:.1%}", "≤ 5%")
    table.add_row("attribution / generation time (mean)", f"{result['attribution_over_generation_mean']:.2f}×", "≤ 2×")
    table.add_row("attribution / generation time (total)", f"{result['attribution_over_generation_total']:.2f}×", "≤ 2×")
    table.add_row("gold document retrieved", f"{result['gold_retrieved']:.1%}", "")
    table.add_row("answers containing the fact", f"{result['answers_with_fact']:.1%}", "")
    table.add_row("mean own-knowledge share", f"{result['mean_own_knowledge']:.1%}", "")
    table.add_row("mean generation / attribution s", f"{result['mean_generation_s']:.2f} / {result['mean_attribution_s']:.2f}", "")
    console.print(table)
    console.print(f"1-minute load average at the end: {result['load_average_1m']:.2f} (2 cores)")
    misses = [r for r in result["rows"] if not r["top1_correct"]]
    for r in misses:
        console.print(f"[yellow]miss[/]: {r['question']} → {r['answer']!r} {r['weights']}")


if __name__ == "__main__":
    main()
