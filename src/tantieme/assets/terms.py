"""Licence terms: PIL-like fields with AI consent first-class, deny by default.

`LicenseTerms()` grants nothing. Presets name common choices; every field can
also be set explicitly. Field names match the `LicenseTerms` struct of
`ip_asset_registry.vy`, so `as_struct()` is what the contract takes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from tantieme.addresses import ZERO_ADDRESS
from tantieme.errors import AssetError

MAX_BPS = 10_000


@dataclass(frozen=True)
class LicenseTerms:
    """What others may do with an asset. The default value permits nothing."""

    commercial_use: bool = False
    attribution: bool = False
    derivatives_allowed: bool = False
    derivatives_approval: bool = False
    derivatives_reciprocal: bool = False
    royalty_bps: int = 0
    minting_fee: int = 0
    expiration: int = 0
    currency: str = ZERO_ADDRESS
    uri: str = ""
    ai_training: bool = False
    ai_fine_tuning: bool = False
    ai_retrieval: bool = False
    ai_output_commercial: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.royalty_bps <= MAX_BPS:
            raise AssetError(f"royalty share must be 0..{MAX_BPS} basis points, got {self.royalty_bps}")
        if self.minting_fee < 0 or self.minting_fee >= 2**256:
            raise AssetError("minting fee must be a non-negative 256-bit amount")
        if not 0 <= self.expiration < 2**64:
            raise AssetError("expiration must be a unix time in seconds (0 = never)")

    def as_struct(self) -> dict[str, Any]:
        """The terms as the contract's ABI tuple (a dict keyed by field name)."""
        return asdict(self)

    @classmethod
    def from_struct(cls, value: Any) -> LicenseTerms:
        """Build from a decoded ABI tuple (a dict or a sequence in field order)."""
        if isinstance(value, dict):
            return cls(**{f.name: value[f.name] for f in fields(cls)})
        return cls(*value)

    def ai_consent(self) -> dict[str, bool]:
        return {
            "training": self.ai_training,
            "fine_tuning": self.ai_fine_tuning,
            "retrieval": self.ai_retrieval,
            "output_commercial": self.ai_output_commercial,
        }

    def with_(self, **changes: Any) -> LicenseTerms:
        return replace(self, **changes)


_ALL_AI = dict(ai_training=True, ai_fine_tuning=True, ai_retrieval=True, ai_output_commercial=True)

PRESETS: dict[str, LicenseTerms] = {
    # Nothing allowed: the default for anything registered without terms.
    "private": LicenseTerms(),
    # Free to use, adapt and sell, AI uses included; 5 % of derivatives' revenue flows back.
    "open": LicenseTerms(
        commercial_use=True, attribution=True, derivatives_allowed=True, royalty_bps=500, **_ALL_AI
    ),
    # Non-commercial adaptations (10 % of their revenue flows back); AI may read
    # it to answer questions, but not train on it or sell its outputs.
    "non-commercial": LicenseTerms(
        attribution=True, derivatives_allowed=True, royalty_bps=1000, ai_retrieval=True
    ),
    # Commercial use and derivatives under a licence, but no AI use of any kind.
    "no-ai": LicenseTerms(
        commercial_use=True, attribution=True, derivatives_allowed=True, royalty_bps=1000
    ),
    # A dataset open to AI training, fine-tuning and retrieval; 10 % of model revenue flows back.
    "training-data": LicenseTerms(
        commercial_use=True, attribution=True, derivatives_allowed=True, royalty_bps=1000, **_ALL_AI
    ),
}


def preset(name: str) -> LicenseTerms:
    """A named preset; a clear error lists the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise AssetError(f"unknown terms preset {name!r}; choose one of: {known}") from None
