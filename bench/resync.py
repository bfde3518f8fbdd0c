"""The served index's re-sync before each answer: what it costs after 1 and 1,000 blocks.

    python bench/resync.py [--json] [--blocks 0,1,1000] [--repeat 5] [--chain embedded|anvil|both]

Before each answer `tantieme serve` checks whether works were registered (`totalAssets`) or a
tag cleared (`TagCleared` logs over the blocks since the last answer: one `eth_getLogs`) and
re-indexes only then; without a block since the last check it reads only the head. This times that check (`Service._sync` itself, on a home whose index is
up to date) after N empty blocks, on the embedded chain and on anvil; the median of `--repeat`
runs per size. Not collected by pytest (no `test_` prefix). Uses throwaway homes. The figure to
compare with is an answer's time (seconds with the local model): the check is worth bounding
(at most every N seconds, or on new blocks only) only if it is a noticeable share of it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--blocks", default="0,1,1000", help="blocks since the last answer, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per size (the median is given)")
    parser.add_argument("--chain", choices=("embedded", "anvil", "both"), default="both")
    args = parser.parse_args()
    sizes = [int(s) for s in args.blocks.split(",")]
    chains = ("embedded", "anvil") if args.chain == "both" else (args.chain,)
    result = {"load": os.getloadavg()[0], "chains": {c: measure(c, sizes, args.repeat) for c in chains}}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"re-sync check before an answer (median of {args.repeat}; load {result['load']:.1f})")
    for chain, rows in result["chains"].items():
        for blocks, ms in rows.items():
            print(f"  {chain:8} after {blocks:>6,} blocks: {ms:7.2f} ms")


def measure(chain: str, sizes: list[int], repeat: int) -> dict[int, float]:
    """Milliseconds `Service._sync` takes after each size of empty blocks, on `chain`."""
    os.environ["TANTIEME_HOME"] = str(Path(tempfile.mkdtemp(prefix=f"tantieme-bench-resync-{chain}-")) / "home")
    from tantieme import node as node_mod
    from tantieme.api.service import Service
    from tantieme.chain import anvil
    from tantieme.node import Node

    with ExitStack() as stack:
        if chain == "anvil":
            url = stack.enter_context(anvil.running())
            node_mod.init("rpc", url)
            mine = "anvil_mine"
        else:
            node_mod.init("embedded")
            mine = "evm_mine"
        node = stack.enter_context(Node.open())
        provider = node.conn.w3.provider
        total = node.registry.functions.totalAssets().call()
        times: dict[int, float] = {}
        for blocks in sizes:
            runs = []
            for _ in range(repeat):
                since = node.conn.w3.eth.block_number + 1
                if mine == "anvil_mine":
                    for chunk in range(0, blocks, 100):  # one request stays within the client's timeout
                        provider.make_request("anvil_mine", [hex(min(100, blocks - chunk))])
                else:
                    for _ in range(blocks):
                        provider.make_request("evm_mine", [])
                state = SimpleNamespace(node=node, _indexed_through=total, _cleared_from=since)
                start = time.perf_counter()
                Service._sync(state, None)  # the index is up to date: only the check runs
                runs.append((time.perf_counter() - start) * 1000)
            times[blocks] = statistics.median(runs)
        return times


if __name__ == "__main__":
    main()
