"""Timing for scheduled starts and fades: the learned start latency, and precise waits.

How `Player.async_play_at` hits its instant: libVLC starts presenting a fixed time after the resume
call (measured on capture: the first block's pts is ~10 ms after `set_pause(0)` from a pre-roll,
~0.3 ms when resuming a pause, whose queued tail plays on at once). The player calls resume that
long, plus `EARLY_US`, before the target, and on capture gates every sample presented before the
target to silence (the capture sink's envelope opens at the target). So the first audible sample
lands on the target to the sample as long as the latency does not exceed its estimate by more
than `EARLY_US`, at the cost of at most that much content. The estimate is the median of the
latest observations (capture reports the exact pts of the first sample after each resume).

The resume itself is timed on the libVLC thread: the loop sleeps until `THREAD_LEAD_US` before the
instant (asyncio's timers are only good to a millisecond or so, and the loop may be busy), then a
job sleeps the rest with `time.sleep` and calls libVLC at once; the thread is held that long only.

On outputs without exact timing (ALSA, default, afile, none) the same resume timing applies
with `ASSUMED_LATENCY_US` as the latency: the card's own buffer is unknown to libVLC 3's API, so
expect the start to be late by about the device buffer (tens of ms on ALSA's defaults).
"""

from __future__ import annotations

import enum
import statistics
import time
from collections import deque

from devices._capture import now_us

EARLY_US = 2_000
THREAD_LEAD_US = 20_000
# No output but capture reports when it presents: a start is estimated at the resume call's
# return plus this, a stop at the pause or stop call's return.
ASSUMED_LATENCY_US = 10_000
_OBSERVATIONS = 9
_PLAUSIBLE_US = 500_000  # a larger "latency" is a stall, not the output's latency


class StartKind(enum.Enum):
    """What a resume starts from: a pre-roll (nothing queued) or a pause (a queued tail)."""

    PREROLL = "preroll"
    PAUSE = "pause"


_INITIAL_US = {StartKind.PREROLL: 10_000, StartKind.PAUSE: 300}


class StartLatency:
    """The time from the resume call's return to the first presented sample, learned per kind."""

    def __init__(self) -> None:
        self._seen: dict[StartKind, deque[int]] = {
            kind: deque(maxlen=_OBSERVATIONS) for kind in StartKind
        }

    def estimate_us(self, kind: StartKind) -> int:
        """Return the expected latency (µs) for a start of *kind*."""
        seen = self._seen[kind]
        return int(statistics.median(seen)) if seen else _INITIAL_US[kind]

    def observe(self, kind: StartKind, latency_us: int) -> None:
        """Record one measured latency; implausible values are ignored."""
        if 0 <= latency_us <= _PLAUSIBLE_US:
            self._seen[kind].append(latency_us)


def sleep_until_us(at_us: int) -> None:
    """Block the calling thread until the device clock reaches *at_us*."""
    delay = at_us - now_us()
    if delay > 0:
        time.sleep(delay / 1_000_000)


def loop_wait_s(at_us: int) -> float:
    """Return how long the loop should sleep before handing a wait for *at_us* to the thread."""
    return max(0.0, (at_us - THREAD_LEAD_US - now_us()) / 1_000_000)
