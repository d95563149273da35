"""A device's TLS identity: its own key and self-signed certificate, trusted by fingerprint.

The fingerprint (SHA-256 of the certificate's DER, 64 lowercase hex digits) is the device id
(docs/security.md). Controllers pin it, so names and dates in the certificate do not matter:
the validity runs from 2000 to 9999 so a wall-clock jump never makes it "expire".
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connect.errors import ConnectError

__all__ = [
    "CERT_FILE",
    "KEY_FILE",
    "TlsIdentity",
    "TlsIdentityError",
    "fingerprint_of_der",
    "load_or_create_identity",
    "server_context",
]

KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"
_NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)


class TlsIdentityError(ConnectError, OSError):
    """The key or certificate cannot be read, made or written; the message says which."""


@dataclass(frozen=True)
class TlsIdentity:
    """Where a device's key and certificate are, and the certificate's fingerprint."""

    key_path: Path
    cert_path: Path
    fingerprint: str


def fingerprint_of_der(der: bytes) -> str:
    """Return the SHA-256 of a DER certificate as 64 lowercase hex digits (the device id)."""
    return hashlib.sha256(der).hexdigest()


def load_or_create_identity(directory: Path, common_name: str = "Baton device") -> TlsIdentity:
    """Return the identity kept in *directory*, making a key and certificate on first use.

    Raises TlsIdentityError when the files cannot be read or written, or do not match.
    """
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    try:
        if not cert_path.exists() or not key_path.exists():
            _create(directory, key_path, cert_path, common_name)
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise TlsIdentityError(f"TLS identity in {directory}: {exc}") from exc
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise TlsIdentityError(f"TLS identity in {directory}: {KEY_FILE} does not match the cert")
    der = certificate.public_bytes(serialization.Encoding.DER)
    return TlsIdentity(key_path, cert_path, fingerprint_of_der(der))


def server_context(identity: TlsIdentity) -> ssl.SSLContext:
    """Return a TLS 1.2+ server context presenting *identity* (no client certificates)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(identity.cert_path, identity.key_path)
    except (OSError, ssl.SSLError) as exc:
        raise TlsIdentityError(f"cannot load {identity.cert_path}: {exc}") from exc
    return context


def _create(directory: Path, key_path: Path, cert_path: Path, common_name: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The key first and the certificate last: a crash in between leaves no certificate, so
    # the next start makes both again instead of pairing a certificate with a lost key.
    _write_private(key_path, key_pem, 0o600)
    _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _write_private(path: Path, data: bytes, mode: int) -> None:
    """Write *data* to *path* atomically (temporary file, fsync, rename), created with *mode*."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
