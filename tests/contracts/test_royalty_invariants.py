"""Stateful fuzzing of registry + router against a Python model.

A hypothesis `RuleBasedStateMachine` registers random graphs (roots and
derivatives of every kind, with random terms, each by commit and reveal,
sometimes after a thief replays the reveal), sells licences, pays, funds
pools under trees of cumulative amounts (honest ones, and trees that
over-assign, lower amounts or name unknown assets), credits by multiproof
(twice, with bad proofs, against old roots), distributes, claims, transfers
assets, tightens consent, approves derivatives, lets time pass, sends stray
tokens to the router, pays royalty vaults by plain transfer and sweeps
them, and has disputes upheld (the router sends an asset's revenue to the
rightful party and refuses its owner's claim), redirected and cleared on
appeal, through the dispute module wired to the router. The model predicts every outcome, including the exact revert reason
of a registration that breaks a derivative or consent rule, and after
every step we check (SPEC.md):

- I1 `token.balanceOf(router) == Σ pending + Σ claimable + Σ unassigned + surplus`;
- I2 `totalPaid == Σ pending + Σ claimable + totalUnassigned + totalClaimed`,
  and no pool credits more than was paid into it;
- I3 every asset's pending and claimable, every persona's token balance,
  licence balance and vault balance equal the model's: nobody receives
  what is not theirs (after each step the entries, balances and pools the
  step may have touched; at the end of each run, all of them), and
  no token is created or lost: personas + router + vaults hold the supply;
- I4 no registration that breaks a derivative or consent rule succeeds;
- I5 every asset's effective AI consent (`aiConsent`) is its own flags and
  all its ancestors' current flags;
- I6 the router marks exactly the assets an upheld dispute tags (`isTagged`),
  and no claim of a tagged asset pays its owner;
- I7 the reputation votes wired to the router (persona 0 stands for their
  ledger) hold, for each persona and in all, exactly what the ledger's pools
  credited to assets while the persona owned them: other pools, payments,
  sweeps and repeated or failed credits earn nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import boa
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tantieme.addresses import ZERO_ADDRESS
from tantieme.ledger.records import asset_tree

from .conftest import (
    AGENT,
    BPS,
    DATASET,
    MAX_UINT256,
    MODEL,
    ONE_TOKEN,
    SALT,
    TERMS_URI,
    WORK,
    Terms,
    commitment,
    new_content_hash,
    next_block,
    register_asset,
)
from .dispute_fixtures import COPIED, DISPUTES, EVIDENCE
from .voting_fixtures import REPUTATION
from .stateful import run_steps

AI_FIELDS = ("ai_training", "ai_fine_tuning", "ai_retrieval", "ai_output_commercial")
CONSENT_REASONS = (
    "registry: an ancestor refuses ai training",
    "registry: an ancestor refuses ai fine-tuning",
    "registry: an ancestor refuses ai retrieval",
    "registry: an ancestor refuses commercial ai output",
)

PERSONAS = 4
LEDGER = 0  # the persona whose pools earn reputation
FUNDS = 10**30
STEPS = 10_000  # at least this many steps in all (SPEC.md)
_steps = [0]

terms_strategy = st.builds(
    Terms,
    commercial_use=st.booleans(),
    attribution=st.booleans(),
    derivatives_allowed=st.sampled_from([True, True, True, False]),
    derivatives_approval=st.sampled_from([False] * 5 + [True]),
    derivatives_reciprocal=st.sampled_from([False] * 5 + [True]),
    royalty_bps=st.sampled_from([0, 1, 999, 2_500, 3_333, 5_000, BPS]),
    minting_fee=st.sampled_from([0, 1, 7, ONE_TOKEN]),
    expiration=st.sampled_from([0, 0, 0, 1_000, 5_000]),  # seconds from now
    uri=st.sampled_from(["", TERMS_URI]),
    ai_training=st.booleans(),
    ai_fine_tuning=st.booleans(),
    ai_retrieval=st.booleans(),
    ai_output_commercial=st.booleans(),
)
kinds = st.sampled_from([WORK, WORK, DATASET, DATASET, MODEL, MODEL, AGENT])
amounts = st.integers(min_value=1, max_value=10**24)


@dataclass
class Asset:
    id: int
    owner: int
    kind: int
    terms: Terms  # as registered, expiration absolute
    parents: list[int]
    ancestors: int
    pending: int = 0
    claimable: int = 0
    vault: int = 0  # tokens sent to its royalty vault, not yet swept
    vault_address: str = ""
    rightful: int | None = None  # the persona an upheld dispute names (tagged)


@dataclass
class Model:
    assets: dict[int, Asset] = field(default_factory=dict)
    balances: list[int] = field(default_factory=lambda: [FUNDS] * PERSONAS)
    licences: dict[tuple[int, int], int] = field(default_factory=dict)
    approvals: set[tuple[int, int]] = field(default_factory=set)
    total_paid: int = 0
    total_claimed: int = 0
    surplus: int = 0
    pools: dict[tuple[int, int], Pool] = field(default_factory=dict)  # (funder, key) →
    reputation: list[int] = field(default_factory=lambda: [0] * PERSONAS)  # no decay: the longest half-life


@dataclass
class Pool:
    id: bytes
    owed: dict[int, int] = field(default_factory=dict)  # the current root's cumulative amounts
    tree: object = None  # the current root's tree
    old_tree: object = None  # the one before
    unassigned: int = 0
    credited: dict[int, int] = field(default_factory=dict)


class RoyaltyMachine(RuleBasedStateMachine):
    """Registry + router against `Model`; one anchored state per run."""

    assets = Bundle("assets")

    def __init__(self, system, disputes, reputation, personas: list[str], deployer: str):
        super().__init__()
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.token, self.registry, self.router = system.token, system.registry, system.router
        self.disputes, self.reputation, self.deployer = disputes, reputation, deployer
        self.people = personas
        self.model = Model()
        # Ledger entries, personas and pools the last step may have changed;
        # the rest cannot have moved, and `teardown` re-reads everything to
        # prove it. The router's totals (I1, I2) are read after every step
        # that moved tokens or entries, the asset count (I4) after every
        # registration attempt.
        self.dirty_assets: set[int] = set()
        self.dirty_licences: set[tuple[int, int]] = set()
        self.dirty_people: set[int] = set()
        self.dirty_pools: set[tuple[int, int]] = set()
        self.registered = False
        self.dirty_reputation = False

    def teardown(self):
        try:
            self.dirty_assets = set(self.model.assets)
            self.dirty_licences = set(self.model.licences)
            self.dirty_people = set(range(PERSONAS))
            self.dirty_pools = set(self.model.pools)
            self.registered = True
            self.dirty_reputation = True
            self.conservation()
            self.ledgers_match_the_model()
            for asset_id in self.model.assets:  # I5
                assert self.registry.aiConsent(asset_id) == self.effective_ai(asset_id)
        finally:
            self.anchor.__exit__(None, None, None)

    # ------------------------------------------------------------- helpers --

    def now(self) -> int:
        return boa.env.timestamp

    def own_ai(self, asset: Asset) -> tuple[bool, ...]:
        return tuple(getattr(asset.terms, field) for field in AI_FIELDS)

    def effective_ai(self, asset_id: int) -> tuple[bool, ...]:
        """Its own flags and every ancestor's (I5)."""
        asset = self.model.assets[asset_id]
        flags = self.own_ai(asset)
        for parent in asset.parents:
            flags = tuple(a and b for a, b in zip(flags, self.effective_ai(parent)))
        return flags

    def descends(self, asset_id: int, ancestor: int) -> bool:
        return asset_id == ancestor or any(self.descends(p, ancestor) for p in self.model.assets[asset_id].parents)

    def expired(self, asset: Asset) -> bool:
        return asset.terms.expiration != 0 and self.now() >= asset.terms.expiration

    @staticmethod
    def key(key: int) -> bytes:
        return key.to_bytes(32, "big")

    def pool(self, funder: int, key: int) -> Pool:
        if (funder, key) not in self.model.pools:
            pool_id = self.router.poolId(self.people[funder], self.key(key))
            self.model.pools[(funder, key)] = Pool(pool_id)
        return self.model.pools[(funder, key)]


    def absolute(self, terms: Terms) -> Terms:
        return terms.but(expiration=self.now() + terms.expiration) if terms.expiration else terms

    def registration_error(self, sender: int, kind: int, parents: list[int],
                           terms: Terms) -> str | None:
        """The contract's checks, in its order; None if it must succeed."""
        if terms.expiration and terms.expiration <= self.now():
            return "registry: terms already expired"
        total_bps = ancestors = 0
        for i, parent_id in enumerate(parents):
            parent = self.model.assets.get(parent_id)
            if parent is None:
                return "registry: unknown parent"
            if parent_id in parents[:i]:
                return "registry: duplicate parent"
            pt = parent.terms
            if self.expired(parent):
                return "registry: parent terms expired"
            if not pt.derivatives_allowed:
                return "registry: parent forbids derivatives"
            approved = sender == parent.owner or (parent_id, sender) in self.model.approvals
            if pt.derivatives_approval and not approved:
                return "registry: derivative not approved"
            if pt.derivatives_reciprocal and terms != pt:
                return "registry: reciprocal terms mismatch"
            if kind == MODEL:
                if parent.kind == DATASET:
                    if not self.effective_ai(parent_id)[0]:
                        return "registry: dataset forbids ai training"
                elif parent.kind == MODEL:
                    if not self.effective_ai(parent_id)[1]:
                        return "registry: model forbids fine-tuning"
                else:
                    return "registry: model parent must be a dataset or model"
            if terms.commercial_use:
                if not pt.commercial_use:
                    return "registry: parent forbids commercial use"
                if self.model.licences.get((sender, parent_id), 0) == 0:
                    return "registry: license token required"
            total_bps += pt.royalty_bps
            ancestors += 1 + parent.ancestors
        if total_bps > BPS:
            return "registry: parents royalty exceeds 10000"
        if ancestors > 1024:
            return "registry: too many ancestors"
        wanted = tuple(getattr(terms, field) for field in AI_FIELDS)
        for use, want in enumerate(wanted):
            if want and not all(self.effective_ai(p)[use] for p in parents):
                return CONSENT_REASONS[use]
        return None

    def credit(self, asset_id: int, amount: int, payer: int | None) -> None:
        """`payer` is a persona, or None for the asset's vault."""
        self.dirty_assets.add(asset_id)
        self.model.assets[asset_id].pending += amount
        self.model.total_paid += amount
        if payer is None:
            self.model.assets[asset_id].vault -= amount
        else:
            self.receive(payer, -amount)

    def receive(self, person: int, amount: int) -> None:
        """The model's token balance of `person` changes by `amount` (wei)."""
        self.model.balances[person] += amount
        self.dirty_people.add(person)

    def register(self, owner: int, kind: int, parents: list[int], terms: Terms, uri: str) -> int:
        """Commit, then register in the next block."""
        self.registered = True
        return register_asset(self.registry, self.people[owner], kind, new_content_hash(), uri, parents, terms)

    def split(self, asset_id: int) -> int:
        asset = self.model.assets.get(asset_id)
        if asset is None or asset.pending == 0:
            return 0
        amount, asset.pending = asset.pending, 0
        self.dirty_assets.update([asset_id, *asset.parents])
        to_parents = 0
        for parent_id in asset.parents:
            share = amount * self.model.assets[parent_id].terms.royalty_bps // BPS
            self.model.assets[parent_id].pending += share
            to_parents += share
        asset.claimable += amount - to_parents
        return amount

    def redirect(self, asset_id: int) -> int:
        """The router's hook: split, then the claimable to the rightful party."""
        self.split(asset_id)
        asset = self.model.assets[asset_id]
        amount, asset.claimable = asset.claimable, 0
        self.receive(asset.rightful, amount)
        self.model.total_claimed += amount
        self.dirty_assets.add(asset_id)
        return amount

    # --------------------------------------------------------------- rules --

    @initialize(target=assets, owner=st.integers(0, PERSONAS - 1), kind=kinds, terms=terms_strategy)
    def first_root(self, owner, kind, terms):
        return self.register_root(owner, kind, terms, None)

    @rule(target=assets, owner=st.integers(0, PERSONAS - 1), kind=kinds, terms=terms_strategy,
          thief=st.sampled_from([None] * 7 + list(range(PERSONAS))))
    def register_root(self, owner, kind, terms, thief=None):
        """A `thief` who replays the owner's reveal first has no commitment."""
        terms = self.absolute(terms)
        if thief is None or thief == owner:
            asset_id = self.register(owner, kind, [], terms, "ipfs://m")
        else:
            content = new_content_hash()
            self.registry.commitRegistration(commitment(self.people[owner], content), sender=self.people[owner])
            next_block()
            args = (kind, content, "ipfs://m", [], terms.abi(), SALT)
            self.registered = True
            with boa.reverts("registry: no commitment"):
                self.registry.register(*args, sender=self.people[thief])
            asset_id = self.registry.register(*args, sender=self.people[owner])
        assert asset_id == len(self.model.assets) + 1
        self.model.assets[asset_id] = Asset(asset_id, owner, kind, terms, [], 0)
        return asset_id

    @rule(
        target=assets,
        owner=st.integers(0, PERSONAS - 1),
        kind=kinds,
        parents=st.lists(assets, min_size=1, max_size=4),
        terms=terms_strategy,
        copy_first=st.booleans(),
        buy_licences=st.booleans(),
        unknown_parent=st.sampled_from([False] * 9 + [True]),
    )
    def register_derivative(self, owner, kind, parents, terms, copy_first, buy_licences,
                            unknown_parent):
        """Anything goes: the model predicts success or the exact reason."""
        if unknown_parent:
            parents = [*parents, len(self.model.assets) + 100]
        terms = self.absolute(terms)
        if copy_first and parents[0] in self.model.assets:
            terms = self.model.assets[parents[0]].terms  # what the SDK does for reciprocal parents
        return self.attempt_derivative(owner, kind, parents, terms, buy_licences)

    @rule(
        target=assets,
        owner=st.integers(0, PERSONAS - 1),
        parents=st.lists(assets, min_size=1, max_size=3, unique=True),
        terms=terms_strategy,
        model=st.booleans(),
    )
    def register_lawful_derivative(self, owner, parents, terms, model):
        """Mostly succeeds: drop parents that cannot be derived from, get
        approvals, copy reciprocal terms, pick a kind the parents allow."""
        usable = [p for p in parents if self.model.assets[p].terms.derivatives_allowed
                  and not self.expired(self.model.assets[p])]
        if not usable:
            return parents[0]
        trainable = all(self.model.assets[p].kind in (DATASET, MODEL) for p in usable)
        kind = MODEL if model and trainable else WORK
        for parent_id in usable:
            parent = self.model.assets[parent_id]
            if parent.terms.derivatives_approval and owner != parent.owner:
                self.approve_derivative(parent_id, owner, True)
        reciprocal = [p for p in usable if self.model.assets[p].terms.derivatives_reciprocal]
        if reciprocal:
            terms = self.model.assets[reciprocal[0]].terms
        else:  # no wider AI consent than the parents allow
            allowed = [all(self.effective_ai(p)[use] for p in usable) for use in range(4)]
            terms = self.absolute(terms).but(
                **{field: getattr(terms, field) and ok for field, ok in zip(AI_FIELDS, allowed)}
            )
        return self.attempt_derivative(owner, kind, usable, terms, buy_licences=True)

    def attempt_derivative(self, owner, kind, parents, terms, buy_licences):
        if buy_licences and terms.commercial_use:
            for parent_id in dict.fromkeys(parents):
                parent = self.model.assets.get(parent_id)
                if parent is not None and not self.expired(parent):
                    self.mint_license(owner, parent_id, 1, owner)
        expected = self.registration_error(owner, kind, parents, terms)
        if expected is not None:
            with boa.reverts(expected):
                self.register(owner, kind, parents, terms, "ipfs://d")
            return parents[0] if parents[0] in self.model.assets else 1  # the bundle may repeat
        asset_id = self.register(owner, kind, parents, terms, "ipfs://d")
        assert asset_id == len(self.model.assets) + 1
        ancestors = sum(1 + self.model.assets[p].ancestors for p in parents)
        if terms.commercial_use:
            for parent_id in parents:
                self.model.licences[(owner, parent_id)] -= 1
                self.dirty_licences.add((owner, parent_id))
        self.model.assets[asset_id] = Asset(asset_id, owner, kind, terms, list(parents), ancestors)
        assert list(self.registry.parentsOf(asset_id)) == list(parents)
        assert self.registry.ancestorCount(asset_id) == ancestors
        return asset_id

    @rule(payer=st.integers(0, PERSONAS - 1), asset_id=assets, amount=st.integers(1, 5),
          receiver=st.integers(0, PERSONAS - 1))
    def mint_license(self, payer, asset_id, amount, receiver):
        asset = self.model.assets[asset_id]
        args = (asset_id, amount, self.people[receiver])
        reason = None
        if self.expired(asset):
            reason = "registry: license terms expired"
        elif not asset.terms.commercial_use:
            reason = "registry: terms forbid commercial use"
        elif not asset.terms.derivatives_allowed:
            reason = "registry: terms forbid derivatives"
        if reason is not None:
            with boa.reverts(reason):
                self.registry.mintLicense(*args, sender=self.people[payer])
            return
        self.registry.mintLicense(*args, sender=self.people[payer])
        fee = asset.terms.minting_fee * amount
        if fee:
            self.credit(asset_id, fee, payer)
        key = (receiver, asset_id)
        self.model.licences[key] = self.model.licences.get(key, 0) + amount
        self.dirty_licences.add(key)

    @rule(payer=st.integers(0, PERSONAS - 1), asset_id=assets, amount=amounts)
    def pay(self, payer, asset_id, amount):
        self.router.pay(asset_id, amount, sender=self.people[payer])
        self.credit(asset_id, amount, payer)

    @rule(funder=st.integers(0, PERSONAS - 1), key=st.integers(0, 1),
          owed=st.lists(st.tuples(assets, st.integers(0, 10**21)), min_size=1, max_size=6),
          unknown=st.booleans(), paid=st.one_of(st.just(None), amounts))
    def fund(self, funder, key, owed, unknown, paid):
        """A new root for the pool: honest (cumulative amounts grow, paid is
        the growth) unless `paid` is drawn (then the tree may over- or
        under-assign, or lower amounts), with an unknown asset sometimes."""
        pool = self.pool(funder, key)
        cumulative = dict(pool.owed)
        for asset_id, gain in owed:
            cumulative[asset_id] = cumulative.get(asset_id, 0) + gain if paid is None else gain
        if unknown:
            cumulative[10**6 + key] = 1 + funder
        if not any(cumulative.values()):
            return
        amount = paid if paid is not None else max(sum(cumulative.values()) - sum(pool.owed.values()), 1)
        tree = asset_tree(cumulative)
        assert self.router.fund(self.key(key), bytes.fromhex(tree.root[2:]), amount,
                                sender=self.people[funder]) == pool.id
        pool.old_tree, pool.tree, pool.owed = pool.tree, tree, {a: m for a, m in cumulative.items() if m}
        pool.unassigned += amount
        self.dirty_pools.add((funder, key))
        self.receive(funder, -amount)
        self.model.total_paid += amount

    @precondition(lambda self: any(p.tree for p in self.model.pools.values()))
    @rule(which=st.integers(0, 7), picks=st.data(), caller=st.integers(0, PERSONAS - 1),
          bad=st.sampled_from([None] * 6 + ["amount", "asset", "pool", "old root"]))
    def credit_from_pool(self, which, picks, caller, bad):
        funded = [key for key, p in self.model.pools.items() if p.tree]
        pool_key = funded[which % len(funded)]
        pool = self.model.pools[pool_key]
        if bad == "old root" and (pool.old_tree is None or pool.old_tree.root == pool.tree.root):
            bad = "amount"
        tree = pool.old_tree if bad == "old root" else pool.tree
        indices = picks.draw(st.lists(st.integers(0, len(tree) - 1), min_size=1, max_size=len(tree), unique=True))
        multi = tree.get_multi_proof(indices)
        ids, values = [a for a, _ in multi.leaves], [m for _, m in multi.leaves]
        proof = [bytes.fromhex(p[2:]) for p in multi.proof]
        args = (pool.id, ids, values, proof, list(multi.proof_flags))
        if bad:
            if bad == "amount":
                values[0] += 1
            elif bad == "asset":
                ids[0] += 1
            elif bad == "pool":  # never funded
                args = (self.router.poolId(self.people[caller], b"\x09" * 32), *args[1:])
            with boa.reverts("router: invalid proof"):
                self.router.credit(*args, sender=self.people[caller])
            return
        gains = {a: m - pool.credited.get(a, 0) for a, m in zip(ids, values) if m > pool.credited.get(a, 0)}
        total = sum(gains.values())
        if any(a not in self.model.assets for a in gains):
            with boa.reverts("router: unknown asset"):
                self.router.credit(*args, sender=self.people[caller])
            return
        if total > pool.unassigned:
            with boa.reverts("router: credits exceed the pool"):
                self.router.credit(*args, sender=self.people[caller])
            return
        assert self.router.credit(*args, sender=self.people[caller]) == total
        for asset_id, gain in gains.items():
            pool.credited[asset_id] = pool.credited.get(asset_id, 0) + gain
            self.model.assets[asset_id].pending += gain
            self.dirty_assets.add(asset_id)
            if pool_key[0] == LEDGER:
                self.model.reputation[self.model.assets[asset_id].owner] += gain
                self.dirty_reputation = True
        pool.unassigned -= total
        self.dirty_pools.add(pool_key)

    @rule(caller=st.integers(0, PERSONAS - 1), asset_id=assets)
    def distribute(self, caller, asset_id):
        assert self.router.distribute(asset_id, sender=self.people[caller]) == self.split(asset_id)

    @rule(caller=st.integers(0, PERSONAS - 1), asset_ids=st.lists(assets, max_size=6))
    def distribute_many(self, caller, asset_ids):
        expected = sum(self.split(asset_id) for asset_id in asset_ids)
        assert self.router.distributeMany(asset_ids, sender=self.people[caller]) == expected

    @rule(caller=st.integers(0, PERSONAS - 1), asset_id=assets)
    def claim(self, caller, asset_id):
        asset = self.model.assets[asset_id]
        if caller != asset.owner or asset.rightful is not None:  # I6
            reason = "router: caller is not the asset owner" if caller != asset.owner else (
                "router: asset is tagged by a dispute")
            with boa.reverts(reason):
                self.router.claim(asset_id, sender=self.people[caller])
            return
        self.dirty_assets.add(asset_id)
        assert self.router.claim(asset_id, sender=self.people[caller]) == asset.claimable
        self.receive(caller, asset.claimable)
        self.model.total_claimed += asset.claimable
        asset.claimable = 0

    @rule(asset_id=assets, raiser=st.integers(0, PERSONAS - 1), rightful=st.integers(0, PERSONAS - 1))
    def uphold_dispute(self, asset_id, raiser, rightful):
        """A dispute raised (the bond comes back at once) and upheld by the module's owner."""
        asset = self.model.assets[asset_id]
        if asset.rightful is not None:
            with boa.reverts("disputes: asset already tagged"):
                self.disputes.raiseDispute(asset_id, COPIED, EVIDENCE, "", sender=self.people[raiser])
            return
        dispute_id = self.disputes.raiseDispute(asset_id, COPIED, EVIDENCE, "", sender=self.people[raiser])
        redirected = self.disputes.uphold(dispute_id, self.people[rightful], sender=self.deployer)
        asset.rightful = rightful
        assert redirected == self.redirect(asset_id)

    @rule(asset_id=assets, caller=st.integers(0, PERSONAS - 1))
    def redirect_later(self, asset_id, caller):
        if self.model.assets[asset_id].rightful is None:
            with boa.reverts("disputes: asset not tagged"):
                self.disputes.redirect(asset_id, sender=self.people[caller])
            return
        assert self.disputes.redirect(asset_id, sender=self.people[caller]) == self.redirect(asset_id)

    @rule(asset_id=assets)
    def clear_tag(self, asset_id):
        asset = self.model.assets[asset_id]
        if asset.rightful is None:
            with boa.reverts("disputes: asset not tagged"):
                self.disputes.clearTag(asset_id, sender=self.deployer)
            return
        self.disputes.clearTag(asset_id, sender=self.deployer)
        asset.rightful = None
        self.dirty_assets.add(asset_id)

    @rule(asset_id=assets, to=st.integers(0, PERSONAS - 1))
    def transfer_asset(self, asset_id, to):
        asset = self.model.assets[asset_id]
        self.registry.transferFrom(self.people[asset.owner], self.people[to], asset_id,
                                   sender=self.people[asset.owner])
        asset.owner = to
        # Approvals end when an asset changes hands.
        self.model.approvals = {(a, r) for a, r in self.model.approvals if a != asset_id}

    @rule(sender=st.integers(0, PERSONAS - 1), asset_id=assets, amount=st.integers(1, 10**20))
    def royalty_to_vault(self, sender, asset_id, amount):
        """A marketplace pays the ERC-2981 receiver by plain transfer."""
        asset = self.model.assets[asset_id]
        asset.vault_address = asset.vault_address or self.registry.royaltyInfo(asset_id, amount)[0]
        self.token.transfer(asset.vault_address, amount, sender=self.people[sender])
        self.receive(sender, -amount)
        self.model.assets[asset_id].vault += amount
        self.dirty_assets.add(asset_id)

    @rule(caller=st.integers(0, PERSONAS - 1), asset_id=assets)
    def sweep(self, caller, asset_id):
        held = self.model.assets[asset_id].vault
        assert self.router.sweep(asset_id, sender=self.people[caller]) == held
        if held:
            self.credit(asset_id, held, None)

    @rule(sender=st.integers(0, PERSONAS - 1), amount=st.integers(1, 10**20))
    def stray_transfer(self, sender, amount):
        self.token.transfer(self.router.address, amount, sender=self.people[sender])
        self.receive(sender, -amount)
        self.model.surplus += amount

    @rule(asset_id=assets, keep=st.tuples(*[st.booleans()] * 4))
    def set_ai_consent(self, asset_id, keep):
        asset = self.model.assets[asset_id]
        t = asset.terms
        current = (t.ai_training, t.ai_fine_tuning, t.ai_retrieval, t.ai_output_commercial)
        if any(want and not have for want, have in zip(keep, current)):
            with boa.reverts("registry: consent can only be tightened"):
                self.registry.setAIConsent(asset_id, *keep, sender=self.people[asset.owner])
            return
        self.registry.setAIConsent(asset_id, *keep, sender=self.people[asset.owner])
        asset.terms = t.but(ai_training=keep[0], ai_fine_tuning=keep[1], ai_retrieval=keep[2],
                            ai_output_commercial=keep[3])
        for later in range(asset_id, len(self.model.assets) + 1):  # I5: descendants follow
            if self.descends(later, asset_id):
                assert self.registry.aiConsent(later) == self.effective_ai(later)

    @rule(asset_id=assets, registrant=st.integers(0, PERSONAS - 1), approved=st.booleans())
    def approve_derivative(self, asset_id, registrant, approved):
        owner = self.model.assets[asset_id].owner
        self.registry.approveDerivative(asset_id, self.people[registrant], approved,
                                        sender=self.people[owner])
        if approved:
            self.model.approvals.add((asset_id, registrant))
        else:
            self.model.approvals.discard((asset_id, registrant))

    @precondition(lambda self: any(a.terms.expiration for a in self.model.assets.values()))
    @rule(seconds=st.integers(1, 3_000))
    def time_passes(self, seconds):
        boa.env.time_travel(seconds=seconds)

    # ---------------------------------------------------------- invariants --

    @invariant()
    def router_matches_the_model(self):
        _steps[0] += 1
        self.conservation()
        self.ledgers_match_the_model()

    def conservation(self):
        assets = self.model.assets.values()
        unassigned = sum(p.unassigned for p in self.model.pools.values())
        owed = sum(a.pending + a.claimable for a in assets) + unassigned
        in_vaults = sum(a.vault for a in assets)
        assert sum(self.model.balances) + owed + self.model.surplus + in_vaults == FUNDS * PERSONAS
        assert all(pool.unassigned >= 0 for pool in self.model.pools.values())
        assert self.model.total_paid == owed + self.model.total_claimed
        if self.dirty_assets or self.dirty_people or self.dirty_pools:  # tokens or entries moved
            assert self.token.balanceOf(self.router.address) == owed + self.model.surplus  # I1
            assert self.router.totalUnassigned() == unassigned
            assert self.router.totalPaid() == self.model.total_paid  # I2 (with the model's equation above)
            assert self.router.totalClaimed() == self.model.total_claimed
            assert self.router.surplus() == self.model.surplus

    def ledgers_match_the_model(self):
        for asset_id in self.dirty_assets:  # I3
            asset = self.model.assets[asset_id]
            assert self.router.pending(asset_id) == asset.pending
            assert self.router.claimable(asset_id) == asset.claimable
            assert self.router.isTagged(asset_id) == (asset.rightful is not None)  # I6
            if asset.vault_address:
                assert self.token.balanceOf(asset.vault_address) == asset.vault
        for holder, asset_id in self.dirty_licences:
            held = self.registry.licenseBalance(self.people[holder], asset_id)
            assert held == self.model.licences[(holder, asset_id)]
        for person in self.dirty_people:
            assert self.token.balanceOf(self.people[person]) == self.model.balances[person]
        for key in self.dirty_pools:
            pool = self.model.pools[key]
            assert self.router.pools(pool.id)[1] == pool.unassigned
        if self.dirty_reputation:  # I7
            for person, earned in enumerate(self.model.reputation):
                assert self.reputation.getVotes(self.people[person]) == earned
            assert self.reputation.getVotes(ZERO_ADDRESS) == sum(self.model.reputation)  # the total's key
            self.dirty_reputation = False
        self.dirty_assets.clear()
        self.dirty_licences.clear()
        self.dirty_people.clear()
        self.dirty_pools.clear()
        if self.registered:
            assert self.registry.totalAssets() == len(self.model.assets)  # I4: no stray registration
            self.registered = False


@pytest.mark.parametrize("half", [1, 2])
def test_royalty_invariants(system, deployer, creator, operator, asker, stranger, half):
    """At least 10,000 steps in all, in two halves (each within the
    per-test timeout on a busy machine)."""
    with boa.env.prank(deployer):
        disputes = DISPUTES.deploy(system.token.address, system.registry.address, system.router.address,
                                   ONE_TOKEN, 0, [COPIED])
        system.router.setDisputeModule(disputes.address)  # undone by the test's anchor
    personas = [creator, operator, asker, stranger]
    for person in personas:  # funded once: every run starts from this state
        system.token.mint(person, FUNDS, sender=deployer)
        system.token.approve(system.router.address, MAX_UINT256, sender=person)
        system.token.approve(disputes.address, MAX_UINT256, sender=person)
    with boa.env.prank(deployer):
        reputation = REPUTATION.deploy(personas[LEDGER], system.router.address, system.registry.address, 2**48)
        system.router.setReputation(reputation.address)
    run_steps(lambda: RoyaltyMachine(system, disputes, reputation, personas, deployer), _steps, STEPS // 2)
