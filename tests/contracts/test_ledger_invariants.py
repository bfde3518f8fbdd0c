"""Stateful fuzzing of the InteractionLedger against a Python model.

A hypothesis `RuleBasedStateMachine` deposits, withdraws, settles batches
(random totals, asset sets with repeats, records, funding from deposit or
allowance, sent by the payer or the operator), tries every kind of bad
settlement (replays, a re-used root, amounts off the split by a wei, another
payer's signature, an expired deadline), changes the split, claims DATs
(by the payer, twice, by a stranger) and sends stray tokens to the ledger.
The model predicts every outcome; after every step we check (SPEC.md):

- LI1 `token.balanceOf(ledger) == Σ deposits + stray tokens`;
- LI2 no token is created or lost: the holders' balances sum to the supply,
  and each holder's balance, each asset's router pending, each payer's
  deposit equal the model's (so the commons pool, the operator and the
  assets got exactly their split, to the wei);
- LI3 nonces, batch count, anchors and root lookups equal the model's: each
  signed batch settled at most once;
- LI4 DATs: one per claimed record, owned by its payer, with its attributes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import boa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tantieme.ledger.records import record_tree

from .conftest import MAX_UINT256, Signer
from .ledger_fixtures import (  # noqa: F401 (fixtures)
    COMMONS_BPS,
    OPERATOR_BPS,
    World,
    commons_pool,
    deploy_world,
    ledger_deployer,
    make_batch,
    make_records,
    payer_b,
    proof_of,
    record_abi,
    settle,
    share_out,
    split,
)

ASSETS = 12  # the first assets of the pool the machine pays
_record_nonces = itertools.count(1_000_000)


@dataclass
class Settled:
    root: bytes
    payer: int
    count: int
    total: int
    timestamp: int
    records: list = field(default_factory=list)
    tree: object = None
    batch: object = None


@dataclass
class Model:
    balances: dict[str, int]
    deposits: list[int]
    nonces: list[int]
    split: tuple[int, int] = (COMMONS_BPS, OPERATOR_BPS)
    pending: dict[int, int] = field(default_factory=dict)
    batches: list[Settled] = field(default_factory=list)
    claimed: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)  # id → (payer, model, fee, batch)
    stray: int = 0


class LedgerMachine(RuleBasedStateMachine):
    """The ledger against `Model`; one anchored deployment per run."""

    def __init__(self, world: World, payers: list[Signer], deployer: str, stranger: str):
        super().__init__()
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.w, self.payers, self.deployer, self.stranger = world, payers, deployer, stranger
        self.ledger, self.token, self.router = world.ledger, world.token, world.router
        self.assets = world.assets[:ASSETS]
        self.token.mint(stranger, 10**24, sender=deployer)
        self.holders = [
            *(p.address for p in payers),
            self.ledger.address,
            self.router.address,
            world.commons,
            world.operator,
            stranger,
        ]
        self.model = Model(
            balances={h: self.token.balanceOf(h) for h in self.holders},
            deposits=[self.ledger.deposits(p.address) for p in payers],
            nonces=[self.ledger.batchNonces(p.address) for p in payers],
            pending={a: self.router.pending(a) for a in self.assets},
        )
        self.supply = self.token.totalSupply()
        self.first_batch = self.ledger.batchCount() + 1

    def teardown(self):
        self.anchor.__exit__(None, None, None)

    # ------------------------------------------------------------- helpers --

    def move(self, source: str, to: str, amount: int) -> None:
        self.model.balances[source] -= amount
        self.model.balances[to] += amount

    def new_batch(self, who: int, total: int, distinct: int, repeats: int, records: int, rng_seed: int):
        """A fresh, valid batch of payer `who` with `records` real records."""
        payer = self.payers[who]
        commons, operator, to_assets = split(total, *self.model.split)
        distinct = min(max(distinct, 1), to_assets)
        assets = [self.assets[(rng_seed + 5 * i) % ASSETS] for i in range(distinct)]
        assets = list(dict.fromkeys(assets))
        if assets:
            assets += [assets[(rng_seed + i) % len(assets)] for i in range(min(repeats, to_assets - len(assets)))]
        amounts = share_out(to_assets, assets)
        signed = make_records(
            payer, self.w.domain(), records, model=self.w.models[rng_seed % 4], sources=self.assets[4:6],
            start=next(_record_nonces),
        )
        for _ in range(records - 1):
            next(_record_nonces)
        tree = record_tree(signed)
        batch = make_batch(
            self.w, payer, total, [], amounts=[], root=bytes.fromhex(tree.root[2:]), count=records,
            nonce=self.model.nonces[who],
        )
        object.__setattr__(batch, "assets", tuple(assets))  # repeats allowed on chain
        object.__setattr__(batch, "amounts", tuple(amounts))
        return batch, signed, tree, (commons, operator, to_assets)

    # --------------------------------------------------------------- rules --

    @rule(who=st.integers(0, 1), amount=st.integers(1, 10**21))
    def deposit(self, who, amount):
        payer = self.payers[who].address
        self.ledger.deposit(amount, sender=payer)
        self.model.deposits[who] += amount
        self.move(payer, self.ledger.address, amount)

    @rule(who=st.integers(0, 1), amount=st.integers(1, 10**21))
    def withdraw(self, who, amount):
        payer = self.payers[who].address
        if amount > self.model.deposits[who]:
            with boa.reverts("ledger: deposit too low"):
                self.ledger.withdraw(amount, sender=payer)
            return
        self.ledger.withdraw(amount, sender=payer)
        self.model.deposits[who] -= amount
        self.move(self.ledger.address, payer, amount)

    @rule(
        who=st.integers(0, 1),
        total=st.one_of(st.integers(1, 10**21), st.integers(1, 10**21), st.integers(1, 10**4), st.just(0)),
        distinct=st.integers(0, 8),
        repeats=st.integers(0, 2),
        records=st.integers(1, 4),
        by_payer=st.booleans(),
        seed=st.integers(0, 2**16),
    )
    def settle_batch(self, who, total, distinct, repeats, records, by_payer, seed):
        payer = self.payers[who]
        batch, signed, tree, (commons, operator, to_assets) = self.new_batch(
            who, total, distinct, repeats, records, seed
        )
        sender = payer.address if by_payer else self.w.operator
        batch_id = settle(self.w, payer, batch, sender=sender)

        m = self.model
        assert batch_id == self.first_batch + len(m.batches)
        m.nonces[who] += 1
        m.batches.append(Settled(batch.root, who, records, total, boa.env.timestamp, signed, tree, batch))
        if m.deposits[who] >= total:
            m.deposits[who] -= total
        else:
            self.move(payer.address, self.ledger.address, total)
        self.move(self.ledger.address, self.w.commons, commons)
        self.move(self.ledger.address, self.w.operator, operator)
        self.move(self.ledger.address, self.router.address, to_assets)
        for asset, amount in zip(batch.assets, batch.amounts):
            m.pending[asset] += amount

    @rule(
        who=st.integers(0, 1),
        kind=st.sampled_from(["replay", "root", "amounts", "signer", "deadline", "nonce"]),
        seed=st.integers(0, 2**16),
    )
    def settle_bad_batch(self, who, kind, seed):
        payer, other = self.payers[who], self.payers[1 - who]
        mine = [b for b in self.model.batches if b.payer == who]
        if kind in ("replay", "root") and not mine:
            kind = "signer"
        batch, *_ = self.new_batch(who, 10**18 + seed, 2, 0, 1, seed)
        if kind == "amounts" and not batch.amounts:
            kind = "signer"
        signer, reason = payer, None
        if kind == "replay":  # a settled batch, exactly as it was signed
            batch = mine[seed % len(mine)].batch
            reason = "ledger: wrong batch nonce"
        elif kind == "root":
            object.__setattr__(batch, "root", mine[seed % len(mine)].root)
            reason = "ledger: root already anchored"
        elif kind == "amounts":
            object.__setattr__(batch, "amounts", (batch.amounts[0] + 1, *batch.amounts[1:]))
            reason = "ledger: amounts do not match the split"
        elif kind == "signer":
            signer, reason = other, "ledger: invalid signature"
        elif kind == "deadline":
            object.__setattr__(batch, "deadline", boa.env.timestamp - 1)
            reason = "ledger: batch deadline passed"
        else:
            object.__setattr__(batch, "batch_nonce", self.model.nonces[who] + 1 + seed % 3)
            reason = "ledger: wrong batch nonce"
        with boa.reverts(reason):
            settle(self.w, payer, batch, signer=signer)

    @rule(commons=st.integers(0, 10_000), operator=st.integers(0, 10_000))
    def set_split(self, commons, operator):
        if commons + operator > 10_000:
            with boa.reverts("ledger: split exceeds 10,000 bps"):
                self.ledger.setSplit(commons, operator, sender=self.deployer)
            return
        self.ledger.setSplit(commons, operator, sender=self.deployer)
        self.model.split = (commons, operator)

    @precondition(lambda self: self.model.batches)
    @rule(index=st.integers(0, 2**16), record=st.integers(0, 3), by_stranger=st.booleans())
    def claim(self, index, record, by_stranger):
        m = self.model
        settled = m.batches[index % len(m.batches)]
        i = record % len(settled.records)
        signed = settled.records[i]
        batch_id = self.first_batch + m.batches.index(settled)
        args = (batch_id, record_abi(signed.record), proof_of(settled.tree, i))
        payer = self.payers[settled.payer].address
        if by_stranger:
            with boa.reverts("ledger: caller is not the payer"):
                self.ledger.claimRecord(*args, sender=self.stranger)
        elif signed.token_id in m.claimed:
            with boa.reverts("ledger: record already claimed"):
                self.ledger.claimRecord(*args, sender=payer)
        else:
            assert self.ledger.claimRecord(*args, sender=payer) == signed.token_id
            m.claimed[signed.token_id] = (settled.payer, signed.record.model, signed.record.fee, batch_id)

    @rule(amount=st.integers(1, 10**20))
    def stray_transfer(self, amount):
        self.token.transfer(self.ledger.address, amount, sender=self.stranger)
        self.model.stray += amount
        self.move(self.stranger, self.ledger.address, amount)

    @rule(seconds=st.integers(1, 10**6))
    def time_passes(self, seconds):
        boa.env.time_travel(seconds=seconds)

    # ---------------------------------------------------------- invariants --

    @invariant()
    def li1_the_ledger_holds_the_deposits(self):
        assert self.token.balanceOf(self.ledger.address) == sum(self.model.deposits) + self.model.stray

    @invariant()
    def li2_every_wei_where_the_model_says(self):
        m = self.model
        assert sum(self.token.balanceOf(h) for h in self.holders) == self.supply == self.token.totalSupply()
        for holder in self.holders:
            assert self.token.balanceOf(holder) == m.balances[holder]
        for who, payer in enumerate(self.payers):
            assert self.ledger.deposits(payer.address) == m.deposits[who]
        for asset in self.assets:
            assert self.router.pending(asset) == m.pending[asset]
        assert self.router.surplus() == 0
        assert self.token.allowance(self.ledger.address, self.router.address) == MAX_UINT256

    @invariant()
    def li3_each_batch_settled_once(self):
        m = self.model
        assert self.ledger.batchCount() == self.first_batch - 1 + len(m.batches)
        for who, payer in enumerate(self.payers):
            assert self.ledger.batchNonces(payer.address) == m.nonces[who]
        for settled in m.batches[-3:]:
            batch_id = self.first_batch + m.batches.index(settled)
            payer = self.payers[settled.payer].address
            assert self.ledger.batches(batch_id) == (
                settled.root,
                payer,
                self.w.operator,
                settled.count,
                settled.total,
                settled.timestamp,
            )
            assert self.ledger.batchOfRoot(payer, settled.root) == batch_id

    @invariant()
    def li4_one_dat_per_claimed_record(self):
        assert self.ledger.totalSupply() == len(self.model.claimed)
        for token_id, (who, model, fee, batch_id) in list(self.model.claimed.items())[-3:]:
            assert self.ledger.ownerOf(token_id) == self.payers[who].address
            assert self.ledger.datInfo(token_id) == (model, fee, batch_id)


@pytest.fixture(scope="module")
def world(token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool,
          operator, payer, payer_b) -> World:
    """A deployment of our own with just the assets the machine pays."""
    return deploy_world(
        token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool,
        operator, payers=(payer, payer_b), pool=ASSETS,
    )


def test_ledger_invariants(world, payer, payer_b, deployer, stranger):
    run_state_machine_as_test(
        lambda: LedgerMachine(world, [payer, payer_b], deployer, stranger),
        settings=settings(
            max_examples=20,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
