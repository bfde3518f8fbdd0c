"""Reputation counting through the SDK, on both chains: an answer citing the node's work settles,
`claim` credits it, which earns the reputation; the DAO makes the commons pool's dividend rules
reputation-counted by a proposal; a proposal changing them is weighed by reputation at its
snapshot, and a staker without reputation is refused before anything is sent."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import function_signature_to_4byte_selector

from tantieme.assets import royalties
from tantieme.chain.accounts import dev_account
from tantieme.chain.deploy import contract
from tantieme.dao import Dao, call, handover, set_counting, set_split
from tantieme.errors import ConfigError, InputError
from tantieme.ledger import settlement

TAI = 10**18


def test_reputation__earned_by_settled_answers_weighs_reputation_proposals(node, make_answer, payer):
    row = make_answer(node, fee=10**18)
    settlement.settle(node, {payer.address: payer})
    stranger = Dao(node.as_account(dev_account(7)))
    node.faucet(stranger.node.address, 5 * TAI)  # before the handover closes the faucet
    handover(node)
    votes = contract(node.conn, "reputation_votes", node.deployment.reputation_votes)
    reputation = votes.functions
    assert reputation.getVotes(node.address).call() == 0
    work = row.signed.record.sources[0]
    royalties.claim(node)  # credits the node's works, which earns their reputation
    pool_id = node.ledger.functions.assetPool(payer.address, node.address).call()
    credited = [node.router.functions.credited(pool_id, asset).call() for asset in (work, row.signed.record.model)]
    assert all(credited)  # the work, and the model the node owns
    [earning] = votes.events.ReputationEarned.get_logs(from_block=0)  # one owner: one earning
    assert earning["args"]["account"] == node.address
    assert earning["args"]["amount"] == sum(
        node.router.functions.credited(pool_id, asset).call()
        for asset in {*row.signed.record.sources, row.signed.record.model}
    )
    elapsed = node.conn.w3.eth.block_number - earning["blockNumber"]
    earned = reputation.getVotes(node.address).call()
    assert earned == reputation.decay(earning["args"]["amount"], elapsed).call()

    dao = Dao(node)
    dao.stake(10 * TAI)
    pool = node.deployment.commons_pool
    table = dao.propose([set_counting(node, pool, "setDividendRules", "reputation")], "The creators set the dividend")
    assert dao.status(table).counting == "token"
    dao.vote(table, "for", wait=True)
    dao.queue(table, wait=True)
    dao.execute(table, wait=True)
    [row_] = dao.counting_table()
    assert (row_.function, row_.counting) == ("commons_pool.setDividendRules", "reputation")
    assert row_.selector == function_signature_to_4byte_selector("setDividendRules(uint16,uint16,uint16)")

    rules = contract(node.conn, "commons_pool", pool).functions.setDividendRules(20, 500, 10)
    proposal = dao.propose([call(pool, bytes.fromhex(rules._encode_transaction_data()[2:]))], "Spread it over 20 days")
    stranger.stake(5 * TAI)
    status = dao.vote(proposal, "for", wait=True)
    weight = reputation.getPastVotes(node.address, proposal.snapshot).call()
    assert 0 < weight <= earned
    assert (status.counting, status.for_) == ("reputation", weight)
    assert dao.status(proposal, votes=True).votes[0].weight == weight
    block = node.conn.w3.eth.block_number
    with pytest.raises(InputError) as refused:
        stranger.vote(dao.find(proposal.number), "for")
    assert str(refused.value) == (
        f"{stranger.node.address} had no voting power at the snapshot of proposal #{proposal.number} (block "
        f"{proposal.snapshot}): it is counted by creators' reputation, what settled answers paid their works "
        "(earned when `tantieme claim` credits them)")
    assert node.conn.w3.eth.block_number == block


def test_counting__a_governor_older_than_the_table__counts_by_tokens_and_says_so(node, monkeypatch):
    """A home whose DAO was deployed before the counting table (no reputation votes recorded)."""
    monkeypatch.setattr(node, "deployment", replace(node.deployment, reputation_votes=None))
    dao = Dao(node)
    message = (
        "this DAO's governor was deployed before counting by reputation or quadratically: it counts every proposal "
        "by staked tokens")
    with pytest.raises(ConfigError) as refused:
        dao.counting_table()
    assert str(refused.value) == message
    with pytest.raises(ConfigError) as refused:
        set_counting(node, node.deployment.commons_pool, "setBond", "quadratic")
    assert str(refused.value) == message
    handover(node)
    dao.stake(TAI)
    proposal = dao.propose([set_split(node, 600, 1000)], "A little more tax")
    assert dao.status(proposal).counting == "token"
