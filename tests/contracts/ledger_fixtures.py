"""Deployments, personas and helpers for the InteractionLedger tests.

Kept out of `conftest.py` (shared with the other contracts' tests): the
ledger modules import what they use from here. The ledger gets its own
token, registry and router (`world`), deployed once per session outside
every test's anchor, so the shared `system` fixture is never touched.

Batches and records are built and signed with the Python side
(`tantieme.ledger.records`, `merkle`): an EIP-712 implementation
independent of the contract's.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

import boa
import pytest
from boa.util.abi import Address
from eth_account import Account
from eth_utils import keccak

from tantieme.chain.permit import sign_permit
from tantieme.ledger.merkle import StandardMerkleTree
from tantieme.ledger.records import Batch, Domain, InteractionRecord, SignedRecord, asset_tree

from .conftest import CONTRACTS, MAX_UINT256, MODEL, OPEN, WORK, Signer, deploy_system

LEDGER = CONTRACTS / "interaction_ledger.vy"
DAT_METADATA = CONTRACTS / "dat_metadata.vy"

COMMONS_BPS = 1_000
OPERATOR_BPS = 500
BPS = 10_000
MODELS = 4  # the first assets of the pool are models, the rest works
POOL = 256  # registered assets
FUNDS = 10**30
FAR = 2**40  # a deadline that never passes
URI = "ipfs://bafybeihkoviema7g3gxyt6la7vd5ho32ictqbilu3wnlo3rs7ewhnp7lly/batch.json"

_roots = itertools.count(1)


# ----------------------------------------------------------------- world --


@dataclass(frozen=True)
class World:
    """A wired token, registry, router and ledger, with registered assets."""

    token: object
    registry: object
    router: object
    ledger: object
    assets: tuple[int, ...]  # POOL asset ids; the first MODELS are models
    commons: str
    operator: str

    @property
    def models(self) -> tuple[int, ...]:
        return self.assets[:MODELS]

    def domain(self, ledger=None) -> Domain:
        """The EIP-712 domain of `ledger` (default: this world's) on the current chain."""
        return Domain(boa.env.evm.patch.chain_id, (ledger or self.ledger).address)


def deploy_world(
    token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons, operator,
    payers: Sequence[Signer] = (), pool: int = POOL,
) -> World:
    """Deploy and wire everything, register `pool` assets, fund and approve `payers`."""
    system = deploy_system(token_deployer, registry_deployer, router_deployer, deployer)
    with boa.env.prank(deployer):
        ledger = ledger_deployer.deploy(
            system.token.address, system.registry.address, system.router.address, commons, COMMONS_BPS,
            OPERATOR_BPS, metadata_renderer(),
        )
    assets = tuple(
        system.registry.register(
            MODEL if i < MODELS else WORK, keccak(b"ledger asset %d" % i), "ipfs://asset", [], OPEN.abi(),
            sender=creator,
        )
        for i in range(pool)
    )
    for payer in payers:
        system.token.mint(payer.address, FUNDS, sender=deployer)
        system.token.approve(ledger.address, MAX_UINT256, sender=payer.address)
    return World(system.token, system.registry, system.router, ledger, assets, commons, operator)


@pytest.fixture(scope="session")
def ledger_deployer():
    return boa.load_partial(str(LEDGER))


@functools.cache
def _metadata_deployer():
    return boa.load_partial(str(DAT_METADATA))


def metadata_renderer() -> str:
    """A fresh DAT metadata renderer's address (stateless: any will do)."""
    return _metadata_deployer().deploy().address


@pytest.fixture(scope="session")
def commons_pool() -> str:
    return boa.env.generate_address("commons pool")


@pytest.fixture(scope="session")
def payer_b() -> Signer:
    """A second key-holding payer."""
    account = Account.from_key(keccak(b"tantieme payer b"))
    return Signer(account.address, account.key)


@pytest.fixture(scope="session")
def world(
    token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool, operator,
    payer, payer_b,
) -> World:
    """The ledger's own deployment: both payers funded (10**12 tokens) and
    approved for the ledger; split 10 % commons, 5 % operator."""
    return deploy_world(
        token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool,
        operator, payers=(payer, payer_b),
    )


@pytest.fixture
def ledger(world):
    return world.ledger


# ------------------------------------------------------------- batches --


def split(total: int, commons_bps: int = COMMONS_BPS, operator_bps: int = OPERATOR_BPS) -> tuple[int, int, int]:
    """The contract's split, computed here: (commons, operator, assets)."""
    commons = total * commons_bps // BPS
    operator = total * operator_bps // BPS
    return commons, operator, total - commons - operator


def share_out(amount: int, assets: Sequence[int], rng: random.Random | None = None) -> list[int]:
    """`amount` divided over `assets` (random weights, else equal), every
    part non-zero, the dust on the first; needs amount ≥ len(assets)."""
    if not assets:
        assert amount == 0
        return []
    weights = [rng.randint(1, 100) for _ in assets] if rng else [1] * len(assets)
    spare = amount - len(assets)
    parts = [1 + spare * w // sum(weights) for w in weights]
    parts[0] += amount - sum(parts)
    return parts


def new_root() -> bytes:
    return keccak(b"tantieme batch root %d" % next(_roots))


def shares_tree(owed: dict[int, int]) -> StandardMerkleTree | None:
    """The asset tree of `owed` (asset → cumulative wei), None if it owes nothing."""
    return asset_tree(owed) if any(owed.values()) else None


def make_batch(
    world: World,
    payer: Signer,
    total: int,
    assets: Sequence[int] | None = None,
    *,
    tree: StandardMerkleTree | None = None,
    nonce: int | None = None,
    root: bytes | None = None,
    count: int = 1,
    operator: str | None = None,
    deadline: int = FAR,
    split_bps: tuple[int, int] = (COMMONS_BPS, OPERATOR_BPS),
    commons: str | None = None,
) -> Batch:
    """A batch of `payer` paying `total` under the split `split_bps`, its
    assets' part shared out over `assets` (default: the first model) in a
    first asset tree, unless `tree` is given."""
    operator = operator or world.operator
    if tree is None:
        assets = world.models[:1] if assets is None else assets
        to_assets = split(total, *split_bps)[2]
        tree = shares_tree(dict(zip(assets, share_out(to_assets, assets)))) if assets else None
    return Batch(
        root=root or new_root(),
        count=count,
        batch_nonce=world.ledger.batchNonces(payer.address, operator) if nonce is None else nonce,
        operator=operator,
        commons=commons or world.commons,
        commons_bps=split_bps[0],
        operator_bps=split_bps[1],
        assets_root=tree.root if tree else bytes(32),
        total=total,
        deadline=deadline,
    )


def batch_abi(batch: Batch) -> tuple:
    """The `Batch` struct as the contract takes it."""
    return (
        batch.root, batch.count, batch.batch_nonce, batch.operator, batch.commons, batch.commons_bps,
        batch.operator_bps, batch.assets_root, batch.total, batch.deadline,
    )


def pool_of(world: World, payer: str, operator: str | None = None) -> bytes:
    """The router pool of `payer`'s batches with `operator` (default: the world's)."""
    return world.ledger.assetPool(payer, operator or world.operator)


def credit_args(tree: StandardMerkleTree, indices: Sequence[int]) -> tuple:
    """(assets, amounts, proof, flags) crediting the tree's leaves `indices`
    with one multiproof, as `RoyaltyRouter.credit` takes them."""
    multi = tree.get_multi_proof(list(indices))
    return (
        [int(a) for a, _ in multi.leaves],
        [int(m) for _, m in multi.leaves],
        [bytes.fromhex(p[2:]) for p in multi.proof],
        list(multi.proof_flags),
    )


def vrs(signature: bytes) -> tuple[int, bytes, bytes]:
    """(v, r, s) of a 65-byte r ‖ s ‖ v signature."""
    return signature[64], signature[:32], signature[32:64]


def sign(batch: Batch, payer: Signer, domain: Domain) -> tuple[int, bytes, bytes]:
    return vrs(batch.sign(payer.key, domain).signature)


def settle(
    world: World, payer: Signer, batch: Batch, *, sender: str | None = None, uri: str = URI,
    domain: Domain | None = None, signer: Signer | None = None, ledger=None,
) -> int:
    """Sign `batch` as `signer` (default: the payer) and settle it on
    `ledger` (default: the world's) for `payer`, sent by the batch's operator."""
    ledger = ledger or world.ledger
    v, r, s = sign(batch, signer or payer, domain or world.domain(ledger))
    return ledger.settle(batch_abi(batch), payer.address, v, r, s, uri, sender=sender or batch.operator)


def permit_signature(token, owner: Signer, spender: str, value: int, deadline: int) -> tuple[int, bytes, bytes]:
    """An EIP-2612 permit of `owner` for `spender`, signed in the token's domain."""
    return sign_permit(owner, token.eip712Domain(), spender, value, token.nonces(owner.address), deadline)


# ------------------------------------------------------------- records --


def make_records(
    payer: Signer, domain: Domain, n: int, *, model: int, operator: str, sources: Sequence[int] = (),
    fee: int = 10**15, start: int = 0,
) -> list[SignedRecord]:
    """`n` records of `payer` served by `operator`, signed in `domain`, each
    citing `sources` with equal weights summing to 60 %."""
    weights = share_out(6_000, list(sources)) if sources else []
    return [
        InteractionRecord(
            payer=payer.address,
            operator=operator,
            model=model,
            prompt_hash=keccak(b"prompt %d" % i),
            output_hash=keccak(b"output %d" % i),
            sources=tuple(sources),
            weights=tuple(weights),
            prompt_tokens=400 + i % 100,
            completion_tokens=100 + i % 50,
            fee=fee + i,
            nonce=i,
            timestamp=1_767_225_600 + i,
        ).sign(payer.key, domain)
        for i in range(start, start + n)
    ]


def record_abi(record: InteractionRecord) -> tuple:
    """The `Interaction` struct as the contract takes it."""
    return (
        record.payer, record.operator, record.model, record.prompt_hash, record.output_hash, list(record.sources),
        list(record.weights), record.prompt_tokens, record.completion_tokens, record.fee, record.nonce,
        record.timestamp,
    )


def proof_of(tree, index: int) -> list[bytes]:
    """The proof of the tree's `index`-th value, as bytes for the contract."""
    return [bytes.fromhex(node[2:]) for node in tree.get_proof(index)]


def net_records(records: Sequence[SignedRecord]) -> tuple[int, dict[int, int]]:
    """(total, owed per asset) of a batch of records under the default split:
    each record's assets' part goes by its weights, the model keeps the
    rest; floored per asset, the dust to the first asset."""
    total = sum(s.record.fee for s in records)
    owed: dict[int, int] = {}
    for signed in records:
        part = signed.record.fee * (BPS - COMMONS_BPS - OPERATOR_BPS)
        for source, weight in zip(signed.record.sources, signed.record.weights, strict=True):
            owed[source] = owed.get(source, 0) + part * weight
        owed[signed.record.model] = owed.get(signed.record.model, 0) + part * signed.record.own_share_bps
    assets = sorted(owed)
    amounts = [owed[a] // BPS**2 for a in assets]
    amounts[0] += split(total)[2] - sum(amounts)
    return total, dict(zip(assets, amounts))


# ----------------------------------------------------------------- gas --


def begin_tx(sender: str, to: str) -> None:
    """Start a new transaction for gas purposes, as a node does: storage's
    original values are locked in and the warm sets emptied, then the sender
    and the recipient warmed (EIP-2929). Without this, titanoboa carries warm
    slots and dirty values from one call to the next and under-reports gas.
    It breaks `boa.env.anchor()`: use it only in a fresh `boa.Env`."""
    state = boa.env.evm.vm.state
    state.lock_changes()
    state.mark_address_warm(Address(sender).canonical_address)
    state.mark_address_warm(Address(to).canonical_address)


def receipt_gas(contract) -> int:
    """The gas a receipt shows for the contract's last call (Prague): the
    intrinsic 21,000 plus calldata plus execution, less the capped refund,
    at least the EIP-7623 calldata floor. Checked equal to py-evm receipts
    (eth-tester) for settlements and claims."""
    computation = contract._computation
    data = bytes(computation.msg.data)
    zeros = data.count(0)
    tokens = zeros + 4 * (len(data) - zeros)
    used = 21_000 + 4 * tokens + computation.get_gas_used()
    used -= min(computation.get_gas_refund(), used // 5)
    return max(used, 21_000 + 10 * tokens)

