"""Deployments, personas and helpers for the agent registries' tests.

The reputation registry reads settled batches of a real InteractionLedger:
`market` deploys the ledger's world with a key-holding node as operator,
the ERC-8004 identity and reputation registries, and two agents (the node's
and a rival's). Records are built, signed, netted and settled with the
Python side (`tantieme.ledger.records`), and x402 payments bound to records
as `tantieme.payments.per_request` binds them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import boa
import pytest
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_utils import keccak

from tantieme.chain.permit import sign_receive_authorization
from tantieme.ledger.records import InteractionRecord, SignedRecord, record_tree
from tantieme.payments.per_request import record_nonce

from .conftest import CONTRACTS, Signer
from .ledger_fixtures import FAR, World, deploy_world, make_batch, net_records, proof_of, record_abi, settle, shares_tree

IDENTITY = boa.load_partial(str(CONTRACTS / "agent_identity.vy"))
REPUTATION = boa.load_partial(str(CONTRACTS / "agent_reputation.vy"))

AGENT_URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy5/agent.json"
FEE = 10**15
NO_AUTHORIZATION = bytes(32)

_nonces = itertools.count(1)


def signer(seed: bytes) -> Signer:
    account = Account.from_key(keccak(seed))
    return Signer(account.address, account.key)


@dataclass(frozen=True)
class Market:
    """A ledger world served by `node`, and the agent registries."""

    world: World
    identity: object
    reputation: object
    node: Signer
    agent: int  # the node's agent: its wallet is the node
    rival: int  # another node's agent

    @property
    def ledger(self):
        return self.world.ledger


@dataclass(frozen=True)
class Paid:
    """A record settled on the ledger: what `provePayment` takes."""

    batch_id: int
    signed: SignedRecord
    proof: list[bytes]
    authorization: bytes  # the x402 authorization nonce the record binds, or zero

    @property
    def record(self) -> tuple:
        return record_abi(self.signed.record)

    @property
    def digest(self) -> bytes:
        return self.signed.digest

    def prove(self, market: Market, sender: str, agent: int | None = None) -> bytes:
        return market.reputation.provePayment(
            market.agent if agent is None else agent, self.batch_id, self.record, self.proof, self.authorization,
            sender=sender,
        )


@pytest.fixture(scope="session")
def node() -> Signer:
    return signer(b"tantieme agent node")


@pytest.fixture(scope="session")
def rival_node() -> Signer:
    return signer(b"tantieme rival node")


@pytest.fixture(scope="session")
def market(
    token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool, node,
    rival_node, payer, payer_b,
) -> Market:
    """The ledger served by `node` (payers `payer`, `payer_b` and the node
    itself funded and approved), the registries, the node's agent (1) and
    the rival's (2)."""
    world = deploy_world(
        token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool,
        node.address, payers=(payer, payer_b, node), pool=8,
    )
    with boa.env.prank(deployer):
        identity = IDENTITY.deploy()
        reputation = REPUTATION.deploy(identity.address, world.ledger.address)
    agent = identity.register(AGENT_URI, sender=node.address)
    rival = identity.register(AGENT_URI, sender=rival_node.address)
    return Market(world, identity, reputation, node, agent, rival)


def new_record(payer: str, operator: str, model: int, *, fee: int = FEE, nonce: int | None = None) -> InteractionRecord:
    n = next(_nonces)
    return InteractionRecord(
        payer=payer,
        operator=operator,
        model=model,
        prompt_hash=keccak(b"agent prompt %d" % n),
        output_hash=keccak(b"agent output %d" % n),
        sources=(),
        weights=(),
        prompt_tokens=400,
        completion_tokens=100,
        fee=fee,
        nonce=n if nonce is None else nonce,
        timestamp=1_767_225_600 + n,
    )


