"""The DAO's contracts for the tests: staked votes, timelock and governor,
deployed and wired as `SPEC.md` says (the governor the timelock's only
proposer, canceller and executor; the deployer's admin role renounced)."""

from __future__ import annotations

from dataclasses import dataclass

import boa
from eth_utils import keccak

from .conftest import CONTRACTS

VOTES = boa.load_partial(str(CONTRACTS / "staked_votes.vy"))
TIMELOCK = boa.load_partial(str(CONTRACTS / "timelock.vy"))
GOVERNOR = boa.load_partial(str(CONTRACTS / "governor.vy"))

DAO_NAME = "tantieme DAO"
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


def deploy_dao(token, deployer: str) -> Dao:
    """Staked votes over `token`, a timelock and a governor, wired."""
    with boa.env.prank(deployer):
        votes = VOTES.deploy(token.address, WITHDRAWAL_DELAY)
        timelock = TIMELOCK.deploy(TIMELOCK_DELAY, [], [], deployer)
        governor = GOVERNOR.deploy(
            DAO_NAME, votes.address, timelock.address, VOTING_DELAY, VOTING_PERIOD, THRESHOLD, QUORUM
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
