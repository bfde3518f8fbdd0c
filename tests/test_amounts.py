"""Amounts and percentages as users type them: plain decimals only, exact both ways."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tantieme.amounts import MAX_UINT256, format_amount, format_percent, parse_amount, parse_percent
from tantieme.errors import InputError

TAI = 10**18


@pytest.mark.parametrize(
    ("text", "wei"),
    [("12.5", 12 * TAI + TAI // 2), ("1", TAI), ("0.000000000000000001", 1), (" 7 ", 7 * TAI), ("3.10", 3_100_000_000_000_000_000)],
)
def test_parse_amount__plain_decimals(text, wei):
    assert parse_amount(text) == wei


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1e3", "plain decimal digits"),
        ("1E3", "plain decimal digits"),
        ("nan", "plain decimal digits"),
        ("NaN", "plain decimal digits"),
        ("inf", "plain decimal digits"),
        ("-inf", "plain decimal digits"),
        ("1_000", "plain decimal digits"),
        ("1,000", "plain decimal digits"),
        ("-1", "plain decimal digits"),
        ("+1", "plain decimal digits"),
        ("0x10", "plain decimal digits"),
        ("", "plain decimal digits"),
        ("1.", "plain decimal digits"),
        (".5", "plain decimal digits"),
        ("١٢", "plain decimal digits"),  # Arabic-Indic digits: int() would take them
        ("0.0000000000000000001", "more than 18 decimals"),
        ("0", "greater than zero"),
        ("0.0", "greater than zero"),
        ("1" + "0" * 80, "too large"),
    ],
)
def test_parse_amount__anything_else__clear_error(text, why):
    with pytest.raises(InputError, match=why):
        parse_amount(text)


def test_parse_amount__zero_when_allowed():
    assert parse_amount("0", allow_zero=True) == 0
    assert parse_amount("0.00", allow_zero=True) == 0


@given(st.integers(min_value=1, max_value=MAX_UINT256))
def test_parse_amount__round_trips_format_amount(wei):
    assert parse_amount(format_amount(wei)) == wei


def test_format_amount__exact_beyond_float_and_decimal_precision():
    wei = 2**255 + 1
    assert format_amount(wei) == "57896044618658097711785492504343953926634992332820282019728.792003956564819969"
    assert format_amount(9999945730000000000000) == "9999.94573"
    assert format_amount(0) == "0"


@pytest.mark.parametrize(("text", "bps"), [("7.5", 750), ("0", 0), ("100", 10_000), ("0.01", 1), ("12.50", 1250)])
def test_parse_percent__basis_points(text, bps):
    assert parse_percent(text) == bps
    assert parse_percent(format_percent(bps)) == bps


@pytest.mark.parametrize(
    ("text", "why"),
    [("100.01", "more than 100"), ("101", "more than 100"), ("-5", "plain decimal"), ("nan", "plain decimal"),
     ("inf", "plain decimal"), ("1e1", "plain decimal"), ("7.555", "more than 2 decimals"), ("5%", "plain decimal")],
)
def test_parse_percent__anything_else__clear_error(text, why):
    with pytest.raises(InputError, match=why):
        parse_percent(text)


def test_format_percent():
    assert [format_percent(b) for b in (0, 1, 750, 1000, 10_000)] == ["0", "0.01", "7.5", "10", "100"]
