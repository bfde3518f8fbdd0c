"""The DAO's contracts for the tests: staked votes, timelock and governor,
deployed and wired as `SPEC.md` says (the governor the timelock's only
proposer, canceller and executor; the deployer's admin role renounced)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import boa
import pytest
from eth_account import Account
from eth_utils import keccak

from .conftest import CONTRACTS, ONE_TOKEN, ZERO_ADDRESS, Signer

VOTES = boa.load_partial(str(CONTRACTS / "staked_votes.vy"))
TIMELOCK = boa.load_partial(str(CONTRACTS / "timelock.vy"))
GOVERNOR = boa.load_partial(str(CONTRACTS / "governor.vy"))

DAO_NAME = "tantieme DAO"
VOTES_NAME = "tantieme Staked AI Token"
VOTING_DELAY = 1  # blocks
VOTING_PERIOD = 20  # blocks
TIMELOCK_DELAY = 3_600  # seconds
WITHDRAWAL_DELAY = 86_400  # seconds: more than the voting period and the timelock delay
THRESHOLD = 10**18  # 1 TAI
QUORUM = 4  # percent
GRACE_PERIOD = 14 * 86_400

PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
AGAINST, FOR, ABSTAIN = range(3)

PROPOSER_ROLE = keccak(b"PROPOSER_ROLE")
EXECUTOR_ROLE = keccak(b"EXECUTOR_ROLE")
CANCELLER_ROLE = keccak(b"CANCELLER_ROLE")
ADMIN_ROLE = bytes(32)


@dataclass(frozen=True)
class Dao:
    votes: object
    timelock: object
    governor: object


def deploy_dao(token, deployer: str, commons: str = ZERO_ADDRESS, reputation: str = ZERO_ADDRESS) -> Dao:
    """Staked votes over `token`, a timelock and a governor (whose quadratic
    voters are `commons`' members and reputation `reputation`'s), wired."""
    with boa.env.prank(deployer):
        votes = VOTES.deploy(token.address, WITHDRAWAL_DELAY)
        timelock = TIMELOCK.deploy(TIMELOCK_DELAY, [], [], deployer)
        governor = GOVERNOR.deploy(
            DAO_NAME, votes.address, timelock.address, commons, reputation, VOTING_DELAY, VOTING_PERIOD,
            THRESHOLD, QUORUM,
        )
        for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
            timelock.grantRole(role, governor.address)
        timelock.renounceRole(ADMIN_ROLE, deployer)
    return Dao(votes, timelock, governor)


@dataclass(frozen=True)
class Proposal:
    """A proposal's calls and description, and what `queue`/`execute` take."""

    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description: str

    @property
    def description_hash(self) -> bytes:
        return keccak(self.description.encode())

    def args(self) -> tuple:
        return self.targets, self.values, self.calldatas, self.description_hash


def mine(blocks: int = 1) -> None:
    """Advance `blocks` blocks (12 seconds each)."""
    boa.env.time_travel(blocks=blocks)


# -------------------------------------------------------------- fixtures --


@pytest.fixture(scope="session")
def dao_deployer() -> str:
    return boa.env.generate_address("dao deployer")


@pytest.fixture(scope="session")
def dao(system, dao_deployer) -> Dao:
    """The DAO over the shared system's token, deployed once per session
    outside every test's anchor, by its own deployer: no other test's
    deployment can ever land at its addresses (titanoboa's storage traces
    are kept per address, whatever contract lived there)."""
    return deploy_dao(system.token, dao_deployer)


@pytest.fixture(scope="session")
def voters() -> list[Signer]:
    """Key-holding voters (they sign delegations and ballots)."""
    return [signer(b"tantieme voter %d" % i) for i in range(4)]


def signer(seed: bytes) -> Signer:
    account = Account.from_key(keccak(seed))
    return Signer(account.address, account.key)


@pytest.fixture
def stake(dao, token, deployer) -> Callable[[str, int], None]:
    """Mint `amount` (the dev faucet) to `account` and stake it."""

    def _stake(account: str, amount: int) -> None:
        token.mint(account, amount, sender=deployer)
        token.approve(dao.votes.address, amount, sender=account)
        dao.votes.stake(amount, sender=account)

    return _stake


