"""The node's CA: created once, loaded after, keys private, leaf fit for C2PA."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tantieme.errors import ProvenanceError
from tantieme.provenance import ca as ca_module
from tantieme.provenance import ensure_ca


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_ca__new__writes_root_and_signer(tmp_path: Path) -> None:
    ca = ensure_ca(tmp_path / "ca", "node-alpha")

    assert sorted(p.name for p in ca.dir.iterdir()) == [
        "root-ca.key",
        "root-ca.pem",
        "signer.key",
        "signer.pem",
    ]
    assert ca.root_cert_path.read_bytes() == ca.root_cert_pem
    assert ca.signer_cert_path.read_bytes() == ca.signer_cert_pem
    assert ca.signer_key_pem().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_ensure_ca__keys_are_private(tmp_path: Path) -> None:
    ca = ensure_ca(tmp_path / "ca", "node-alpha")

    assert _mode(ca.dir) == 0o700
    assert _mode(ca.dir / "root-ca.key") == 0o600
    assert _mode(ca.signer_key_path) == 0o600


def test_ensure_ca__second_call__loads_same_ca(tmp_path: Path) -> None:
    first = ensure_ca(tmp_path / "ca", "node-alpha")
    keys = {p.name: p.read_bytes() for p in first.dir.glob("*.key")}

    second = ensure_ca(tmp_path / "ca", "node-alpha")

    assert second == first
    assert {p.name: p.read_bytes() for p in second.dir.glob("*.key")} == keys


def test_ensure_ca__signer_fits_c2pa_profile(tmp_path: Path) -> None:
    ca = ensure_ca(tmp_path / "ca", "node-alpha")
    root = x509.load_pem_x509_certificate(ca.root_cert_pem)
    leaf = x509.load_pem_x509_certificate(ca.signer_cert_pem)

    leaf.verify_directly_issued_by(root)
    assert leaf.version == x509.Version.v3
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    ekus = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in ekus
    assert ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ekus
    leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert leaf.subject.rfc4514_string() == "O=tantieme,CN=node-alpha"


def test_ensure_ca__expiring_signer__is_renewed_under_same_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ensure_ca(tmp_path / "ca", "node-alpha")
    monkeypatch.setattr(ca_module, "SIGNER_RENEW_BEFORE", ca_module.SIGNER_VALIDITY * 2)

    renewed = ensure_ca(tmp_path / "ca", "node-alpha")

    assert renewed.root_cert_pem == first.root_cert_pem
    assert renewed.signer_cert_pem != first.signer_cert_pem


def test_ensure_ca__root_key_missing__raises(tmp_path: Path) -> None:
    ca = ensure_ca(tmp_path / "ca", "node-alpha")
    (ca.dir / "root-ca.key").unlink()

    with pytest.raises(ProvenanceError, match="incomplete CA"):
        ensure_ca(tmp_path / "ca", "node-alpha")


def test_ensure_ca__foreign_key__raises(tmp_path: Path) -> None:
    ca = ensure_ca(tmp_path / "ca", "node-alpha")
    other = ensure_ca(tmp_path / "other", "node-beta")
    ca.signer_key_path.write_bytes(other.signer_key_pem())

    with pytest.raises(ProvenanceError, match="is not the private key"):
        ensure_ca(tmp_path / "ca", "node-alpha")


def test_ensure_ca__blank_subject__raises(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match="subject name"):
        ensure_ca(tmp_path / "ca", "  ")
