"""Where a receiver's session survives a restart: read back at start, written as it changes.

A `SessionSaver` writes the session to the state directory off the event loop, at most once a
SAVE_INTERVAL_S, and once more at close. A failed write (a full disk, no descriptor left) is
logged once and tried again, at growing intervals up to SAVE_RETRY_CAP_S, until it succeeds:
the music plays on meanwhile, and the last change is not lost for want of a next one. At
start it gives back the saved session, stopped at its position (nothing is loaded after a
restart), or a new one, and the saved device name if it is still a usable one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace

from connect.clock import Clock
from connect.wire import messages as m
from devices.config import ReceiverConfig, check_name
from devices.persistence import StateDirError
from devices.resume import ResumableStore, followed_elsewhere

# Logged under the receiver's name, as before the split: docs/reliability.md quotes these lines.
_LOG = logging.getLogger("devices.receiver")

SAVE_INTERVAL_S = 1.0
"""At most one session write a second: bounds SD-card wear while a volume slider moves."""
SAVE_RETRY_CAP_S = 30.0
"""The longest wait before trying a failed write again (the wait doubles from SAVE_INTERVAL_S)."""


class SessionSaver:
    """Reads the saved session and name back; writes the session when asked, rate-limited."""

    def __init__(self, store: ResumableStore, config: ReceiverConfig, clock: Clock) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._wanted = asyncio.Event()
        self._failing = ""  # the error of the last write, while writes fail
        self._failures = 0  # failed writes in a row
        # Called on the loop thread before each save: what must be written before the session
        # (the transfer ledger, devices/_transfer_saving.py), or None.
        self.before_session: Callable[[], Callable[[], None] | None] = lambda: None

    def want_save(self) -> None:
        """Ask for the session to be written soon (changes meanwhile coalesce into one write)."""
        self._wanted.set()

    async def async_save_loop(self, current: Callable[[], m.PlaybackState]) -> None:
        """Write `current()` whenever a save was wanted, at most once a SAVE_INTERVAL_S.

        A write that fails is tried again after a wait that doubles up to SAVE_RETRY_CAP_S.
        """
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                # fsync takes milliseconds (far more on an SD card): off the event loop, so
                # no command echo or time response waits for the disk.
                before = self.before_session()
                saved = await asyncio.to_thread(self.save_now, current(), self._clock(), before)
            except BaseException:
                self._wanted.set()  # an unexpected error or a cancel: the loop that runs next
                raise  # (supervised, it is started again) still owes this save
            if saved:
                if self._store.queue_deferred:  # a long queue's file is owed: a later save
                    self._wanted.set()
                await asyncio.sleep(SAVE_INTERVAL_S)  # rate limit: changes meanwhile coalesce
            else:
                self._wanted.set()  # still unsaved: try again after the wait
                wait = SAVE_INTERVAL_S * 2.0 ** min(self._failures - 1, 8)
                await asyncio.sleep(min(SAVE_RETRY_CAP_S, wait))

    def save_now(
        self,
        state: m.PlaybackState,
        now_us: int,
        before: Callable[[], None] | None = None,
        *,
        final: bool = False,
    ) -> bool:
        """Write *before*'s file, then *state*, at once; return whether both were written.

        A failure is logged, not raised: the first of a run at error level, the same one again
        only at debug level (a full disk retried for an hour is one line), success after it at
        info.
        """
        try:
            if before is not None:
                before()  # a failure here keeps the old session too (see _transfer_saving)
            if final:
                self._store.queue_save_interval_s = 0.0  # the last save writes a changed queue
            self._store.save_session(state, now_us)
        except StateDirError as exc:
            # Keep playing: losing the saved copy is better than losing the music.
            self._failures += 1
            kind = _kind_of(exc)
            if kind != self._failing:
                _LOG.error("could not save the session: %s", exc)
            else:
                _LOG.debug("could not save the session (%d in a row): %s", self._failures, exc)
            self._failing = kind
            return False
        if self._failures:
            _LOG.info("saved the session again, after %d failed writes", self._failures)
        self._failing, self._failures = "", 0
        return True

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

    def _new_session(self, device_id: str) -> m.PlaybackState:
        config = self._config
        return m.PlaybackState(
            session_id=uuid.uuid4().hex,
            revision=1,
            device_id=device_id,
            # Ownership epochs start at 1: a 0 is an older device's, which does not keep them.
            epoch=1,
            volume=min(config.initial_volume, config.max_volume),
        )

    def initial_state(self, device_id: str) -> m.PlaybackState:
        """Return the saved session, stopped at its position, or a new one for *device_id*."""
        config = self._config
        restored = self._store.load_session()
        if restored is not None and followed_elsewhere(restored):
            # A follower's copy of its leader's session: after a restart it is in no group and
            # holds no session, so it starts a session of its own (its volume kept).
            _LOG.info("the saved session was a group's, followed from its leader: not restored")
            volume = min(restored.volume, config.max_volume)
            return replace(self._new_session(device_id), volume=volume)
        if restored is None:
            return self._new_session(device_id)
        # Nothing is loaded after a restart: the session comes back stopped at its position,
        # in no group (a leader's group went on under another member, or ended).
        _LOG.info("restored session %s at revision %d", restored.session_id, restored.revision)
        return replace(
            restored,
            group=None,
            device_id=device_id,
            revision=restored.revision + 1,
            status=m.PlaybackStatus.STOPPED,
            clock=m.PlaybackClock(restored.clock.position_ms, self._clock(), 1.0, False),
            volume=min(restored.volume, config.max_volume),
        )


def _kind_of(error: StateDirError) -> str:
    """What makes two failed writes the same failure: the OS error behind it, not its message
    (which names a new temporary file each time)."""
    cause = error.__cause__
    if isinstance(cause, OSError):
        return f"{type(cause).__name__} {cause.errno}"
    return str(error)
