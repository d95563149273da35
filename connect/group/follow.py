"""How a follower keeps its output on the group timeline, as pure arithmetic (not wired yet).

A follower's audio path reports, block by block, which content position reached its converter
at which instant of its own clock (an `OutputSample`: the true instant, never the clock being
corrected). `Follower.correct(timeline, sample)` compares it with where the timeline says the
group is at that instant (through the clock offset) and returns the playback-rate correction to
apply until the next block: a proportional-integral loop on the position error, so a constant
drift (sound cards differ by up to ±100 ppm) ends with no error left, clamped to ±MAX_PPM.
500 ppm is under a cent of pitch (1 200·log2(1.0005) ≈ 0.87 cent), far below what a listener
hears, and five times the drift to follow. An error the loop could not pull in within seconds
(the timeline jumped: the leader seeked, or a follower just joined late) asks to be placed
again (`Correction.replace`) instead of racing there audibly.

`Pacer` turns a ppm correction into whole samples to insert (+) or drop (-) at zero crossings,
for an output that does not resample.
"""

from __future__ import annotations

from dataclasses import dataclass

from connect.wire import messages as m

__all__ = ["KI", "KP", "MAX_PPM", "REPLACE_US", "Correction", "Follower", "OutputSample", "Pacer"]

MAX_PPM = 500.0
"""The largest rate correction, parts per million (under a cent of pitch)."""

KP = 0.5
"""Proportional gain, ppm per µs of error (1/s): an error decays with a 2 s time constant."""

KI = KP * KP / 4
"""Integral gain (1/s²): critically damped with KP, so a drift's error settles without ringing."""

REPLACE_US = 50_000
"""Past this error (µs) the output is placed again rather than pulled in: at MAX_PPM, 50 ms
takes 100 s."""


@dataclass(frozen=True, slots=True)
class OutputSample:
    """A block's first sample reached the converter at `at_us` (the follower's clock) holding
    content position `position_us` of the item."""

    at_us: int
    position_us: int


@dataclass(frozen=True, slots=True)
class Correction:
    """What to do until the next block: play `ppm` faster (negative: slower); `error_us` is
    how far the output is ahead of the timeline (negative: behind); `replace`: place the output
    at the timeline's position instead."""

    ppm: float
    error_us: float
    replace: bool = False


class Follower:
    """One follower's loop; `correct` once per output block, `reset` after a re-placement."""

    def __init__(self, kp: float = KP, ki: float = KI, max_ppm: float = MAX_PPM) -> None:
        self._kp, self._ki, self._max = kp, ki, max_ppm
        self._integral = 0.0  # ∫ error dt, in µs·s
        self._last_at: int | None = None

    def reset(self) -> None:
        """Forget the loop's history (the output was placed again, or another item plays)."""
        self._integral, self._last_at = 0.0, None

    def correct(self, timeline: m.GroupTimeline, sample: OutputSample) -> Correction:
        """Return the correction for the output as *sample* finds it against *timeline*."""
        error = float(sample.position_us - timeline.position_for_member(sample.at_us))
        if not timeline.playing:
            self.reset()
            return Correction(0.0, error)
        if abs(error) > REPLACE_US:
            self.reset()
            return Correction(0.0, error, replace=True)
        dt = 0.0 if self._last_at is None else max(0, sample.at_us - self._last_at) / 1e6
        self._last_at = sample.at_us
        integral = self._integral + error * dt
        ppm = -(self._kp * error + self._ki * integral)
        if abs(ppm) < self._max:  # anti-windup: integrate only while not clamped
            self._integral = integral
        else:
            ppm = -self._kp * error - self._ki * self._integral
        return Correction(max(-self._max, min(self._max, ppm)), error)


class Pacer:
    """Whole samples to insert or drop for a rate correction, its fractions carried over."""

    def __init__(self) -> None:
        self._owed = 0.0

    def samples(self, ppm: float, frames: int) -> int:
        """Return how many samples to insert (> 0) or drop (< 0) in a block of *frames* played
        `ppm` faster: playing faster consumes more content, so a positive ppm drops samples."""
        self._owed -= ppm * frames / 1e6
        whole = int(self._owed)  # toward zero: a fraction waits for the next block
        self._owed -= whole
        return whole
