"""Who-profits figures at size: `tantieme report` and the dashboard's pages over a home of many
answers (a graph of works with parents, a dataset and the model trained on it; answers settled
in batches, a few pending).

    python bench/report.py [--json] [--records 1000] [--batch 100] [--works 20]

Not collected by pytest (no `test_` prefix). Uses a throwaway home. Target: the report over
1,000 answers in ≤ 2 s in process, so a page of the dashboard answers within a couple of seconds.
The chain's reads are kept per head block (`tantieme.chain.headcache`): "cold" is the first
report after a block (everything read from the chain), the others are medians of reads at
an unchanged head, as a dashboard between blocks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import homes

TARGET_REPORT_S = 2.0


def timed(fn, runs: int = 3) -> float:
    """The median of `runs` timings of `fn()`, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--records", type=int, default=1000, help="answers in the home")
    parser.add_argument("--batch", type=int, default=100, help="answers per settled batch")
    parser.add_argument("--works", type=int, default=20, help="works in the graph")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tantieme-bench-report-"))
    os.environ["TANTIEME_HOME"] = str(root / "home")

    from fastapi.testclient import TestClient

    from tantieme.api import Service, Unpaid, create_app
    from tantieme.ledger import settlement
    from tantieme.node import Node
    from tantieme.report import report

    built_s = homes.answered(args.records, works=args.works, batch=args.batch)

    result: dict[str, object] = {"records": args.records, "batch": args.batch, "works": args.works, "built_s": built_s}
    with Node.open(readonly=True) as node:
        result["report_cold_s"] = timed(lambda: report(node), runs=1)
        result["report_s"] = timed(lambda: report(node))
        client = TestClient(create_app(Service(node, Unpaid()), manage=False))
        html = {"Accept": "text/html"}
        result["dashboard_s"] = timed(lambda: client.get("/dashboard", headers=html).raise_for_status())
        owner = node.address
        result["creator_s"] = timed(lambda: client.get(f"/dashboard/creators/{owner}", headers=html).raise_for_status())
        digest = settlement.journal().records(limit=1, pending=False)[0].digest
        result["answer_page_s"] = timed(lambda: client.get(f"/answers/{digest}", headers=html).raise_for_status())
    cli = Path(sys.executable).parent / "tantieme"
    result["cli_report_s"] = timed(lambda: subprocess.run([str(cli), "report", "--json"], check=True, capture_output=True), runs=3)
    result["target_report_s"] = TARGET_REPORT_S
    result["load_average"] = os.getloadavg()[0]
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    print(f"home: {args.records:,} answers over {args.works} works, settled {args.batch} a batch ({built_s:.1f} s to build)")
    print(f"report in process, first after a block  {result['report_cold_s']:6.2f} s")
    print(f"report in process (snapshot + figures)  {result['report_s']:6.2f} s   target ≤ {TARGET_REPORT_S} s (same head)")
    print(f"`tantieme report --json`, a process    {result['cli_report_s']:6.2f} s")
    print(f"GET /dashboard                          {result['dashboard_s']:6.2f} s")
    print(f"GET /dashboard/creators/ADDRESS         {result['creator_s']:6.2f} s")
    print(f"GET /answers/ID (page, verified)        {result['answer_page_s']:6.2f} s")
    print(f"load average {result['load_average']:.1f}")


if __name__ == "__main__":
    main()
