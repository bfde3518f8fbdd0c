"""The economy simulation's default run, as a user starts it: `time tantieme simulate`.

A whole process on a fresh home (the embedded defaults: no node is set up), so
imports (Mesa, pandas, web3's ABI helpers for the defaults) are included; CPU is
the process's own user + system time, which a shared machine stretches less than
the wall time. The load average is printed beside the figures.

Target (issue 11): the default run <= 60 s on 2 cores.

    .venv/bin/python bench/simulate.py [--runs 1] [-- extra simulate options]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 60.0
TANTIEME = Path(sys.executable).with_name("tantieme")


def timed(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one `tantieme simulate ARGS` on a fresh home."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as home:
        start = time.perf_counter()
        subprocess.run([str(TANTIEME), "simulate", *args], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "TANTIEME_HOME": home})
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("extra", nargs="*", help="options passed to `tantieme simulate`")
    options = parser.parse_args()
    for _ in range(options.runs):
        load = os.getloadavg()[0]
        wall, cpu = timed(options.extra)
        verdict = "met" if wall <= TARGET_S else "MISSED"
        print(f"tantieme simulate {' '.join(options.extra)}: {wall:.1f} s wall, {cpu:.1f} s CPU "
              f"(target <= {TARGET_S:.0f} s: {verdict}; load average {load:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
