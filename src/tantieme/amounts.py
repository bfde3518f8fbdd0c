"""Amounts of AI tokens and royalty shares: as people write them, and as the chain counts them.

    parse_amount("12.5")  → 12500000000000000000   (token wei; 1 TAI = 10**18 wei)
    format_amount(wei)    → "12.5"                 (exact, whatever the size)
    parse_percent("7.5")  → 750                    (basis points, as the contracts store them)
    format_percent(750)   → "7.5"

Only plain decimals are accepted: digits with at most one decimal point. Exponents
(`1e3`), separators (`1_000`, `1,000`), signs, `nan` and `inf` are refused with an
`InputError` that says what to type instead, never rounded or guessed.
"""

from __future__ import annotations

import re
from tantieme.errors import InputError

__all__ = [
    "MAX_UINT256",
    "TOKEN_DECIMALS",
    "format_amount",
    "format_percent",
    "parse_amount",
    "parse_percent",
]

TOKEN_DECIMALS = 18
MAX_UINT256 = 2**256 - 1
# Basis points in one percent; a royalty share is stored in basis points (0..10,000).
_BPS_PER_PERCENT = 100
_PERCENT_DECIMALS = 2
_DECIMAL = re.compile(r"(\d+)(?:\.(\d+))?", re.ASCII)


def _split(text: str, what: str, example: str) -> tuple[str, str]:
    """The whole and fractional digits of a plain decimal; a clear error for anything else."""
    match = _DECIMAL.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InputError(
            f"{text!r} is not {what}: write plain decimal digits such as {example} "
            "(no sign, exponent, separator, nan or inf)"
        )
    return match.group(1), match.group(2) or ""


def parse_amount(text: str, *, allow_zero: bool = False) -> int:
    """'12.5' AI tokens → token wei. Zero only when `allow_zero` (e.g. a free licence)."""
    whole, fraction = _split(text, "an amount of AI tokens", "12.5")
    if len(fraction.rstrip("0")) > TOKEN_DECIMALS:
        raise InputError(f"{text!r} has more than {TOKEN_DECIMALS} decimals (the smallest amount is 0.{'0' * 17}1)")
    wei = int(whole) * 10**TOKEN_DECIMALS + int(fraction[:TOKEN_DECIMALS].ljust(TOKEN_DECIMALS, "0"))
    if wei == 0 and not allow_zero:
        raise InputError("the amount must be greater than zero")
    if wei > MAX_UINT256:
        raise InputError(f"{text!r} is too large for a token amount")
    return wei


def format_amount(wei: int) -> str:
    """Token wei → '12.5' AI tokens, exact."""
    whole, fraction = divmod(wei, 10**TOKEN_DECIMALS)
    digits = str(fraction).rjust(TOKEN_DECIMALS, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def parse_percent(text: str) -> int:
    """'7.5' percent → 750 basis points (0 to 100 %, at most two decimals)."""
    whole, fraction = _split(text, "a percentage", "7.5")
    if len(fraction.rstrip("0")) > _PERCENT_DECIMALS:
        raise InputError(f"{text!r} has more than {_PERCENT_DECIMALS} decimals (the smallest share is 0.01 %)")
    bps = int(whole) * _BPS_PER_PERCENT + int(fraction[:_PERCENT_DECIMALS].ljust(_PERCENT_DECIMALS, "0"))
    if bps > 100 * _BPS_PER_PERCENT:
        raise InputError(f"{text!r} is more than 100 %")
    return bps


def format_percent(bps: int) -> str:
    """750 basis points → '7.5' (percent, exact)."""
    return format_amount(bps * 10 ** (TOKEN_DECIMALS - _PERCENT_DECIMALS))
