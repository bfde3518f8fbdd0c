"""Paying, collecting upstream and claiming through the SDK, on both backends."""

from __future__ import annotations

import pytest

from tantieme.assets import registry
from tantieme.assets.royalties import claim, mint_license, pay, royalties
from tantieme.assets.terms import preset
from tantieme.errors import AssetError

TAI = 10**18


@pytest.fixture
def lineage(creator, other, make_file):
    """grandparent (creator, 5 %) ← parent (other, 10 %) ← child (creator): a chain of derivatives."""
    grandparent = registry.register(creator, make_file("roots"), terms=preset("open"))
    mint_license(other, grandparent.id)
    parent = registry.register(other, make_file("trunk"), terms=preset("open").with_(royalty_bps=1000), parents=(grandparent.id,))
    mint_license(creator, parent.id)
    child = registry.register(creator, make_file("leaf"), terms=preset("open"), parents=(parent.id,))
    return grandparent.id, parent.id, child.id


def test_pay__revenue_flows_upstream_and_ancestors_collect_alone(node, creator, other, lineage):
    grandparent, parent, child = lineage
    pay(node, child, 1000 * TAI)
    # The parent's owner collects: the child's revenue is distributed without its owner.
    got = claim(other, [parent])
    assert got["claimed"] == 100 * TAI - 5 * TAI  # 10 % of 1000, less 5 % of that to the grandparent
    rows = {r.asset: r for r in royalties(creator)}
    assert rows[grandparent].collectable == 5 * TAI
    assert rows[child].collectable == 900 * TAI
    got = claim(creator)
    assert got["claimed"] == 905 * TAI
    assert node.token.functions.balanceOf(node.deployment.router).call() == 0


def test_royalties__projection_matches_what_claim_pays(node, creator, other, lineage):
    _, parent, child = lineage
    pay(node, child, 333_333_333_333_333_333)  # rounding at every step
    pay(node, parent, 7)
    expected = {r.asset: r.collectable for r in royalties(other)}
    assert claim(other)["claimed"] == sum(expected.values())


def test_claim__someone_elses_asset__clear_error(creator, other, lineage):
    with pytest.raises(AssetError, match="belongs to"):
        claim(other, [lineage[0]])


def test_pay__unknown_asset__clear_error(node):
    with pytest.raises(AssetError, match="asset 99 does not exist"):
        pay(node, 99, TAI)


def test_pay__more_than_balance__clear_error_and_nothing_moves(node, creator, make_file):
    asset = registry.register(creator, make_file("x"), terms=preset("open"))
    before = node.balance()
    with pytest.raises(AssetError, match="not enough AI tokens"):
        pay(node, asset.id, before + 1)
    assert node.balance() == before
    assert node.router.functions.pending(asset.id).call() == 0
