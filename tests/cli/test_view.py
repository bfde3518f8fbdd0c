"""The read view: reads start without web3 while the chain stands still, and are never stale."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tantieme.chain.accounts import dev_account
from tantieme.cli import app, view
from tantieme.config import home
from tantieme.node import Settings

runner = CliRunner()
FRIEND = dev_account(5).address


def run_json(*args: str):
    result = runner.invoke(app, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


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
def test_read_commands__start_without_web3(args, tmp_path):
    """Whole processes: `--help`, `history` and (from the view) the chain reads never import web3."""
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
