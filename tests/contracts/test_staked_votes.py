"""StakedVotes (`staked_votes.vy`): staking, withdrawal delay, ERC-5805
delegation and checkpoints, `delegateBySig` (SPEC.md "StakedVotes")."""

from __future__ import annotations

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ, MAX_UINT256, ONE_TOKEN, ZERO_ADDRESS, events, fresh_state
from .dao_fixtures import (  # noqa: F401 (fixtures)
    VOTES,
    VOTES_NAME,
    WITHDRAWAL_DELAY,
    dao,
    dao_deployer,
    mine,
    sign_delegation,

    stake,
    voters,
)

FAR = 2**40  # an expiry that never passes


@pytest.fixture
def votes(dao):
    return dao.votes


# ----------------------------------------------------------------- staking --


def test_metadata(votes, token):
    assert (votes.name(), votes.symbol(), votes.decimals()) == (VOTES_NAME, "sTAI", 18)
    assert votes.asset() == token.address
    assert votes.withdrawalDelay() == WITHDRAWAL_DELAY
    assert (votes.clock(), votes.CLOCK_MODE()) == (boa.env.evm.patch.block_number, "mode=blocknumber&from=default")
    assert votes.eip712Domain()[1:5] == (VOTES_NAME, "1", boa.env.evm.patch.chain_id, votes.address)


def test_stake__adds_units_and_delegates_to_self(votes, token, deployer, creator):
    token.mint(creator, 10 * ONE_TOKEN, sender=deployer)
    token.approve(votes.address, MAX_UINT256, sender=creator)
    votes.stake(3 * ONE_TOKEN, sender=creator)
    changed, moved = events(votes, "DelegateChanged"), events(votes, "DelegateVotesChanged")
    assert [(e.delegator, e.fromDelegate, e.toDelegate) for e in changed] == [(creator, ZERO_ADDRESS, creator)]
    assert [(e.delegate, e.previousBalance, e.newBalance) for e in moved] == [(creator, 0, 3 * ONE_TOKEN)]
    assert (votes.balanceOf(creator), votes.totalSupply(), votes.getVotes(creator)) == (3 * ONE_TOKEN,) * 3
    assert votes.delegates(creator) == creator
    assert token.balanceOf(votes.address) == 3 * ONE_TOKEN
    assert token.balanceOf(creator) == 7 * ONE_TOKEN


def test_stake__zero__reverts(votes, creator):
    with boa.reverts("staked_votes: zero amount"):
        votes.stake(0, sender=creator)


def test_stake__without_allowance__reverts(votes, token, deployer, creator):
    token.mint(creator, ONE_TOKEN, sender=deployer)
    with boa.reverts("erc20: insufficient allowance"):
        votes.stake(ONE_TOKEN, sender=creator)
    assert votes.totalSupply() == 0


def test_units__cannot_be_transferred(votes):
    names = {entry.get("name") for entry in votes.abi}
    assert not names & {"transfer", "transferFrom", "approve", "allowance"}


def test_nothing_is_payable(votes, creator):
    assert [e for e in votes.abi if e.get("stateMutability") == "payable"] == []
    boa.env.set_balance(creator, ONE_TOKEN)
    with pytest.raises(Exception):
        boa.env.raw_call(votes.address, sender=creator, value=1)


# -------------------------------------------------------------- withdrawal --


def test_request_withdrawal__removes_votes_now(votes, token, stake, creator):
    stake(creator, 5 * ONE_TOKEN)
    votes.requestWithdrawal(2 * ONE_TOKEN, sender=creator)
    (requested,) = events(votes, "WithdrawalRequested")
    assert (requested.account, requested.amount) == (creator, 2 * ONE_TOKEN)
    assert requested.unlocksAt == boa.env.timestamp + WITHDRAWAL_DELAY
    assert (votes.balanceOf(creator), votes.totalSupply(), votes.getVotes(creator)) == (3 * ONE_TOKEN,) * 3
    assert votes.pendingWithdrawal(creator) == (2 * ONE_TOKEN, boa.env.timestamp + WITHDRAWAL_DELAY)
    assert token.balanceOf(votes.address) == 5 * ONE_TOKEN


