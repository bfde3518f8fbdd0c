"""Gas targets, from real transaction receipts (web3 + eth-tester / py-evm).

Each scenario runs on one fresh deployment and reads `gasUsed` from the
receipt (intrinsic gas, calldata and refunds included). `pytest -s` prints
the table; SPEC.md lists the figures.
"""

from __future__ import annotations

import os

import boa
import pytest
from eth_tester import EthereumTester, PyEVMBackend
from vyper.compiler.output import build_abi_output
from web3 import EthereumTesterProvider, Web3

from tantieme.ledger.records import asset_tree

from eth_utils import keccak

from .conftest import (
    CONTRACTS,
    MAX_UINT256,
    METADATA_URI,
    NON_COMMERCIAL,
    OPEN,
    SALT,
    TOKEN_NAME,
    TOKEN_SYMBOL,
    TOKEN_VERSION,
    ZERO_ADDRESS,
    commitment,
)
from .dao_fixtures import (
    ADMIN_ROLE,
    CANCELLER_ROLE,
    DAO_NAME,
    EXECUTOR_ROLE,
    GOVERNOR,
    PROPOSER_ROLE,
    QUORUM,
    THRESHOLD,
    TIMELOCK,
    TIMELOCK_DELAY,
    VOTES,
    VOTING_DELAY,
    VOTING_PERIOD,
    WITHDRAWAL_DELAY,
)

TARGETS = {
    "register root, 1st asset of a fresh account: commit + register": 225_000,
    "register 1-parent commercial derivative (consumes a licence)": 200_000,
    "register 1-parent non-commercial derivative": 200_000,
    "mintLicense, first sale of the asset": 140_000,
    "pay, steady state": 60_000,
    "castVote": 100_000,
}
ANOTHER_LICENCE = "https://example.org/licences/some-other-licence-text/v1"


class Chain:
    """A fresh py-evm chain with the three contracts deployed and wired."""

    def __init__(self, token_deployer, registry_deployer, router_deployer):
        self.w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
        self.deployer, self.creator, self.asker, self.buyer, *self.others = self.w3.eth.accounts
        self.commits = []
        # eth-tester's chain is no local chain: the supply is minted at deployment.
        self.token = self.deploy(
            token_deployer, TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION, 10**27
        )
        vault = self.deploy(boa.load_partial(str(CONTRACTS / "royalty_vault.vy")))
        metadata = self.deploy(boa.load_partial(str(CONTRACTS / "asset_metadata.vy")))
        self.registry = self.deploy(registry_deployer, self.token.address, vault.address, metadata.address)
        self.router = self.deploy(router_deployer, self.token.address, self.registry.address)
        self.send(self.registry.functions.setRoyaltyRouter(self.router.address), self.deployer)
        for account in (self.asker, self.buyer):
            self.send(self.token.functions.transfer(account, 10**24), self.deployer)
            self.send(self.token.functions.approve(self.router.address, MAX_UINT256), account)

    commits: list[int]

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
        """Commit, then register (each its own block); the gas of both."""
        content = os.urandom(32)
        commit = self.send(self.registry.functions.commitRegistration(commitment(sender, content)), sender)
        call = self.registry.functions.register(0, content, METADATA_URI, list(parents), terms.abi(), SALT)
        gas = self.send(call, sender)
        self.commits.append(commit)
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
    figures["commitRegistration"] = chain.commits[-1]
    figures["register root, 1st asset of a fresh account: commit + register"] = (
        figures["commitRegistration"] + figures["register root, 1st asset of a fresh account"]
    )
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
    vault = registry.royaltyVault(child).call()
    chain.send(chain.token.functions.transfer(vault, 10**18), buyer)
    note("sweep, first (deploys the vault)", router.sweep(child), buyer)
    chain.send(chain.token.functions.transfer(vault, 10**18), buyer)
    note("sweep, steady state", router.sweep(child), buyer)
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


