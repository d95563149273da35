"""Drift correction, sans IO: keep a device's output on the true timeline by inserting or
dropping single frames where the signal crosses zero.

A sound card's converter runs on its own crystal, up to ±100 ppm off (a second every few
hours). The receiver's audio path, after libVLC's decode, knows the instant each content frame
is due on the true timeline (CLOCK_MONOTONIC, which a group's timeline maps to through the
clock offset), and the device tells when the next frame it is given will reach its converter.
Their difference is the *error*: positive, the device is late (its clock slow); negative, early.

* `DriftEstimator` fits a line to the error the device would have without correction (the raw
  drift: what was measured, less what the corrections moved) over the last 5 s: measurement
  noise (a sound server's latency reports jitter by a millisecond) averages out, and the slope
  is the clock error in ppm.
* `DriftCorrector` corrects one block at a time: it moves the frames it has inserted (+) or
  dropped (-) towards where the line says the error is by the block's end, one frame per step,
  each step at the quietest frame of its share of the block (a zero crossing in music). At 100
  ppm that is 4.4 frames a second, each a 23 µs stretch or squeeze of one waveform period:
  nothing a listener hears, and no pitch change. The error stays within a frame or two.

Used by the capture output (devices/_converter.py, after the timed sink's push mode). The pull
output (PulseAudio/PipeWire) follows its card with the same parts, fed the server's latency
readings: devices/_frame_grid.py holds their lower edge and moves its frame -> instant map by
one frame (`nudge`), and `TimedSink.render` owes the media playing on that frame and lays it
with `respace(stretch, channels, ±1)` on the next piece of 64 frames or more: the frame
dropped or repeated is the quietest of that piece (a zero crossing), not the piece's first
(tests/unit/devices/test_timed_sink_pull.py). When to nudge: on PulseAudio, where a
`DriftEstimator` line through the edge's last 5 s says the map is 0.75 frame off (as
`DriftCorrector` decides its steps); on PipeWire's pulse layer, once the edge itself is 300 µs
off, as before: its reports come late by ms in runs, and a line through them chases that.
Measured with `python -m bench.server_timing KIND 30` (the grid replayed on the reports, its
distance from the null sink's own line fitted through their lower edge), 2026-12-07, load 1-5
on 2 cores: PulseAudio (5 runs), by the 300 µs edge rule 168-268 µs p50, 221-404 max; on the
line 19-89 µs p50, 37-149 max (it holds the 2nd earliest of 15 readings, which lies above the
run's 2nd percentile the sink's line is fitted to). PipeWire (2 runs) by the edge rule 44-77
µs p50, 45-112 max, on the line 67-74 p50, 113-175 max; 1 run with both cores busy
(reports up to 26 ms late): 415 p50, 652 max against 393 p50, 947 max, and 136 frames moved
against 29 in 30 s. The line is worse there.
"""

from __future__ import annotations

import array
from collections import deque

RATE = 44_100
FRAME_US = 1_000_000 / RATE
WINDOW_US = 5_000_000  # the raw drift is fitted over this much of the recent past
MAX_POINTS = 256  # at most this many readings in the fit (blocks come every 10-90 ms)
MAX_STEPS_PER_BLOCK = 4  # catching up at most this many frames a block (~4 000 ppm at 1024)
DEAD_BAND = 0.75  # frames: no step until the error is this far from the nearest whole frame


