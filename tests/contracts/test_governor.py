"""Governor (`governor.vy`) over StakedVotes and snekmate's timelock: the
proposal lifecycle, voting, queueing and execution, and the attacks the
SPEC's threat model names (Beanstalk's flash-loan vote above all)."""

from __future__ import annotations

import boa
import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak

from .conftest import ONE_TOKEN, ZERO_ADDRESS, events
from .dao_fixtures import (  # noqa: F401 (fixtures)
    ABSTAIN,
    ACTIVE,
    ADMIN_ROLE,
    AGAINST,
    CANCELED,
    CANCELLER_ROLE,
    DAO_NAME,
    DEFEATED,
    EXECUTED,
    EXECUTOR_ROLE,
    EXPIRED,
    FOR,
    GOVERNOR,
    GRACE_PERIOD,
    PENDING,
    PROPOSER_ROLE,
    QUEUED,
    QUORUM,
    SUCCEEDED,
    THRESHOLD,
    TIMELOCK_DELAY,
    VOTING_DELAY,
    VOTING_PERIOD,
    WITHDRAWAL_DELAY,
    Proposal,
    carry,
    close_voting,
    dao,
    dao_deployer,
    mine,
    open_voting,
    pass_proposal,
    pay_from_treasury,
    propose,
    set_voting_period,
    sign_ballot,
    stake,
    treasury,
    voters,
)


@pytest.fixture
def governor(dao):
    return dao.governor


@pytest.fixture
def staked(stake, voters) -> list[str]:
    """Four voters with 100, 50, 30 and 20 TAI staked, a block ago."""
    for voter, amount in zip(voters, (100, 50, 30, 20), strict=True):
        stake(voter.address, amount * ONE_TOKEN)
    mine()
    return [v.address for v in voters]


# ------------------------------------------------------------------ wiring --


def test_deployment__wiring_and_parameters(dao, governor, dao_deployer):
    assert (governor.name(), governor.version(), governor.token(), governor.timelock()) == (
        DAO_NAME, "1", dao.votes.address, dao.timelock.address)
    assert (governor.votingDelay(), governor.votingPeriod(), governor.proposalThreshold()) == (
        VOTING_DELAY, VOTING_PERIOD, THRESHOLD)
    assert (governor.quorumNumerator(), governor.quorumDenominator()) == (QUORUM, 100)
    assert governor.COUNTING_MODE() == "support=bravo&quorum=for,abstain"
    assert (governor.clock(), governor.CLOCK_MODE()) == (boa.env.evm.patch.block_number,
                                                         "mode=blocknumber&from=default")
    for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        assert dao.timelock.hasRole(role, governor.address)
        assert not dao.timelock.hasRole(role, dao_deployer)
        assert not dao.timelock.hasRole(role, ZERO_ADDRESS)  # execution is not open to anyone
    assert not dao.timelock.hasRole(ADMIN_ROLE, dao_deployer)
    assert dao.timelock.hasRole(ADMIN_ROLE, dao.timelock.address)
    assert dao.timelock.get_minimum_delay() == TIMELOCK_DELAY


@pytest.mark.parametrize(("args", "reason"), [
    ((0, VOTING_PERIOD, 0, QUORUM), "governor: voting delay below one block"),
    ((VOTING_DELAY, 0, 0, QUORUM), "governor: voting period is zero"),
    ((VOTING_DELAY, VOTING_PERIOD, 0, 101), "governor: quorum numerator over denominator"),
])
def test_deployment__bad_parameters__revert(dao, args, reason):
    with boa.reverts(reason):
        GOVERNOR.deploy(DAO_NAME, dao.votes.address, dao.timelock.address, ZERO_ADDRESS, ZERO_ADDRESS, *args)


def test_parameters__only_through_the_timelock(governor, stranger):
    for call in (governor.setVotingDelay, governor.setVotingPeriod, governor.setProposalThreshold,
                 governor.updateQuorumNumerator):
        with boa.reverts("governor: caller is not the timelock"):
            call(2, sender=stranger)
    assert governor.votingPeriod() == VOTING_PERIOD


