"""A device's TLS identity: its own key and self-signed certificate, trusted by fingerprint.

The fingerprint (SHA-256 of the certificate's DER, 64 lowercase hex digits) is the device id
(docs/security.md). Controllers pin it and check nothing else, so the names and dates in the
certificate never matter: a wall-clock jump cannot make it "expire".

The key and certificate are made once, by the `openssl` tool (Debian's `openssl` package,
present wherever `ca-certificates` is): the standard library serves TLS but cannot make a
certificate, and the `cryptography` wheels need a `cffi` that has no wheel for 32-bit ARM,
where many receivers run. Loading and serving use only the standard library.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from connect.atomic import not_text, write_atomically
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
VALID_DAYS = 36_500
"""A century: nothing checks the dates, but a certificate should not look expired to a human."""
_OPENSSL_TIMEOUT_S = 30.0  # making a P-256 key takes milliseconds; a Pi Zero is slower


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

    Raises TlsIdentityError when the files cannot be read, made or written, or do not match.
    """
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    try:
        if not cert_path.exists() or not key_path.exists():
            _create(directory, key_path, cert_path, common_name)
        der = ssl.PEM_cert_to_DER_cert(cert_path.read_text(encoding="ascii"))
        # Loading both into a context checks the key is readable and matches the certificate.
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path)
    except ssl.SSLError as exc:
        raise TlsIdentityError(
            f"TLS identity in {directory}: {KEY_FILE} and {CERT_FILE} are not a matching "
            f"key and certificate ({exc.reason or exc}); move both away to make a new identity"
        ) from exc
    except UnicodeDecodeError as exc:
        raise TlsIdentityError(
            f"TLS identity in {directory}: {CERT_FILE} {not_text(exc)}, so not a certificate; "
            f"move {KEY_FILE} and {CERT_FILE} away to make a new identity (a new device id: "
            "controllers then pair again)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise TlsIdentityError(f"TLS identity in {directory}: {exc}") from exc
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
    # Imported here: a device makes its certificate once; a controller never (~5 ms of start-up).
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        raise TlsIdentityError(
            "cannot make this device's TLS certificate: the `openssl` tool is missing "
            "(apt install openssl)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    key_temporary = key_path.with_name(f".{key_path.name}.{os.getpid()}.tmp")
    cert_temporary = cert_path.with_name(f".{cert_path.name}.{os.getpid()}.tmp")
    subject = "/CN=" + common_name.replace("/", " ").replace("=", " ")
    command = [
        openssl, "req", "-x509", "-new", "-newkey", "ec",
        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-sha256", "-nodes",
        "-days", str(VALID_DAYS), "-subj", subject,
        "-keyout", str(key_temporary), "-out", str(cert_temporary),
    ]  # fmt: skip
    old_umask = os.umask(0o077)  # the key is never readable by others, not even for a moment
    try:
        done = subprocess.run(  # a fixed argv, no shell
            command, capture_output=True, text=True, timeout=_OPENSSL_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            why = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            raise TlsIdentityError(f"openssl could not make the certificate: {why[0]}")
        # The key first and the certificate last: a crash in between leaves no certificate, so
        # the next start makes both again instead of pairing a certificate with a lost key.
        write_atomically(key_path, key_temporary.read_bytes(), 0o600)
        write_atomically(cert_path, cert_temporary.read_bytes(), 0o644)
    except subprocess.TimeoutExpired as exc:
        raise TlsIdentityError(f"openssl took over {_OPENSSL_TIMEOUT_S:g} s") from exc
    finally:
        os.umask(old_umask)
        for leftover in (key_temporary, cert_temporary):
            with contextlib.suppress(OSError):
                leftover.unlink()