# -------------------------------------------------------------- proposals --


@pytest.fixture
def treasury(dao, token, deployer) -> int:
    """The timelock holds 1,000 TAI (what a proposal can spend)."""
    amount = 1_000 * ONE_TOKEN
    token.mint(dao.timelock.address, amount, sender=deployer)
    return amount


def pay_from_treasury(token, to: str, amount: int, description: str = "pay from the treasury") -> Proposal:
    """A proposal that the timelock transfer `amount` AI tokens to `to`."""
    return Proposal([token.address], [0], [token.transfer.prepare_calldata(to, amount)], description)


def set_voting_period(dao: Dao, blocks: int, description: str = "set the voting period") -> Proposal:
    return Proposal([dao.governor.address], [0], [dao.governor.setVotingPeriod.prepare_calldata(blocks)], description)


def propose(dao: Dao, proposal: Proposal, sender: str) -> int:
    return dao.governor.propose(
        proposal.targets, proposal.values, proposal.calldatas, proposal.description, sender=sender
    )


def open_voting(dao: Dao, proposal_id: int) -> None:
    """Mine until the proposal is Active (the block after its snapshot)."""
    mine(dao.governor.proposalSnapshot(proposal_id) + 1 - boa.env.evm.patch.block_number)


def close_voting(dao: Dao, proposal_id: int) -> None:
    """Mine past the proposal's deadline."""
    mine(dao.governor.proposalDeadline(proposal_id) + 1 - boa.env.evm.patch.block_number)


def carry(dao: Dao, proposal: Proposal, proposer: str, voters: list[str]) -> int:
    """Propose, vote For with `voters`, close voting: Succeeded if they carry it."""
    proposal_id = propose(dao, proposal, proposer)
    open_voting(dao, proposal_id)
    for voter in voters:
        dao.governor.castVote(proposal_id, FOR, sender=voter)
    close_voting(dao, proposal_id)
    return proposal_id


def pass_proposal(dao: Dao, proposal: Proposal, proposer: str, voters: list[str]) -> int:
    """`carry`, queue, wait out the timelock: the proposal is ready to execute."""
    proposal_id = carry(dao, proposal, proposer, voters)
    dao.governor.queue(*proposal.args(), sender=proposer)
    boa.env.time_travel(seconds=TIMELOCK_DELAY)
    return proposal_id


def sign_delegation(votes, who: Signer, delegatee: str, nonce: int, expiry: int, chain_id: int | None = None):
    """ERC-5805 `Delegation`, signed with eth-account (v, r, s)."""
    signed = Account.sign_typed_data(
        who.key,
        full_message={
            "domain": _domain(votes, VOTES_NAME, chain_id),
            "types": {"Delegation": _fields("address delegatee", "uint256 nonce", "uint256 expiry")},
            "primaryType": "Delegation",
            "message": {"delegatee": delegatee, "nonce": nonce, "expiry": expiry},
        },
    )
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def sign_ballot(governor, who: Signer, proposal_id: int, support: int, nonce: int) -> bytes:
    """OpenZeppelin's `Ballot`, signed with eth-account (65 bytes r ‖ s ‖ v)."""
    signed = Account.sign_typed_data(
        who.key,
        full_message={
            "domain": _domain(governor, DAO_NAME),
            "types": {"Ballot": _fields("uint256 proposalId", "uint8 support", "address voter", "uint256 nonce")},
            "primaryType": "Ballot",
            "message": {"proposalId": proposal_id, "support": support, "voter": who.address, "nonce": nonce},
        },
    )
    return signed.signature


def _domain(contract, name: str, chain_id: int | None = None) -> dict:
    return {
        "name": name,
        "version": "1",
        "chainId": chain_id or boa.env.evm.patch.chain_id,
        "verifyingContract": contract.address,
    }


def _fields(*declarations: str) -> list[dict]:
    return [dict(zip(("type", "name"), d.split(), strict=True)) for d in declarations]
