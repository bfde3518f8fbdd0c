"""Generation throughput through `ask`'s code path vs raw llama.cpp decoding, same run.

Anchor: the tightest decoding loop llama.cpp offers from Python — one
``llama_decode`` per token over ``llama_batch_get_one`` and llama.cpp's own
greedy sampler, in a separate context of the same GGUF, after the same prompt.

Measured (decode phase, tokens per second, best of ``--repeats``):
- raw llama.cpp anchor;
- ``generate_grounded`` with ``ask``'s prompt for the same number of tokens
  (the generation step of ``ask``: block layout, quoting bonus);
- ``ask`` itself on the sample corpus's quickstart questions (end to end, its
  own decode timing; answers are short, so this figure is noisier);
- optionally (``--high-level``) llama-cpp-python's ``create_chat_completion``.

Target: ask path / raw >= 0.9.

    .venv/bin/python bench/throughput.py [--tokens 128] [--repeats 3] [--high-level] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import llama_cpp  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from tantieme.ai import Index, ask  # noqa: E402
from tantieme.ai.answer import select_sources  # noqa: E402
from tantieme.ai.backends.llamacpp import default_model_path, load  # noqa: E402
from tantieme.ai.documents import read_document  # noqa: E402
from tantieme.ai.prompt import build_messages  # noqa: E402


def raw_decode(path: Path, prompt: list[int], n: int, n_threads: int) -> float:
    """Tokens per second of a bare greedy llama_decode loop (decode phase only)."""
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=2048, n_batch=512, n_ubatch=512,
                          n_threads=n_threads, n_threads_batch=n_threads, verbose=False)
    ctx = llm.ctx
    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
    for off in range(0, len(prompt), 512):  # prefill in n_batch pieces
        part = prompt[off : off + 512]
        arr = (llama_cpp.llama_token * len(part))(*part)
        if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(arr, len(part))) != 0:
            raise RuntimeError("prefill failed")
    one = (llama_cpp.llama_token * 1)()
    t0 = time.perf_counter()
    for _ in range(n):
        token = llama_cpp.llama_sampler_sample(chain, ctx, -1)
        one[0] = token
        if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(one, 1)) != 0:
            raise RuntimeError("decode failed")
    elapsed = time.perf_counter() - t0
    llama_cpp.llama_sampler_free(chain)
    llm.close()
    return n / elapsed


def high_level(path: Path, messages: list, n: int, n_threads: int) -> float:
    """Decode-phase tokens per second of create_chat_completion (streamed: after the first token)."""
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=2048, n_threads=n_threads,
                          n_threads_batch=n_threads, verbose=False)
    first = None
    count = 0
    for _chunk in llm.create_chat_completion(messages, max_tokens=n, temperature=0.0,
                                            repeat_penalty=1.0, stream=True):
        count += 1
        if first is None:
            first = time.perf_counter()
    elapsed = time.perf_counter() - first
    llm.close()
    return (count - 1) / elapsed if count > 1 else 0.0


def run(tokens: int, repeats: int, with_high_level: bool, quiet: bool) -> dict:
    catalog = json.loads((ROOT / "samples" / "catalog.json").read_text())
    model = load()
    path = default_model_path()
    results: dict = {"model": model.name, "n_threads": model.n_threads, "tokens": tokens}
    with tempfile.TemporaryDirectory() as tmp, Progress(disable=quiet) as progress:
        index = Index(Path(tmp) / "index")
        terms = {}
        for i, work in enumerate(catalog["works"], start=1):
            terms[i] = work["terms"]
            if work["terms"] != "no-ai":
                index.add_work(i, work["title"], work["creator"], read_document(ROOT / "samples" / work["file"]))
        consents = lambda a: terms[a] != "no-ai"  # noqa: E731
        # a question SmolLM2 answers at length, so that all ``tokens`` get decoded
        question = "How do I fix a bicycle chain that skips under load?"
        hits = index.search(question, k=4, allowed=consents)
        sources, _, _ = select_sources(model, question, hits, max_tokens=tokens)
        messages = build_messages(question, sources)
        prompt = model._prompt_ids(messages)  # the same text as ask's block layout, read in one sequence
        task = progress.add_task("decoding", total=repeats * (3 + with_high_level))
        raw, ours, asks = [], [], []
        for _ in range(repeats):
            raw.append(raw_decode(path, prompt, tokens, model.n_threads))
            progress.advance(task)
            # Force exactly ``tokens`` tokens: no stop strings; EOS may end it early.
            model._reuse_prefix([], 0)
            gen = model.generate_grounded(question, sources, max_tokens=tokens)
            ours.append(gen.decode_tokens_per_s)
            progress.advance(task)
            for q in catalog["questions"]:
                a = ask(q["question"], index, model, consents, attribution="retrieval")
                if a.timings["decode_s"] > 0:
                    asks.append((a.completion_tokens, a.timings["decode_s"], a.timings["total_s"]))
            progress.advance(task)
            if with_high_level:
                results.setdefault("high_level", []).append(high_level(path, messages, tokens, model.n_threads))
                progress.advance(task)
        index.close()
    results["prompt_tokens"] = len(prompt)
    results["generated_tokens"] = gen.completion_tokens
    results["raw_tok_s"] = max(raw)
    results["generate_tok_s"] = max(ours)
    results["ratio"] = results["generate_tok_s"] / results["raw_tok_s"]
    results["ratio_target"] = 0.9
    n_tok = sum(a[0] for a in asks)
    results["ask_decode_tok_s"] = n_tok / sum(a[1] for a in asks)
    results["ask_ratio"] = results["ask_decode_tok_s"] / results["raw_tok_s"]
    results["ask_end_to_end_tok_s"] = n_tok / sum(a[2] for a in asks)
    if with_high_level:
        results["high_level_tok_s"] = max(results.pop("high_level"))
    results["load_average_1m"] = os.getloadavg()[0]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--high-level", action="store_true", help="also time create_chat_completion")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run(args.tokens, args.repeats, args.high_level, quiet=args.json)
    if args.json:
        print(json.dumps(r, indent=1))
        return
    table = Table(title=f"Generation throughput — {r['model']}, n_threads={r['n_threads']}, "
                        f"prompt {r['prompt_tokens']} tokens, {r['tokens']} generated")
    table.add_column("path")
    table.add_column("tok/s", justify="right")
    table.add_column("vs raw", justify="right")
    table.add_column("target", justify="right")
    table.add_row("raw llama.cpp (anchor)", f"{r['raw_tok_s']:.1f}", "1.00", "")
    table.add_row("generate_grounded (ask's generation step)", f"{r['generate_tok_s']:.1f}", f"{r['ratio']:.2f}", "≥ 0.90")
    table.add_row("ask(), decode phase, short answers", f"{r['ask_decode_tok_s']:.1f}", f"{r['ask_ratio']:.2f}", "")
    table.add_row("ask(), end to end incl. retrieval+prefill", f"{r['ask_end_to_end_tok_s']:.1f}", "", "")
    if "high_level_tok_s" in r:
        table.add_row("create_chat_completion (high-level)", f"{r['high_level_tok_s']:.1f}",
                      f"{r['high_level_tok_s'] / r['raw_tok_s']:.2f}", "")
    Console().print(table)
    Console().print(f"1-minute load average at the end: {r['load_average_1m']:.2f} (2 cores)")


if __name__ == "__main__":
    main()
