"""DisputeModule as a state machine: bonds and redirected royalties against a
Python model.

Four people (the first owns a work and a derivative of it that pays the work
10 %) raise disputes on both assets and on an unknown one (with allowed and
forbidden tags, twice, on tagged assets), cancel them (their own and others'),
and the arbiter, the owner and strangers uphold (naming a rightful party) or
reject them, again and again; royalties arrive and are claimed (a tagged
asset's claim refused: its owner cannot take what a record settled after the
judgement credited), tagged assets' later royalties are redirected, the owner
clears tags, sets the bond (valid and not) and the cancellation fee. Every call the model refuses reverts with
the reason it names. After every step the module holds exactly the bonds of
the open disputes, every token stays among the people, the module and the
router (plus what the payer paid in), and the router holds what its assets
are owed; the router marks exactly the module's tagged assets (`SPEC.md`
"DisputeModule").
"""

from __future__ import annotations

from dataclasses import dataclass

import boa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from .conftest import ONE_TOKEN, ZERO_ADDRESS
from .dispute_fixtures import (  # noqa: F401 (fixtures)
    BOND,
    CANCEL_FEE,
    COPIED,
    EVIDENCE,
    PARENT_BPS,
    PEOPLE,
    WEALTH,
    disputes,
)
from .stateful import run_steps

STEPS = 10_000  # at least this many steps in all (SPEC.md)
OTHER_TAG = b"SOMETHING_ELSE".ljust(32, b"\0")
UNKNOWN = 999

_steps = [0]


@dataclass
class Open:
    asset: int
    raiser: int
    bond: int
    tag: bytes


