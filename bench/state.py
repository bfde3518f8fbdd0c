"""State figures: backup and restore of a used home, verifying a bundle, reading beside a writer,
and indexing a work at the index's size limit.

    python bench/state.py [--json] [--records 1000] [--skip-index]

Not collected by pytest (no `test_` prefix). Uses throwaway homes. Targets:
a work at the limit indexes within the writers' default lock timeout (120 s),
so a writer waiting behind an `ask` that indexes it does not give up; a reader
opens beside a writer in well under a second.
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

TARGET_INDEX_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--records", type=int, default=1000, help="journaled records in the home")
    parser.add_argument("--skip-index", action="store_true", help="skip the (slow) index at the limit")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tantieme-bench-state-"))
    os.environ["TANTIEME_HOME"] = str(root / "home")

    from tantieme.ledger import settlement
    from tantieme.ledger.bundle import export
    from tantieme.ledger.verify import verify
    from tantieme.maintenance import backup as backups
    from tantieme.node import Node

    result: dict[str, object] = {"records": args.records}
    homes.answered(args.records, batch=args.records)
    with Node.open() as node:
        book = settlement.journal()
        first = book.records(limit=1)[0]
        result["chain_blocks"] = node.conn.w3.eth.block_number

        start = time.perf_counter()
        bundle = export(node, book, first.digest)
        result["export_s"] = time.perf_counter() - start
        start = time.perf_counter()
        report = verify(node.conn, bundle)
        result["verify_s"] = time.perf_counter() - start
        # No answer files here (records only): everything but the credentials verifies.
        assert {c.name for c in report.checks if not c.ok} == {"content credential", "content credential (JSON)"}

        # A reader opening beside this writer, in another process (imports included).
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "from tantieme.node import Node\nwith Node.open(readonly=True) as n: n.registry.functions.totalAssets().call()"],
            check=True, env=os.environ,
        )
        result["reader_beside_writer_s"] = time.perf_counter() - start

    start = time.perf_counter()
    made = backups.backup(root / "home.tar.gz")
    result["backup_s"] = time.perf_counter() - start
    result["backup_mb"] = made.path.stat().st_size / 1e6
    os.environ["TANTIEME_HOME"] = str(root / "restored")
    start = time.perf_counter()
    backups.restore(made.path)
    result["restore_s"] = time.perf_counter() - start

    if not args.skip_index:
        from tantieme.ai.index import MAX_WORK_CHARS, Index

        text = (Path(__file__).resolve().parent.parent / "samples" / "bruno-night-bakery.md").read_text()
        text = (text * (MAX_WORK_CHARS // len(text) + 1))[:MAX_WORK_CHARS]
        with Index(root / "index") as index:
            index.embedder.encode(["warm up"])
            start = time.perf_counter()
            work_ = index.add_work(1, "at the limit", "0x0", text)
            result["index_at_limit_s"] = time.perf_counter() - start
            result["index_at_limit_passages"] = work_.chunks

    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    print(f"home: {args.records:,} records settled, {result['chain_blocks']} blocks")
    print(f"export a bundle                    {result['export_s'] * 1000:8.1f} ms")
    print(f"verify it against the chain        {result['verify_s'] * 1000:8.1f} ms")
    print(f"a reader beside a writer (process) {result['reader_beside_writer_s']:8.2f} s")
    print(f"backup                             {result['backup_s']:8.2f} s ({result['backup_mb']:.1f} MB)")
    print(f"restore into an empty home         {result['restore_s']:8.2f} s")
    if "index_at_limit_s" in result:
        print(
            f"index a work at the limit ({MAX_WORK_CHARS:,} characters, {result['index_at_limit_passages']:,} passages) "
            f"{result['index_at_limit_s']:6.1f} s (target ≤ {TARGET_INDEX_S:g} s: the writers' lock timeout)"
        )


if __name__ == "__main__":
    main()
