"""Sign an answer with a C2PA content credential, and verify one.

Text and JSON cannot carry an embedded manifest, so the manifest store goes
into a sidecar beside the answer, named as c2pa-rs and c2patool look for it:
`answer.txt` → `answer.c2pa`. Its hard binding is a data hash of the whole
answer file, so changing one byte of the answer breaks it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import c2pa
from cryptography import x509

from tantieme import __version__
from tantieme.errors import ProvenanceError
from tantieme.files import write_atomic
from tantieme.provenance.ca import CA
from tantieme.provenance.manifest import (
    INTERACTION_LABEL,
    PROMPT_RESOURCE,
    TRAINING_MINING_LABEL,
    AnswerFormat,
    ModelRef,
    Source,
    build_manifest,
    prompt_digest,
)

Status = Literal["Trusted", "Valid", "Invalid"]

SIDECAR_SUFFIX = ".c2pa"
# Our own code for a sidecar c2pa cannot parse at all (not a C2PA validation code).
UNREADABLE = "tantieme.sidecar.unreadable"


@dataclass(frozen=True)
class Issue:
    """One validation failure: a C2PA validation-status code and its explanation."""

    code: str
    explanation: str = ""


@dataclass(frozen=True)
class CredentialReport:
    """What verifying an answer's credential found.

    `status` is c2pa's validation state: `Trusted` (signature valid, signer
    chains to the given trust anchor), `Valid` (signature and bindings valid
    but the signer is not trusted), `Invalid` (something does not match).
    """

    status: Status
    issues: tuple[Issue, ...] = ()
    signer: str | None = None
    """Common name of the signing certificate."""
    title: str | None = None
    interaction: dict[str, Any] | None = None
    """The `org.tantieme.interaction` assertion: record id, batch root, sources..."""
    training_mining: dict[str, dict[str, str]] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    ingredients: list[dict[str, Any]] = field(default_factory=list)
    prompt_text: str | None = None
    assertions: dict[str, Any] = field(default_factory=dict)
    """Every assertion of the active manifest, label → data."""

    @property
    def trusted(self) -> bool:
        return self.status == "Trusted"

    @property
    def reasons(self) -> tuple[str, ...]:
        """The failure codes, e.g. ("assertion.dataHash.mismatch",)."""
        return tuple(i.code for i in self.issues)


def sidecar_path(answer_path: Path) -> Path:
    """Where an answer's credential lives: same name, `.c2pa` extension."""
    return Path(answer_path).with_suffix(SIDECAR_SUFFIX)


def sign_answer(
    answer_path: Path,
    *,
    ca: CA,
    format: AnswerFormat,
    title: str,
    model: ModelRef,
    sources: Sequence[Source],
    record_id: str,
    batch_root: str | None,
    chain_id: int,
    contracts: Mapping[str, str],
    prompt_text: str | None = None,
    prompt_hash: str | None = None,
) -> Path:
    """Write the answer's signed C2PA manifest to its sidecar; return the sidecar's path.

    Give the prompt's text (embedded in the credential, hashed as
    "sha256:<hex>") or only its hash (recorded as given), or both.
    `contracts` maps names to addresses and must hold "ledger".
    """
    answer_path = Path(answer_path)
    if answer_path.suffix.lower() == SIDECAR_SUFFIX:
        raise ProvenanceError(f"{answer_path} looks like a credential, not an answer")
    content = _read_answer(answer_path)
    if format == "application/json":
        try:
            json.loads(content)
        except ValueError as exc:
            raise ProvenanceError(f"{answer_path} is not valid JSON: {exc}") from exc
    if prompt_text is None and prompt_hash is None:
        raise ProvenanceError("give the prompt's text or its hash")
    manifest = build_manifest(
        format=format,
        title=title,
        model=model,
        sources=sources,
        record_id=record_id,
        batch_root=batch_root,
        chain_id=chain_id,
        contracts=contracts,
        prompt_hash=prompt_hash if prompt_hash is not None else prompt_digest(prompt_text or ""),
        embed_prompt=prompt_text is not None,
    )
    info = c2pa.C2paSignerInfo(
        alg=b"es256", sign_cert=ca.signer_cert_pem, private_key=ca.signer_key_pem(), ta_url=None
    )
    try:
        with (
            _context(ca.root_cert_pem, signing=True) as context,
            c2pa.Signer.from_info(info) as signer,
            c2pa.Builder(manifest, context) as builder,
        ):
            builder.set_no_embed()
            if prompt_text is not None:
                builder.add_resource(PROMPT_RESOURCE, io.BytesIO(prompt_text.encode()))
            store = builder.sign(signer, format, io.BytesIO(content), io.BytesIO())
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"signing {answer_path} failed: {exc}") from exc
    if not store:
        raise ProvenanceError(f"signing {answer_path} produced no manifest")
    sidecar = sidecar_path(answer_path)
    _write_atomic(sidecar, store)
    return sidecar


