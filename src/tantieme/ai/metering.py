"""Token metering: what an answer costs under an operator's offer.

Prices are quoted per million tokens in token wei (the AI token's smallest
unit), separately for prompt and completion tokens, as hosted APIs do. The fee
is the exact rational sum rounded **up** once, to a whole wei::

    fee = ceil((prompt_tokens * price_prompt_per_million
                + completion_tokens * price_completion_per_million) / 1_000_000)

Integer arithmetic only — no floats — so every node computes the same fee,
and rounding up means an operator is never paid less than the quoted rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from tantieme.errors import AIError

__all__ = ["Offer", "fee"]

MILLION = 1_000_000


@dataclass(frozen=True)
class Offer:
    """An operator's prices, in token wei per million tokens."""

    price_prompt_per_million: int
    price_completion_per_million: int

    def __post_init__(self) -> None:
        for name in ("price_prompt_per_million", "price_completion_per_million"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise AIError(f"{name} must be a non-negative integer (token wei), got {value!r}")


def fee(offer: Offer, prompt_tokens: int, completion_tokens: int) -> int:
    """The fee in token wei for an answer's token counts, rounded up."""
    for name, value in (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise AIError(f"{name} must be a non-negative integer, got {value!r}")
    numerator = (
        prompt_tokens * offer.price_prompt_per_million
        + completion_tokens * offer.price_completion_per_million
    )
    return -(-numerator // MILLION)