def test_timelock__nobody_but_the_governor_schedules_or_executes(dao, token, treasury, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    with boa.reverts("access_control: account is missing role"):
        dao.timelock.schedule_batch(proposal.targets, proposal.values, proposal.calldatas, bytes(32), bytes(32),
                                    TIMELOCK_DELAY, sender=staked[0])
    with boa.reverts("access_control: account is missing role"):
        dao.timelock.execute_batch(proposal.targets, proposal.values, proposal.calldatas, bytes(32), bytes(32),
                                   sender=staked[0])
    assert token.balanceOf(dao.timelock.address) == treasury


# --------------------------------------------------------------- lifecycle --


def test_hash_proposal__as_openzeppelin_computes_it(dao, governor, token, staked):
    proposal = pay_from_treasury(token, staked[1], 5 * ONE_TOKEN)
    expected = keccak(abi_encode(["address[]", "uint256[]", "bytes[]", "bytes32"], list(proposal.args())))
    assert governor.hashProposal(*proposal.args()) == int.from_bytes(expected, "big")
    assert propose(dao, proposal, staked[0]) == int.from_bytes(expected, "big")


def test_lifecycle__pending_active_succeeded_queued_executed(dao, governor, token, treasury, staked):
    alice, bob, carol, dave = staked
    proposal = pay_from_treasury(token, dave, 7 * ONE_TOKEN, "pay dave 7 TAI for the docs")
    block = boa.env.evm.patch.block_number
    proposal_id = propose(dao, proposal, alice)
    (created,) = events(governor, "ProposalCreated")
    assert created.proposalId == proposal_id and created.proposer == alice
    assert (created.targets, created.values, created.calldatas) == (proposal.targets, proposal.values,
                                                                     proposal.calldatas)
    assert created.signatures == [""]
    assert (created.voteStart, created.voteEnd) == (block + VOTING_DELAY, block + VOTING_DELAY + VOTING_PERIOD)
    assert created.description == proposal.description
    assert (governor.proposalSnapshot(proposal_id), governor.proposalDeadline(proposal_id)) == (
        created.voteStart, created.voteEnd)
    assert governor.proposalProposer(proposal_id) == alice
    assert governor.proposalNeedsQueuing(proposal_id)
    assert governor.state(proposal_id) == PENDING
    mine(VOTING_DELAY)
    assert governor.state(proposal_id) == PENDING  # the snapshot block itself
    mine()
    assert governor.state(proposal_id) == ACTIVE

    assert governor.castVote(proposal_id, FOR, sender=alice) == 100 * ONE_TOKEN
    (vote,) = events(governor, "VoteCast")
    assert (vote.voter, vote.proposalId, vote.support, vote.weight, vote.reason) == (
        alice, proposal_id, FOR, 100 * ONE_TOKEN, "")
    governor.castVoteWithReason(proposal_id, AGAINST, "too much", sender=bob)
    assert events(governor, "VoteCast")[0].reason == "too much"
    governor.castVote(proposal_id, ABSTAIN, sender=carol)
    assert governor.proposalVotes(proposal_id) == (50 * ONE_TOKEN, 100 * ONE_TOKEN, 30 * ONE_TOKEN)
    assert governor.hasVoted(proposal_id, alice) and not governor.hasVoted(proposal_id, dave)

    mine(VOTING_PERIOD - 1)
    assert governor.state(proposal_id) == ACTIVE  # the deadline block still takes votes
    mine()
    assert governor.state(proposal_id) == SUCCEEDED

    governor.queue(*proposal.args(), sender=dave)
    (queued,) = events(governor, "ProposalQueued")
    assert (queued.proposalId, queued.etaSeconds) == (proposal_id, boa.env.timestamp + TIMELOCK_DELAY)
    assert governor.proposalEta(proposal_id) == queued.etaSeconds
    assert governor.state(proposal_id) == QUEUED

    boa.env.time_travel(seconds=TIMELOCK_DELAY)
    governor.execute(*proposal.args(), sender=dave)
    assert [e.proposalId for e in events(governor, "ProposalExecuted")] == [proposal_id]
    assert governor.state(proposal_id) == EXECUTED
    assert token.balanceOf(dave) == 7 * ONE_TOKEN
    assert token.balanceOf(dao.timelock.address) == treasury - 7 * ONE_TOKEN


def test_parameters__change_through_a_proposal(dao, governor, staked):
    pass_proposal(dao, set_voting_period(dao, 40), staked[0], staked[:2])
    governor.execute(*set_voting_period(dao, 40).args(), sender=staked[3])
    assert [(e.oldVotingPeriod, e.newVotingPeriod) for e in events(governor, "VotingPeriodSet")] == [
        (VOTING_PERIOD, 40)]
    assert governor.votingPeriod() == 40


def test_quorum__fraction_of_past_staked_supply_checkpointed(dao, governor, staked):
    snapshot = boa.env.evm.patch.block_number - 1
    assert governor.quorum(snapshot) == 200 * ONE_TOKEN * QUORUM // 100
    change = dao.governor.updateQuorumNumerator.prepare_calldata(50)
    proposal = Proposal([governor.address], [0], [change], "quorum 50 %")
    pass_proposal(dao, proposal, staked[0], staked[:2])
    governor.execute(*proposal.args(), sender=staked[0])
    mine()
    assert governor.quorumNumerator() == 50
    assert governor.quorum(snapshot) == 200 * ONE_TOKEN * QUORUM // 100  # the past keeps its quorum
    assert governor.quorum(boa.env.evm.patch.block_number - 1) == 100 * ONE_TOKEN


# -------------------------------------------------------------- defeated --


def test_defeated__against_wins__cannot_queue_or_execute(dao, governor, token, treasury, staked):
    alice, bob, carol, dave = staked
    proposal = pay_from_treasury(token, alice, 500 * ONE_TOKEN)
    proposal_id = propose(dao, proposal, alice)
    open_voting(dao, proposal_id)
    governor.castVote(proposal_id, FOR, sender=alice)
    for voter in (bob, carol, dave):
        governor.castVote(proposal_id, AGAINST, sender=voter)
    close_voting(dao, proposal_id)
    assert governor.state(proposal_id) == DEFEATED
    with boa.reverts("governor: proposal has not succeeded"):
        governor.queue(*proposal.args(), sender=alice)
    with boa.reverts("governor: proposal is not queued"):
        governor.execute(*proposal.args(), sender=alice)
    assert token.balanceOf(dao.timelock.address) == treasury


def test_defeated__tie(dao, governor, token, staked):
    alice, bob, carol, dave = staked
    proposal = pay_from_treasury(token, alice, ONE_TOKEN)
    proposal_id = propose(dao, proposal, alice)
    open_voting(dao, proposal_id)
    governor.castVote(proposal_id, FOR, sender=bob)
    governor.castVote(proposal_id, AGAINST, sender=carol)
    governor.castVote(proposal_id, AGAINST, sender=dave)
    close_voting(dao, proposal_id)
    assert governor.proposalVotes(proposal_id) == (50 * ONE_TOKEN, 50 * ONE_TOKEN, 0)
    assert governor.state(proposal_id) == DEFEATED


@pytest.mark.parametrize(("abstain", "outcome"), [(False, DEFEATED), (True, SUCCEEDED)])
def test_quorum__for_and_abstain_count(dao, governor, token, stake, staked, stranger, abstain, outcome):
    """4 % of 205 TAI is 8.2 TAI: a 5 TAI vote For alone does not carry;
    with 20 TAI abstaining it does."""
    stake(stranger, 5 * ONE_TOKEN)
    mine()
    proposal = pay_from_treasury(token, stranger, ONE_TOKEN)
    proposal_id = propose(dao, proposal, staked[0])
    open_voting(dao, proposal_id)
    governor.castVote(proposal_id, FOR, sender=stranger)
    if abstain:
        governor.castVote(proposal_id, ABSTAIN, sender=staked[3])
    close_voting(dao, proposal_id)
    assert governor.quorum(governor.proposalSnapshot(proposal_id)) == 205 * ONE_TOKEN * QUORUM // 100
    assert governor.state(proposal_id) == outcome


# --------------------------------------------------------------- canceled --


def test_cancel__by_the_proposer_while_pending(dao, governor, token, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    proposal_id = propose(dao, proposal, staked[0])
    with boa.reverts("governor: caller is not the proposer"):
        governor.cancel(*proposal.args(), sender=staked[1])
    governor.cancel(*proposal.args(), sender=staked[0])
    assert [e.proposalId for e in events(governor, "ProposalCanceled")] == [proposal_id]
    assert governor.state(proposal_id) == CANCELED
    open_voting(dao, proposal_id)
    with boa.reverts("governor: proposal is not active"):
        governor.castVote(proposal_id, FOR, sender=staked[0])
    with boa.reverts("governor: proposal already exists"):
        propose(dao, proposal, staked[0])


def test_cancel__once_voting_opened__reverts(dao, governor, token, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    proposal_id = propose(dao, proposal, staked[0])
    open_voting(dao, proposal_id)
    with boa.reverts("governor: proposal is not pending"):
        governor.cancel(*proposal.args(), sender=staked[0])
    assert governor.state(proposal_id) == ACTIVE


# ---------------------------------------------------------------- expired --


def test_expired__queued_past_the_grace_period(dao, governor, token, treasury, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    proposal_id = pass_proposal(dao, proposal, staked[0], staked[:2])
    boa.env.time_travel(seconds=GRACE_PERIOD)
    assert governor.state(proposal_id) == QUEUED
    boa.env.time_travel(seconds=1)
    assert governor.state(proposal_id) == EXPIRED
    with boa.reverts("governor: proposal is not queued"):
        governor.execute(*proposal.args(), sender=staked[0])
    assert token.balanceOf(dao.timelock.address) == treasury


# ---------------------------------------------------------------- propose --


def test_propose__below_threshold__reverts(dao, governor, token, stake, stranger):
    stake(stranger, THRESHOLD - 1)
    mine()
    with boa.reverts("governor: proposer votes below threshold"):
        propose(dao, pay_from_treasury(token, stranger, 1), stranger)


def test_propose__bad_lists__revert(dao, governor, token, staked):
    with boa.reverts("governor: empty proposal"):
        governor.propose([], [], [], "nothing", sender=staked[0])
    with boa.reverts("governor: invalid proposal length"):
        governor.propose([token.address], [], [b""], "mismatch", sender=staked[0])


def test_propose__twice__reverts(dao, token, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    propose(dao, proposal, staked[0])
    with boa.reverts("governor: proposal already exists"):
        propose(dao, proposal, staked[1])


def test_state__unknown_proposal__reverts(governor):
    with boa.reverts("governor: unknown proposal"):
        governor.state(1)


# ----------------------------------------------------------------- voting --


@pytest.fixture
def active(dao, token, staked):
    """An Active proposal paying 1 TAI to the first voter."""
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    proposal_id = propose(dao, proposal, staked[0])
    open_voting(dao, proposal_id)
    return proposal_id


def test_vote__twice__reverts_and_counts_once(governor, staked, active):
    governor.castVote(active, FOR, sender=staked[1])
    for support in (FOR, AGAINST):
        with boa.reverts("governor: vote already cast"):
            governor.castVote(active, support, sender=staked[1])
    assert governor.proposalVotes(active) == (0, 50 * ONE_TOKEN, 0)


def test_vote__without_power_at_the_snapshot__reverts(governor, stake, stranger, active):
    stake(stranger, 1_000 * ONE_TOKEN)
    mine()
    with boa.reverts("governor: no voting power at the snapshot"):
        governor.castVote(active, FOR, sender=stranger)
    assert governor.proposalVotes(active) == (0, 0, 0)
    assert not governor.hasVoted(active, stranger)


def test_vote__invalid_support__reverts(governor, staked, active):
    with boa.reverts("governor: invalid vote type"):
        governor.castVote(active, 3, sender=staked[0])
    assert not governor.hasVoted(active, staked[0])


def test_vote__before_and_after_the_window__reverts(dao, governor, token, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    proposal_id = propose(dao, proposal, staked[0])
    with boa.reverts("governor: proposal is not active"):
        governor.castVote(proposal_id, FOR, sender=staked[0])
    close_voting(dao, proposal_id)
    with boa.reverts("governor: proposal is not active"):
        governor.castVote(proposal_id, FOR, sender=staked[0])


def test_vote__weight_is_the_snapshot_not_today(dao, governor, voters, staked, active):
    """Withdrawing or delegating after the snapshot changes nothing."""
    dao.votes.requestWithdrawal(100 * ONE_TOKEN, sender=staked[0])
    dao.votes.delegate(staked[0], sender=staked[1])
    assert governor.castVote(active, FOR, sender=staked[0]) == 100 * ONE_TOKEN
    assert governor.castVote(active, FOR, sender=staked[1]) == 50 * ONE_TOKEN


def test_vote_by_sig(governor, voters, stranger, active):
    signature = sign_ballot(governor, voters[2], active, AGAINST, 0)
    assert governor.castVoteBySig(active, AGAINST, voters[2].address, signature, sender=stranger) == 30 * ONE_TOKEN
    (vote,) = events(governor, "VoteCast")
    assert (vote.voter, vote.support) == (voters[2].address, AGAINST)
    assert governor.nonces(voters[2].address) == 1


def test_vote_by_sig__replayed__reverts_and_moves_nothing(dao, governor, token, voters, staked, stranger, active):
    signature = sign_ballot(governor, voters[2], active, AGAINST, 0)
    governor.castVoteBySig(active, AGAINST, voters[2].address, signature, sender=stranger)
    with boa.reverts("governor: invalid signature"):
        governor.castVoteBySig(active, AGAINST, voters[2].address, signature, sender=stranger)
    # On another proposal, too: the nonce is spent.
    other = pay_from_treasury(token, staked[1], ONE_TOKEN)
    other_id = propose(dao, other, staked[0])
    open_voting(dao, other_id)
    with boa.reverts("governor: invalid signature"):
        governor.castVoteBySig(active, AGAINST, voters[2].address, signature, sender=stranger)
    assert governor.proposalVotes(active) == (30 * ONE_TOKEN, 0, 0)
    assert governor.proposalVotes(other_id) == (0, 0, 0)
    assert governor.nonces(voters[2].address) == 1


def test_vote_by_sig__wrong_voter_or_support__reverts(governor, voters, stranger, active):
    signature = sign_ballot(governor, voters[2], active, AGAINST, 0)
    with boa.reverts("governor: invalid signature"):
        governor.castVoteBySig(active, FOR, voters[2].address, signature, sender=stranger)
    with boa.reverts("governor: invalid signature"):
        governor.castVoteBySig(active, AGAINST, voters[1].address, signature, sender=stranger)
    assert governor.proposalVotes(active) == (0, 0, 0)


# ------------------------------------------------------------- timelock --


def test_execute__before_the_timelock__reverts(dao, governor, token, treasury, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    proposal_id = carry(dao, proposal, staked[0], staked[:1])
    with boa.reverts("governor: proposal is not queued"):
        governor.execute(*proposal.args(), sender=staked[0])
    governor.queue(*proposal.args(), sender=staked[0])
    boa.env.time_travel(seconds=TIMELOCK_DELAY - 1)
    with boa.reverts("timelock_controller: operation is not ready"):
        governor.execute(*proposal.args(), sender=staked[0])
    assert governor.state(proposal_id) == QUEUED
    assert token.balanceOf(dao.timelock.address) == treasury


def test_execute__twice__reverts(dao, governor, token, treasury, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    pass_proposal(dao, proposal, staked[0], staked[:1])
    governor.execute(*proposal.args(), sender=staked[0])
    with boa.reverts("governor: proposal is not queued"):
        governor.execute(*proposal.args(), sender=staked[0])
    assert token.balanceOf(dao.timelock.address) == treasury - ONE_TOKEN


def test_queue__twice__reverts(dao, governor, token, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    pass_proposal(dao, proposal, staked[0], staked[:1])
    with boa.reverts("governor: proposal has not succeeded"):
        governor.queue(*proposal.args(), sender=staked[0])


def test_nothing_is_payable(governor, staked):
    assert [e for e in governor.abi if e.get("stateMutability") == "payable"] == []
    boa.env.set_balance(staked[0], ONE_TOKEN)
    with pytest.raises(Exception):
        boa.env.raw_call(governor.address, sender=staked[0], value=1)


# ------------------------------------------------------------- Beanstalk --


def test_beanstalk__flash_loan_in_one_block__fails(dao, governor, token, deployer, treasury, staked, stranger):
    """April 2022: borrow, vote and execute in one block. Here a stranger
    gets 10,000 TAI (the faucet stands for the loan), stakes it and tries
    everything in the same block: it cannot propose (votes are read at the
    previous block), and the loan cannot be repaid (stake is locked)."""
    loan = 10_000 * ONE_TOKEN
    token.mint(stranger, loan, sender=deployer)
    token.approve(dao.votes.address, loan, sender=stranger)
    dao.votes.stake(loan, sender=stranger)
    proposal = pay_from_treasury(token, stranger, treasury, "drain the treasury")
    with boa.reverts("governor: proposer votes below threshold"):
        propose(dao, proposal, stranger)
    dao.votes.requestWithdrawal(loan, sender=stranger)
    with boa.reverts("staked_votes: withdrawal is locked"):
        dao.votes.withdraw(sender=stranger)
    assert token.balanceOf(stranger) == 0
    assert token.balanceOf(dao.timelock.address) == treasury


def test_beanstalk__tokens_acquired_after_the_snapshot__count_for_nothing(dao, governor, token, deployer,
                                                                         treasury, staked, stake, stranger):
    """The attacker holds just the threshold and proposes to drain the
    treasury; once voting opens it borrows 10,000 TAI, stakes and votes,
    and tries to queue and execute in the same block."""
    stake(stranger, THRESHOLD)
    mine()
    proposal = pay_from_treasury(token, stranger, treasury, "drain the treasury")
    proposal_id = propose(dao, proposal, stranger)
    open_voting(dao, proposal_id)
    token.mint(stranger, 10_000 * ONE_TOKEN, sender=deployer)
    token.approve(dao.votes.address, 10_000 * ONE_TOKEN, sender=stranger)
    dao.votes.stake(10_000 * ONE_TOKEN, sender=stranger)
    assert governor.castVote(proposal_id, FOR, sender=stranger) == THRESHOLD
    for phase in ("the same block", "after the vote"):
        with boa.reverts("governor: proposal has not succeeded"):
            governor.queue(*proposal.args(), sender=stranger)
        with boa.reverts("governor: proposal is not queued"):
            governor.execute(*proposal.args(), sender=stranger)
        if phase == "the same block":
            governor.castVote(proposal_id, AGAINST, sender=staked[0])
            close_voting(dao, proposal_id)
    # A fresh account that borrows and stakes after the snapshot has no vote at all.
    assert governor.state(proposal_id) == DEFEATED
    assert token.balanceOf(dao.timelock.address) == treasury


def test_beanstalk__fresh_account_after_the_snapshot__cannot_vote(dao, governor, token, deployer, active):
    borrower = boa.env.generate_address("borrower")
    token.mint(borrower, 10_000 * ONE_TOKEN, sender=deployer)
    token.approve(dao.votes.address, 10_000 * ONE_TOKEN, sender=borrower)
    dao.votes.stake(10_000 * ONE_TOKEN, sender=borrower)
    with boa.reverts("governor: no voting power at the snapshot"):
        governor.castVote(active, FOR, sender=borrower)
    mine()
    with boa.reverts("governor: no voting power at the snapshot"):
        governor.castVote(active, FOR, sender=borrower)
    assert governor.proposalVotes(active) == (0, 0, 0)
    assert WITHDRAWAL_DELAY > VOTING_PERIOD * 12 + TIMELOCK_DELAY


def test_lifecycle__several_calls_go_as_one_batch(dao, governor, token, treasury, staked):
    """Two calls are scheduled and executed together (`schedule_batch`)."""
    alice, bob = staked[:2]
    pay_alice, pay_bob = (pay_from_treasury(token, who, 3 * ONE_TOKEN) for who in (alice, bob))
    proposal = Proposal(pay_alice.targets + pay_bob.targets, [0, 0], pay_alice.calldatas + pay_bob.calldatas,
                        "pay alice and bob 3 TAI each")
    proposal_id = pass_proposal(dao, proposal, alice, staked[:2])
    scheduled = events(governor, "CallScheduled")
    assert [e.index for e in scheduled] == [0, 1]
    salt = (int.from_bytes(proposal.description_hash, "big") ^ (int(governor.address, 16) << 96)).to_bytes(32, "big")
    assert dao.timelock.hash_operation_batch(*proposal.args()[:3], bytes(32), salt) == scheduled[0].id
    governor.execute(*proposal.args(), sender=bob)
    assert governor.state(proposal_id) == EXECUTED
    assert (token.balanceOf(alice), token.balanceOf(bob)) == (3 * ONE_TOKEN, 3 * ONE_TOKEN)
    assert token.balanceOf(dao.timelock.address) == treasury - 6 * ONE_TOKEN


def test_lifecycle__one_call_is_one_timelock_operation(dao, governor, token, treasury, staked):
    proposal = pay_from_treasury(token, staked[0], ONE_TOKEN)
    proposal_id = carry(dao, proposal, staked[0], staked[:1])
    governor.queue(*proposal.args(), sender=staked[0])
    (scheduled,) = events(governor, "CallScheduled")
    salt = (int.from_bytes(proposal.description_hash, "big") ^ (int(governor.address, 16) << 96)).to_bytes(32, "big")
    assert dao.timelock.hash_operation(proposal.targets[0], 0, proposal.calldatas[0], bytes(32), salt) == scheduled.id
    assert dao.timelock.is_operation_pending(scheduled.id)
    assert governor.state(proposal_id) == QUEUED