def test_withdraw__before_the_delay__reverts(votes, token, stake, creator):
    stake(creator, 5 * ONE_TOKEN)
    votes.requestWithdrawal(5 * ONE_TOKEN, sender=creator)
    boa.env.time_travel(seconds=WITHDRAWAL_DELAY - 1)
    with boa.reverts("staked_votes: withdrawal is locked"):
        votes.withdraw(sender=creator)
    assert token.balanceOf(creator) == 0


def test_withdraw__after_the_delay__returns_the_tokens(votes, token, stake, creator):
    stake(creator, 5 * ONE_TOKEN)
    votes.requestWithdrawal(2 * ONE_TOKEN, sender=creator)
    boa.env.time_travel(seconds=WITHDRAWAL_DELAY)
    assert votes.withdraw(sender=creator) == 2 * ONE_TOKEN
    assert token.balanceOf(creator) == 2 * ONE_TOKEN
    assert votes.pendingWithdrawal(creator) == (0, 0)
    with boa.reverts("staked_votes: nothing to withdraw"):
        votes.withdraw(sender=creator)


def test_request_withdrawal__later_request_delays_the_earlier(votes, stake, creator):
    stake(creator, 5 * ONE_TOKEN)
    votes.requestWithdrawal(ONE_TOKEN, sender=creator)
    boa.env.time_travel(seconds=WITHDRAWAL_DELAY - 10)
    votes.requestWithdrawal(ONE_TOKEN, sender=creator)
    assert votes.pendingWithdrawal(creator) == (2 * ONE_TOKEN, boa.env.timestamp + WITHDRAWAL_DELAY)
    with boa.reverts("staked_votes: withdrawal is locked"):
        votes.withdraw(sender=creator)


def test_request_withdrawal__more_than_staked__reverts(votes, stake, creator):
    stake(creator, ONE_TOKEN)
    with boa.reverts("staked_votes: amount exceeds stake"):
        votes.requestWithdrawal(ONE_TOKEN + 1, sender=creator)
    with boa.reverts("staked_votes: zero amount"):
        votes.requestWithdrawal(0, sender=creator)
    assert votes.getVotes(creator) == ONE_TOKEN


# -------------------------------------------------------------- delegation --


def test_delegate__moves_votes_and_later_stakes(votes, stake, creator, asker):
    stake(creator, 5 * ONE_TOKEN)
    votes.delegate(asker, sender=creator)
    moved = events(votes, "DelegateVotesChanged")
    assert [(e.delegate, e.previousBalance, e.newBalance) for e in moved] == [
        (creator, 5 * ONE_TOKEN, 0),
        (asker, 0, 5 * ONE_TOKEN),
    ]
    stake(creator, ONE_TOKEN)
    assert (votes.getVotes(creator), votes.getVotes(asker)) == (0, 6 * ONE_TOKEN)
    assert votes.delegates(creator) == asker


def test_delegate__to_the_zero_address__reverts(votes, stake, creator):
    stake(creator, ONE_TOKEN)
    with boa.reverts("staked_votes: delegate to the zero address"):
        votes.delegate(ZERO_ADDRESS, sender=creator)
    assert votes.getVotes(creator) == ONE_TOKEN


def test_delegate_by_sig(votes, stake, voters, stranger):
    alice, bob = voters[:2]
    stake(alice.address, 4 * ONE_TOKEN)
    votes.delegateBySig(bob.address, 0, FAR, *sign_delegation(votes, alice, bob.address, 0, FAR), sender=stranger)
    assert votes.delegates(alice.address) == bob.address
    assert votes.getVotes(bob.address) == 4 * ONE_TOKEN
    assert votes.nonces(alice.address) == 1


def test_delegate_by_sig__replayed__reverts_and_moves_nothing(votes, stake, voters, stranger):
    alice, bob, carol = voters[:3]
    stake(alice.address, 4 * ONE_TOKEN)
    to_bob = sign_delegation(votes, alice, bob.address, 0, FAR)
    votes.delegateBySig(bob.address, 0, FAR, *to_bob, sender=stranger)
    votes.delegate(carol.address, sender=alice.address)
    with boa.reverts("staked_votes: invalid nonce"):
        votes.delegateBySig(bob.address, 0, FAR, *to_bob, sender=stranger)
    assert votes.delegates(alice.address) == carol.address
    assert (votes.getVotes(bob.address), votes.getVotes(carol.address)) == (0, 4 * ONE_TOKEN)


