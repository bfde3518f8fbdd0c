"""Setting a node up: dev keys on local chains, an encrypted keystore anywhere else."""

from __future__ import annotations

import pytest

from tantieme import node as node_mod
from tantieme.chain import create_keystore
from tantieme.chain.accounts import DEV_PRIVATE_KEYS
from tantieme.chain.deploy import INITIAL_SUPPLY
from tantieme.errors import ChainError, ConfigError
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


def test_open__second_process_holds_the_chain__clear_error():
    import subprocess
    import sys

    node_mod.init("embedded")
    holder = subprocess.Popen(
        [sys.executable, "-c", "from tantieme.node import Node; import sys; n = Node.open(); sys.stdout.write('ok\\n'); sys.stdout.flush(); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline() == b"ok\n"
        from tantieme.errors import ChainLockedError

        with pytest.raises(ChainLockedError, match="in use by process"):
            Node.open()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