@pytest.fixture(scope="module")
def dao_gas(token_deployer, registry_deployer, router_deployer) -> dict[str, int]:
    """The DAO: staking, delegation, a proposal's whole life (votes by
    voters whose last checkpoint is before the snapshot, the usual case)."""
    chain = Chain(token_deployer, registry_deployer, router_deployer)
    tester = chain.w3.provider.ethereum_tester
    alice, bob, carol, dave = chain.others[:4]
    votes = chain.deploy(VOTES, chain.token.address, WITHDRAWAL_DELAY)
    timelock = chain.deploy(TIMELOCK, TIMELOCK_DELAY, [], [], chain.deployer)
    governor = chain.deploy(GOVERNOR, DAO_NAME, votes.address, timelock.address, ZERO_ADDRESS, ZERO_ADDRESS,
                            VOTING_DELAY, VOTING_PERIOD, THRESHOLD, QUORUM)
    for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        chain.send(timelock.functions.grantRole(role, governor.address), chain.deployer)
    chain.send(timelock.functions.renounceRole(ADMIN_ROLE, chain.deployer), chain.deployer)
    chain.send(chain.token.functions.transfer(timelock.address, 10**21), chain.deployer)
    figures: dict[str, int] = {}
    for account in (alice, bob, carol, dave):
        chain.send(chain.token.functions.transfer(account, 10**21), chain.deployer)
        chain.send(chain.token.functions.approve(votes.address, MAX_UINT256), account)
    figures["stake, first (delegates to self)"] = chain.send(votes.functions.stake(10**20), alice)
    figures["stake, again"] = chain.send(votes.functions.stake(10**20), alice)
    for account in (bob, carol, dave):
        chain.send(votes.functions.stake(10**20), account)
    figures["delegate"] = chain.send(votes.functions.delegate(bob), dave)
    figures["requestWithdrawal"] = chain.send(votes.functions.requestWithdrawal(10**18), carol)
    tester.time_travel(chain.w3.eth.get_block("latest").timestamp + WITHDRAWAL_DELAY)
    figures["withdraw"] = chain.send(votes.functions.withdraw(), carol)

    call = chain.token.functions.transfer(alice, 10**18)._encode_transaction_data()
    proposal = ([chain.token.address], [0], [bytes.fromhex(call[2:])])
    description = "pay alice 1 TAI from the treasury"
    figures["propose, 1 call"] = chain.send(governor.functions.propose(*proposal, description), alice)
    proposal_id = governor.functions.hashProposal(*proposal, keccak(text=description)).call()
    tester.mine_blocks(VOTING_DELAY + 1)
    figures["castVote"] = chain.send(governor.functions.castVote(proposal_id, 1), alice)
    figures["castVote, second voter"] = chain.send(governor.functions.castVote(proposal_id, 0), carol)
    figures["castVoteWithReason, 24-byte reason"] = chain.send(
        governor.functions.castVoteWithReason(proposal_id, 1, "pays for the docs, fair."), bob)
    tester.mine_blocks(VOTING_PERIOD)
    figures["queue, 1 call"] = chain.send(governor.functions.queue(*proposal, keccak(text=description)), dave)
    tester.time_travel(chain.w3.eth.get_block("latest").timestamp + TIMELOCK_DELAY)
    figures["execute, 1 token transfer"] = chain.send(
        governor.functions.execute(*proposal, keccak(text=description)), dave)
    assert governor.functions.state(proposal_id).call() == 7  # Executed
    width = max(map(len, figures))
    print("\n" + "\n".join(f"{name:<{width}}  {used:>9,}" for name, used in figures.items()))
    return figures


@pytest.mark.parametrize("scenario", sorted(TARGETS))
def test_gas_target(gas, dao_gas, scenario):
    used = {**gas, **dao_gas}[scenario]
    assert used <= TARGETS[scenario], f"{scenario}: {used:,} over target"
