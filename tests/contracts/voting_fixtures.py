"""The three ways to count, for the tests: a ledger world (token, registry,
router, ledger and a few assets), a commons pool on it, reputation votes
over its ledger and a DAO whose governor reads all three; its own
deployers, so no other test's deployment shares its addresses."""

from __future__ import annotations

import decimal
from dataclasses import dataclass

import boa
import pytest

from tantieme.ledger.merkle import StandardMerkleTree

from .conftest import CONTRACTS, MAX_UINT256, ONE_TOKEN, Signer
from .dao_fixtures import Dao, deploy_dao, signer
from .ledger_fixtures import World, batch_abi, credit_args, deploy_world, make_batch, settle, shares_tree, sign

POOL = boa.load_partial(str(CONTRACTS / "commons_pool.vy"))
REPUTATION = boa.load_partial(str(CONTRACTS / "reputation_votes.vy"))

TOKEN, REPUTATION_COUNTING, QUADRATIC = range(3)
HALF_LIFE = 1_000  # blocks
BOND = ONE_TOKEN
ASSETS = 6  # registered: models 0-3, works 4-5 (owned by the creator at first)


@dataclass(frozen=True)
class Voting:
    world: World
    pool: object
    reputation: object
    dao: Dao
    deployer: str
    payer: Signer
    people: list[str]  # people[i] owns a work and may join the pool

    @property
    def governor(self):
        return self.dao.governor


def deploy_voting(token_deployer, registry_deployer, router_deployer, ledger_deployer, wire: bool = True) -> Voting:
    """A ledger world, its commons pool, reputation votes over its ledger (wired to its
    router unless not `wire`) and a DAO reading both."""
    deployer = boa.env.generate_address("voting deployer")
    creator = boa.env.generate_address("voting creator")
    operator = boa.env.generate_address("voting operator")
    payer = signer(b"tantieme voting payer")
    pool_owner = boa.env.generate_address("voting pool owner")
    world = deploy_world(
        token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator,
        boa.env.generate_address("voting ledger commons"), operator, payers=(payer,), pool=ASSETS,
    )
    with boa.env.prank(pool_owner):
        pool = POOL.deploy(world.token.address, world.registry.address, BOND, 30, 1_000, 14)
    reputation = REPUTATION.deploy(world.ledger.address, world.router.address, world.registry.address, HALF_LIFE)
    if wire:
        world.router.setReputation(reputation.address, sender=deployer)
    dao = deploy_dao(world.token, deployer, pool.address, reputation.address)
    people = [boa.env.generate_address(f"voting person {i}") for i in range(2)]
    for person, work in zip(people, world.assets[4:], strict=True):
        world.registry.transferFrom(creator, person, work, sender=creator)
    return Voting(world, pool, reputation, dao, deployer, payer, people)


@pytest.fixture(scope="module")
def voting(token_deployer, registry_deployer, router_deployer, ledger_deployer) -> Voting:
    return deploy_voting(token_deployer, registry_deployer, router_deployer, ledger_deployer)


def stake(v: Voting, account: str, amount: int) -> None:
    """Mint `amount` to `account` and stake it (it votes for itself)."""
    v.world.token.mint(account, amount, sender=v.deployer)
    v.world.token.approve(v.dao.votes.address, amount, sender=account)
    v.dao.votes.stake(amount, sender=account)


def settle_and_credit(v: Voting, owed: dict[int, int]) -> bytes:
    """A settled batch of the payer whose assets' part is `owed` (asset →
    cumulative wei in the payer's pool), every asset credited by proof;
    returns the pool id."""
    tree = shares_tree(owed)
    total = sum(owed.values()) * 10_000 // (10_000 - 1_000 - 500) + 1
    batch = make_batch(v.world, v.payer, total, tree=tree)
    settle(v.world, v.payer, batch)
    pool_id = v.world.ledger.assetPool(v.payer.address, v.world.operator)
    v.world.router.credit(pool_id, *credit_args(tree, range(len(owed))))
    return pool_id


@dataclass(frozen=True)
class Earning:
    """A settled batch's asset tree and what settles it (see `earning`)."""

    batch: tuple  # as `settle` takes it
    signature: tuple[int, bytes, bytes]
    tree: StandardMerkleTree


_earnings: dict[tuple[str, int], Earning] = {}


def earning(v: Voting, nonce: int, earned: dict[int, int]) -> Earning:
    """The payer's batch `nonce` owing each asset `nonce + 1` times what
    `earned` says (cumulative), signed; built once per deployment (a state
    machine settles the same batches in every run)."""
    key = (v.world.ledger.address, nonce)
    if key not in _earnings:
        tree = shares_tree({asset: (nonce + 1) * amount for asset, amount in earned.items()})
        total = (nonce + 1) * sum(earned.values()) * 10_000 // (10_000 - 1_000 - 500) + 1
        batch = make_batch(v.world, v.payer, total, tree=tree, nonce=nonce)
        _earnings[key] = Earning(batch_abi(batch), sign(batch, v.payer, v.world.domain()), tree)
    return _earnings[key]


def _root(i: int) -> int:
    """2^(-1/2^i) in 64-bit fixed point, rounded down (computed here,
    independently of the contract's table)."""
    with decimal.localcontext(prec=60):
        return int(decimal.Decimal(2) ** (-decimal.Decimal(1) / 2**i) * 2**64)


_ROOTS = [_root(i) for i in range(1, 17)]


def decayed(amount: int, elapsed: int, half_life: int = HALF_LIFE) -> int:
    """`amount` reputation `elapsed` blocks later, as SPEC.md defines the
    decay: halved per whole half-life, then times 2^(-f) for the fraction f
    of a half-life left in 1/65,536 steps, each factor rounded down."""
    halvings, rest = divmod(elapsed, half_life)
    if halvings >= 192:
        return 0
    fraction = (rest << 16) // half_life
    factor = 2**64
    for i, root in enumerate(_ROOTS):
        if fraction >> (15 - i) & 1:
            factor = factor * root >> 64
    return (amount >> halvings) * factor >> 64


def approve_pool(v: Voting, account: str) -> None:
    v.world.token.mint(account, 10 * BOND, sender=v.deployer)
    v.world.token.approve(v.pool.address, MAX_UINT256, sender=account)
