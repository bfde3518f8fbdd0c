import pytest
from hypothesis import given
from hypothesis import strategies as st

from tantieme.ai.metering import Offer, fee
from tantieme.errors import AIError


def test_fee__exact_multiple():
    assert fee(Offer(2_000_000, 6_000_000), 1_000, 500) == 2_000 + 3_000


def test_fee__rounds_up_once():
    # 1 token at 1 wei per million tokens is a millionth of a wei: the fee is 1 wei
    assert fee(Offer(1, 1), 1, 0) == 1
    # two parts of 0.5 wei each round up to 1 wei in total, not 2
    assert fee(Offer(500_000, 500_000), 1, 1) == 1


def test_fee__zero():
    assert fee(Offer(0, 0), 10_000, 10_000) == 0
    assert fee(Offer(5, 5), 0, 0) == 0


@pytest.mark.parametrize("prices", [(-1, 0), (0, -1), (1.5, 0), (True, 0)])
def test_offer__bad_price__raises(prices):
    with pytest.raises(AIError, match="non-negative integer"):
        Offer(*prices)


@pytest.mark.parametrize("counts", [(-1, 0), (0, -3), (1.0, 0)])
def test_fee__bad_counts__raises(counts):
    with pytest.raises(AIError, match="non-negative integer"):
        fee(Offer(1, 1), *counts)


@given(
    st.integers(0, 10**24), st.integers(0, 10**24), st.integers(0, 10**7), st.integers(0, 10**7)
)
def test_fee__is_the_ceiling_of_the_exact_price(pp, pc, p, c):
    exact_times_million = p * pp + c * pc
    got = fee(Offer(pp, pc), p, c)
    assert isinstance(got, int)
    assert got * 1_000_000 >= exact_times_million
    assert (got - 1) * 1_000_000 < exact_times_million or got == 0