def test_delegate_by_sig__expired__reverts(votes, voters, stranger):
    alice, bob = voters[:2]
    expiry = boa.env.timestamp - 1
    with boa.reverts("staked_votes: signature expired"):
        votes.delegateBySig(bob.address, 0, expiry, *sign_delegation(votes, alice, bob.address, 0, expiry),
                            sender=stranger)


def test_delegate_by_sig__other_deployment_or_chain__signs_for_someone_else(votes, token, stake, voters,
                                                                             stranger):
    """A signature for another domain recovers another account: the
    signer's own delegation never changes."""
    alice, bob = voters[:2]
    stake(alice.address, ONE_TOKEN)
    other = VOTES.deploy(token.address, WITHDRAWAL_DELAY)
    for signature in (
        sign_delegation(other, alice, bob.address, 0, FAR),
        sign_delegation(votes, alice, bob.address, 0, FAR, chain_id=1),
    ):
        votes.delegateBySig(bob.address, 0, FAR, *signature, sender=stranger)
        assert votes.delegates(alice.address) == alice.address
    assert votes.getVotes(bob.address) == 0


def test_delegate_by_sig__high_s__reverts(votes, voters, stranger):
    alice, bob = voters[:2]
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    v, r, s = sign_delegation(votes, alice, bob.address, 0, FAR)
    high_s = (order - int.from_bytes(s, "big")).to_bytes(32, "big")
    with boa.reverts("ecdsa: invalid signature `s` value"):
        votes.delegateBySig(bob.address, 0, FAR, 55 - v, r, high_s, sender=stranger)


# ------------------------------------------------------------- checkpoints --


def test_past_votes__read_strictly_before_the_current_block(votes, stake, creator):
    start = boa.env.evm.patch.block_number
    stake(creator, ONE_TOKEN)
    with boa.reverts("staked_votes: future lookup"):
        votes.getPastVotes(creator, start)
    with boa.reverts("staked_votes: future lookup"):
        votes.getPastTotalSupply(start)
    mine()
    assert votes.getPastVotes(creator, start) == ONE_TOKEN
    assert votes.getPastVotes(creator, start - 1) == 0
    assert votes.getPastTotalSupply(start) == ONE_TOKEN


def test_checkpoints__one_per_block(votes, stake, creator):
    stake(creator, ONE_TOKEN)
    stake(creator, ONE_TOKEN)
    assert votes.numCheckpoints(creator) == 1
    mine()
    votes.requestWithdrawal(ONE_TOKEN, sender=creator)
    assert votes.numCheckpoints(creator) == 2


@FUZZ
@given(steps=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 10**6), st.integers(0, 3)), min_size=1,
                      max_size=40))
def test_past_votes__match_the_history(dao, token, deployer, voters, steps):
    """Stakes, withdrawals and delegations over random blocks: every past
    block's votes and supply read back as a model of them recorded."""
    votes = dao.votes
    accounts = [v.address for v in voters[:3]]
    with fresh_state():
        model = {a: 0 for a in accounts}
        delegate_of = {a: a for a in accounts}
        units = {a: 0 for a in accounts}
        history = []  # (block, votes per account, supply) at the end of each block
        for who, amount, gap in steps:
            account = accounts[who]
            if amount % 3 == 0 and units[account]:
                taken = min(amount, units[account])
                votes.requestWithdrawal(taken, sender=account)
                units[account] -= taken
                model[delegate_of[account]] -= taken
            elif amount % 3 == 1 and units[account]:
                target = accounts[amount % len(accounts)]
                votes.delegate(target, sender=account)
                model[delegate_of[account]] -= units[account]
                model[target] += units[account]
                delegate_of[account] = target
            else:
                token.mint(account, amount, sender=deployer)
                token.approve(votes.address, amount, sender=account)
                votes.stake(amount, sender=account)
                units[account] += amount
                model[delegate_of[account]] += amount
            block = boa.env.evm.patch.block_number
            if history and history[-1][0] == block:
                history.pop()
            history.append((block, dict(model), sum(units.values())))
            mine(gap)
        mine()
        for block, expected, supply in history:
            assert {a: votes.getPastVotes(a, block) for a in accounts} == expected
            assert votes.getPastTotalSupply(block) == supply
            assert sum(expected.values()) == supply
        first = history[0][0]
        assert all(votes.getPastVotes(a, first - 1) == 0 for a in accounts)


