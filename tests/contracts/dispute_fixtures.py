"""The dispute module for the tests: its own token, registry, router and owner
(so no other test's deployment shares its addresses), the router wired to the
module, an arbiter, and people with funds who approved the module and the
router. `people[0]` owns a work and a derivative of it (10 % to the work)."""

from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest
from eth_utils import keccak

from .conftest import CONTRACTS, NON_COMMERCIAL, ONE_TOKEN, OPEN, deploy_system, funded_people, new_work

DISPUTES = boa.load_partial(str(CONTRACTS / "dispute_module.vy"))

BOND = 5 * ONE_TOKEN
CANCEL_FEE = 2_000  # bps
COPIED = b"COPIED_CONTENT".ljust(32, b"\0")
MISSING_DATA = b"MISSING_TRAINING_DATA".ljust(32, b"\0")
TAGS = [COPIED, MISSING_DATA]
EVIDENCE = keccak(b"the original, published earlier")
EVIDENCE_URI = "ipfs://bafkreievidence"
PEOPLE = 4
WEALTH = 1_000 * ONE_TOKEN
PARENT_BPS = OPEN.royalty_bps  # the work's share of its derivative's revenue

OPEN_STATUS, UPHELD, REJECTED, CANCELLED = 1, 2, 3, 4


@dataclass(frozen=True)
class Disputes:
    token: object
    registry: object
    router: object
    module: object
    owner: str
    arbiter: str
    people: list[str]
    work: int  # people[0]'s
    derivative: int  # people[0]'s, of `work`


def deploy_disputes(token_deployer, registry_deployer, router_deployer, *, wire: bool = True) -> Disputes:
    owner = boa.env.generate_address("disputes owner")
    system = deploy_system(token_deployer, registry_deployer, router_deployer, owner)
    token, registry, router = system.token, system.registry, system.router
    with boa.env.prank(owner):
        module = DISPUTES.deploy(token.address, registry.address, router.address, BOND, CANCEL_FEE, TAGS)
        if wire:
            router.setDisputeModule(module.address)
    arbiter = boa.env.generate_address("disputes arbiter")
    module.setArbiter(arbiter, sender=owner)
    people = funded_people(token, owner, "disputes", PEOPLE, WEALTH, module.address, router.address)
    work = new_work(registry, people[0])
    derivative = new_work(registry, people[0], NON_COMMERCIAL, (work,))
    return Disputes(token, registry, router, module, owner, arbiter, people, work, derivative)


@pytest.fixture(scope="module")
def disputes(token_deployer, registry_deployer, router_deployer) -> Disputes:
    return deploy_disputes(token_deployer, registry_deployer, router_deployer)


def raise_dispute(d: Disputes, raiser: str, asset: int, tag: bytes = COPIED) -> int:
    return d.module.raiseDispute(asset, tag, EVIDENCE, EVIDENCE_URI, sender=raiser)
