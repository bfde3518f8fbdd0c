"""The read view: reads start without web3 while the chain stands still, and are never stale."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tantieme.chain.accounts import dev_account
from tantieme.cli import app, view
from tantieme.config import home
from tantieme.node import Settings

from .conftest import run_json, runner

FRIEND = dev_account(5).address


def test_head__read_without_web3_is_the_chain_head(node):
    settings = json.loads(Settings.path().read_text())
    assert view.head(settings) == node.conn.w3.eth.get_block("latest")["hash"].to_0x_hex()
    node.faucet(FRIEND, 1)
    assert view.head(settings) == node.conn.w3.eth.get_block("latest")["hash"].to_0x_hex()


def test_read__reuses_the_view_until_any_block_moves_the_head(node, monkeypatch):
    node.close()  # the commands open the node themselves
    first = run_json("balance", FRIEND)
    assert run_json("balance", FRIEND) == first

    def no_node():
        raise AssertionError("the view should have answered")

    with monkeypatch.context() as patched:
        patched.setattr(view, "open_node", no_node)
        assert run_json("balance", FRIEND) == first

    # Another account moves tokens: the head moves, the next read sees it.
    with type(node).open() as other:
        other.as_account(dev_account(0)).faucet(FRIEND, 7)
    assert int(run_json("balance", FRIEND)["balance"]) == int(first["balance"]) + 7


def test_read__damaged_view__recomputed(node):
    node.close()
    run_json("assets")
    for path in (home() / "view").glob("*.json"):
        path.write_text("{trunc")
    assert run_json("assets") == []


@pytest.mark.parametrize("args", [["--help"], ["history"], ["assets"], ["show", "1"], ["royalties"], ["balance"]])
def test_read_commands__start_without_web3(args, tmp_path, init_embedded):
    """Whole processes: `--help`, `history` and (from the view) the chain reads never import web3."""
    init_embedded()
    runner.invoke(app, ["init"], catch_exceptions=False)
    work = tmp_path / "w.md"
    work.write_text("# W\n\nx")
    runner.invoke(app, ["register", str(work)], catch_exceptions=False)
    script = (
        "import sys\n"
        "from tantieme.cli import app\n"
        f"app({args!r}, prog_name='tantieme', standalone_mode=False)\n"
        "heavy = sorted(m for m in ('web3', 'eth', 'eth_account', 'eth_tester', 'llama_cpp', 'torch') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    for _ in range(2):  # the first read of a chain read fills the view
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "HEAVY []"


def test_cold_read__loads_the_chain_but_not_the_compiler(init_embedded):
    """A read the view cannot answer opens the chain (web3), never vyper: the artifacts are cached."""
    init_embedded()
    runner.invoke(app, ["init"], catch_exceptions=False)
    script = (
        "import sys\n"
        "from tantieme.cli import app\n"
        "app(['assets'], prog_name='tantieme', standalone_mode=False)\n"
        "print('LOADED', sorted(m for m in ('web3', 'vyper') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "LOADED ['web3']"


def test_own_writes__refresh_recent_reads_so_they_stay_fast(node, monkeypatch, tmp_path):
    node.close()
    monkeypatch.setattr(view, "REFRESH_BUDGET_S", 60.0)  # a loaded machine must not skip the refresh
    assert run_json("assets") == []
    assert run_json("balance")["balance"] == str(10_000 * 10**18)
    work = tmp_path / "w.md"
    work.write_text("# Roof Bees\n\nFour hives.")
    run_json("register", str(work))  # a write: it refreshes `assets` and `balance` before closing
    run_json("transfer", FRIEND, "1")

    def no_node():
        raise AssertionError("the view should have answered")

    with monkeypatch.context() as patched:
        patched.setattr(view, "open_node", no_node)
        assert [a["title"] for a in run_json("assets")] == ["Roof Bees"]
        assert run_json("balance")["balance"] == str(9_999 * 10**18)


def test_refresh__stays_within_its_budget(node, monkeypatch):
    node.close()
    run_json("assets")
    monkeypatch.setattr(view, "REFRESH_BUDGET_S", 0.0)
    with type(node).open() as other:
        other.faucet(FRIEND, 1)
        view.refresh(other)  # nothing fits in a zero budget: the next read computes afresh
    calls = []
    monkeypatch.setattr(view, "_compute", lambda *a: calls.append(a) or ([], 0.0))
    run_json("assets")
    assert len(calls) == 1


def test_stamp__holds_the_journal_batches_royalties_count(node):
    import sqlite3

    node.close()
    before = view._stamp()
    with sqlite3.connect(home() / "ledger.db") as db:  # a journal whose batch settles
        db.execute("CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY, status TEXT)")
        db.execute("INSERT INTO batches (id, status) VALUES (1, 'signed')")
    signed = view._stamp()
    with sqlite3.connect(home() / "ledger.db") as db:
        db.execute("UPDATE batches SET status = 'settled' WHERE id = 1")
    assert len({before, signed, view._stamp()}) == 3
