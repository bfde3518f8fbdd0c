"""No function of the token, registry, router or royalty vaults accepts
ether, constructors included: nothing could ever return it."""

from __future__ import annotations

import boa
import pytest

from .conftest import ONE_TOKEN, TOKEN_NAME, TOKEN_SYMBOL, TOKEN_VERSION


def payable_entries(abi: list[dict]) -> list[str]:
    return [e.get("name", e["type"]) for e in abi if e.get("stateMutability") == "payable"]


@pytest.mark.parametrize("name", ["token", "registry", "router"])
def test_abi__nothing_is_payable(system, name):
    assert payable_entries(getattr(system, name).abi) == []


def test_constructor_with_ether__reverts(token_deployer, registry_deployer, router_deployer, token, registry,
                                         deployer):
    boa.env.set_balance(deployer, ONE_TOKEN)
    deployments = [
        (token_deployer, (TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION, 0)),
        (registry_deployer, (token.address,)),
        (router_deployer, (token.address, registry.address)),
    ]
    for factory, args in deployments:
        with boa.env.prank(deployer), pytest.raises(Exception):
            factory.deploy(*args, value=1)
    assert boa.env.get_balance(deployer) == ONE_TOKEN


@pytest.mark.parametrize("name", ["token", "registry", "router"])
def test_plain_ether_transfer__reverts(system, stranger, name):
    boa.env.set_balance(stranger, ONE_TOKEN)
    with pytest.raises(Exception):
        boa.env.raw_call(getattr(system, name).address, sender=stranger, value=1)
    assert boa.env.get_balance(stranger) == ONE_TOKEN
