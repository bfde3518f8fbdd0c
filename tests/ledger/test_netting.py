"""Netting a batch: every wei of every fee reaches exactly one recipient."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tantieme.errors import LedgerError
from tantieme.ledger.netting import BPS, Split, net, record_shares
from tantieme.ledger.records import InteractionRecord

PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OPERATOR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def record(fee: int, model: int = 1, sources=(), weights=(), nonce: int = 0) -> InteractionRecord:
    return InteractionRecord(
        payer=PAYER, operator=OPERATOR, model=model, prompt_hash=b"\x01" * 32, output_hash=b"\x02" * 32,
        sources=tuple(sources), weights=tuple(weights), prompt_tokens=10, completion_tokens=5,
        fee=fee, nonce=nonce, timestamp=1,
    )


@st.composite
def records(draw):
    count = draw(st.integers(1, 12))
    out = []
    for nonce in range(count):
        sources = draw(st.lists(st.integers(2, 9), max_size=4, unique=True))
        raw = draw(st.lists(st.integers(0, BPS), min_size=len(sources), max_size=len(sources)))
        scale = max(1, sum(raw)) if sum(raw) > BPS else 1
        weights = [w // scale for w in raw]
        model = draw(st.sampled_from([1, 10]))
        out.append(record(draw(st.integers(0, 10**24)), model, sources, weights, nonce))
    return out


splits = st.tuples(st.integers(0, BPS), st.integers(0, BPS)).filter(lambda s: s[0] + s[1] <= BPS)


@settings(max_examples=300, deadline=None)
@given(records(), splits)
def test_net__conserves_every_wei(batch, split):
    if sum(r.fee for r in batch) == 0:
        return
    netted = net(batch, *split)
    assert netted.total == sum(r.fee for r in batch)
    assert netted.split.commons + netted.split.operator + sum(netted.amounts) == netted.total
    assert netted.split == Split.of(netted.total, *split)
    assert all(a > 0 for a in netted.amounts)
    assert list(netted.assets) == sorted(set(netted.assets))


@settings(max_examples=300, deadline=None)
@given(records(), splits)
def test_net__each_asset_gets_its_exact_share_floored_dust_to_a_model(batch, split):
    if sum(r.fee for r in batch) == 0:
        return
    netted = net(batch, *split)
    exact: dict[int, Fraction] = {}
    for r in batch:
        for asset, share in record_shares(r, *split).items():
            exact[asset] = exact.get(asset, Fraction(0)) + share
    owed = netted.owed()
    models = {r.model for r in batch}
    for asset, value in exact.items():
        got = owed.get(asset, 0)
        if asset in models:
            assert got >= int(value)
        else:
            assert got == int(value)


def test_net__worked_example():
    # 1,000 wei, 5 % commons, 10 % operator: 850 to assets; source 2 has 60 %, model 1 the rest.
    netted = net([record(1000, model=1, sources=[2], weights=[6000])], 500, 1000)
    assert netted.split == Split(commons=50, operator=100, assets=850)
    assert netted.owed() == {1: 340, 2: 510}


def test_net__dust_goes_to_the_largest_model():
    netted = net([record(7, model=1, sources=[2, 3], weights=[3333, 3333])], 0, 0)
    assert sum(netted.amounts) == 7
    assert netted.owed() == {1: 3, 2: 2, 3: 2}


def test_net__empty_batch__clear_error():
    with pytest.raises(LedgerError, match="at least one record"):
        net([], 0, 0)


def test_split__over_100_percent__clear_error():
    with pytest.raises(LedgerError, match="invalid split"):
        Split.of(100, 6000, 5000)
