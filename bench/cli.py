"""CLI start-up: `--help` and the read commands, timed as whole processes (like hyperfine).

    python bench/cli.py [--runs 15] [--before OTHER/.venv/bin/tantieme] [--json]

A throwaway home holds the sample corpus (7 assets, one paid), 20 signed interaction
records and a settled batch. Each command runs `--runs` times after a warm-up run:

- *warm*: the chain has not moved since the last read, so the read view answers;
- *cold*: a new block lands before every run (another account's transaction), so the
  command loads web3 and the chain and reads afresh; `--help` and `history` never
  read the chain and have no cold case.

`--before` times another build's `tantieme` on the same home in the same run (e.g. a
checkout of the code before these changes), so both figures share the machine's load.
Wall time is what a user waits; CPU time (user + system of the command's process) is
printed beside it because it hardly moves when other work shares the machine. Target:
≤ 0.3 s for `--help` and every read command; before the lazy imports and the read view,
each took 1.1–1.3 s (every command imported web3). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.3
COMMANDS = (["--help"], ["history"], ["assets"], ["show", "1"], ["royalties"], ["balance"])
CHAIN_READS = {"assets", "show", "royalties", "balance"}
TANTIEME = str(Path(sys.executable).parent / "tantieme")
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def setup(home: Path) -> None:
    """A node with the sample corpus, a paid asset, 20 journaled records and a settled batch."""
    os.environ["TANTIEME_HOME"] = str(home)
    from tantieme.assets import registry, royalties
    from tantieme.assets.terms import preset
    from tantieme.chain.accounts import dev_account
    from tantieme.ledger import settlement
    from tantieme.node import Node, init

    init("embedded")
    with Node.open() as node:
        ids = [registry.register(node, path, terms=preset("open")).id for path in sorted(SAMPLES.glob("*.md"))]
        model = registry.register_hash(node, b"\x01" * 32, kind="model", terms=preset("open"), title="model", media_type="application/octet-stream")
        royalties.pay(node, ids[0], 10**18)
        asker = dev_account(7)
        node.faucet(asker.address)
        for n in range(20):
            settlement.record(
                node, asker, model=model.id, question=f"question {n}?", answer=f"answer {n}.", sources=ids[:2],
                weights=[0.5, 0.25], prompt_tokens=500, completion_tokens=20, fee=10**14, details={},
            )
        settlement.settle(node, {asker.address: asker})


def move_head() -> None:
    """Another account's transaction: a new block, so the read view no longer answers."""
    subprocess.run(
        [sys.executable, "-c", "from tantieme.node import Node\nfrom tantieme.chain.accounts import dev_account\n"
         "with Node.open() as n: n.faucet(dev_account(8).address, 1)"],
        check=True, capture_output=True,
    )


def timed(exe: str, args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one whole `EXE ARGS` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([exe, *args], check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(args: list[str], runs: int, cold: bool, exe: str = TANTIEME) -> dict:
    walls, cpus = [], []
    timed(exe, args)  # warm-up: bytecode caches, the view
    for _ in range(runs):
        if cold:
            move_head()
        wall, cpu = timed(exe, args)
        walls.append(wall)
        cpus.append(cpu)
    return {"median_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls), "cpu_s": statistics.median(cpus)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--before", help="another build's tantieme executable, timed side by side")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tantieme-bench-cli-"))
    try:
        setup(home)
        rows = []
        for args in COMMANDS:
            row = {"command": "tantieme " + " ".join(args), "warm": measure(args, options.runs, cold=False)}
            if args[0] in CHAIN_READS:
                row["cold"] = measure(args, max(3, options.runs // 3), cold=True)
            if options.before:
                try:
                    row["before"] = measure(args, max(3, options.runs // 3), cold=False, exe=options.before)
                except subprocess.CalledProcessError:
                    row["before"] = None  # a command the other build does not have
            rows.append(row)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if options.json:
        print(json.dumps({"target_s": TARGET_S, "load_average": os.getloadavg()[0], "commands": rows}, indent=2))
        return
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; before: 1.1–1.3 s per command (all imported web3)")
    print(f"{'command':20s} {'warm: wall (min–max)':>22s} {'cpu':>6s} {'cold: wall':>10s} {'cpu':>6s} {'before: wall':>12s} {'cpu':>6s}  target")
    for row in rows:
        warm, cold, before = row["warm"], row.get("cold"), row.get("before")
        wall = f"{warm['median_s']:.2f} s ({warm['min_s']:.2f}–{warm['max_s']:.2f})"
        cold_text = f"{cold['median_s']:8.2f} s {cold['cpu_s']:4.2f} s" if cold else f"{'–':>10s} {'':6s}"
        before_text = f"{before['median_s']:10.2f} s {before['cpu_s']:4.2f} s" if before else f"{'–':>12s} {'':6s}"
        verdict = "ok" if warm["median_s"] <= TARGET_S else "OVER"
        print(f"{row['command']:20s} {wall:>22s} {warm['cpu_s']:4.2f} s {cold_text} {before_text}  ≤ {TARGET_S} s {verdict}")

if __name__ == "__main__":
    main()