def verify_credential(
    answer_path: Path,
    *,
    trust_anchor_pem: bytes | str,
    sidecar: Path | None = None,
) -> CredentialReport:
    """Check the answer against its sidecar, trusting only `trust_anchor_pem`.

    A credential that does not verify is a verdict, not an error: a changed
    answer, a changed or corrupt sidecar or an unknown signer comes back as
    `Invalid` or `Valid` with the reasons. Errors are for what the caller can
    fix: a missing or unreadable answer or sidecar, or an anchor that is not
    a PEM certificate.
    """
    answer_path = Path(answer_path)
    content = _read_answer(answer_path)
    sidecar = sidecar_path(answer_path) if sidecar is None else Path(sidecar)
    try:
        store = sidecar.read_bytes()
    except FileNotFoundError:
        raise ProvenanceError(
            f"no content credential for {answer_path}: {sidecar} is missing"
        ) from None
    except OSError as exc:
        raise ProvenanceError(f"cannot read the credential {sidecar}: {exc}") from exc
    anchor = _anchor_pem(trust_anchor_pem)
    if not store:
        return CredentialReport("Invalid", (Issue(UNREADABLE, f"{sidecar.name} is empty"),))
    fmt = "application/json" if answer_path.suffix.lower() == ".json" else "text/plain"
    try:
        with (
            _context(anchor, signing=False) as context,
            c2pa.Reader(fmt, io.BytesIO(content), store, context=context) as reader,
        ):
            state = reader.get_validation_state() or "Invalid"
            results = reader.get_validation_results() or {}
            store_json = json.loads(reader.json())
            manifest = store_json.get("manifests", {}).get(store_json.get("active_manifest"), {})
            prompt_text = _prompt_text(reader, manifest)
    except c2pa.C2paError as exc:
        return CredentialReport("Invalid", (Issue(UNREADABLE, str(exc)),))
    return _report(state, results, manifest, prompt_text)


def _report(
    state: str, results: dict[str, Any], manifest: dict[str, Any], prompt_text: str | None
) -> CredentialReport:
    failures = list((results.get("activeManifest") or {}).get("failure") or [])
    for delta in results.get("ingredientDeltas") or []:
        failures.extend((delta.get("validationDeltas") or {}).get("failure") or [])
    issues = tuple(Issue(f.get("code", "?"), f.get("explanation", "")) for f in failures)
    assertions = {a["label"]: a.get("data") for a in manifest.get("assertions", [])}
    actions: list[dict[str, Any]] = next(
        (
            d.get("actions", [])
            for label, d in assertions.items()
            if label.startswith("c2pa.actions")
        ),
        [],
    )
    status: Status = "Trusted" if state == "Trusted" else "Valid" if state == "Valid" else "Invalid"
    if status != "Invalid" and not manifest:
        status, issues = "Invalid", (*issues, Issue(UNREADABLE, "no active manifest"))
    return CredentialReport(
        status=status,
        issues=issues,
        signer=(manifest.get("signature_info") or {}).get("common_name"),
        title=manifest.get("title"),
        interaction=assertions.get(INTERACTION_LABEL),
        training_mining=(assertions.get(TRAINING_MINING_LABEL) or {}).get("entries", {}),
        actions=actions,
        ingredients=manifest.get("ingredients", []),
        prompt_text=prompt_text,
        assertions=assertions,
    )


def _prompt_text(reader: c2pa.Reader, manifest: dict[str, Any]) -> str | None:
    for ingredient in manifest.get("ingredients", []):
        types = {t.get("type") for t in ingredient.get("data_types") or []}
        data = ingredient.get("data") or {}
        if "c2pa.types.generator.prompt" in types and data.get("identifier"):
            out = io.BytesIO()
            reader.resource_to_stream(data["identifier"], out)
            return out.getvalue().decode("utf-8", errors="replace")
    return None


def _context(anchor_pem: bytes, *, signing: bool) -> c2pa.Context:
    """A c2pa context that trusts `anchor_pem` (user anchor) and fetches nothing."""
    settings: dict[str, Any] = {
        "trust": {"user_anchors": anchor_pem.decode()},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    if signing:
        settings["builder"] = {
            "claim_generator_info": {"name": "tantieme", "version": __version__},
            "thumbnail": {"enabled": False},
        }
    try:
        return c2pa.Context.from_dict(settings)
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"c2pa rejected the settings: {exc}") from exc


def _anchor_pem(pem: bytes | str) -> bytes:
    data = pem.encode() if isinstance(pem, str) else bytes(pem)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ProvenanceError(f"the trust anchor is not a PEM certificate: {exc}") from exc
    if not certs:
        raise ProvenanceError("the trust anchor holds no certificate")
    return data


def _read_answer(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ProvenanceError(f"answer file {path} does not exist") from None
    except OSError as exc:
        raise ProvenanceError(f"cannot read the answer file {path}: {exc}") from exc


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        write_atomic(path, data, 0o644)
    except OSError as exc:
        raise ProvenanceError(f"cannot write the credential {path}: {exc}") from exc
