"""Gas targets, from real transaction receipts (web3 + eth-tester / py-evm).

Each scenario runs on a fresh deployment and reads `gasUsed` from the
receipt (intrinsic gas, calldata and refunds included). `pytest -s` prints
the table; SPEC.md lists the figures.
"""

from __future__ import annotations

import os

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from vyper.compiler.output import build_abi_output
from web3 import EthereumTesterProvider, Web3

from .conftest import MAX_UINT256, METADATA_URI, NON_COMMERCIAL, OPEN, TOKEN_NAME, TOKEN_SYMBOL, TOKEN_VERSION

TARGETS = {
    "register root, 1st asset of a fresh account": 225_000,
    "register 1-parent commercial derivative (consumes a licence)": 200_000,
    "register 1-parent non-commercial derivative": 200_000,
    "mintLicense, first sale of the asset": 140_000,
    "pay, steady state": 60_000,
}


def _artifact(deployer) -> tuple[list, bytes]:
    return build_abi_output(deployer.compiler_data), deployer.compiler_data.bytecode


class Chain:
    """A fresh py-evm chain with the three contracts deployed and wired."""

    def __init__(self, token_deployer, registry_deployer, router_deployer):
        self.w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
        self.deployer, self.creator, self.asker, self.buyer, *self.others = self.w3.eth.accounts
        self.token = self.deploy(token_deployer, TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION)
        self.registry = self.deploy(registry_deployer, self.token.address)
        self.router = self.deploy(router_deployer, self.token.address, self.registry.address)
        self.send(self.registry.functions.setRoyaltyRouter(self.router.address), self.deployer)
        for account in (self.asker, self.buyer):
            self.send(self.token.functions.mint(account, 10**24), self.deployer)
            self.send(self.token.functions.approve(self.router.address, MAX_UINT256), account)

    def deploy(self, deployer, *args):
        abi, bytecode = _artifact(deployer)
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        receipt = self.receipt(factory.constructor(*args).transact({"from": self.deployer, "gas": 8_000_000}))
        return self.w3.eth.contract(address=receipt.contractAddress, abi=abi)

    def receipt(self, tx_hash):
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt.status == 1
        return receipt

    def send(self, call, sender) -> int:
        return self.receipt(call.transact({"from": sender, "gas": 3_000_000})).gasUsed

    def register(self, sender, parents=(), terms=OPEN) -> tuple[int, int]:
        gas = self.send(self.registry.functions.register(0, os.urandom(32), METADATA_URI, list(parents),
                                                         terms.abi()), sender)
        return self.registry.functions.totalAssets().call(), gas


@pytest.fixture(scope="module")
def gas(token_deployer, registry_deployer, router_deployer) -> dict[str, int]:
    figures: dict[str, int] = {}
    chain = Chain(token_deployer, registry_deployer, router_deployer)
    seed, figures["register root, new terms URI (stored once for everyone)"] = chain.register(chain.others[0])
    root, figures["register root, 1st asset of a fresh account"] = chain.register(chain.creator)
    _, figures["register root, 2nd asset of the account"] = chain.register(chain.creator)
    _, figures["register root, empty terms URI"] = chain.register(chain.others[1], terms=OPEN.but(uri=""))

    figures["mintLicense, first sale of the asset"] = chain.send(
        chain.registry.functions.mintLicense(root, 1, chain.asker), chain.asker)
    figures["mintLicense, later sale"] = chain.send(chain.registry.functions.mintLicense(root, 1, chain.asker),
                                                    chain.asker)
    child, figures["register 1-parent commercial derivative (consumes a licence)"] = chain.register(
        chain.asker, [root])
    _, figures["register 1-parent non-commercial derivative"] = chain.register(
        chain.others[2], [seed], NON_COMMERCIAL)

    figures["pay, first payment to the asset"] = chain.send(chain.router.functions.pay(child, 10**18), chain.buyer)
    figures["pay, steady state"] = chain.send(chain.router.functions.pay(child, 10**18), chain.buyer)
    figures["distribute, 1 parent"] = chain.send(chain.router.functions.distribute(child), chain.buyer)
    chain.send(chain.router.functions.pay(child, 10**18), chain.buyer)
    figures["distribute, 1 parent, steady state"] = chain.send(chain.router.functions.distribute(child),
                                                               chain.buyer)
    figures["distribute, root"] = chain.send(chain.router.functions.distribute(root), chain.buyer)
    figures["claim"] = chain.send(chain.router.functions.claim(root), chain.creator)
    figures["payBatch, 10 credits"] = chain.send(
        chain.router.functions.payBatch([root, child] * 5, [10**15] * 10), chain.buyer)

    width = max(map(len, figures))
    print("\n" + "\n".join(f"{name:<{width}}  {used:>9,}" for name, used in figures.items()))
    return figures


@pytest.mark.parametrize("scenario", sorted(TARGETS))
def test_gas_target(gas, scenario):
    assert gas[scenario] <= TARGETS[scenario], f"{scenario}: {gas[scenario]:,} > {TARGETS[scenario]:,}"
