"""What a tantieme answer's C2PA manifest says, as plain data (no signing here).

- `c2pa.actions`: one `c2pa.created` by the software agent "tantieme", with
  the IPTC digital source type `trainedAlgorithmicMedia` (text answers) or
  `trainedAlgorithmicData` (JSON answers), linked to the two ingredients.
- Ingredients, both with relationship `inputTo`: the **model** (no file: its
  title, `c2pa.types.model`, the registry asset id and the weights hash) and
  the **prompt** (`c2pa.types.generator.prompt`; its text embedded as the
  ingredient's data when given).
- `cawg.training-mining`: what the answer may be used for, from the sources'
  consent (see `training_mining`).
- `org.tantieme.interaction`: the interaction record's id, its batch's Merkle
  root (or pending), the chain and contracts, the model, the prompt hash and
  every source with its asset id and attribution weight.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tantieme import __version__
from tantieme.errors import ProvenanceError

AnswerFormat = Literal["text/plain", "application/json"]

INTERACTION_LABEL = "org.tantieme.interaction"
TRAINING_MINING_LABEL = "cawg.training-mining"
ACTIONS_LABEL = "c2pa.actions"
PROMPT_RESOURCE = "prompt.txt"

_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
DIGITAL_SOURCE_TYPE: dict[str, str] = {
    "text/plain": _IPTC + "trainedAlgorithmicMedia",
    "application/json": _IPTC + "trainedAlgorithmicData",
}

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Consent:
    """A work's AI consent, deny by default (the registry's license fields)."""

    training: bool = False
    fine_tuning: bool = False
    retrieval: bool = False
    output_commercial: bool = False


@dataclass(frozen=True)
class Source:
    """A registered work that shaped the answer."""

    asset_id: int
    title: str
    weight_bps: int
    """Attribution weight in basis points (0..10,000) of the answer."""
    consent: Consent = field(default_factory=Consent)


@dataclass(frozen=True)
class ModelRef:
    """The model that wrote the answer, as registered."""

    name: str
    asset_id: int
    weights_hash: str
    """Content hash of the weights file, e.g. "sha256:<hex>"."""


# Which consent flags each training-and-data-mining entry needs from *every* source.
# cawg.* entries are CAWG 1.1's; the last one is our own (custom keys are allowed).
TRAINING_MINING_RULES: dict[str, tuple[str, ...]] = {
    "cawg.ai_inference": ("retrieval",),
    "cawg.data_mining": ("retrieval",),
    "cawg.ai_training": ("training",),
    "cawg.ai_generative_training": ("training", "fine_tuning"),
    "org.tantieme.ai_fine_tuning": ("fine_tuning",),
}


def training_mining(sources: Sequence[Source]) -> dict[str, dict[str, str]]:
    """The `cawg.training-mining` entries an answer inherits from its sources.

    The strictest source wins, and nothing is allowed by default:

    - an entry is `notAllowed` if any source withholds a flag it needs
      (`TRAINING_MINING_RULES`), or if there are no sources at all (an answer
      from the model alone carries no consent to pass on);
    - otherwise it is `constrained` ("non-commercial use only", naming the
      sources) if any source withholds `output_commercial`, because the answer
      itself may then not be used commercially; CAWG readers treat
      `constrained` as `notAllowed` unless they honour the constraint;
    - otherwise `allowed`.

    Training needs `training`; generative training needs `training` and
    `fine_tuning`; inference and data mining (using the answer as input)
    need `retrieval`.
    """
    non_commercial = [s.asset_id for s in sources if not s.consent.output_commercial]
    entries: dict[str, dict[str, str]] = {}
    for label, needs in TRAINING_MINING_RULES.items():
        granted = bool(sources) and all(getattr(s.consent, flag) for s in sources for flag in needs)
        if not granted:
            entries[label] = {"use": "notAllowed"}
        elif non_commercial:
            ids = ", ".join(f"#{i}" for i in non_commercial)
            entries[label] = {
                "use": "constrained",
                "constraint_info": f"non-commercial use only (sources {ids} "
                "do not consent to commercial use of outputs)",
            }
        else:
            entries[label] = {"use": "allowed"}
    return entries


def prompt_digest(prompt_text: str) -> str:
    """The prompt hash recorded when only the text is given: "sha256:<hex>"."""
    return "sha256:" + hashlib.sha256(prompt_text.encode()).hexdigest()


def build_manifest(
    *,
    format: AnswerFormat,
    title: str,
    model: ModelRef,
    sources: Sequence[Source],
    record_id: str,
    batch_root: str | None,
    chain_id: int,
    contracts: Mapping[str, str],
    prompt_hash: str,
    embed_prompt: bool,
) -> dict[str, Any]:
    """The manifest definition (c2pa-python's JSON form) for one answer."""
    _check_inputs(format, title, model, sources, record_id, batch_root, chain_id, contracts)
    prompt: dict[str, Any] = {
        "title": "prompt",
        "format": "text/plain",
        "relationship": "inputTo",
        "label": "prompt",
        "description": prompt_hash,
        "data_types": [{"type": "c2pa.types.generator.prompt"}],
    }
    if embed_prompt:
        prompt["data"] = {"format": "text/plain", "identifier": PROMPT_RESOURCE}
    interaction = {
        "version": 1,
        "record_id": record_id,
        "batch_root": batch_root,
        "anchor_status": "anchored" if batch_root else "pending",
        "chain_id": chain_id,
        "contracts": dict(contracts),
        "model": asdict(model),
        "prompt_hash": prompt_hash,
        "sources": [asdict(s) for s in sources],
    }
    return {
        "claim_generator_info": [{"name": "tantieme", "version": __version__}],
        "title": title,
        "format": format,
        "ingredients": [
            {
                "title": model.name,
                "format": "application/octet-stream",
                "relationship": "inputTo",
                "label": "model",
                "instance_id": f"tantieme:asset:{model.asset_id}",
                "description": model.weights_hash,
                "data_types": [{"type": "c2pa.types.model"}],
            },
            prompt,
        ],
        "assertions": [
            {
                "label": ACTIONS_LABEL,
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": DIGITAL_SOURCE_TYPE[format],
                            "softwareAgent": {"name": "tantieme", "version": __version__},
                            "parameters": {"ingredientIds": ["model", "prompt"]},
                        }
                    ]
                },
            },
            {"label": TRAINING_MINING_LABEL, "data": {"entries": training_mining(sources)}},
            {"label": INTERACTION_LABEL, "data": interaction},
        ],
    }


