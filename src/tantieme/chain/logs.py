"""Event logs read in bounded block ranges.

Public JSON-RPC nodes cap `eth_getLogs` (many at 10,000 blocks a call, some far
lower), so a scan from a deployment's block to the head asks in ranges of at most
`TANTIEME_LOG_RANGE` blocks (default 10,000), oldest first.

    logs = event_logs(node.ledger.events.BatchSettled(), node.deployment.block)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tantieme.errors import ConfigError

if TYPE_CHECKING:
    from web3 import Web3

__all__ = ["DEFAULT_LOG_RANGE", "ENV_LOG_RANGE", "event_logs", "log_range", "raw_logs"]

ENV_LOG_RANGE = "TANTIEME_LOG_RANGE"
DEFAULT_LOG_RANGE = 10_000


def log_range() -> int:
    """The most blocks one `eth_getLogs` call asks for (`TANTIEME_LOG_RANGE`)."""
    text = os.environ.get(ENV_LOG_RANGE)
    if text is None:
        return DEFAULT_LOG_RANGE
    try:
        blocks = int(text)
    except ValueError:
        blocks = 0
    if blocks < 1:
        raise ConfigError(f"{ENV_LOG_RANGE}={text!r} is not a number of blocks: give 1 or more (default {DEFAULT_LOG_RANGE:,})")
    return blocks


def event_logs(event: Any, from_block: int, to_block: int | None = None, **argument_filters: Any) -> list:
    """The decoded logs of a bound contract event (`contract.events.Name()`) from `from_block`
    to `to_block` (default: the head), filtered by indexed arguments."""
    return list(_scan(event.w3, from_block, lambda first, last: event.get_logs(
        from_block=first, to_block=last, argument_filters=argument_filters or None), to_block))


def raw_logs(w3: Web3, params: dict, from_block: int) -> list:
    """The raw logs matching `params` (`address`, `topics`) from `from_block` to the head."""
    return list(_scan(w3, from_block, lambda first, last: w3.eth.get_logs(
        {**params, "fromBlock": first, "toBlock": last})))


def _scan(w3: Web3, from_block: int, fetch: Callable[[int, int], Any], to_block: int | None = None) -> Iterator[Any]:
    step = log_range()
    last = w3.eth.block_number if to_block is None else to_block
    for first in range(from_block, last + 1, step):
        yield from fetch(first, min(first + step - 1, last))
