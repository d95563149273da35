"""A device's TLS identity: made once, fingerprint = device id, key private (connect/tls.py)."""

from __future__ import annotations

import hashlib
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from connect import tls


def test_the_identity_is_made_once_and_its_fingerprint_is_the_der_hash(tmp_path: Path) -> None:
    first = tls.load_or_create_identity(tmp_path / "tls")
    again = tls.load_or_create_identity(tmp_path / "tls")
    assert first == again
    cert = x509.load_pem_x509_certificate(first.cert_path.read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    assert first.fingerprint == hashlib.sha256(der).hexdigest() == tls.fingerprint_of_der(der)
    assert len(first.fingerprint) == 64
    assert first.fingerprint == first.fingerprint.lower()
    assert stat.S_IMODE(first.key_path.stat().st_mode) == 0o600
    assert cert.not_valid_before_utc.year == 2000
    assert cert.not_valid_after_utc.year == 9999


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