def _check_inputs(
    format: str,
    title: str,
    model: ModelRef,
    sources: Sequence[Source],
    record_id: str,
    batch_root: str | None,
    chain_id: int,
    contracts: Mapping[str, str],
) -> None:
    if format not in DIGITAL_SOURCE_TYPE:
        raise ProvenanceError(
            f"unsupported answer format {format!r}: use one of {', '.join(DIGITAL_SOURCE_TYPE)}"
        )
    if not title.strip():
        raise ProvenanceError("the credential needs a title")
    if not model.name.strip() or not model.weights_hash.strip():
        raise ProvenanceError("the model needs a name and a weights hash")
    if not record_id.strip():
        raise ProvenanceError("the credential needs the interaction record's id")
    if batch_root is not None and not _BYTES32.fullmatch(batch_root):
        raise ProvenanceError(f"batch root {batch_root!r} is not a 0x-prefixed 32-byte hex string")
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        raise ProvenanceError(f"chain id must be a positive integer, not {chain_id!r}")
    if "ledger" not in contracts:
        raise ProvenanceError("contracts must include the 'ledger' (InteractionLedger) address")
    for name, address in contracts.items():
        if not _ADDRESS.fullmatch(address):
            raise ProvenanceError(
                f"contract address {name}={address!r} is not a 0x-prefixed 20-byte hex string"
            )
    seen: set[int] = set()
    for s in sources:
        if s.asset_id in seen:
            raise ProvenanceError(f"source asset #{s.asset_id} is listed twice")
        seen.add(s.asset_id)
        if not 0 <= s.weight_bps <= 10_000:
            raise ProvenanceError(
                f"source #{s.asset_id}: weight {s.weight_bps} bps is outside 0..10,000"
            )
    total = sum(s.weight_bps for s in sources)
    if total > 10_000:
        raise ProvenanceError(f"source weights add up to {total} bps, more than 10,000")
