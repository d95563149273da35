"""A device's TLS identity (connect/access/tls.py): made once, fingerprint = id, key private."""

from __future__ import annotations

import hashlib
import ssl
import stat
import subprocess
from pathlib import Path

import pytest

from connect.access import tls


def test_the_identity_is_made_once_and_its_fingerprint_is_the_der_hash(tmp_path: Path) -> None:
    first = tls.load_or_create_identity(tmp_path / "tls")
    again = tls.load_or_create_identity(tmp_path / "tls")
    assert first == again
    der = ssl.PEM_cert_to_DER_cert(first.cert_path.read_text())
    assert first.fingerprint == hashlib.sha256(der).hexdigest() == tls.fingerprint_of_der(der)
    assert len(first.fingerprint) == 64
    assert first.fingerprint == first.fingerprint.lower()
    assert stat.S_IMODE(first.key_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in first.cert_path.parent.iterdir()) == ["cert.pem", "key.pem"]
    described = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(first.cert_path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "prime256v1" in described
    assert "Baton device" in described


def test_without_openssl_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(tls.TlsIdentityError, match="apt install openssl"):
        tls.load_or_create_identity(tmp_path / "tls")
    assert not (tmp_path / "tls" / tls.CERT_FILE).exists()


def test_two_devices_get_two_ids(tmp_path: Path) -> None:
    one = tls.load_or_create_identity(tmp_path / "a")
    two = tls.load_or_create_identity(tmp_path / "b")
    assert one.fingerprint != two.fingerprint


def test_a_server_context_loads_the_identity(tmp_path: Path) -> None:
    context = tls.server_context(tls.load_or_create_identity(tmp_path))
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


def test_a_key_that_does_not_match_the_certificate_is_a_typed_error(tmp_path: Path) -> None:
    tls.load_or_create_identity(tmp_path / "a")
    other = tls.load_or_create_identity(tmp_path / "b")
    (tmp_path / "a" / tls.KEY_FILE).write_bytes(other.key_path.read_bytes())
    with pytest.raises(tls.TlsIdentityError):
        tls.load_or_create_identity(tmp_path / "a")


def test_a_garbled_certificate_is_a_typed_error(tmp_path: Path) -> None:
    identity = tls.load_or_create_identity(tmp_path)
    identity.cert_path.write_text("not a certificate")
    with pytest.raises(tls.TlsIdentityError):
        tls.load_or_create_identity(tmp_path)
