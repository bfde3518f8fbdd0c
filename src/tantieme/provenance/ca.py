"""The node's own certificate authority for signing content credentials.

One offline root (EC P-256, self-signed, CA only) and one leaf signing
certificate under it, made once per node by `tantieme init`. The leaf carries
what c2pa-rs's certificate-profile check asks of a C2PA signer: X.509 v3,
ECDSA-SHA256 on P-256, `cA=false`, a critical key usage with
`digitalSignature` only, an extended key usage it accepts (`emailProtection`,
plus the C2PA signing OID), and authority/subject key identifiers.

Verifiers trust the root as a *user trust anchor*; the manifest carries only
the leaf. Private keys are PKCS#8 PEM files with mode 0600 in a 0700 folder.
Signing is offline (no time-stamp authority), so a credential verifies
against the leaf's validity at verification time: the leaf is re-issued from
the root when it has expired or is about to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from tantieme.errors import ProvenanceError
from tantieme.files import write_atomic

ROOT_CERT = "root-ca.pem"
ROOT_KEY = "root-ca.key"
SIGNER_CERT = "signer.pem"
SIGNER_KEY = "signer.key"

# Validity: the root outlives many leaves; a leaf is renewed this long before it ends.
ROOT_VALIDITY = dt.timedelta(days=20 * 365)
SIGNER_VALIDITY = dt.timedelta(days=5 * 365)
SIGNER_RENEW_BEFORE = dt.timedelta(days=30)
# Backdating absorbs small clock differences between signer and verifier.
BACKDATE = dt.timedelta(minutes=5)

# C2PA's own signing EKU (c2pa-rs accepts it beside emailProtection and documentSigning).
C2PA_SIGNING_EKU = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
ORGANIZATION = "tantieme"


@dataclass(frozen=True)
class CA:
    """A node's credential-signing CA, as stored under `dir`."""

    dir: Path
    root_cert_pem: bytes
    """The root certificate: the trust anchor verifiers add."""
    signer_cert_pem: bytes
    """The leaf certificate that signs manifests (the x5chain)."""

    @property
    def root_cert_path(self) -> Path:
        return self.dir / ROOT_CERT

    @property
    def signer_cert_path(self) -> Path:
        return self.dir / SIGNER_CERT

    @property
    def signer_key_path(self) -> Path:
        return self.dir / SIGNER_KEY

    def signer_key_pem(self) -> bytes:
        """The leaf's private key, read from disk when needed (never kept in memory)."""
        try:
            return self.signer_key_path.read_bytes()
        except OSError as exc:
            raise ProvenanceError(f"cannot read signing key {self.signer_key_path}: {exc}") from exc


def ensure_ca(dir: Path, subject_name: str) -> CA:
    """Create the CA under `dir` if absent, else load it; renew an expiring leaf.

    `subject_name` names the node (the leaf's common name; the root is
    "<subject_name> Root CA"). A second call loads what the first one wrote.
    """
    if not subject_name.strip():
        raise ProvenanceError("the CA needs a subject name (the node's name)")
    dir = Path(dir)
    root_cert_path, root_key_path = dir / ROOT_CERT, dir / ROOT_KEY
    present = [p.exists() for p in (root_cert_path, root_key_path)]
    if any(present) and not all(present):
        raise ProvenanceError(
            f"incomplete CA in {dir}: {ROOT_CERT} and {ROOT_KEY} must both exist "
            "(restore the missing file or remove the folder to start a new CA)"
        )
    try:
        dir.mkdir(parents=True, exist_ok=True)
        dir.chmod(0o700)
    except OSError as exc:
        raise ProvenanceError(f"cannot create the CA folder {dir}: {exc}") from exc

    now = dt.datetime.now(dt.UTC)
    if all(present):
        root_cert, root_key = _load_pair(root_cert_path, root_key_path)
    else:
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_cert = _issue_root(root_key, subject_name, now)
        _write_key(root_key_path, root_key)
        _write_file(root_cert_path, root_cert.public_bytes(serialization.Encoding.PEM), 0o644)

    signer_cert_path, signer_key_path = dir / SIGNER_CERT, dir / SIGNER_KEY
    signer_cert = None
    if signer_cert_path.exists() and signer_key_path.exists():
        signer_cert, _ = _load_pair(signer_cert_path, signer_key_path)
        if (
            signer_cert.not_valid_after_utc - SIGNER_RENEW_BEFORE <= now
            or signer_cert.issuer != root_cert.subject
        ):
            signer_cert = None
    if signer_cert is None:
        signer_key = ec.generate_private_key(ec.SECP256R1())
        signer_cert = _issue_signer(signer_key, root_key, root_cert, subject_name, now)
        _write_key(signer_key_path, signer_key)
        _write_file(signer_cert_path, signer_cert.public_bytes(serialization.Encoding.PEM), 0o644)

    return CA(
        dir=dir,
        root_cert_pem=root_cert.public_bytes(serialization.Encoding.PEM),
        signer_cert_pem=signer_cert.public_bytes(serialization.Encoding.PEM),
    )


def _issue_root(
    key: ec.EllipticCurvePrivateKey, subject_name: str, now: dt.datetime
) -> x509.Certificate:
    name = _name(f"{subject_name} Root CA")
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue_signer(
    key: ec.EllipticCurvePrivateKey,
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    subject_name: str,
    now: dt.datetime,
) -> x509.Certificate:
    public = key.public_key()
    not_after = min(now + SIGNER_VALIDITY, root_cert.not_valid_after_utc)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject_name))
        .issuer_name(root_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, C2PA_SIGNING_EKU]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        ]
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    # A CA only signs certificates; the leaf only signs (c2pa rejects keyCertSign on a leaf).
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _load_pair(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ProvenanceError(f"cannot load {cert_path.name} / {key_path.name}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise ProvenanceError(f"{key_path} is not the private key of {cert_path}")
    return cert, key


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_file(path, pem, 0o600)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with `mode`, or say why not."""
    try:
        write_atomic(path, data, mode)
    except OSError as exc:
        raise ProvenanceError(f"cannot write {path}: {exc}") from exc
