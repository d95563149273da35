"""Resuming the session after a restart or a power cut, and saving the position while playing.

A car receiver loses power with the ignition, without warning; a speaker's receiver may be
killed by the watchdog. Either way the listener expects the music to come back where it was.

When was the session saved? Every save is stamped with the boot it happened in
(/proc/sys/kernel/random/boot_id), the monotonic clock, the wall clock and whether the wall
clock was synchronised (NTP) at the time. On start:

* same boot (the process restarted): the age is exact, from the monotonic clock;
* another boot, and both the save's and today's wall clocks are synchronised: the age is the
  wall-clock difference;
* another boot, and either clock is not synchronised (a Pi has no RTC; a car often has no
  network time): the age cannot be known. The receiver then resumes: a session that was
  playing when the power went is what the driver wants back when it returns.

It resumes only a session that was playing when saved, whose age is within `resume-window`
(0 disables). The stamp travels in the saved frame's envelope id (never sent on the wire), so
a save stays one small file write. Positions never use the wall clock: see connect/clock.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from connect.errors import FrameError
from connect.session import playback
from connect.wire import codec
from connect.wire import messages as m
from devices.persistence import SESSION_FILE, SessionStore

_LOG = logging.getLogger(__name__)

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
_STAMP = re.compile(r"^saved-session b=(\S*) m=(\d+) w=(\d+) t=([01])$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Return seconds from a number (of seconds) or a string like "30s", "30m", "2h"."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f'not a duration: {value!r} (use e.g. "30s", "30m", "2h", 0)')
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {value!r}")
    return seconds


@dataclass(frozen=True)
class Instant:
    """One moment as every clock this module consults saw it."""

    boot_id: str
    monotonic_us: int
    wall_us: int
    wall_trusted: bool

    @classmethod
    def now(cls) -> Instant:
        """Return the current instant."""
        return cls(
            read_boot_id(),
            time.monotonic_ns() // 1000,
            time.time_ns() // 1000,
            wall_clock_synchronised(),
        )

    def encode(self) -> str:
        """Return the stamp as saved in the session frame's envelope id."""
        trusted = int(self.wall_trusted)
        return f"saved-session b={self.boot_id} m={self.monotonic_us} w={self.wall_us} t={trusted}"

    @classmethod
    def decode(cls, text: str) -> Instant | None:
        """Return the stamp in *text*, or None for a frame saved without one."""
        match = _STAMP.match(text)
        if not match:
            return None
        boot, mono, wall, trusted = match.groups()
        return cls(boot, int(mono), int(wall), trusted == "1")


@dataclass(frozen=True)
class SavedSession:
    """The session found on disk at start, as saved (status included), and when it was saved."""

    state: m.PlaybackState
    saved_at: Instant | None


@dataclass(frozen=True)
class ResumeDecision:
    """Whether to play on, and why (logged, and shown by tests)."""

    resume: bool
    reason: str


class ResumableStore(SessionStore):
    """A SessionStore whose saves carry an Instant, and which remembers what it loaded."""

    def __init__(self, state_dir: Path, now: Callable[[], Instant] = Instant.now) -> None:
        super().__init__(state_dir)
        self._now = now
        self.saved: SavedSession | None = None

    def load_session(self) -> m.PlaybackState | None:
        """Return the saved session (see SessionStore) and keep it, stamped, in `saved`."""
        state = super().load_session()
        self.saved = None
        if state is not None:
            stamp = None
            with contextlib.suppress(OSError, FrameError):
                stamp = Instant.decode(
                    codec.decode((self.state_dir / SESSION_FILE).read_bytes()).msg_id
                )
            self.saved = SavedSession(state, stamp)
        return state

    def save_session(self, state: m.PlaybackState, now_us: int) -> None:
        """Save *state* like SessionStore does, stamped with the current Instant."""
        self.write_session(state, now_us, self._now().encode())


def followed_elsewhere(state: m.PlaybackState) -> bool:
    """Return whether *state* is a group follower's copy of its leader's session (not its own:
    a restart, out of the group, neither plays it nor holds it)."""
    group = state.group
    return group is not None and group.leader_device_id != state.device_id


def decide(saved: SavedSession | None, window_s: float, now: Instant) -> ResumeDecision:
    """Decide whether the saved session should play on at start (see the module docstring)."""
    if window_s <= 0:
        return ResumeDecision(False, "resume-window is 0")
    if saved is None:
        return ResumeDecision(False, "no saved session")
    state = saved.state
    if followed_elsewhere(state):
        return ResumeDecision(False, "the session was a group's, followed from its leader")
    if state.status not in (m.PlaybackStatus.PLAYING, m.PlaybackStatus.BUFFERING):
        return ResumeDecision(False, f"the session was {state.status.name.lower()} when saved")
    if state.current_item is None:
        return ResumeDecision(False, "the saved session has no current track")
    stamp = saved.saved_at
    if stamp is None:
        return ResumeDecision(True, "saved without a time stamp: resuming")
    if stamp.boot_id and stamp.boot_id == now.boot_id:
        age_s = (now.monotonic_us - stamp.monotonic_us) / 1e6
        how = "since the save in this boot"
    elif stamp.wall_trusted and now.wall_trusted:
        age_s = (now.wall_us - stamp.wall_us) / 1e6
        how = "by the synchronised wall clock"
        if age_s < 0:
            return ResumeDecision(False, "the save is in the future by the synchronised clock")
    else:
        return ResumeDecision(
            True, "saved before this boot and the wall clock cannot be trusted: resuming"
        )
    if age_s > window_s:
        return ResumeDecision(False, f"{age_s:.0f} s {how}, more than resume-window")
    return ResumeDecision(True, f"{age_s:.0f} s {how}, within resume-window")


def resume_outcome(state: m.PlaybackState, now_us: int) -> playback.Outcome:
    """Return the state and player actions that play the current track on from its position."""
    item = state.current_item
    assert item is not None  # decide() said yes only with a current item
    position = state.clock.position_ms
    clock = m.PlaybackClock(position, now_us, state.clock.rate, True)
    playing = replace(state, clock=clock, status=m.PlaybackStatus.PLAYING, error=None)
    return playback.Outcome(playing, (playback.Load(item, position, True),))


async def async_checkpoints(
    interval_s: float, is_playing: Callable[[], bool], request_save: Callable[[], None]
) -> None:
    """Ask for a save every *interval_s* while playing, so a power cut loses at most that much."""
    if interval_s <= 0:
        return
    while True:
        await asyncio.sleep(interval_s)
        if is_playing():
            request_save()


def read_boot_id(path: Path = BOOT_ID_PATH) -> str:
    """Return this boot's id ("" if the kernel does not say)."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def wall_clock_synchronised(flag: Path = TIMESYNC_FLAG) -> bool:
    """Whether the wall clock is set from a time source (NTP): can it date across boots?"""
    if flag.exists():  # systemd-timesyncd's mark of a successful synchronisation
        return True
    # The kernel's own flag (chrony, ntpd set it): adjtimex(2) in read-only mode returns
    # TIME_ERROR (5) while the clock is unsynchronised. A sandbox may refuse the call
    # (ProtectClock=yes): then we cannot tell, and say no.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buffer = ctypes.create_string_buffer(512)  # struct timex, modes = 0: only read
        result = libc.adjtimex(buffer)
    except (OSError, AttributeError):
        return False
    return isinstance(result, int) and 0 <= result < 5
