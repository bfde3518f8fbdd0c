"""Consent → `cawg.training-mining`: the strictest source wins, nothing is allowed by default."""

from __future__ import annotations

import pytest

from tantieme.errors import ProvenanceError
from tantieme.provenance import CA, Consent, Source, training_mining, verify_credential

from .conftest import SignedAnswer

ALL = Consent(training=True, fine_tuning=True, retrieval=True, output_commercial=True)
NONE = Consent()
NON_COMMERCIAL = Consent(training=True, fine_tuning=True, retrieval=True)
RAG_ONLY = Consent(retrieval=True, output_commercial=True)
NO_FINE_TUNING = Consent(training=True, retrieval=True, output_commercial=True)
FINE_TUNING_ONLY = Consent(fine_tuning=True, output_commercial=True)

A, C, N = "allowed", "constrained", "notAllowed"


def src(asset_id: int, consent: Consent) -> Source:
    return Source(asset_id=asset_id, title=f"work {asset_id}", weight_bps=1_000, consent=consent)


@pytest.mark.parametrize(
    ("consents", "inference", "mining", "training", "generative", "fine_tuning"),
    [
        pytest.param([ALL], A, A, A, A, A, id="one open source"),
        pytest.param([ALL, ALL], A, A, A, A, A, id="all open"),
        pytest.param([], N, N, N, N, N, id="no sources: deny by default"),
        pytest.param([NONE], N, N, N, N, N, id="one closed source"),
        pytest.param([ALL, NONE], N, N, N, N, N, id="one refusal is enough"),
        pytest.param([RAG_ONLY], A, A, N, N, N, id="retrieval only"),
        pytest.param([ALL, NO_FINE_TUNING], A, A, A, N, N, id="no fine-tuning"),
        pytest.param([FINE_TUNING_ONLY], N, N, N, N, A, id="fine-tuning only"),
        pytest.param([ALL, NON_COMMERCIAL], C, C, C, C, C, id="non-commercial constrains"),
        pytest.param([RAG_ONLY, NON_COMMERCIAL], C, C, N, N, N, id="refusal beats constraint"),
        pytest.param([NON_COMMERCIAL, RAG_ONLY], C, C, N, N, N, id="order does not matter"),
    ],
)
def test_training_mining__consents__map_to_uses(
    consents: list[Consent],
    inference: str,
    mining: str,
    training: str,
    generative: str,
    fine_tuning: str,
) -> None:
    entries = training_mining([src(i + 1, c) for i, c in enumerate(consents)])

    assert {label: entry["use"] for label, entry in entries.items()} == {
        "cawg.ai_inference": inference,
        "cawg.data_mining": mining,
        "cawg.ai_training": training,
        "cawg.ai_generative_training": generative,
        "org.tantieme.ai_fine_tuning": fine_tuning,
    }
    for entry in entries.values():
        assert ("constraint_info" in entry) == (entry["use"] == C)


def test_training_mining__constrained__names_non_commercial_sources() -> None:
    entries = training_mining([src(3, ALL), src(9, NON_COMMERCIAL), src(12, NON_COMMERCIAL)])

    assert entries["cawg.ai_training"] == {
        "use": "constrained",
        "constraint_info": "non-commercial use only (sources #9, #12 do not consent "
        "to commercial use of outputs)",
    }


@pytest.mark.parametrize(
    ("consents", "expected"),
    [
        ([ALL], A),
        ([ALL, NO_FINE_TUNING], N),
        ([ALL, NON_COMMERCIAL], C),
    ],
)
def test_sign_verify__training_mining__round_trips(
    signed_answer: SignedAnswer, ca: CA, consents: list[Consent], expected: str
) -> None:
    sources = [src(i + 1, c) for i, c in enumerate(consents)]
    answer = signed_answer(sources=sources)

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    assert report.trusted
    assert report.training_mining == training_mining(sources)
    assert report.training_mining["cawg.ai_generative_training"]["use"] == expected


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([Source(3, "a", 10_001)], "outside 0..10,000"),
        ([Source(3, "a", -1)], "outside 0..10,000"),
        ([Source(3, "a", 6_000), Source(4, "b", 5_000)], "add up to 11000"),
        ([Source(3, "a", 10), Source(3, "a", 10)], "listed twice"),
    ],
)
def test_sign__bad_sources__raises(
    signed_answer: SignedAnswer, sources: list[Source], message: str
) -> None:
    with pytest.raises(ProvenanceError, match=message):
        signed_answer(sources=sources)
