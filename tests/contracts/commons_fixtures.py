"""The commons pool for the tests: its own token, registry and owner (so no
other test's deployment shares its addresses), six people who each own one
registered work, funded and with the pool approved for their tokens."""

from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest

from .conftest import (
    CONTRACTS,
    DATASET,
    METADATA_URI,
    ONE_TOKEN,
    OPEN,
    deploy_system,
    funded_people,
    new_content_hash,
    new_work,
    register_asset,
)

POOL = boa.load_partial(str(CONTRACTS / "commons_pool.vy"))

BOND = 10 * ONE_TOKEN
CYCLE = 30  # days
RESERVE = 1_000  # bps
CAP = 14  # days
DAY = 86_400
PEOPLE = 6
WEALTH = 1_000 * ONE_TOKEN  # each person's tokens at the start


@dataclass(frozen=True)
class Commons:
    token: object
    registry: object
    pool: object
    owner: str
    people: list[str]
    works: list[int]  # people[i] owns works[i]
    dataset: int  # a DATASET of people[0]


def deploy_commons(token_deployer, registry_deployer, router_deployer) -> Commons:
    owner = boa.env.generate_address("commons owner")
    system = deploy_system(token_deployer, registry_deployer, router_deployer, owner)
    token, registry = system.token, system.registry
    with boa.env.prank(owner):
        pool = POOL.deploy(token.address, registry.address, BOND, CYCLE, RESERVE, CAP)
    people = funded_people(token, owner, "commons", PEOPLE, WEALTH, pool.address)
    works = [new_work(registry, person) for person in people]
    dataset = register_asset(registry, people[0], DATASET, new_content_hash(), METADATA_URI, (), OPEN)
    return Commons(token, registry, pool, owner, people, works, dataset)


@pytest.fixture(scope="module")
def commons(token_deployer, registry_deployer, router_deployer) -> Commons:
    return deploy_commons(token_deployer, registry_deployer, router_deployer)


def pay_in(c: Commons, amount: int) -> None:
    """The machine tax arrives: a plain transfer into the pool (the ledger's way)."""
    c.token.mint(c.owner, amount, sender=c.owner)
    c.token.transfer(c.pool.address, amount, sender=c.owner)


def next_day(days: int = 1) -> None:
    boa.env.time_travel(seconds=days * DAY)


def daily(funds: int, members: int, cycle: int = CYCLE, reserve: int = RESERVE) -> int:
    """The contract's daily amount, computed here."""
    return (funds - funds * reserve // 10_000) // (cycle * members)
