"""The receiver's durable state: its TLS identity (whose fingerprint is its device id) and its
session, written atomically.

The session is stored as a Connect frame (the codec's StateSnapshot encoding), so loading it
applies exactly the protocol's validation, and a file from a newer version (unknown fields)
still loads. Writes go to a temporary file that is fsynced and renamed over the old one: a
power cut leaves either the old state or the new one, never half of either.

A queue longer than a snapshot's window (connect/queues.py) does not fit a frame: the
session file then holds the window around the current item, and `queue.bin` the whole queue,
written only when the queue itself changed (its session and revision), not at every volume
step, and at most once a QUEUE_SAVE_INTERVAL_S while it keeps changing (a controller queueing
50 000 items sends 50 commands in a few seconds; `queue_deferred` then says one is owed, and
the last save, at close, writes it whatever the rate). A queue file that does not match the
session (a power cut between the two writes) is not used: the session comes back with the
window as its queue.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from connect import queues as q
from connect.access import tls
from connect.atomic import not_text, write_atomically
from connect.errors import FrameError
from connect.media_urls import media_url_refusal
from connect.wire import codec
from connect.wire import messages as m
from devices._memory import release_freed_memory
from devices.errors import ReceiverError

_LOG = logging.getLogger(__name__)

SESSION_FILE = "session.bin"
QUEUE_FILE = "queue.bin"
QUEUE_SAVE_INTERVAL_S = 5.0
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
        self._queue_saved: tuple[str, int, int] | None = None  # session, revision, length
        self._queue_saved_at = -QUEUE_SAVE_INTERVAL_S  # time.monotonic() of that write
        self.queue_deferred = False  # the last save left the queue file behind the session
        self.queue_save_interval_s = QUEUE_SAVE_INTERVAL_S  # 0 for the last save, at close

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
            # Only logged, then removed: bytes that are not text must not stop the receiver.
            old_id = legacy.read_bytes().decode("utf-8", errors="replace").strip()
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
        """Return the name an owner gave this device, or None if none was given (or unreadable).

        An unreadable name is not worth refusing to start over: the configured one is used,
        and the log says which file to fix or remove.
        """
        path = self.state_dir / NAME_FILE
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as exc:
            why = not_text(exc)
        except OSError as exc:
            why = f"cannot be read ({exc.strerror or exc})"
        _LOG.warning(
            "%s %s; using the configured name: rename the device, or remove the file", path, why
        )
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
        state = self._whole(body.state)
        refused = media_url_refusal(state.queue)
        if refused is not None:
            # Written by an older version that queued any URL, or by hand: neither restored nor
            # resumed, so the player never opens it. Kept for inspection, as an unreadable one.
            kept = path.with_suffix(".refused")
            with contextlib.suppress(OSError):
                path.replace(kept)
            _LOG.warning(
                "saved session %s refused (%s); starting a new session, the file is kept as %s",
                path,
                refused.message,
                kept,
            )
            return None
        return state

    def _whole(self, state: m.PlaybackState) -> m.PlaybackState:
        """Return *state* with its whole queue from QUEUE_FILE, or its window if that fails."""
        if state.queue_whole:
            return state
        path = self.state_dir / QUEUE_FILE
        try:
            saved = codec.decode_saved_queue(path.read_bytes())
        except (OSError, FrameError) as exc:
            _LOG.warning(
                "saved queue %s is unreadable (%s); keeping %d items", path, exc, len(state.queue)
            )
            saved = None
        window = state.queue
        start = state.queue_offset
        if (
            saved is not None
            and (saved.request_id, saved.queue_revision) == (state.session_id, state.queue_revision)
            and saved.items[start : start + len(window)] == window
        ):
            self._queue_saved = (state.session_id, state.queue_revision, len(saved.items))
            return replace(state, queue=saved.items, queue_offset=0, queue_length=0)
        if saved is not None:
            _LOG.warning(
                "saved queue %s belongs to another session or revision; keeping %d items",
                path,
                len(window),
            )
        return replace(state, queue_offset=0, queue_length=0)

    def save_session(self, state: m.PlaybackState, now_us: int) -> None:
        """Save *state* with its position frozen at *now_us*; raise StateDirError on failure."""
        self.write_session(state, now_us, "saved-session")

    def write_session(self, state: m.PlaybackState, now_us: int, stamp: str) -> None:
        """Save *state* (its queue apart when long), its envelope's msg_id being *stamp*."""
        # Instants are meaningless after a restart (monotonic clocks restart at boot): keep the
        # position, not the clock's anchor.
        frozen = replace(
            state,
            clock=m.PlaybackClock(state.clock.position_at(now_us), 0, state.clock.rate, False),
        )
        windowed = q.window(frozen)
        self.queue_deferred = False
        if not windowed.queue_whole:
            self._save_queue(state)
        frame = codec.encode(m.Envelope(1, stamp, m.StateSnapshot(windowed)))
        self._write_atomically(self.state_dir / SESSION_FILE, frame)

    def _save_queue(self, state: m.PlaybackState) -> None:
        """Write the whole queue, unless this very queue was the last one written, or one was
        written less than `queue_save_interval_s` ago (then `queue_deferred`)."""
        key = (state.session_id, state.queue_revision, len(state.queue))
        if key == self._queue_saved:
            return
        if time.monotonic() - self._queue_saved_at < self.queue_save_interval_s:
            self.queue_deferred = True
            return
        parts = codec.encode_saved_queue(state.session_id, state.queue_revision, state.queue)
        self._write_atomically(self.state_dir / QUEUE_FILE, parts)
        self._queue_saved, self._queue_saved_at = key, time.monotonic()
        release_freed_memory()  # the encoding's garbage, back to the system

    def _write_atomically(self, path: Path, data: bytes | Iterable[bytes]) -> None:
        try:
            with self._writing:
                write_atomically(path, data)
        except OSError as exc:
            raise StateDirError(f"cannot save {path}: {exc}") from exc
