"""Stateful fuzzing of the InteractionLedger against a Python model.

A hypothesis `RuleBasedStateMachine` deposits (plainly, by EIP-2612 permit and
by EIP-3009 authorization, for either operator), requests withdrawals and
withdraws (too early, without a request: both must fail), settles batches
(random totals, records, cumulative asset trees, funding from deposit or
allowance, by two operators), tries every kind of bad settlement (replays, a
re-used root, a split or commons pool other than the current one, another
payer's signature, an expired deadline, a zero total, sent by the payer),
changes the split and the commons pool, credits assets from the payers'
pools by multiproof (twice, with bad proofs, from trees that over-assign),
claims DATs (by the payer, twice, by a stranger, more than was paid for) and
sends stray tokens to the ledger. The model predicts every outcome; after
every step we check (SPEC.md):

- LI1 `token.balanceOf(ledger) == Σ deposits + stray tokens`; each pending
  withdrawal equals the model's, and none is paid before its delay;
- LI2 no token is created or lost: the holders' balances sum to the supply,
  and each holder's balance, each asset's router pending, each pool's
  unassigned amount and each payer's deposit equal the model's (so the
  commons pool, the operator and the assets got exactly their split, to the
  wei, and no tree credited more than its payer paid in);
- LI3 nonces, batch count, anchors and root lookups equal the model's: each
  signed batch settled at most once;
- LI4 DATs: one per claimed record, owned by its payer, with its attributes;
  a batch's DATs add up to at most its total and count.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import boa
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tantieme.chain.permit import sign_permit, sign_receive_authorization
from tantieme.ledger.records import asset_tree, record_tree
from tantieme.payments.deposit import authorization_nonce

from .conftest import MAX_UINT256, Signer
from .stateful import run_steps
from .ledger_fixtures import (  # noqa: F401 (fixtures)
    COMMONS_BPS,
    OPERATOR_BPS,
    World,
    commons_pool,
    credit_args,
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
STEPS = 10_000  # at least this many steps in all (SPEC.md)
WITHDRAWAL_DELAY = 2 * 86_400
FAR = 2**63
_steps = [0]
_record_nonces = itertools.count(1_000_000)
_start: dict = {}  # what every run starts from (the same anchored state), read once


@dataclass
class Settled:
    root: bytes
    payer: int
    operator: int
    count: int
    total: int
    timestamp: int
    records: list = field(default_factory=list)
    tree: object = None
    batch: object = None


@dataclass
class Pool:
    """A payer's pool with an operator at the router."""

    id: bytes
    owed: dict[int, int] = field(default_factory=dict)  # cumulative, as the current root says
    tree: object = None
    unassigned: int = 0
    credited: dict[int, int] = field(default_factory=dict)


@dataclass
class Model:
    balances: dict[str, int]
    deposits: dict[tuple[int, int], int]  # (payer, operator) →
    withdrawals: dict[tuple[int, int], tuple[int, int]]  # (payer, operator) → (amount, ready at)
    nonces: dict[tuple[int, int], int]  # (payer, operator) →
    commons: str
    split: tuple[int, int] = (COMMONS_BPS, OPERATOR_BPS)
    pending: dict[int, int] = field(default_factory=dict)
    pools: dict[tuple[int, int], Pool] = field(default_factory=dict)
    batches: list[Settled] = field(default_factory=list)
    claimed: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)  # id → (payer, model, fee, batch)
    claimed_per_batch: dict[int, tuple[int, int]] = field(default_factory=dict)  # batch → (value, count)
    stray: int = 0
    permit_nonces: list[int] = field(default_factory=lambda: [0, 0])  # the token's EIP-2612 nonce of each payer
    authorizations: set[tuple[int, bytes]] = field(default_factory=set)  # (payer, EIP-3009 nonce) used


