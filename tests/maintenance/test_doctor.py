"""`doctor`: every check finds its damage, says how to fix it, and `--repair` rebuilds what it can."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tantieme import interaction
from tantieme.ai.embeddings import HashingEmbedder
from tantieme.ai.index import Index
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.config import home
from tantieme.maintenance import doctor
from tantieme.node import Node

TEXTS = {
    "bees.md": "Bees on a flat roof of forty square metres: four hives, strapped down against the wind.",
    "bread.md": "The deck oven runs at 250 degrees; the rye loaves bake for fifty minutes.",
}


@pytest.fixture
def hashing_embedder(monkeypatch):
    """Indexes built without loading MiniLM (the repair opens the index without an embedder)."""
    monkeypatch.setattr("tantieme.ai.index.default_embedder", HashingEmbedder)


@pytest.fixture
def indexed(tmp_path, hashing_embedder, init_embedded):
    """An embedded node with two consenting works, indexed."""
    init_embedded()
    with Node.open() as node:
        for name, text in TEXTS.items():
            (tmp_path / name).write_text(text)
            registry.register(node, tmp_path / name, terms=preset("open"), title=name)
        with Index(interaction.index_path()) as index:
            assert interaction.sync_index(node, index) == [1, 2]


def findings(diagnosis) -> dict:
    return {f.name: f for f in diagnosis.findings}


def test_doctor__healthy_home__every_check_passes(indexed):
    diagnosis = doctor.run()
    assert diagnosis.ok, diagnosis.findings
    assert list(findings(diagnosis)) == ["settings", "chain", "deployment", "handover", "journal", "store", "index", "ca", "models"]
    assert findings(diagnosis)["index"].detail.startswith("2 works,")


def test_doctor__before_init__says_run_init():
    found = findings(doctor.run())
    assert not found["settings"].ok and "`tantieme init`" in found["settings"].fix


def test_doctor__damaged_index__rebuilt_from_the_chain_and_the_store(indexed):
    matrix = interaction.index_path() / "embeddings-0.f32"
    os.truncate(matrix, matrix.stat().st_size // 2)
    found = findings(doctor.run())["index"]
    assert not found.ok and "is damaged" in found.detail and "--repair" in found.fix
    repaired = findings(doctor.run(repair=True))["index"]
    assert repaired.ok and repaired.repaired and repaired.detail == "was damaged: rebuilt, 2 works indexed"
    with Index(interaction.index_path()) as index:
        assert [w.asset_id for w in index.works()] == [1, 2]


def test_doctor__works_waiting_to_be_indexed__indexed_by_repair(indexed, tmp_path):
    with Node.open() as node:
        (tmp_path / "bikes.md").write_text("A chain that skips under load is worn.")
        registry.register(node, tmp_path / "bikes.md", terms=preset("open"), title="bikes")
    assert "1 consenting works wait to be indexed" in findings(doctor.run())["index"].detail
    assert findings(doctor.run(repair=True))["index"].repaired
    assert "wait" not in findings(doctor.run())["index"].detail


_DYING_REBUILD = textwrap.dedent(
    """
    import os, signal
    from tantieme.ai.embeddings import HashingEmbedder
    from tantieme.ai import index as index_mod
    from tantieme.maintenance import doctor

    index_mod.default_embedder = HashingEmbedder
    real = index_mod.Index.add_work
    def dying(self, *args, **kwargs):
        work = real(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)  # after the first work of the rebuild
    index_mod.Index.add_work = dying
    doctor.run(repair=True)
    """
)


@pytest.mark.timeout(300)
def test_doctor__killed_while_rebuilding_the_index__the_next_repair_finishes(indexed, tmp_path):
    (interaction.index_path() / "index.sqlite").write_bytes(b"garbage" * 1000)
    script = tmp_path / "dying.py"
    script.write_text(_DYING_REBUILD)
    proc = subprocess.run([sys.executable, str(script)], env=os.environ, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    with Index(interaction.index_path()) as index:
        assert [w.asset_id for w in index.works()] == [1]  # one work in, atomically
    assert findings(doctor.run(repair=True))["index"].repaired
    with Index(interaction.index_path()) as index:
        assert [w.asset_id for w in index.works()] == [1, 2]


def test_doctor__store_file_damaged__set_aside_by_repair(indexed):
    stored = sorted(p for p in (home() / "store").glob("*/*") if not p.name.startswith("."))[0]
    stored.write_bytes(b"tampered")
    (stored.parent / ".put-leftover").write_bytes(b"half")
    found = findings(doctor.run())["store"]
    assert not found.ok and found.detail.startswith("1 of 4 files do not match their hash")
    repaired = findings(doctor.run(repair=True))["store"]
    assert repaired.ok and repaired.repaired
    assert (home() / "damaged" / stored.name).read_bytes() == b"tampered"
    assert not stored.exists() and not (stored.parent / ".put-leftover").exists()


def test_doctor__damaged_journal__reported_not_repaired(indexed, make_answer):
    with Node.open() as node:
        make_answer(node)
    # Journals the code leaves to the garbage collector hold their connection (and the
    # WAL) open until it runs: close them before damaging the file, whatever its timing.
    gc.collect()
    path = home() / "ledger.db"
    path.write_bytes(path.read_bytes()[:100])
    for leftover in path.parent.glob("ledger.db-*"):
        leftover.unlink()
    found = findings(doctor.run(repair=True))["journal"]
    assert not found.ok and not found.repaired and "is damaged" in found.detail
    assert "tantieme restore FILE --force" in found.fix


def test_doctor__ca_signer_lost__issued_again(indexed):
    ca = interaction.node_ca()
    ca.signer_cert_path.unlink()
    found = findings(doctor.run())["ca"]
    assert not found.ok and "signing certificate is missing" in found.detail
    assert findings(doctor.run(repair=True))["ca"].repaired
    assert interaction.node_ca().root_cert_pem == ca.root_cert_pem
    ca.root_cert_path.with_name("root-ca.key").unlink()
    found = findings(doctor.run(repair=True))["ca"]
    assert not found.ok and not found.repaired and "move ca/ away to start a new CA" in found.fix


def test_doctor__damaged_models_json__rebuilt_for_the_local_model(indexed):
    from tantieme.ai.backends.llamacpp import default_model_path
    from tantieme.ai.models import file_sha256

    weights = file_sha256(default_model_path()).removeprefix("sha256:")
    with Node.open() as node:
        model = registry.register_hash(node, bytes.fromhex(weights), kind="model", terms=preset("open"), title="SmolLM2", media_type="application/octet-stream")
    interaction.Models(default=model.id, models={str(model.id): interaction.ModelEntry(
        model.id, "SmolLM2", "local", {}, weights, 7, 9)}).save()
    assert findings(doctor.run())["models"].detail == f"1 models, default #{model.id}"
    interaction.Models.path().write_text('{"default": 3, "mod')
    found = findings(doctor.run())["models"]
    assert not found.ok and "models.json is damaged" in found.detail
    assert findings(doctor.run(repair=True))["models"].repaired
    rebuilt = interaction.Models.load()
    assert rebuilt.default == model.id and rebuilt.get().weights_hash == weights
    assert rebuilt.get().price_prompt_per_million == interaction.PRICE_PROMPT_PER_MILLION
    assert interaction.Models.path().with_name("models.json.damaged").read_text() == '{"default": 3, "mod'


def test_doctor__runs_beside_a_writer(indexed):
    with Node.open():  # a writer holds the embedded chain
        assert doctor.run().ok
