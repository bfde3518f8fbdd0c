"""Signing answers and verifying their credentials, with real c2pa (no mocks)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tantieme.errors import ProvenanceError
from tantieme.provenance import (
    CA,
    INTERACTION_LABEL,
    sidecar_path,
    sign_answer,
    verify_credential,
)

from .conftest import SignedAnswer

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
PROMPT = "Who is owed a share of an AI answer?"


# --- round trip ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "source_type"),
    [
        ("answer.txt", "Authors are owed a share.\n", "trainedAlgorithmicMedia"),
        ("answer.json", '{"answer": "Authors are owed a share."}', "trainedAlgorithmicData"),
    ],
)
def test_sign_verify__own_ca__trusted(
    signed_answer: SignedAnswer, ca: CA, name: str, body: str, source_type: str
) -> None:
    answer = signed_answer(name, body)

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    assert sidecar_path(answer).exists() and sidecar_path(answer).name == "answer.c2pa"
    assert answer.read_text() == body  # the answer itself is untouched
    assert report.status == "Trusted" and report.trusted
    assert report.issues == ()
    assert report.signer == "node-alpha"
    assert report.title == "Answer to: who is owed?"
    [created] = report.actions
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == IPTC + source_type
    assert created["softwareAgent"]["name"] == "tantieme"
    assert len(created["parameters"]["ingredients"]) == 2


def test_sign_verify__ingredients__model_and_prompt_are_inputs(
    signed_answer: SignedAnswer, ca: CA, answer_args: dict[str, Any]
) -> None:
    answer = signed_answer()

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    model, prompt = report.ingredients
    assert model["relationship"] == prompt["relationship"] == "inputTo"
    assert model["title"] == "SmolLM2-135M-Instruct"
    assert model["description"] == answer_args["model"].weights_hash
    assert model["instance_id"] == "tantieme:asset:1"
    assert model["data_types"] == [{"type": "c2pa.types.model"}]
    assert prompt["data_types"] == [{"type": "c2pa.types.generator.prompt"}]
    assert report.prompt_text == PROMPT


def test_sign_verify__interaction_assertion__round_trips(
    signed_answer: SignedAnswer, ca: CA
) -> None:
    root = "0x" + "ab" * 32
    answer = signed_answer(batch_root=root)

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    assert report.assertions[INTERACTION_LABEL] == report.interaction
    assert report.interaction == {
        "version": 1,
        "record_id": "0xrecord0001",
        "batch_root": root,
        "anchor_status": "anchored",
        "chain_id": 31337,
        "contracts": {"ledger": "0x" + "1f" * 20, "registry": "0x" + "2e" * 20},
        "model": {
            "name": "SmolLM2-135M-Instruct",
            "asset_id": 1,
            "weights_hash": "sha256:" + "0" * 64,
        },
        "prompt_hash": "sha256:" + hashlib.sha256(PROMPT.encode()).hexdigest(),
        "sources": [
            {
                "asset_id": 3,
                "title": "On Royalties",
                "weight_bps": 6000,
                "consent": {
                    "training": True,
                    "fine_tuning": True,
                    "retrieval": True,
                    "output_commercial": True,
                },
            },
            {
                "asset_id": 7,
                "title": "A Dataset of Fables",
                "weight_bps": 2500,
                "consent": {
                    "training": True,
                    "fine_tuning": True,
                    "retrieval": True,
                    "output_commercial": True,
                },
            },
        ],
    }


def test_sign__prompt_hash_only__records_hash_without_text(
    signed_answer: SignedAnswer, ca: CA
) -> None:
    answer = signed_answer(prompt_text=None, prompt_hash="0x" + "cd" * 32)

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    assert report.trusted
    assert report.prompt_text is None
    assert report.interaction["prompt_hash"] == "0x" + "cd" * 32
    assert report.ingredients[1]["description"] == "0x" + "cd" * 32


def test_sign__again__replaces_sidecar(signed_answer: SignedAnswer, ca: CA) -> None:
    signed_answer(record_id="0xfirst")
    answer = signed_answer(record_id="0xsecond")

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    assert report.trusted and report.interaction["record_id"] == "0xsecond"


# --- tampering and trust ---------------------------------------------------------------


def test_verify__answer_byte_changed__invalid(signed_answer: SignedAnswer, ca: CA) -> None:
    answer = signed_answer(body="Authors are owed a share.\n")
    answer.write_text("Authors are owed a shark.\n")

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    assert report.status == "Invalid"
    assert "assertion.dataHash.mismatch" in report.reasons


def test_verify__assertion_in_sidecar_changed__invalid(signed_answer: SignedAnswer, ca: CA) -> None:
    answer = signed_answer(record_id="0xrecord0001")
    sidecar = sidecar_path(answer)
    store = sidecar.read_bytes()
    assert store.count(b"0xrecord0001") == 1
    sidecar.write_bytes(store.replace(b"0xrecord0001", b"0xrecord0002"))

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    assert report.status == "Invalid"
    assert "assertion.hashedURI.mismatch" in report.reasons


def test_verify__signature_byte_changed__invalid(signed_answer: SignedAnswer, ca: CA) -> None:
    answer = signed_answer()
    sidecar = sidecar_path(answer)
    store = bytearray(sidecar.read_bytes())
    store[-10] ^= 0x01  # the claim signature is the store's last box
    sidecar.write_bytes(bytes(store))

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    assert report.status == "Invalid"
    assert "claimSignature.mismatch" in report.reasons


@pytest.mark.parametrize(
    "corrupt", [b"", b"not a manifest", None], ids=["empty", "junk", "truncated"]
)
def test_verify__sidecar_unparseable__invalid(
    signed_answer: SignedAnswer, ca: CA, corrupt: bytes | None
) -> None:
    answer = signed_answer()
    sidecar = sidecar_path(answer)
    store = sidecar.read_bytes()
    sidecar.write_bytes(store[: len(store) // 2] if corrupt is None else corrupt)

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)

    assert report.status == "Invalid"
    assert report.reasons == ("tantieme.sidecar.unreadable",)


def test_verify__sidecar_of_other_answer__invalid(signed_answer: SignedAnswer, ca: CA) -> None:
    first = signed_answer("first.txt", "One answer.\n")
    second = signed_answer("second.txt", "Another answer.\n")

    report = verify_credential(
        second, trust_anchor_pem=ca.root_cert_pem, sidecar=sidecar_path(first)
    )

    assert report.status == "Invalid"
    assert "assertion.dataHash.mismatch" in report.reasons


def test_verify__other_trust_anchor__valid_but_untrusted(
    signed_answer: SignedAnswer, other_ca: CA
) -> None:
    answer = signed_answer()

    report = verify_credential(answer, trust_anchor_pem=other_ca.root_cert_pem)

    assert report.status == "Valid" and not report.trusted
    assert report.reasons == ("signingCredential.untrusted",)
    assert report.interaction["record_id"] == "0xrecord0001"  # still readable


def test_verify__signed_by_other_ca__untrusted(
    signed_answer: SignedAnswer, ca: CA, other_ca: CA
) -> None:
    answer = signed_answer(ca=other_ca)

    report = verify_credential(answer, trust_anchor_pem=ca.root_cert_pem.decode())

    assert report.status == "Valid" and not report.trusted
    assert report.signer == "node-beta"
    assert "signingCredential.untrusted" in report.reasons


# --- bad input -------------------------------------------------------------------------


def test_verify__answer_missing__raises(tmp_path: Path, ca: CA) -> None:
    with pytest.raises(ProvenanceError, match="does not exist"):
        verify_credential(tmp_path / "nope.txt", trust_anchor_pem=ca.root_cert_pem)


def test_verify__sidecar_missing__raises(tmp_path: Path, ca: CA) -> None:
    answer = tmp_path / "answer.txt"
    answer.write_text("unsigned\n")

    with pytest.raises(ProvenanceError, match=r"answer\.c2pa is missing"):
        verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)


def test_verify__sidecar_unreadable__raises(signed_answer: SignedAnswer, ca: CA) -> None:
    answer = signed_answer()
    sidecar = sidecar_path(answer)
    sidecar.unlink()
    sidecar.mkdir()

    with pytest.raises(ProvenanceError, match="cannot read the credential"):
        verify_credential(answer, trust_anchor_pem=ca.root_cert_pem)


def test_verify__anchor_not_pem__raises(signed_answer: SignedAnswer) -> None:
    answer = signed_answer()

    with pytest.raises(ProvenanceError, match="not a PEM certificate"):
        verify_credential(answer, trust_anchor_pem=b"not a certificate")


def test_sign__answer_missing__raises(tmp_path: Path, answer_args: dict[str, Any]) -> None:
    with pytest.raises(ProvenanceError, match="does not exist"):
        sign_answer(tmp_path / "nope.txt", format="text/plain", **answer_args)


def test_sign__json_answer_not_json__raises(tmp_path: Path, answer_args: dict[str, Any]) -> None:
    answer = tmp_path / "answer.json"
    answer.write_text("not json")

    with pytest.raises(ProvenanceError, match="not valid JSON"):
        sign_answer(answer, format="application/json", **answer_args)


def test_sign__no_prompt__raises(signed_answer: SignedAnswer) -> None:
    with pytest.raises(ProvenanceError, match="prompt"):
        signed_answer(prompt_text=None)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"format": "text/html"}, "unsupported answer format"),
        ({"record_id": ""}, "record's id"),
        ({"batch_root": "0x1234"}, "batch root"),
        ({"chain_id": 0}, "chain id"),
        ({"contracts": {"registry": "0x" + "2e" * 20}}, "'ledger'"),
        ({"contracts": {"ledger": "0x123"}}, "ledger='0x123'"),
    ],
)
def test_sign__bad_fields__raises_and_writes_nothing(
    tmp_path: Path, signed_answer: SignedAnswer, override: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProvenanceError, match=message):
        signed_answer(**override)
    assert not (tmp_path / "answer.c2pa").exists()
