"""Volume fades as plain steps, and the gain stage used where libVLC's volume does not reach."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol

# One step every 10 ms: below what the ear resolves as a staircase, and few enough libVLC calls
# (a 200 ms fade is 20 calls) to keep the libVLC thread free for a pause or seek.
RAMP_STEP_MS = 10

# libVLC's equalizer attenuates by 12 dB when every band is flat, so +12 dB of preamp is unity
# (measured: a 440 Hz tone comes back within 0.5 % of its samples, not bit-identical). The preamp
# goes down to -20 dB, which makes the quietest reachable level -32 dB below unity.
# Adding or removing the equalizer restarts libVLC's audio output, and afile then truncates its
# file, so on afile the equalizer is set before playback starts and stays, at unity if need be.
EQ_UNITY_PREAMP_DB = 12.0
EQ_MIN_PREAMP_DB = -20.0


class RampClock(Protocol):
    """The time source a fade steps by; tests pass a fake one that never sleeps."""

    def monotonic(self) -> float:
        """Return seconds from an arbitrary fixed origin."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for *seconds*."""
        ...


class SystemRampClock:
    """The real clock: time.monotonic and time.sleep."""

    def monotonic(self) -> float:
        """Return time.monotonic()."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Block for *seconds* with time.sleep."""
        time.sleep(seconds)


def check_volume(volume: int) -> int:
    """Return *volume* if it is an int in 0..100; raise ValueError otherwise."""
    if isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 100:
        raise ValueError(f"volume must be an integer 0..100, not {volume!r}")
    return volume


def ramp_steps(start: int, end: int, duration_ms: int) -> list[tuple[int, int]]:
    """Return the fade from *start* to *end* as (offset_ms, volume) steps, ending on *end*."""
    if duration_ms < 0:
        raise ValueError(f"a fade cannot last {duration_ms} ms")
    count = max(1, math.ceil(duration_ms / RAMP_STEP_MS))
    steps = []
    for i in range(1, count + 1):
        volume = round(start + (end - start) * i / count)
        steps.append((round(duration_ms * i / count), volume))
    return steps


def run_ramp(steps: list[tuple[int, int]], apply: Callable[[int], None], clock: RampClock) -> None:
    """Apply each step's volume at its offset from now, on the calling thread."""
    # Offsets are measured from one origin, so a late step does not delay the ones after it.
    origin = clock.monotonic()
    for offset_ms, volume in steps:
        delay = origin + offset_ms / 1000 - clock.monotonic()
        if delay > 0:
            clock.sleep(delay)
        apply(volume)


def volume_gain(volume: int) -> float:
    """Return the amplitude factor libVLC's software volume applies for *volume* (cubic)."""
    return (volume / 100) ** 3


def equalizer_preamp_db(volume: int) -> float:
    """Return the equalizer preamp (dB) giving *volume*'s gain, floored at the preamp's minimum."""
    gain = volume_gain(volume)
    gain_db = 20 * math.log10(gain) if gain > 0 else -math.inf
    return max(EQ_MIN_PREAMP_DB, EQ_UNITY_PREAMP_DB + gain_db)
