"""State as a user meets it: damaged files, concurrent commands, limits, maintenance commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tantieme import interaction
from tantieme import node as node_mod
from tantieme.ai.index import MAX_WORK_CHARS
from tantieme.chain.deploy import deployment_path
from tantieme.cli import app
from tantieme.node import Node

runner = CliRunner()
NOVEL = ("word " * (MAX_WORK_CHARS // 5 + 1)).strip()  # just above the limit
TANTIEME = Path(sys.executable).with_name("tantieme")


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def used(tantieme_home, make_answer, make_file, init_embedded):
    """An embedded node that registered a work and journaled an answer."""
    init_embedded()
    with Node.open() as node:
        make_answer(node)
    assert invoke("register", str(make_file("On rivers.")), "--terms", "open").exit_code == 0
    return tantieme_home


def _truncate(path: Path, keep: int = 100) -> None:
    path.write_bytes(path.read_bytes()[:keep])
    for leftover in path.parent.glob(path.name + "-*"):  # an SQLite WAL would still hold the pages
        leftover.unlink()


DAMAGE = {
    "node.json": (lambda home: home / "node.json", ("assets",), "node.json is damaged"),
    "deployment": (lambda home: deployment_path(node_mod.EMBEDDED_CHAIN_ID), ("assets",), "deployment record .* is damaged"),
    "models.json": (lambda home: home / "models.json", ("ask", "How many hives?"), "models.json is damaged .*`tantieme doctor --repair`"),
    "journal": (lambda home: home / "ledger.db", ("history",), "the journal .*ledger.db is damaged .*`tantieme restore FILE`"),
    "chain": (lambda home: home / "chain" / "chain.sqlite3", ("assets",), "the embedded chain database .* is damaged .*`tantieme restore FILE`"),
}


@pytest.mark.parametrize("what", sorted(DAMAGE))
def test_damaged_file__one_clear_error__no_traceback(used, what):
    import re

    locate, command, message = DAMAGE[what]
    path = locate(used)
    if what == "models.json":
        path.write_text('{"default": 1, "models": {"1": {"asset_')
    else:
        _truncate(path)
    result = invoke(*command)
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and re.search(message, " ".join(result.output.split()))
    data = json.loads(invoke(*command, "--json").stdout)
    assert re.search(message, data["error"]) and data["kind"].endswith("Error")


def test_ask__damaged_index__rebuilt_from_the_chain_and_the_store(used, stub_model):
    with Node.open() as node:
        interaction.register_model(node, backend="stub")
    assert invoke("ask", "How many hives?", "--attribution", "retrieval").exit_code == 0
    index = used / "index"
    _truncate(index / "index.sqlite", 300)
    result = invoke("ask", "How many hives?", "--attribution", "retrieval", "--json")
    assert result.exit_code == 0, result.output
    from tantieme.ai.index import Index

    with Index(index) as rebuilt:
        assert [w.title for w in rebuilt.works()] == ["work-0"]


def test_register__text_above_the_limit__refused_with_the_limit(used, tmp_path):
    big = tmp_path / "novel.txt"
    big.write_text(NOVEL)
    result = invoke("register", str(big), "--terms", "open")
    assert result.exit_code == 1
    expected = f"novel.txt holds {len(NOVEL):,} characters of text; the index takes works of up to {MAX_WORK_CHARS:,}"
    assert expected in " ".join(result.output.split())
    huge = tmp_path / "dump.txt"
    with open(huge, "wb") as out:
        out.truncate(50_000_000)
    result = invoke("register", str(huge), "--terms", "open", "--json")
    assert "dump.txt is 50.0 MB; AI retrieval takes documents of up to 20 MB" in json.loads(result.stdout)["error"]
    assert invoke("register", str(huge), "--terms", "no-ai").exit_code == 0  # kept, but never read by AI


def test_sync_index__asset_above_the_limit__skipped_with_a_warning(used, stub_model, tmp_path):
    from tantieme.ai.index import Index
    from tantieme.assets import registry
    from tantieme.assets.terms import preset

    big = tmp_path / "novel.md"
    big.write_text(NOVEL)
    warnings: list[str] = []
    with Node.open() as node:
        asset = registry.register(node, big, terms=preset("open"))  # the library does not check
        with Index(used / "index") as index:
            added = interaction.sync_index(node, index, warnings.append)
    assert asset.id not in added
    assert warnings == [f"asset {asset.id} is not indexed: asset {asset.id} holds {len(NOVEL):,} characters of text; "
                        f"the index takes works of up to {MAX_WORK_CHARS:,} (about a novel): split it into parts "
                        "and register each, or register it without retrieval consent"]


# -- concurrent processes -------------------------------------------------------


def tantieme(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TANTIEME), *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300)


@pytest.mark.timeout(600)
def test_reads_beside_a_writer__writers_wait_and_say_so(used):
    holder = subprocess.Popen(
        [sys.executable, "-c", "from tantieme.node import Node; import sys; n = Node.open(); print('ok', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "ok\n"
        for command in (["assets"], ["show", "1"], ["history"], ["royalties"], ["chain", "status"], ["verify", "1"], ["export", "1", "-o", str(used.parent / "b.json")]):
            result = tantieme(*command, "--json")
            assert result.returncode in (0, 3), (command, result.stdout, result.stderr)
            json.loads(result.stdout)
        impatient = tantieme("faucet", "1", "--json", env={"TANTIEME_LOCK_TIMEOUT": "0.5"})
        assert impatient.returncode == 1
        error = json.loads(impatient.stdout)
        assert error["kind"] == "ChainLockedError" and f"in use by process {holder.pid} (-c) for 0.5 s" in error["error"]
        patient = subprocess.Popen([str(TANTIEME), "faucet", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waiting = patient.stderr.readline()  # said as soon as it starts waiting
        assert f"waiting for process {holder.pid} (-c) to finish with the embedded chain (up to 120 s)" in waiting
        assert patient.poll() is None
        holder.stdin.close()  # the writer finishes: the waiting one goes on
        out, err = patient.communicate(timeout=120)
        assert patient.returncode == 0, err
        assert out.startswith("+1 TAI")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_reads_while_a_real_ask_runs(used):
    """`ask` on the real model in one process; `assets`, `history`, `verify` in others meanwhile."""
    assert tantieme("model", "register").returncode == 0
    # a long question (about 500 tokens) keeps the ask encoding for a while after it opened the chain
    question = " ".join(["How many hives fit on a roof?"] * 60)
    ask = subprocess.Popen([str(TANTIEME), "ask", question, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock = used / "chain" / "LOCK"
        deadline = time.monotonic() + 120
        while f"{ask.pid} tantieme ask" not in (lock.read_text() if lock.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.05)
        readers = [
            subprocess.Popen([str(TANTIEME), *command, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for command in (["assets"], ["history"], ["verify", "1"])
        ]
        for reader in readers:
            reader.communicate(timeout=120)
        still_running = ask.poll() is None
        out, err = ask.communicate(timeout=600)
    finally:
        ask.kill()
    assert ask.returncode == 0, err
    assert still_running, "the ask finished before the reads: nothing was tested"
    assert [r.returncode for r in readers] == [0, 0, 3]


# -- maintenance commands ---------------------------------------------------------


def test_doctor_backup_restore__commands_and_json(used, tmp_path, monkeypatch):
    doctor = json.loads(invoke("doctor", "--json").stdout)
    assert doctor["ok"] is True and [f["name"] for f in doctor["findings"]][:3] == ["settings", "chain", "deployment"]
    made = json.loads(invoke("backup", str(tmp_path / "b.tar.gz"), "--json").stdout)
    assert made["path"] == str(tmp_path / "b.tar.gz") and made["holdings"]["stored"] == 4
    refused = invoke("restore", str(tmp_path / "b.tar.gz"))
    assert refused.exit_code == 1 and "add --force to replace it" in " ".join(refused.output.split())
    monkeypatch.setenv("TANTIEME_HOME", str(tmp_path / "other"))
    restored = json.loads(invoke("restore", str(tmp_path / "b.tar.gz"), "--json").stdout)
    assert restored["previous"] is None and restored["holdings"]["records"] == {str(node_mod.EMBEDDED_CHAIN_ID): 1}
    assert json.loads(invoke("assets", "--json").stdout)[0]["id"] == 1
    nothing = invoke("restore", "--resume")
    assert nothing.exit_code == 1 and "no interrupted restore" in nothing.output


def test_history_json__carries_the_full_record(used, payer):
    with Node.open() as node:
        from tantieme.ledger import settlement

        settlement.settle(node, {payer.address: payer})
    (row,) = json.loads(invoke("history", "--json").stdout)
    full = row["full"]
    assert full["record"]["typed_data"]["primaryType"] == "Interaction"
    assert full["record"]["signature"].startswith("0x") and len(full["record"]["signature"]) == 132
    assert full["batch"]["typed_data"]["primaryType"] == "Batch" and full["proof"] == []
    assert full["anchor"]["batch_id"] == 1 and full["anchor"]["tx_hash"].startswith("0x")
    assert full["status"] == "settled"


def test_help__examples_and_verify_exit_codes():
    for command in ("export", "verify", "doctor", "backup", "restore"):
        assert "Example:" in invoke(command, "--help").output, command
    text = " ".join(invoke("verify", "--help").output.split())
    assert "Exit codes: 0 verified; 1 a check failed; 2 usage error; 3 pending" in text
    assert "the answering node's own CA" in text
