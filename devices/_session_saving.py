"""Where a receiver's session survives a restart: read back at start, written as it changes.

A `SessionSaver` writes the session to the state directory off the event loop, at most once a
SAVE_INTERVAL_S, and once more at close; a failed write is logged and the music plays on. At
start it gives back the saved session, stopped at its position (nothing is loaded after a
restart), or a new one, and the saved device name if it is still a usable one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace

from connect import messages as m
from connect.clock import Clock
from devices.config import ReceiverConfig, check_name
from devices.persistence import StateDirError
from devices.resume import ResumableStore

# Logged under the receiver's name, as before the split: docs/reliability.md quotes these lines.
_LOG = logging.getLogger("devices.receiver")

SAVE_INTERVAL_S = 1.0
"""At most one session write a second: bounds SD-card wear while a volume slider moves."""


class SessionSaver:
    """Reads the saved session and name back; writes the session when asked, rate-limited."""

    def __init__(self, store: ResumableStore, config: ReceiverConfig, clock: Clock) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._wanted = asyncio.Event()

    def want_save(self) -> None:
        """Ask for the session to be written soon (changes meanwhile coalesce into one write)."""
        self._wanted.set()

    async def async_save_loop(self, current: Callable[[], m.PlaybackState]) -> None:
        """Write `current()` whenever a save was wanted, at most once a SAVE_INTERVAL_S."""
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            # fsync takes milliseconds (far more on an SD card): off the event loop, so no
            # command echo or time response waits for the disk.
            await asyncio.to_thread(self.save_now, current(), self._clock())
            await asyncio.sleep(SAVE_INTERVAL_S)  # rate limit: changes meanwhile coalesce

    def save_now(self, state: m.PlaybackState, now_us: int) -> None:
        """Write *state* at once; log a failure rather than raise it."""
        try:
            self._store.save_session(state, now_us)
        except StateDirError as exc:
            # Keep playing: losing the saved copy is better than losing the music.
            _LOG.error("could not save the session: %s", exc)

    def saved_name(self) -> str:
        """Return the name saved by a rename, or the configured one."""
        saved = self._store.load_name()
        if saved is None:
            return self._config.name
        try:
            return check_name(saved)
        except ValueError:
            _LOG.warning("ignoring the saved name %r: not a usable device name", saved)
            return self._config.name

    def initial_state(self, device_id: str) -> m.PlaybackState:
        """Return the saved session, stopped at its position, or a new one for *device_id*."""
        config = self._config
        restored = self._store.load_session()
        if restored is None:
            return m.PlaybackState(
                session_id=uuid.uuid4().hex,
                revision=1,
                device_id=device_id,
                volume=min(config.initial_volume, config.max_volume),
            )
        # Nothing is loaded after a restart: the session comes back stopped at its position.
        _LOG.info("restored session %s at revision %d", restored.session_id, restored.revision)
        return replace(
            restored,
            device_id=device_id,
            revision=restored.revision + 1,
            status=m.PlaybackStatus.STOPPED,
            clock=m.PlaybackClock(restored.clock.position_ms, self._clock(), 1.0, False),
            volume=min(restored.volume, config.max_volume),
        )