class DriftEstimator:
    """A straight line through the recent (instant, raw drift) readings, both in µs."""

    def __init__(self, window_us: int = WINDOW_US, max_points: int = MAX_POINTS) -> None:
        self.window_us = window_us
        self._points: deque[tuple[int, float]] = deque(maxlen=max_points)

    def reset(self) -> None:
        """Forget every reading (a new stretch: the device started anew)."""
        self._points.clear()

    def observe(self, at_us: int, raw_us: float) -> None:
        """Add the raw drift *raw_us* read at *at_us* (instants in increasing order)."""
        points = self._points
        points.append((at_us, raw_us))
        while at_us - points[0][0] > self.window_us:
            points.popleft()

    def first_at(self) -> int:
        """Return the instant of the earliest reading in the fit (0: none)."""
        return self._points[0][0] if self._points else 0

    def line(self) -> tuple[int, float, float]:
        """Return (reference instant, drift there in µs, slope in µs per µs); (0, 0, 0) unread."""
        points = self._points
        if not points:
            return 0, 0.0, 0.0
        ref = points[-1][0]
        n = len(points)
        # Centred on the mean instant: the sums stay small whatever the clock reads.
        mean_x = sum(at - ref for at, _ in points) / n
        mean_y = sum(raw for _, raw in points) / n
        sxx = sxy = 0.0
        for at, raw in points:
            dx = at - ref - mean_x
            sxx += dx * dx
            sxy += dx * (raw - mean_y)
        if sxx < 1.0:  # one reading, or all at one instant: no slope yet
            return ref, mean_y, 0.0
        slope = sxy / sxx
        return ref, mean_y - slope * mean_x, slope

    def predict(self, at_us: int) -> float:
        """Return the raw drift the line gives at *at_us*."""
        ref, drift, slope = self.line()
        return drift + slope * (at_us - ref)

    @property
    def ppm(self) -> float:
        """Return the clock error the line says (positive: the device's clock is slow)."""
        return self.line()[2] * 1e6


class DriftCorrector:
    """Inserts or drops single frames so that a device's error stays within a frame or two."""

    def __init__(self, channels: int, *, max_steps: int = MAX_STEPS_PER_BLOCK) -> None:
        self.channels = channels
        self.max_steps = max_steps
        self.estimator = DriftEstimator()
        self.net = 0  # frames inserted minus frames dropped since the stretch began
        self.inserted = 0  # since this corrector was made
        self.dropped = 0

    def reset(self) -> None:
        """Start a new stretch: the device starts on time, nothing corrected yet."""
        self.estimator.reset()
        self.net = 0

    def correct(self, samples: array.array[int], error_us: float, at_us: int) -> array.array[int]:
        """Return *samples* (interleaved, due from *at_us*) with frames inserted or dropped;
        *error_us*: when the device will present their first frame, minus *at_us*."""
        # Each frame inserted delays what follows by a frame; each dropped one advances it.
        self.estimator.observe(at_us, error_us - self.net * FRAME_US)
        frames = len(samples) // self.channels
        end_us = at_us + round(frames * FRAME_US)
        wanted = -self.estimator.predict(end_us) / FRAME_US - self.net
        if abs(wanted) < DEAD_BAND:
            return samples
        steps = max(-self.max_steps, min(self.max_steps, round(wanted)))
        steps = max(-(frames // 2), min(frames // 2, steps))  # a block too short for them all
        if steps == 0:
            return samples
        self.net += steps
        if steps > 0:
            self.inserted += steps
        else:
            self.dropped -= steps
        return respace(samples, self.channels, steps)


def respace(samples: array.array[int], channels: int, steps: int) -> array.array[int]:
    """Return *samples* with |steps| frames repeated (steps > 0) or dropped (< 0), one in each
    equal share of the block, each at the share's quietest frame."""
    frames = len(samples) // channels
    count = abs(steps)
    out: array.array[int] = array.array(samples.typecode)
    done = 0
    for share in range(count):
        lo = frames * share // count
        hi = frames * (share + 1) // count
        at = quietest_frame(samples, channels, lo, hi)
        out.extend(samples[done * channels : at * channels])
        if steps > 0:
            out.extend(samples[at * channels : (at + 1) * channels])  # this frame twice
            done = at
        else:
            done = at + 1  # this frame never
    out.extend(samples[done * channels :])
    return out


def quietest_frame(samples: array.array[int], channels: int, lo: int, hi: int) -> int:
    """Return the frame in [lo, hi) whose channels sum to the least magnitude (the first such)."""
    if channels == 1:
        window = samples[lo:hi]
        magnitudes = [abs(x) for x in window]
    else:
        magnitudes = [0] * (hi - lo)
        for channel in range(channels):
            column = samples[lo * channels + channel : hi * channels : channels]
            magnitudes = [m + abs(x) for m, x in zip(magnitudes, column, strict=True)]
    return lo + magnitudes.index(min(magnitudes))