def settle_records(
    market: Market, payer: Signer, records: Sequence[InteractionRecord], *, operator: Signer | None = None,
    authorizations: Sequence[bytes] | None = None, signers: Sequence[Signer] = (),
) -> list[Paid]:
    """Sign `records` (each by its payer, among `payer` and `signers`),
    settle them as one batch of `payer` with `operator` (default: the
    node), and return each with its proof."""
    operator = operator or market.node
    keys = {s.address: s.key for s in (payer, *signers)}
    signed = [r.sign(keys[r.payer], market.world.domain()) for r in records]
    tree = record_tree(signed)
    total, owed = net_records(signed)
    batch = make_batch(
        market.world, payer, total, tree=shares_tree(owed), root=bytes.fromhex(tree.root[2:]), count=len(signed),
        operator=operator.address,
    )
    batch_id = settle(market.world, payer, batch)
    authorizations = authorizations or [NO_AUTHORIZATION] * len(signed)
    return [Paid(batch_id, s, proof_of(tree, i), a) for i, (s, a) in enumerate(zip(signed, authorizations))]


def deposit_paid(market: Market, client: Signer, n: int = 1, *, model: int | None = None, fee: int = FEE) -> list[Paid]:
    """`n` records the client paid in deposit mode (it is the records' payer)."""
    model = market.world.models[0] if model is None else model
    records = [new_record(client.address, market.node.address, model, fee=fee) for _ in range(n)]
    return settle_records(market, client, records)


def x402_paid(market: Market, client: Signer, n: int = 1, *, pay: bool = True) -> list[Paid]:
    """`n` records the client paid over x402: each an EIP-3009 authorization
    the node received (unless `pay` is false), the node journaling the
    record as its own payer with the nonce bound to (client, authorization)."""
    world, node = market.world, market.node
    authorizations = [keccak(b"x402 authorization %d" % next(_nonces)) for _ in range(n)]
    for authorization in authorizations:
        if pay:
            v, r, s = sign_receive_authorization(client, world.token.eip712Domain(), node.address, FEE, 0, FAR, authorization)
            world.token.receiveWithAuthorization(
                client.address, node.address, FEE, 0, FAR, authorization, v, r, s, sender=node.address
            )
    records = [
        new_record(node.address, node.address, world.models[0], nonce=record_nonce(client.address, a))
        for a in authorizations
    ]
    return settle_records(market, node, records, authorizations=authorizations)


def model_summary(rows, clients, tag1, tag2) -> tuple[int, int, int]:
    """ERC-8004's summary, computed here: the average at 18 decimals
    (truncated toward zero), shown at the most common decimals, saturated
    to an int128."""
    chosen = [
        row for client in clients for row in rows
        if row[0] == client and not row[5] and (not tag1 or row[3] == tag1) and (not tag2 or row[4] == tag2)
    ]
    if not chosen:
        return 0, 0, 0

    def tdiv(a: int, b: int) -> int:
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b > 0) else -q

    total = sum(value * 10 ** (18 - decimals) for _, value, decimals, *_ in chosen)
    counts = [sum(1 for row in chosen if row[2] == d) for d in range(19)]
    mode = counts.index(max(counts))
    average = tdiv(tdiv(total, len(chosen)), 10 ** (18 - mode))
    return len(chosen), max(min(average, 2**127 - 1), -(2**127)), mode


def raw_events(contract, signature: str, data_types: list[str]) -> list[tuple]:
    """The last call's logs of event `signature` as (indexed topics..., data
    fields...): boa cannot decode events with an indexed string."""
    topic = int.from_bytes(keccak(signature.encode()), "big")
    return [
        (*topics[1:], *abi_decode(data_types, data))
        for _, topics, data in contract._computation.get_log_entries()
        if topics[0] == topic
    ]


def abi_signatures(contract, kind: str) -> set[str]:
    """`name(types)` of every function or event in the contract's ABI."""

    def type_of(arg: dict) -> str:
        if arg["type"].startswith("tuple"):
            return "(" + ",".join(type_of(c) for c in arg["components"]) + ")" + arg["type"][5:]
        return arg["type"]

    return {
        f"{item['name']}({','.join(type_of(a) for a in item['inputs'])})"
        for item in contract.abi
        if item["type"] == kind
    }
