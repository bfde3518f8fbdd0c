"""`backup` / `restore`: whole homes, consistent while the node runs, safe against kill -9."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import zlib
from pathlib import Path

import pytest

from tantieme import node as node_mod
from tantieme.errors import ConfigError
from tantieme.ledger import settlement
from tantieme.ledger.bundle import export
from tantieme.ledger.verify import verify
from tantieme.maintenance import backup as backups
from tantieme.maintenance import STAGE, holdings, interrupted_restore
from tantieme.node import Node, Settings


@pytest.fixture
def used_home(make_answer, payer, init_embedded):
    """An embedded node with two answers, one settled, one pending."""
    init_embedded()
    with Node.open() as node:
        settled = make_answer(node)
        settlement.settle(node, {payer.address: payer})
        pending = make_answer(node, question="How hot is the oven?", answer="250 degrees.")
    return {"settled": settled, "pending": pending}


def _state(home: Path) -> dict:
    """What a home holds, read back through the library."""
    with Node.open(readonly=True) as node:
        book = settlement.journal()
        return {
            "head": node.conn.w3.eth.block_number,
            "assets": node.registry.functions.totalAssets().call(),
            "records": [(r.digest, r.batch_id) for r in book.records()],
            "store": sorted(p.name for p in (home / "store").glob("*/*")),
            "answers": sorted(p.name for p in (home / "answers").iterdir()),
            "ledger": node.deployment.ledger,
        }


def test_backup_restore__round_trip_into_a_new_home(used_home, payer, tantieme_home, tmp_path, monkeypatch):
    before = _state(tantieme_home)
    made = backups.backup(tmp_path / "node.tar.gz")
    assert made.path.is_file() and made.holdings.records == {node_mod.EMBEDDED_CHAIN_ID: 2}
    with tarfile.open(made.path) as tar:
        names = tar.getnames()
    assert "ledger.db" in names and "chain/chain.sqlite3" in names and "ca/root-ca.key" in names
    assert not [n for n in names if n.endswith(("-wal", "-shm", "LOCK"))]

    elsewhere = tmp_path / "restored"
    monkeypatch.setenv("TANTIEME_HOME", str(elsewhere))
    done = backups.restore(made.path)
    assert done.previous is None and done.holdings.records == {node_mod.EMBEDDED_CHAIN_ID: 2}
    assert _state(elsewhere) == before
    with Node.open() as node:  # the restored node works: verify, and settle the pending record
        report = verify(node.conn, export(node, settlement.journal(), used_home["settled"].digest))
        assert report.status == "verified", report.checks
        (done,) = settlement.settle(node, {payer.address: payer})
        assert done.records == 1
    assert not (elsewhere / STAGE).exists() and not (elsewhere / backups.SET_ASIDE).exists()


def test_restore__used_home__refused_without_force_then_replaced_after_a_backup(used_home, tantieme_home, tmp_path, make_answer):
    made = backups.backup(tmp_path / "node.tar.gz")
    before = _state(tantieme_home)
    with Node.open() as node:
        make_answer(node, question="A third question?", answer="A third answer.")
    with pytest.raises(ConfigError, match="already holds a node \\(3 records and 6 stored files\\); restore into an empty home .* or add --force to replace it"):
        backups.restore(made.path)
    assert len(_state(tantieme_home)["records"]) == 3
    done = backups.restore(made.path, force=True)
    assert _state(tantieme_home) == before
    assert done.previous and Path(done.previous).parent == tantieme_home / "backups"
    with tarfile.open(done.previous) as tar:  # what the home held before is kept
        assert "ledger.db" in tar.getnames()


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "not a backup"])
def test_restore__damaged_backup__refused_and_home_untouched(used_home, tmp_path, monkeypatch, damage):
    made = backups.backup(tmp_path / "node.tar.gz").path
    data = made.read_bytes()
    if damage == "truncated":
        damaged = [data[: len(data) // 2]]
    elif damage == "flipped byte":  # anywhere: headers, file data, a file's padding, the trailer
        flipped = (data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :] for i in range(0, len(data), max(1, len(data) // 40)))
        damaged = [content for content in flipped if _damages(content, data)]
        assert len(damaged) >= 30  # nearly every flip damages a file
    else:
        damaged = [b"hello"]
    elsewhere = tmp_path / "restored"
    monkeypatch.setenv("TANTIEME_HOME", str(elsewhere))
    for content in damaged:
        made.write_bytes(content)
        with pytest.raises(ConfigError, match="is (damaged|not a readable tantieme backup)"):
            backups.restore(made)
        assert holdings().empty and not (elsewhere / "node.json").exists()


def _damages(content: bytes, original: bytes) -> bool:
    """Whether `content` holds other files than `original`: some flips (the gzip header's time,
    some deflate bits) leave every file as it was, and a restore may rightly take those."""
    try:
        return gzip.decompress(content) != gzip.decompress(original)
    except (OSError, EOFError, zlib.error):
        return True


def test_backup__bad_targets__clear_errors(used_home, tantieme_home, tmp_path):
    (tmp_path / "taken.tar.gz").write_text("x")
    with pytest.raises(ConfigError, match="exists already"):
        backups.backup(tmp_path / "taken.tar.gz")
    with pytest.raises(ConfigError, match="is inside the home it backs up"):
        backups.backup(tantieme_home / "store" / "b.tar.gz")
    with pytest.raises(ConfigError, match="its folder does not exist"):
        backups.backup(tmp_path / "nowhere" / "b.tar.gz")


@pytest.mark.timeout(120)
def test_backup__while_a_writer_holds_the_chain__waits_then_snapshots(used_home, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "from tantieme.node import Node; import sys; n = Node.open(); print('ok', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "ok\n"
        heard: list[str] = []

        def waiting(message: str) -> None:
            heard.append(message)
            holder.stdin.close()  # the writer finishes once the backup waits for it

        made = backups.backup(tmp_path / "node.tar.gz", on_wait=waiting)
    finally:
        holder.wait(timeout=30)
    assert heard == [f"waiting for process {holder.pid} (-c) to finish with the embedded chain (up to 120 s)"]
    assert made.path.is_file()


# -- kill -9 ------------------------------------------------------------------

_DYING = textwrap.dedent(
    """
    import os, signal, sys, tarfile
    from pathlib import Path
    from tantieme.maintenance import backup as backups

    what, after, path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    calls = [0]

    def dying(real):
        def call(*args, **kwargs):
            if calls[0] == after:
                os.kill(os.getpid(), signal.SIGKILL)
            calls[0] += 1
            return real(*args, **kwargs)
        return call

    if what == "backup":
        tarfile.TarFile.addfile = dying(tarfile.TarFile.addfile)
        backups.backup(path)
    else:
        os.replace = dying(os.replace)
        backups.restore(path, force=True)
    print("finished", calls[0], flush=True)
    """
)


def _run_dying(tmp_path: Path, what: str, after: int, path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "dying.py"
    script.write_text(_DYING)
    return subprocess.run([sys.executable, str(script), what, str(after), str(path)], env=os.environ, capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("after", [0, 5, 20])
def test_backup__killed__no_backup_file_and_the_home_intact(used_home, tantieme_home, tmp_path, after):
    before = _state(tantieme_home)
    target = tmp_path / "node.tar.gz"
    proc = _run_dying(tmp_path, "backup", after, target)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not target.exists()
    assert _state(tantieme_home) == before
    assert backups.backup(target).path.is_file()  # and the next backup works, cleaning up after the dead one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dying.py", "home", "node.tar.gz"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("after", [1, 2, 4, 9, 16])
def test_restore__killed__resume_or_rerun_gives_the_backup(used_home, tantieme_home, tmp_path, make_answer, after):
    made = backups.backup(tmp_path / "node.tar.gz").path
    wanted = _state(tantieme_home)
    with Node.open() as node:
        make_answer(node, question="After the backup?", answer="Yes.")
    proc = _run_dying(tmp_path, "restore", after, made)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    if interrupted_restore():
        with pytest.raises(ConfigError, match="a restore into .* was interrupted: run `tantieme restore --resume`"):
            Settings.load()
        backups.resume()
    else:  # killed before the swap began: the home still holds what it held, and restoring again works
        assert len(_state(tantieme_home)["records"]) == 3
        backups.restore(made, force=True)
    assert _state(tantieme_home) == wanted
