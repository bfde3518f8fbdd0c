"""Setting a node up: dev keys on local chains, an encrypted keystore anywhere else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tantieme import node as node_mod
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain import create_keystore
from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.chain.deploy import INITIAL_SUPPLY, deployment_path
from tantieme.errors import ChainError, ConfigError
from tantieme.maintenance import doctor
from tantieme.node import Node, Settings


def test_init__public_chain__uses_the_keystore_and_no_faucet(anvil_public, monkeypatch):
    # A key that holds ETH on this node, kept in an encrypted keystore as a real operator would.
    create_keystore("correct horse", private_key=DEV_PRIVATE_KEYS[3], iterations=2**4)
    monkeypatch.setenv("TANTIEME_PASSPHRASE", "correct horse")
    result = node_mod.init("rpc", anvil_public)
    assert result.signer == "keystore"
    assert result.chain_id == 8453000
    assert result.deployed and result.funded == 0
    assert result.balance == INITIAL_SUPPLY  # the deployer holds the whole supply: nobody can mint here
    assert Settings.load().keystore.endswith("default.json")
    with Node.open() as node:
        assert node.address == result.address
        assert not node.is_local
        with pytest.raises(ConfigError, match="faucet exists only on local chains"):
            node.faucet(node.address)
        with pytest.raises(ChainError, match="^ai_token: minting only on local chains$"):
            node.conn.transact(node.token.functions.mint(node.address, 1), gas=200_000)
    monkeypatch.delenv("TANTIEME_PASSPHRASE")
    with Node.open(readonly=True) as reader:  # reading needs no passphrase
        assert reader.address == result.address
        assert reader.registry.functions.totalAssets().call() == 0
    with pytest.raises(ConfigError, match="passphrase"):
        Node.open()


def test_init__public_chain_without_passphrase__clear_error(anvil_public):
    with pytest.raises(ConfigError, match="TANTIEME_PASSPHRASE"):
        node_mod.init("rpc", anvil_public)


def test_init__wrong_passphrase__clear_error(anvil_public, monkeypatch):
    create_keystore("right", private_key=DEV_PRIVATE_KEYS[3], iterations=2**4)
    monkeypatch.setenv("TANTIEME_PASSPHRASE", "wrong")
    with pytest.raises(ConfigError, match="wrong passphrase"):
        node_mod.init("rpc", anvil_public)


def test_init__embedded_twice__deploys_once():
    first = node_mod.init("embedded")
    second = node_mod.init("embedded")
    assert first.deployed and not second.deployed
    assert first.deployment == second.deployment


def test_open__second_process_holds_the_chain__writers_wait_readers_read(monkeypatch):
    import subprocess
    import sys

    from tantieme.errors import ChainLockedError

    node_mod.init("embedded")
    holder = subprocess.Popen(
        [sys.executable, "-c", "from tantieme.node import Node; import sys; n = Node.open(); sys.stdout.write('ok\\n'); sys.stdout.flush(); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline() == b"ok\n"
        monkeypatch.setenv("TANTIEME_LOCK_TIMEOUT", "0.3")
        heard = []
        with pytest.raises(ChainLockedError, match=f"in use by process {holder.pid} .* for 0.3 s; try again when it finishes"):
            Node.open(on_wait=heard.append)
        assert heard == [f"waiting for process {holder.pid} (-c) to finish with the embedded chain (up to 0.3 s)"]
        with Node.open(readonly=True) as reader:
            assert reader.registry.functions.totalAssets().call() == 0
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_open__rpc_node__one_writer_per_home_readers_beside_it(anvil, monkeypatch):
    import subprocess
    import sys

    from tantieme.errors import ChainLockedError

    node_mod.init("rpc", anvil)
    holder = subprocess.Popen(
        [sys.executable, "-c", "from tantieme.node import Node; import sys; n = Node.open(); print('ok', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "ok\n"
        monkeypatch.setenv("TANTIEME_LOCK_TIMEOUT", "0.3")
        heard = []
        with pytest.raises(ChainLockedError, match=f"this node's home at .* is in use by process {holder.pid} \\(-c\\) for 0.3 s"):
            Node.open(on_wait=heard.append)
        assert heard == [f"waiting for process {holder.pid} (-c) to finish with this node's home (up to 0.3 s)"]
        with Node.open(readonly=True) as reader:
            assert reader.registry.functions.totalAssets().call() == 0
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with Node.open() as node:  # released when the holder exits
        assert node.lock is not None


# -- init never orphans what a home holds ---------------------------------------


def _used_home(make_file):
    """An initialised embedded node that registered a work; returns its deployment."""
    first = node_mod.init("embedded")
    with Node.open() as node:
        registry.register(node, make_file("On rivers."), terms=preset("open"), title="Rivers")
    return first.deployment


def _damage_deployment_record(chain_id):
    path = deployment_path(chain_id)
    path.write_text(path.read_text()[:30])


def test_init__damaged_deployment_record__refuses_and_doctor_repair_recovers_it(make_file):
    deployment = _used_home(make_file)
    _damage_deployment_record(deployment.chain_id)
    with pytest.raises(ConfigError, match="deployment record .* is damaged .*run `tantieme doctor --repair`"):
        Node.open()
    with pytest.raises(ConfigError, match="would orphan the 2 stored files this home holds. Run `tantieme doctor --repair`"):
        node_mod.init("embedded")
    assert doctor.run().ok is False
    repaired = doctor.run(repair=True)
    assert repaired.ok and [f.name for f in repaired.findings if f.repaired] == ["deployment"]
    with Node.open() as node:
        assert node.deployment.ledger == deployment.ledger and node.deployment.registry == deployment.registry
        assert registry.get(node, 1).title == "Rivers"
    again = node_mod.init("embedded")
    assert not again.deployed and again.deployment.ledger == deployment.ledger


def test_init__contracts_gone_from_the_chain__refused(make_file):
    deployment = _used_home(make_file)
    path = deployment_path(deployment.chain_id)
    path.write_text(path.read_text().replace(deployment.ledger, dev_account(8).address))
    with pytest.raises(ConfigError, match="are not on it any more: was the chain reset\\? `tantieme init --force`"):
        Node.open()
    with pytest.raises(ConfigError, match="are not on it any more \\(was the chain reset\\?\\); deploying new contracts would orphan"):
        node_mod.init("embedded")


def test_init__force__backs_the_home_up_then_deploys_anew(make_file, tmp_path):
    deployment = _used_home(make_file)
    _damage_deployment_record(deployment.chain_id)
    forced = node_mod.init("embedded", force=True)
    assert forced.deployed and forced.deployment.ledger != deployment.ledger
    assert forced.backup and Path(forced.backup).is_file()
    assert Path(forced.backup).parent == Path(os.environ["TANTIEME_HOME"]) / "backups"


def test_init__damaged_record_in_an_empty_home__deploys_without_asking():
    first = node_mod.init("embedded")
    _damage_deployment_record(first.chain_id)
    again = node_mod.init("embedded")
    assert again.deployed and again.backup is None


def test_init__switching_a_used_home_to_another_chain__refused(make_file, anvil):
    _used_home(make_file)
    with pytest.raises(ConfigError, match="is set up for the embedded chain and holds 2 stored files; `tantieme init --chain rpc` would leave them behind"):
        node_mod.init("rpc", anvil)
    assert Settings.load().chain == "embedded"
    switched = node_mod.init("rpc", anvil, force=True)
    assert switched.chain_id == 31337 and Path(switched.backup).is_file()
