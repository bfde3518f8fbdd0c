"""Gas targets, from real transaction receipts (web3 + eth-tester / py-evm).

Each scenario runs on one fresh deployment and reads `gasUsed` from the
receipt (intrinsic gas, calldata and refunds included). `pytest -s` prints
the table; SPEC.md lists the figures.
"""

from __future__ import annotations

import os

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from vyper.compiler.output import build_abi_output
from web3 import EthereumTesterProvider, Web3

from tantieme.ledger.records import asset_tree

from .conftest import (
    MAX_UINT256,
    METADATA_URI,
    NON_COMMERCIAL,
    OPEN,
    TOKEN_NAME,
    TOKEN_SYMBOL,
    TOKEN_VERSION,
)

TARGETS = {
    "register root, 1st asset of a fresh account": 225_000,
    "register 1-parent commercial derivative (consumes a licence)": 200_000,
    "register 1-parent non-commercial derivative": 200_000,
    "mintLicense, first sale of the asset": 140_000,
    "pay, steady state": 60_000,
}
ANOTHER_LICENCE = "https://example.org/licences/some-other-licence-text/v1"


class Chain:
    """A fresh py-evm chain with the three contracts deployed and wired."""

    def __init__(self, token_deployer, registry_deployer, router_deployer):
        self.w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
        self.deployer, self.creator, self.asker, self.buyer, *self.others = self.w3.eth.accounts
        self.token = self.deploy(
            token_deployer, TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION
        )
        self.registry = self.deploy(registry_deployer, self.token.address)
        self.router = self.deploy(router_deployer, self.token.address, self.registry.address)
        self.send(self.registry.functions.setRoyaltyRouter(self.router.address), self.deployer)
        for account in (self.asker, self.buyer):
            self.send(self.token.functions.mint(account, 10**24), self.deployer)
            self.send(self.token.functions.approve(self.router.address, MAX_UINT256), account)

    def deploy(self, deployer, *args):
        abi = build_abi_output(deployer.compiler_data)
        factory = self.w3.eth.contract(abi=abi, bytecode=deployer.compiler_data.bytecode)
        tx = factory.constructor(*args).transact({"from": self.deployer, "gas": 8_000_000})
        return self.w3.eth.contract(address=self.receipt(tx).contractAddress, abi=abi)

    def receipt(self, tx_hash):
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt.status == 1
        return receipt

    def send(self, call, sender) -> int:
        return self.receipt(call.transact({"from": sender, "gas": 3_000_000})).gasUsed

    def register(self, sender, parents=(), terms=OPEN) -> tuple[int, int]:
        call = self.registry.functions.register(
            0, os.urandom(32), METADATA_URI, list(parents), terms.abi()
        )
        gas = self.send(call, sender)
        return self.registry.functions.totalAssets().call(), gas


@pytest.fixture(scope="module")
def gas(token_deployer, registry_deployer, router_deployer) -> dict[str, int]:
    chain = Chain(token_deployer, registry_deployer, router_deployer)
    registry, router = chain.registry.functions, chain.router.functions
    buyer, creator, asker = chain.buyer, chain.creator, chain.asker
    figures: dict[str, int] = {}

    def note(name: str, call, sender) -> None:
        figures[name] = chain.send(call, sender)

    seed, figures["register root citing a new terms URI (stores it)"] = chain.register(
        chain.others[0]
    )
    root, figures["register root, 1st asset of a fresh account"] = chain.register(creator)
    _, figures["register root, 2nd asset of the account"] = chain.register(creator)
    _, figures["register root, empty terms URI"] = chain.register(
        chain.others[1], terms=OPEN.but(uri="")
    )
    note("mintLicense, first sale of the asset", registry.mintLicense(root, 1, asker), asker)
    note("mintLicense, later sale", registry.mintLicense(root, 1, asker), asker)
    child, figures["register 1-parent commercial derivative (consumes a licence)"] = (
        chain.register(asker, [root])
    )
    _, figures["register 1-parent non-commercial derivative"] = chain.register(
        chain.others[2], [seed], NON_COMMERCIAL
    )
    note("pay, first payment to the asset", router.pay(child, 10**18), buyer)
    note("pay, steady state", router.pay(child, 10**18), buyer)
    note("distribute, 1 parent", router.distribute(child), buyer)
    chain.send(router.pay(child, 10**18), buyer)
    note("distribute, 1 parent, steady state", router.distribute(child), buyer)
    note("distribute, root", router.distribute(root), buyer)
    note("claim, owner's first tokens", router.claim(root), creator)
    chain.send(router.pay(root, 10**18), buyer)
    chain.send(router.distribute(root), buyer)
    note("claim, owner already holds tokens", router.claim(root), creator)
    tree = asset_tree({root: 10**15, child: 2 * 10**15})
    note("fund, a pool of 2 assets", router.fund(bytes(31) + b"\x01", bytes.fromhex(tree.root[2:]), 3 * 10**15), buyer)
    multi = tree.get_multi_proof([0, 1])
    credit = router.credit(
        router.poolId(buyer, bytes(31) + b"\x01").call(), [a for a, _ in multi.leaves], [m for _, m in multi.leaves],
        [bytes.fromhex(p[2:]) for p in multi.proof], list(multi.proof_flags),
    )
    note("credit 2 assets, one multiproof", credit, creator)
    note("registerTermsUri, 53-byte URI", registry.registerTermsUri(ANOTHER_LICENCE), creator)
    cheap = NON_COMMERCIAL.but(royalty_bps=600)
    parents = [chain.register(creator, terms=cheap)[0] for _ in range(16)]
    _, figures["register 16-parent non-commercial derivative"] = chain.register(
        chain.others[3], parents, NON_COMMERCIAL
    )

    width = max(map(len, figures))
    print("\n" + "\n".join(f"{name:<{width}}  {used:>9,}" for name, used in figures.items()))
    return figures


@pytest.mark.parametrize("scenario", sorted(TARGETS))
def test_gas_target(gas, scenario):
    assert gas[scenario] <= TARGETS[scenario], f"{scenario}: {gas[scenario]:,} over target"
