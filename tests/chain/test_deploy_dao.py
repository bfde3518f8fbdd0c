"""`deploy_dao` on the real chains (the embedded py-evm chain and anvil):
the DAO is deployed and wired, and a proposal goes its whole way through
the SDK's own transactions: stake, propose, vote, queue, wait out the
timelock, execute (a payment from the treasury)."""

from __future__ import annotations

import pytest
from web3 import Web3

from tantieme.chain.accounts import dev_account
from tantieme.chain.deploy import contract, deploy_dao

ONE = 10**18
TIMELOCK_DELAY = 60  # seconds
GAS = 3_000_000
EXECUTED, QUEUED, SUCCEEDED, ACTIVE = 7, 5, 4, 1


@pytest.mark.slow
def test_deploy_dao__a_proposal_runs_its_course(node, advance_clock):
    dao = deploy_dao(node.conn, node.deployment.token, voting_period=3, proposal_threshold=ONE,
                     timelock_delay=TIMELOCK_DELAY, withdrawal_delay=TIMELOCK_DELAY + 3_600)
    votes = contract(node.conn, "staked_votes", dao.votes)
    timelock = contract(node.conn, "timelock", dao.timelock)
    governor = contract(node.conn, "governor", dao.governor)
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
        assert timelock.functions.hasRole(Web3.keccak(text=role), dao.governor).call()
    assert not timelock.functions.hasRole(bytes(32), node.address).call()

    voter = node.as_account(dev_account(3))
    node.faucet(voter.address, 10 * ONE)
    node.faucet(dao.timelock, 100 * ONE)
    voter.conn.transact(voter.token.functions.approve(dao.votes, 10 * ONE), gas=GAS)
    voter.conn.transact(contract(voter.conn, "staked_votes", dao.votes).functions.stake(10 * ONE), gas=GAS)
    node.faucet(node.address, 1)  # a block: the stake is in the past
    assert votes.functions.getPastVotes(voter.address, node.conn.w3.eth.block_number - 1).call() == 10 * ONE

    payee = dev_account(4).address
    calldata = bytes.fromhex(node.token.functions.transfer(payee, 7 * ONE)._encode_transaction_data()[2:])
    proposal = ([node.deployment.token], [0], [calldata])
    description = "pay 7 TAI from the treasury"
    as_voter = contract(voter.conn, "governor", dao.governor).functions
    voter.conn.transact(as_voter.propose(*proposal, description), gas=GAS)
    proposal_id = governor.functions.hashProposal(*proposal, Web3.keccak(text=description)).call()
    while governor.functions.proposalSnapshot(proposal_id).call() >= node.conn.w3.eth.block_number:
        node.faucet(node.address, 1)
    assert governor.functions.state(proposal_id).call() == ACTIVE
    voter.conn.transact(as_voter.castVote(proposal_id, 1), gas=GAS)
    while governor.functions.proposalDeadline(proposal_id).call() >= node.conn.w3.eth.block_number:
        node.faucet(node.address, 1)
    assert governor.functions.state(proposal_id).call() == SUCCEEDED
    voter.conn.transact(as_voter.queue(*proposal, Web3.keccak(text=description)), gas=GAS)
    assert governor.functions.state(proposal_id).call() == QUEUED
    advance_clock(TIMELOCK_DELAY)
    voter.conn.transact(as_voter.execute(*proposal, Web3.keccak(text=description)), gas=GAS)
    assert governor.functions.state(proposal_id).call() == EXECUTED
    assert node.balance(payee) == 7 * ONE
    assert node.balance(dao.timelock) == 93 * ONE
