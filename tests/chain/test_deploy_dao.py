"""The DAO in the deployment, on the real chains (the embedded py-evm chain
and anvil): `init` deploys and wires it with the other contracts, once; an
older record without it gains it; a lost record recovers it from the chain;
and a proposal goes its whole way through the SDK's own transactions:
stake, propose, vote, queue, wait out the timelock, execute."""

from __future__ import annotations

import pytest
from web3 import Web3

from tantieme.chain.accounts import dev_account
from tantieme.chain.deploy import (
    LOCAL_DAO,
    contract,
    ensure_deployed,
    from_ledger,
    load_deployment,
)

from .records import record_without, recovered_by_doctor

ONE = 10**18
GAS = 3_000_000
ACTIVE, SUCCEEDED, QUEUED, EXECUTED = 1, 4, 5, 7


def test_init__deploys_and_wires_the_dao(node):
    deployment = node.deployment
    assert None not in (deployment.votes, deployment.timelock, deployment.governor)
    votes = contract(node.conn, "staked_votes", deployment.votes).functions
    timelock = contract(node.conn, "timelock", deployment.timelock).functions
    governor = contract(node.conn, "governor", deployment.governor).functions
    assert votes.asset().call() == deployment.token
    assert (governor.token().call(), governor.timelock().call()) == (deployment.votes, deployment.timelock)
    assert governor.reputation().call() == deployment.reputation_votes
    assert node.router.functions.reputation().call() == deployment.reputation_votes  # the router tells them credits
    assert (governor.votingDelay().call(), governor.votingPeriod().call()) == (
        LOCAL_DAO.voting_delay, LOCAL_DAO.voting_period)
    assert timelock.get_minimum_delay().call() == LOCAL_DAO.timelock_delay
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
        assert timelock.hasRole(Web3.keccak(text=role), deployment.governor).call()
        assert not timelock.hasRole(Web3.keccak(text=role), node.address).call()
    assert not timelock.hasRole(bytes(32), node.address).call()
    assert ensure_deployed(node.conn, local=True) == (deployment, False)


def test_record_without_the_dao__gains_it_once(node):
    """A home recorded before the DAO existed: the next `ensure_deployed`
    deploys the DAO beside the same contracts, and only once."""
    old = record_without(node, "votes", "timelock", "governor", "reputation_votes")
    upgraded, deployed = ensure_deployed(node.conn, local=True)
    assert deployed
    assert {k: getattr(upgraded, k) for k in old} == old
    assert upgraded.governor not in (None, node.deployment.governor)
    # The router is wired once: the new governor reads the reputation votes it tells.
    assert upgraded.reputation_votes == node.deployment.reputation_votes
    assert load_deployment(node.conn) == upgraded
    assert ensure_deployed(node.conn, local=True) == (upgraded, False)


def test_doctor_repair__recovers_the_dao_from_the_chain(node):
    """A lost record is rebuilt from the ledger (`from_ledger`) and the DAO
    found beside it (`with_dao`): `init` will not deploy a second DAO."""
    dao = ("votes", "timelock", "governor", "reputation_votes")
    assert all(getattr(from_ledger(node.conn, node.deployment.ledger), k) is None for k in dao)
    recovered_by_doctor(node, *dao)


@pytest.mark.slow
def test_a_proposal_runs_its_course(node, advance_clock):
    dao = node.deployment
    treasury = node.balance(dao.timelock)
    voter = node.as_account(dev_account(3))
    node.faucet(voter.address, 10 * ONE)
    node.faucet(dao.timelock, 100 * ONE)
    voter.conn.transact(voter.token.functions.approve(dao.votes, 10 * ONE), gas=GAS)
    voter.conn.transact(contract(voter.conn, "staked_votes", dao.votes).functions.stake(10 * ONE), gas=GAS)
    node.faucet(node.address, 1)  # a block: the stake is in the past
    votes = contract(node.conn, "staked_votes", dao.votes).functions
    assert votes.getPastVotes(voter.address, node.conn.w3.eth.block_number - 1).call() == 10 * ONE

    payee = dev_account(4).address
    calldata = bytes.fromhex(node.token.functions.transfer(payee, 7 * ONE)._encode_transaction_data()[2:])
    proposal = ([node.deployment.token], [0], [calldata])
    description_hash = Web3.keccak(text="pay 7 TAI from the treasury")
    governor = contract(node.conn, "governor", dao.governor).functions
    as_voter = contract(voter.conn, "governor", dao.governor).functions
    voter.conn.transact(as_voter.propose(*proposal, "pay 7 TAI from the treasury"), gas=GAS)
    proposal_id = governor.hashProposal(*proposal, description_hash).call()
    while governor.proposalSnapshot(proposal_id).call() >= node.conn.w3.eth.block_number:
        node.faucet(node.address, 1)
    assert governor.state(proposal_id).call() == ACTIVE
    voter.conn.transact(as_voter.castVote(proposal_id, 1), gas=GAS)
    while governor.proposalDeadline(proposal_id).call() >= node.conn.w3.eth.block_number:
        node.faucet(node.address, 1)
    assert governor.state(proposal_id).call() == SUCCEEDED
    voter.conn.transact(as_voter.queue(*proposal, description_hash), gas=GAS)
    assert governor.state(proposal_id).call() == QUEUED
    advance_clock(LOCAL_DAO.timelock_delay)
    voter.conn.transact(as_voter.execute(*proposal, description_hash), gas=GAS)
    assert governor.state(proposal_id).call() == EXECUTED
    assert node.balance(payee) == 7 * ONE
    assert node.balance(dao.timelock) == treasury + 93 * ONE
