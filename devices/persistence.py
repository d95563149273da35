"""The receiver's durable state: its TLS identity (whose fingerprint is its device id) and its
session, written atomically.

The session is stored as a Connect frame (the codec's StateSnapshot encoding), so loading it
applies exactly the protocol's validation, and a file from a newer version (unknown fields)
still loads. Writes go to a temporary file that is fsynced and renamed over the old one: a
power cut leaves either the old state or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import replace
from pathlib import Path

from connect import codec, tls
from connect import messages as m
from connect.atomic import write_atomically
from connect.errors import FrameError
from devices.errors import ReceiverError

_LOG = logging.getLogger(__name__)

SESSION_FILE = "session.bin"
NAME_FILE = "name"  # a name set by an owner (PUT /connect/v1/name); wins over the config
# The random id of versions before TLS. A receiver that finds it logs the change to the
# certificate's fingerprint and removes it: writing one no longer chooses the id.
LEGACY_DEVICE_ID_FILE = "device-id"
TLS_DIR = "tls"


class StateDirError(ReceiverError, OSError):
    """The state directory cannot be created, read or written (full disk, permissions...)."""


class SessionStore:
    """Reads and writes one receiver's state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        # Saves come from a worker thread and from shutdown; one at a time, so a rename
        # never races another write of the same file.
        self._writing = threading.Lock()

    def prepare(self) -> None:
        """Create the state directory if needed; raise StateDirError if it is not writable."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            probe = self.state_dir / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StateDirError(f"state directory {self.state_dir} is not writable: {exc}") from exc

    def tls_identity(self) -> tls.TlsIdentity:
        """Return this receiver's key and certificate, made on first use (raise StateDirError)."""
        try:
            identity = tls.load_or_create_identity(self.state_dir / TLS_DIR)
        except tls.TlsIdentityError as exc:
            raise StateDirError(str(exc)) from exc
        legacy = self.state_dir / LEGACY_DEVICE_ID_FILE
        with contextlib.suppress(OSError):
            old_id = legacy.read_text().strip()
            legacy.unlink()
            _LOG.warning(
                "device id changed from %s to %s (the TLS certificate's fingerprint): "
                "controllers list this receiver as a new device",
                old_id,
                identity.fingerprint,
            )
        return identity

    def device_id(self) -> str:
        """Return this receiver's stable id: its certificate's fingerprint (docs/security.md)."""
        return self.tls_identity().fingerprint

    def load_name(self) -> str | None:
        """Return the name an owner gave this device, or None if none was given."""
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return (self.state_dir / NAME_FILE).read_text(encoding="utf-8").strip() or None
        return None

    def save_name(self, name: str) -> None:
        """Keep *name* across restarts; raise StateDirError if it cannot be saved."""
        self._write_atomically(self.state_dir / NAME_FILE, name.encode())

    def load_session(self) -> m.PlaybackState | None:
        """Return the saved session, or None if there is none or it cannot be read (logged)."""
        path = self.state_dir / SESSION_FILE
        try:
            body = codec.decode(path.read_bytes()).body
        except FileNotFoundError:
            return None
        except (OSError, FrameError) as exc:
            # Keep the unreadable file for inspection instead of overwriting it silently.
            kept = path.with_suffix(".unreadable")
            with contextlib.suppress(OSError):
                path.replace(kept)
            _LOG.warning("saved session %s is unreadable (%s); kept as %s", path, exc, kept)
            return None
        if not isinstance(body, m.StateSnapshot):
            _LOG.warning("saved session %s holds a %s, ignoring it", path, type(body).__name__)
            return None
        return body.state

    def save_session(self, state: m.PlaybackState, now_us: int) -> None:
        """Save *state* with its position frozen at *now_us*; raise StateDirError on failure."""
        # Instants are meaningless after a restart (monotonic clocks restart at boot): keep the
        # position, not the clock's anchor.
        frozen = replace(
            state,
            clock=m.PlaybackClock(state.clock.position_at(now_us), 0, state.clock.rate, False),
        )
        frame = codec.encode(m.Envelope(1, "saved-session", m.StateSnapshot(frozen)))
        self._write_atomically(self.state_dir / SESSION_FILE, frame)

    def _write_atomically(self, path: Path, data: bytes) -> None:
        try:
            with self._writing:
                write_atomically(path, data)
        except OSError as exc:
            raise StateDirError(f"cannot save {path}: {exc}") from exc