class DisputeMachine(RuleBasedStateMachine):
    """The module and the router's hook against a model; one anchored state per run."""

    def __init__(self, d, payer: str):
        super().__init__()
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.d, self.m, self.payer = d, d.module, payer
        self.assets = [d.work, d.derivative]
        self.wealth = [WEALTH] * PEOPLE
        self.open: dict[int, Open] = {}
        self.closed: set[int] = set()
        self.count = 0
        self.bond, self.fee = BOND, CANCEL_FEE
        self.tags: dict[int, tuple[bytes, int]] = {}  # asset → (tag, rightful person)
        self.pending = [0, 0]  # per asset index, as the router holds them
        self.claimable = [0, 0]
        self.paid_in = 0
        self.base = sum(d.token.balanceOf(a) for a in [d.module.address, d.router.address, *d.people])

    def teardown(self):
        try:
            for i, person in enumerate(self.d.people):
                assert self.d.token.balanceOf(person) == self.wealth[i]
            for a, asset_id in enumerate(self.assets):
                assert (self.d.router.pending(asset_id), self.d.router.claimable(asset_id)) == (
                    self.pending[a], self.claimable[a])
                tag, rightful = self.tags.get(a, (b"\0" * 32, None))
                assert self.m.tagOf(asset_id) == tag
                assert self.m.rightfulParty(asset_id) == (ZERO_ADDRESS if rightful is None else self.d.people[rightful])
                assert self.d.router.isTagged(asset_id) == (a in self.tags)
            assert self.m.disputeCount() == self.count
            for dispute_id, o in self.open.items():
                assert self.m.disputes(dispute_id) == (self.assets[o.asset], self.d.people[o.raiser], o.bond, o.tag, 1)
        finally:
            self.anchor.__exit__(None, None, None)

    def judge(self, who: int) -> str:
        return (self.d.arbiter, self.d.owner, self.d.people[1])[who]

    def dispute_id(self, pick: int) -> int:
        """An open, a closed or an unknown dispute."""
        ids = sorted(self.open) + sorted(self.closed) + [self.count + 1]
        return ids[pick % len(ids)]

    def closed_reason(self, dispute_id: int) -> str | None:
        if dispute_id in self.closed:
            return "disputes: dispute already closed"
        if dispute_id not in self.open:
            return "disputes: unknown dispute"
        return None

    def distribute(self, a: int) -> None:
        amount, self.pending[a] = self.pending[a], 0
        if a == 1:  # the derivative pays the work its share
            share = amount * PARENT_BPS // 10_000
            self.pending[0] += share
            amount -= share
        self.claimable[a] += amount

    def redirect(self, a: int, to: int) -> int:
        self.distribute(a)
        amount, self.claimable[a] = self.claimable[a], 0
        self.wealth[to] += amount
        return amount

    @rule(raiser=st.integers(0, PEOPLE - 1), asset=st.integers(0, 2), forbidden=st.booleans())
    def raise_dispute(self, raiser, asset, forbidden):
        asset_id = self.assets[asset] if asset < 2 else UNKNOWN
        tag = OTHER_TAG if forbidden else COPIED
        reason = (
            "disputes: unknown asset" if asset == 2
            else "disputes: tag not allowed" if forbidden
            else "disputes: caller has an open dispute on the asset"
            if any(o.asset == asset and o.raiser == raiser for o in self.open.values())
            else "disputes: asset already tagged" if asset in self.tags
            else "erc20: transfer amount exceeds balance" if self.wealth[raiser] < self.bond
            else None
        )
        call = lambda: self.m.raiseDispute(asset_id, tag, EVIDENCE, "", sender=self.d.people[raiser])  # noqa: E731
        if reason:
            with boa.reverts(reason):
                call()
            return
        self.count += 1
        assert call() == self.count
        self.open[self.count] = Open(asset, raiser, self.bond, tag)
        self.wealth[raiser] -= self.bond

    @rule(pick=st.integers(0, 20), caller=st.integers(0, PEOPLE - 1))
    def cancel(self, pick, caller):
        dispute_id = self.dispute_id(pick)
        reason = self.closed_reason(dispute_id)
        if reason is None and self.open[dispute_id].raiser != caller:
            reason = "disputes: caller is not the raiser"
        if reason:
            with boa.reverts(reason):
                self.m.cancel(dispute_id, sender=self.d.people[caller])
            return
        self.m.cancel(dispute_id, sender=self.d.people[caller])
        o = self.open.pop(dispute_id)
        self.closed.add(dispute_id)
        fee = o.bond * self.fee // 10_000
        self.wealth[0] += fee
        self.wealth[caller] += o.bond - fee

    @rule(pick=st.integers(0, 20), who=st.integers(0, 2), rightful=st.integers(0, PEOPLE - 1))
    def uphold(self, pick, who, rightful):
        dispute_id = self.dispute_id(pick)
        reason = "disputes: caller is not the arbiter or the owner" if who == 2 else self.closed_reason(dispute_id)
        call = lambda: self.m.uphold(dispute_id, self.d.people[rightful], sender=self.judge(who))  # noqa: E731
        if reason:
            with boa.reverts(reason):
                call()
            return
        redirected = call()
        o = self.open.pop(dispute_id)
        self.closed.add(dispute_id)
        self.tags[o.asset] = (o.tag, rightful)
        assert redirected == self.redirect(o.asset, rightful)
        assert self.d.router.isTagged(self.assets[o.asset])
        self.wealth[o.raiser] += o.bond

    @rule(pick=st.integers(0, 20), who=st.integers(0, 2))
    def reject(self, pick, who):
        dispute_id = self.dispute_id(pick)
        reason = "disputes: caller is not the arbiter or the owner" if who == 2 else self.closed_reason(dispute_id)
        if reason:
            with boa.reverts(reason):
                self.m.reject(dispute_id, sender=self.judge(who))
            return
        self.m.reject(dispute_id, sender=self.judge(who))
        o = self.open.pop(dispute_id)
        self.closed.add(dispute_id)
        self.wealth[0] += o.bond

    @rule(asset=st.integers(0, 1), amount=st.sampled_from([1, 9, 10_001, ONE_TOKEN]))
    def pay(self, asset, amount):
        self.d.router.pay(self.assets[asset], amount, sender=self.payer)
        self.pending[asset] += amount
        self.paid_in += amount

    @rule(asset=st.integers(0, 1))
    def distribute_and_claim(self, asset):
        self.d.router.distribute(self.assets[asset])
        self.distribute(asset)
        if asset in self.tags:  # the claim gap: credited after the judgement, not redirected yet
            with boa.reverts("router: asset is tagged by a dispute"):
                self.d.router.claim(self.assets[asset], sender=self.d.people[0])
            return
        assert self.d.router.claim(self.assets[asset], sender=self.d.people[0]) == self.claimable[asset]
        self.wealth[0] += self.claimable[asset]
        self.claimable[asset] = 0

    @rule(asset=st.integers(0, 1), caller=st.integers(0, PEOPLE - 1))
    def redirect_later(self, asset, caller):
        if asset not in self.tags:
            with boa.reverts("disputes: asset not tagged"):
                self.m.redirect(self.assets[asset], sender=self.d.people[caller])
            return
        amount = self.m.redirect(self.assets[asset], sender=self.d.people[caller])
        assert amount == self.redirect(asset, self.tags[asset][1])

    @rule(asset=st.integers(0, 1), owner=st.booleans())
    def clear_tag(self, asset, owner):
        reason = (
            "ownable: caller is not the owner" if not owner
            else "disputes: asset not tagged" if asset not in self.tags
            else None
        )
        call = lambda: self.m.clearTag(self.assets[asset], sender=self.d.owner if owner else self.d.arbiter)  # noqa: E731
        if reason:
            with boa.reverts(reason):
                call()
            return
        call()
        del self.tags[asset]
        assert not self.d.router.isTagged(self.assets[asset])

    @rule(bond=st.sampled_from([0, 1, BOND, 400 * ONE_TOKEN, 2**96]))
    def set_bond(self, bond):
        if bond >= 2**96:
            with boa.reverts("disputes: bond too large"):
                self.m.setBond(bond, sender=self.d.owner)
            return
        self.m.setBond(bond, sender=self.d.owner)
        self.bond = bond

    @rule(fee=st.sampled_from([0, 1, CANCEL_FEE, 10_000, 10_001]))
    def set_cancel_fee(self, fee):
        if fee > 10_000:
            with boa.reverts("disputes: fee exceeds 10,000 bps"):
                self.m.setCancelFee(fee, sender=self.d.owner)
            return
        self.m.setCancelFee(fee, sender=self.d.owner)
        self.fee = fee

    @invariant()
    def conservation(self):
        """The module holds the open disputes' bonds exactly; people, module and
        router hold all they held plus what the payer paid in; the router holds
        what its assets are owed (everyone's balance: `teardown`)."""
        _steps[0] += 1
        held = self.d.token.balanceOf(self.m.address)
        owed = self.d.token.balanceOf(self.d.router.address)
        assert held == sum(o.bond for o in self.open.values())
        assert owed == sum(self.pending) + sum(self.claimable)
        assert sum(self.wealth) + held + owed == self.base + self.paid_in


def test_dispute_invariants(disputes):
    payer = boa.env.generate_address("disputes payer")
    disputes.token.mint(payer, 10**30, sender=disputes.owner)
    disputes.token.approve(disputes.router.address, 2**256 - 1, sender=payer)
    run_steps(lambda: DisputeMachine(disputes, payer), _steps, STEPS)
