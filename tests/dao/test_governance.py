"""The DAO on a public chain (anvil posing as one: public parameters, no faucet): the deployer
hands over, stakes the threshold and proposes; `wait` mines nothing there, and says why."""

from __future__ import annotations

import pytest

from tantieme import node as node_mod
from tantieme.chain.accounts import DEV_PRIVATE_KEYS, create_keystore
from tantieme.chain.deploy import PUBLIC_DAO
from tantieme.dao import Dao, handover, set_split
from tantieme.errors import InputError
from tantieme.node import Node


def test_public_chain__wait_mines_nothing_and_says_so(anvil_public, monkeypatch):
    create_keystore("correct horse", private_key=DEV_PRIVATE_KEYS[3], iterations=2**4)
    monkeypatch.setenv("TANTIEME_PASSPHRASE", "correct horse")
    node_mod.init("rpc", anvil_public)
    with Node.open() as node:
        handover(node)
        dao = Dao(node)
        dao.stake(PUBLIC_DAO.proposal_threshold)
        proposal = dao.propose([set_split(node, 800, 1000)], "Raise the machine tax to 8 %")
        block = node.conn.w3.eth.block_number
        with pytest.raises(InputError) as refused:
            dao.vote(proposal, "for", wait=True)
        assert str(refused.value) == (
            f"voting on proposal #1 opens at block {proposal.snapshot + 1}; the chain is at block {block} "
            "(--wait works on local chains only: this one moves at its own pace)")
        assert node.conn.w3.eth.block_number == block
        with pytest.raises(InputError, match=r"^voting on proposal #1 ends after block \d+; the chain is at block"):
            dao.queue(proposal, wait=True)
        assert node.faucet_open is False
