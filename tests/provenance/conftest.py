"""Fixtures for content credentials: two nodes' CAs and a factory of signed answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tantieme.provenance import CA, Consent, ModelRef, Source, ensure_ca, sign_answer

LEDGER = "0x" + "1f" * 20
REGISTRY = "0x" + "2e" * 20
MODEL = ModelRef(name="SmolLM2-135M-Instruct", asset_id=1, weights_hash="sha256:" + "0" * 64)
OPEN = Consent(training=True, fine_tuning=True, retrieval=True, output_commercial=True)
SOURCES = (
    Source(asset_id=3, title="On Royalties", weight_bps=6_000, consent=OPEN),
    Source(asset_id=7, title="A Dataset of Fables", weight_bps=2_500, consent=OPEN),
)


@pytest.fixture
def ca(tmp_path: Path) -> CA:
    """This node's CA."""
    return ensure_ca(tmp_path / "ca", "node-alpha")


@pytest.fixture
def other_ca(tmp_path: Path) -> CA:
    """Another node's CA, which this node does not trust."""
    return ensure_ca(tmp_path / "other-ca", "node-beta")


@pytest.fixture
def answer_args(ca: CA) -> dict[str, Any]:
    """The keyword arguments `signed_answer` signs with unless told otherwise."""
    return {
        "ca": ca,
        "title": "Answer to: who is owed?",
        "model": MODEL,
        "sources": SOURCES,
        "record_id": "0xrecord0001",
        "batch_root": None,
        "chain_id": 31337,
        "contracts": {"ledger": LEDGER, "registry": REGISTRY},
        "prompt_text": "Who is owed a share of an AI answer?",
    }


SignedAnswer = Callable[..., Path]


@pytest.fixture
def signed_answer(tmp_path: Path, answer_args: dict[str, Any]) -> SignedAnswer:
    """Write an answer file and sign it; keyword arguments override `answer_args`."""

    def make(
        name: str = "answer.txt", body: str = "Authors are owed a share.\n", **overrides: Any
    ) -> Path:
        path = tmp_path / name
        path.write_text(body)
        fmt = "application/json" if name.endswith(".json") else "text/plain"
        sign_answer(path, **{"format": fmt, **answer_args, **overrides})
        return path

    return make
