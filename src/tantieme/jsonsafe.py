"""JSON that JavaScript reads exactly, for the CLI's `--json` and the HTTP API.

JSON never holds a number that JavaScript would round: amounts, balances, fees,
gas and token ids are decimal strings whatever their size, and so is any other
integer beyond 2^53 - 1. Bytes are 0x-hex; dataclasses are objects.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["AMOUNT_KEYS", "MAX_SAFE_INTEGER", "to_json"]

MAX_SAFE_INTEGER = 2**53 - 1
# Keys whose integers are token amounts, gas or token ids: strings in JSON at any size,
# together with everything beneath them (e.g. `owed`: asset id → amount).
AMOUNT_KEYS = frozenset({
    "amount", "balance", "token_balance", "eth_balance", "fee", "minting_fee", "total", "commons",
    "operator", "owed", "paid", "claimed", "claimable", "collectable", "pending", "uncredited", "funded",
    "price_prompt_per_million", "price_completion_per_million", "gas", "token_id", "quote", "refund",
})


def to_json(data: Any, amount: bool = False) -> Any:
    """Dataclasses, dicts, lists, bytes and paths as JSON-ready values (see the module's rules)."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
    if isinstance(data, dict):
        return {str(k): to_json(v, amount or k in AMOUNT_KEYS) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [to_json(v, amount) for v in data]
    if isinstance(data, bool) or data is None or isinstance(data, (str, float)):
        return data
    if isinstance(data, int):
        return str(data) if amount or abs(data) > MAX_SAFE_INTEGER else data
    if isinstance(data, bytes):
        return "0x" + data.hex()
    return str(data)