class LedgerMachine(RuleBasedStateMachine):
    """The ledger against `Model`; one anchored deployment per run."""

    def __init__(self, world: World, payers: list[Signer], deployer: str, stranger: str):
        super().__init__()
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.w, self.payers, self.deployer, self.stranger = world, payers, deployer, stranger
        self.ledger, self.token, self.router = world.ledger, world.token, world.router
        self.assets = world.assets[:ASSETS]
        self.operators = [world.operator, stranger]
        self.commons_pools = [world.commons, deployer]
        self.token.mint(stranger, 10**24, sender=deployer)
        self.holders = [
            *(p.address for p in payers),
            self.ledger.address,
            self.router.address,
            world.commons,
            world.operator,
            stranger,
            deployer,
        ]
        if not _start:  # every run starts from the same state: read it once
            _start.update(
                balances={h: self.token.balanceOf(h) for h in self.holders},
                commons=self.ledger.commons(),
                pending={a: self.router.pending(a) for a in self.assets},
                pool_ids={(p, o): self.ledger.assetPool(payers[p].address, self.operators[o]) for p in range(2) for o in range(2)},
                supply=self.token.totalSupply(),
                first_batch=self.ledger.batchCount() + 1,
                permit_nonces=[self.token.nonces(p.address) for p in payers],
                token_domain=self.token.eip712Domain(),
            )
        self.model = Model(
            balances=dict(_start["balances"]),
            deposits={(p, o): 0 for p in range(2) for o in range(2)},
            withdrawals={(p, o): (0, 0) for p in range(2) for o in range(2)},
            nonces={(p, o): 0 for p in range(2) for o in range(2)},
            commons=_start["commons"],
            pending=dict(_start["pending"]),
            permit_nonces=list(_start["permit_nonces"]),
        )
        self.supply = _start["supply"]
        self.first_batch = _start["first_batch"]
        self.dirty = _clean()
        self.everything = False  # `teardown`: re-read every entry and total

    def teardown(self):
        try:
            m = self.model
            self.dirty = {
                "holders": set(self.holders), "deposits": set(m.deposits), "assets": set(self.assets), "pools": set(m.pools),
                "nonces": set(m.nonces), "batches": set(range(self.first_batch, self.first_batch + len(m.batches))),
                "claims": set(m.claimed),
            }
            self.everything = True
            self.ledger_matches_the_model()
            assert self.token.totalSupply() == self.supply == sum(m.balances.values())
            assert self.token.allowance(self.ledger.address, self.router.address) == MAX_UINT256
            assert [self.token.nonces(p.address) for p in self.payers] == m.permit_nonces
            for who, nonce in m.authorizations:
                assert self.token.authorizationState(self.payers[who].address, nonce)
        finally:
            self.anchor.__exit__(None, None, None)

    # ------------------------------------------------------------- helpers --

    def move(self, source: str, to: str, amount: int) -> None:
        self.model.balances[source] -= amount
        self.model.balances[to] += amount
        self.dirty["holders"] |= {source, to}

    def pool(self, who: int, op: int) -> Pool:
        key = (who, op)
        if key not in self.model.pools:
            self.model.pools[key] = Pool(_start["pool_ids"][key])
        return self.model.pools[key]

    def new_batch(self, who: int, op: int, total: int, distinct: int, records: int, seed: int, over: int = 0):
        """A fresh, valid batch of payer `who` served by operator `op`, with
        `records` real records: its assets' part added to the pool's
        cumulative tree (`over` wei more than paid, if asked: a tree that
        over-assigns)."""
        payer, operator = self.payers[who], self.operators[op]
        commons_bps, operator_bps = self.model.split
        to_assets = split(total, commons_bps, operator_bps)[2]
        pool = self.pool(who, op)
        owed = dict(pool.owed)
        if to_assets:
            assets = list(dict.fromkeys(self.assets[(seed + 5 * i) % ASSETS] for i in range(min(max(distinct, 1), to_assets))))
            for asset, amount in zip(assets, share_out(to_assets + over, assets)):
                owed[asset] = owed.get(asset, 0) + amount
        signed = make_records(
            payer, self.w.domain(), records, model=self.w.models[seed % 4], sources=self.assets[4:6],
            operator=operator, start=next(_record_nonces),
        )
        for _ in range(records - 1):
            next(_record_nonces)
        tree = record_tree(signed)
        assets_tree = asset_tree(owed) if owed else None
        batch = make_batch(
            self.w, payer, total, tree=assets_tree, root=bytes.fromhex(tree.root[2:]), count=records,
            nonce=self.model.nonces[(who, op)], operator=operator, split_bps=self.model.split,
            commons=self.model.commons,
        )
        return batch, signed, tree, (owed, assets_tree)

    # --------------------------------------------------------------- rules --

    @rule(who=st.integers(0, 1), op=st.integers(0, 1), amount=st.integers(1, 10**21),
          how=st.sampled_from(["plain", "permit", "authorization"]), salt=st.binary(min_size=32, max_size=32))
    def deposit(self, who, op, amount, how, salt):
        payer, operator = self.payers[who], self.operators[op]
        if how == "plain":
            self.ledger.deposit(operator, amount, sender=payer.address)
        elif how == "permit":  # signed with the model's nonce: a wrong one would revert
            permit = sign_permit(payer, _start["token_domain"], self.ledger.address, amount, self.model.permit_nonces[who], FAR)
            self.ledger.depositWithPermit(operator, amount, FAR, *permit, sender=payer.address)
            self.model.permit_nonces[who] += 1
            self.token.approve(self.ledger.address, MAX_UINT256, sender=payer.address)
        else:  # anyone submits the payer's authorization; it names the operator
            nonce = authorization_nonce(operator, salt)
            if (who, nonce) in self.model.authorizations:
                return
            v, r, s = sign_receive_authorization(
                payer, _start["token_domain"], self.ledger.address, amount, 0, FAR, nonce
            )
            args = (payer.address, operator, amount, 0, FAR, salt, v, r, s)
            other = self.operators[1 - op]  # earmarked for the other operator: its nonce differs
            reason = (
                "ai_token: authorization is used or canceled"
                if (who, authorization_nonce(other, salt)) in self.model.authorizations
                else "ai_token: invalid signature"
            )
            with boa.reverts(reason):
                self.ledger.depositWithAuthorization(args[0], other, *args[2:], sender=self.stranger)
            self.ledger.depositWithAuthorization(*args, sender=self.stranger)
            self.model.authorizations.add((who, nonce))
            with boa.reverts("ai_token: authorization is used or canceled"):
                self.ledger.depositWithAuthorization(*args, sender=self.stranger)
        self.model.deposits[(who, op)] += amount
        self.dirty["deposits"].add((who, op))
        self.move(payer.address, self.ledger.address, amount)

    @rule(who=st.integers(0, 1), op=st.integers(0, 1), amount=st.integers(1, 10**21))
    def request_withdrawal(self, who, op, amount):
        payer, operator = self.payers[who].address, self.operators[op]
        if amount > self.model.deposits[(who, op)]:
            with boa.reverts("ledger: deposit too low"):
                self.ledger.requestWithdrawal(operator, amount, sender=payer)
            return
        self.ledger.requestWithdrawal(operator, amount, sender=payer)
        self.model.withdrawals[(who, op)] = (amount, boa.env.timestamp + WITHDRAWAL_DELAY)
        self.dirty["deposits"].add((who, op))

    @rule(who=st.integers(0, 1), op=st.integers(0, 1))
    def withdraw(self, who, op):
        payer, operator = self.payers[who].address, self.operators[op]
        amount, ready_at = self.model.withdrawals[(who, op)]
        if amount == 0:
            with boa.reverts("ledger: no withdrawal requested"):
                self.ledger.withdraw(operator, sender=payer)
            return
        if boa.env.timestamp < ready_at:  # an early withdrawal
            with boa.reverts("ledger: withdrawal not ready"):
                self.ledger.withdraw(operator, sender=payer)
            return
        paid = min(amount, self.model.deposits[(who, op)])  # settlements drew on it meanwhile
        assert self.ledger.withdraw(operator, sender=payer) == paid
        self.model.deposits[(who, op)] -= paid
        self.model.withdrawals[(who, op)] = (0, 0)
        self.dirty["deposits"].add((who, op))
        self.move(self.ledger.address, payer, paid)

    @rule(
        who=st.integers(0, 1),
        op=st.integers(0, 1),
        total=st.one_of(st.integers(1, 10**21), st.integers(1, 10**21), st.integers(1, 10**4)),
        distinct=st.integers(0, 8),
        records=st.integers(1, 4),
        over=st.sampled_from([0] * 5 + [1, 10**18]),
        seed=st.integers(0, 2**16),
    )
    def settle_batch(self, who, op, total, distinct, records, over, seed):
        payer = self.payers[who]
        batch, signed, tree, (owed, assets_tree) = self.new_batch(who, op, total, distinct, records, seed, over)
        batch_id = settle(self.w, payer, batch)

        m = self.model
        commons, operator, to_assets = split(total, *m.split)
        assert batch_id == self.first_batch + len(m.batches)
        m.nonces[(who, op)] += 1
        m.batches.append(Settled(batch.root, who, op, records, total, boa.env.timestamp, signed, tree, batch))
        self.dirty["nonces"].add((who, op))
        self.dirty["batches"].add(batch_id)
        self.dirty["deposits"].add((who, op))
        if m.deposits[(who, op)] >= total:
            m.deposits[(who, op)] -= total
        else:
            self.move(payer.address, self.ledger.address, total)
        self.move(self.ledger.address, m.commons, commons)
        self.move(self.ledger.address, self.operators[op], operator)
        self.move(self.ledger.address, self.router.address, to_assets)
        if to_assets:
            pool = self.pool(who, op)
            pool.owed, pool.tree = owed, assets_tree
            pool.unassigned += to_assets
            self.dirty["pools"].add((who, op))

    @rule(
        who=st.integers(0, 1),
        kind=st.sampled_from(["replay", "root", "split", "commons", "signer", "deadline", "nonce", "zero", "payer"]),
        seed=st.integers(0, 2**16),
    )
    def settle_bad_batch(self, who, kind, seed):
        payer, other = self.payers[who], self.payers[1 - who]
        mine = [b for b in self.model.batches if b.payer == who and b.operator == 0]
        if kind in ("replay", "root") and not mine:
            kind = "signer"
        batch, *_ = self.new_batch(who, 0, 10**18 + seed, 2, 1, seed)
        signer, sender, reason = payer, None, None
        if kind == "replay":  # a settled batch, exactly as it was signed
            batch = mine[seed % len(mine)].batch
            reason = "ledger: wrong batch nonce"
        elif kind == "root":
            object.__setattr__(batch, "root", mine[seed % len(mine)].root)
            reason = "ledger: root already anchored"
        elif kind == "split":
            commons_bps, operator_bps = self.model.split
            changed = (operator_bps, commons_bps) if commons_bps != operator_bps else (commons_bps, operator_bps + 1)
            object.__setattr__(batch, "commons_bps", changed[0])
            object.__setattr__(batch, "operator_bps", min(changed[1], 10_000 - changed[0]))
            if (batch.commons_bps, batch.operator_bps) == self.model.split:
                object.__setattr__(batch, "commons_bps", (batch.commons_bps + 1) % 2)
                object.__setattr__(batch, "operator_bps", 0)
            reason = "ledger: split is not the current one"
        elif kind == "commons":
            object.__setattr__(batch, "commons", self.stranger)
            reason = "ledger: commons is not the current one"
        elif kind == "signer":
            signer, reason = other, "ledger: invalid signature"
        elif kind == "deadline":
            object.__setattr__(batch, "deadline", boa.env.timestamp - 1)
            reason = "ledger: batch deadline passed"
        elif kind == "nonce":
            object.__setattr__(batch, "batch_nonce", self.model.nonces[(who, 0)] + 1 + seed % 3)
            reason = "ledger: wrong batch nonce"
        elif kind == "zero":
            object.__setattr__(batch, "total", 0)
            reason = "ledger: zero total"
        else:  # the payer submits a batch it signed for the operator
            sender, reason = payer.address, "ledger: caller is not the operator"
        with boa.reverts(reason):
            settle(self.w, payer, batch, signer=signer, sender=sender)

    @rule(commons=st.integers(0, 10_000), operator=st.integers(0, 10_000), pool=st.integers(0, 1))
    def set_split(self, commons, operator, pool):
        if commons + operator > 10_000:
            with boa.reverts("ledger: split exceeds 10,000 bps"):
                self.ledger.setSplit(commons, operator, sender=self.deployer)
            return
        self.ledger.setSplit(commons, operator, sender=self.deployer)
        self.ledger.setCommons(self.commons_pools[pool], sender=self.deployer)
        self.model.split = (commons, operator)
        self.model.commons = self.commons_pools[pool]

    @precondition(lambda self: any(p.tree for p in self.model.pools.values()))
    @rule(which=st.integers(0, 3), picks=st.data(), by_stranger=st.booleans(),
          bad=st.sampled_from([None] * 5 + ["amount", "asset"]))
    def credit(self, which, picks, by_stranger, bad):
        pools = [p for p in self.model.pools.values() if p.tree]
        pool = pools[which % len(pools)]
        tree = pool.tree
        indices = picks.draw(st.lists(st.integers(0, len(tree) - 1), min_size=1, max_size=len(tree), unique=True))
        assets, amounts, proof, flags = credit_args(tree, indices)
        sender = self.stranger if by_stranger else self.payers[0].address
        if bad:
            if bad == "amount":
                amounts[0] += 1
            else:
                assets[0] += 1
            with boa.reverts("router: invalid proof"):
                self.router.credit(pool.id, assets, amounts, proof, flags, sender=sender)
            return
        gains = {a: m - pool.credited.get(a, 0) for a, m in zip(assets, amounts) if m > pool.credited.get(a, 0)}
        total = sum(gains.values())
        if total > pool.unassigned:  # the tree over-assigns: credits stop at what was paid
            with boa.reverts("router: credits exceed the pool"):
                self.router.credit(pool.id, assets, amounts, proof, flags, sender=sender)
            return
        assert self.router.credit(pool.id, assets, amounts, proof, flags, sender=sender) == total
        for asset, gain in gains.items():
            pool.credited[asset] = pool.credited.get(asset, 0) + gain
            self.model.pending[asset] += gain
            self.dirty["assets"].add(asset)
        pool.unassigned -= total
        self.dirty["pools"].add(next(k for k, p in self.model.pools.items() if p is pool))

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
        value, count = m.claimed_per_batch.get(batch_id, (0, 0))
        if by_stranger:
            with boa.reverts("ledger: caller is not the payer"):
                self.ledger.claimRecord(*args, sender=self.stranger)
        elif signed.token_id in m.claimed:
            with boa.reverts("ledger: record already claimed"):
                self.ledger.claimRecord(*args, sender=payer)
        elif value + signed.record.fee > settled.total:
            with boa.reverts("ledger: claims exceed the batch total"):
                self.ledger.claimRecord(*args, sender=payer)
        else:
            assert self.ledger.claimRecord(*args, sender=payer) == signed.token_id
            m.claimed[signed.token_id] = (settled.payer, signed.record.model, signed.record.fee, batch_id)
            m.claimed_per_batch[batch_id] = (value + signed.record.fee, count + 1)
            self.dirty["claims"].add(signed.token_id)

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
    def ledger_matches_the_model(self):
        """LI1-LI4 for everything the last step may have changed, the
        totals included only when it moved them (the rest cannot have
        moved; `teardown` re-reads everything to prove it)."""
        _steps[0] += 1
        m, d, every = self.model, self.dirty, self.everything
        # LI1 the ledger holds the deposits (and stray tokens), nothing else:
        # its balance is read below whenever a step moved it.
        assert m.balances[self.ledger.address] == sum(m.deposits.values()) + m.stray
        # LI2 every wei where the model says; no tree credited more than was paid in.
        for holder in d["holders"]:
            assert self.token.balanceOf(holder) == m.balances[holder]
        for who, op in d["deposits"]:
            payer, operator = self.payers[who].address, self.operators[op]
            assert self.ledger.deposits(payer, operator) == m.deposits[(who, op)]
            assert self.ledger.withdrawals(payer, operator) == m.withdrawals[(who, op)]
        for asset in d["assets"]:
            assert self.router.pending(asset) == m.pending[asset]
        for key in d["pools"]:
            assert self.router.pools(m.pools[key].id)[1] == m.pools[key].unassigned
        unassigned = sum(p.unassigned for p in m.pools.values())
        assert m.balances[self.router.address] == sum(m.pending.values()) + unassigned
        if every or d["pools"] or d["assets"] or self.router.address in d["holders"]:
            assert self.router.totalUnassigned() == unassigned
            assert self.router.surplus() == 0  # so the router's balance is what it owes
        # LI3 each signed batch settled once.
        if every or d["batches"]:
            assert self.ledger.batchCount() == self.first_batch - 1 + len(m.batches)
        for who, op in d["nonces"]:
            assert self.ledger.batchNonces(self.payers[who].address, self.operators[op]) == m.nonces[(who, op)]
        for batch_id in d["batches"]:
            self.check_batch(batch_id)
        # LI4 one DAT per claimed record, within what its batch paid for.
        if every or d["claims"]:
            assert self.ledger.totalSupply() == len(m.claimed)
        for token_id in d["claims"]:
            self.check_claim(token_id)
        self.dirty = _clean()

    def check_batch(self, batch_id: int) -> None:
        settled = self.model.batches[batch_id - self.first_batch]
        payer, operator = self.payers[settled.payer].address, self.operators[settled.operator]
        assert self.ledger.batches(batch_id) == (
            settled.root, payer, operator, settled.count, settled.total, settled.timestamp
        )
        assert self.ledger.batchOfRoot(operator, settled.root) == batch_id

    def check_claim(self, token_id: int) -> None:
        who, model, fee, batch_id = self.model.claimed[token_id]
        assert self.ledger.ownerOf(token_id) == self.payers[who].address
        assert self.ledger.datInfo(token_id) == (model, fee, batch_id)
        value, count = self.model.claimed_per_batch[batch_id]
        assert self.ledger.claimed(batch_id) == (value, count)
        settled = self.model.batches[batch_id - self.first_batch]
        assert value <= settled.total and count <= settled.count


def _clean() -> dict[str, set]:
    """Nothing touched yet."""
    return {name: set() for name in ("holders", "deposits", "assets", "pools", "nonces", "batches", "claims")}


@pytest.fixture(scope="module")
def world(token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool,
          operator, payer, payer_b) -> World:
    """A deployment of our own with just the assets the machine pays."""
    return deploy_world(
        token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool,
        operator, payers=(payer, payer_b), pool=ASSETS,
    )


def test_ledger_invariants(world, payer, payer_b, deployer, stranger):
    run_steps(lambda: LedgerMachine(world, [payer, payer_b], deployer, stranger), _steps, STEPS)
