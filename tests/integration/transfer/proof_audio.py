"""What two capture outputs say about one playback transfer: edges, content positions, gap.

Shared by test_audio_proof.py and bench/transfer.py. Words used below:
* an *instant* is a presentation instant from a capture timeline: µs of CLOCK_MONOTONIC, the
  clock every process on the machine shares, so two receivers' instants compare directly;
* *content* is a position in the track, in µs.

The track is tests/audio.py's position code, optionally repeated: segment k (content k*100 ms on)
is a sine at 500 + 100*(k mod cycle) Hz. Every frequency makes a whole number of periods in
100 ms, so each segment starts at phase 0 and a boundary is where the frequency changes.

How a side of a transfer is read:
* the edge: the source's last audible sample (the instant just after it) or the target's first,
  a sample counting as audible from magnitude `AUDIBLE_SAMPLE` (2 of 32767) on: the capture
  writes exact zeros for what it gates, so this is the sample where the fade reaches the
  first quantisation steps;
* the offset (content minus instant) over a steady stretch next to the edge (before the
  source's fade-out, after the target's fade-in): each segment boundary heard there is located
  to the sample, and its content instant ((k+1)*100 ms) minus its presentation instant is one
  reading; the median of the readings is the offset. Content at any instant of that stretch,
  and extrapolated past it at rate 1, is instant + offset.

From the two sides: gap = target edge - source edge (negative: an overlap); position error =
target offset - source offset = what the target plays at any instant minus what the source
would have been playing then, had it played on.
"""

from __future__ import annotations

import array
import itertools
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.audio import (
    AUDIBLE_SAMPLE,
    MAX_SEGMENTS,
    POSITION_F0_HZ,
    POSITION_STEP_HZ,
    RATE,
    SEGMENT_MS,
    SILENCE_RMS,
    Capture,
    dominant_frequency,
    rms,
    segment_frequency,
    tone_purity,
    tone_samples,
    write_wav,
    zero_crossing_frequency,
)

SEGMENT_US = SEGMENT_MS * 1000
WINDOW = RATE // 50  # 20 ms: resolves 50 Hz, so neighbouring segments (100 Hz) never mix
HOP = RATE // 200  # 5 ms between classified windows
MIN_PURITY = 0.6  # a window holding this share of one segment's frequency is that segment
STEADY_US = 400_000  # how much steady playback next to an edge the offset is read from
COARSE_STEP = 16  # samples between the first probes of a boundary search
CONTINUOUS_US = 100  # consecutive blocks this close (µs rounding) are one presentation


@dataclass(frozen=True)
class PositionCode:
    """The position track's frequencies repeat every `cycle` segments (content mod cycle_us)."""

    cycle: int = MAX_SEGMENTS

    @property
    def cycle_us(self) -> int:
        """Return the content length after which the code repeats."""
        return self.cycle * SEGMENT_US

    def frequency(self, segment: int) -> float:
        """Return the frequency of *segment* (any segment number; the code wraps)."""
        return segment_frequency(segment % self.cycle)

    def wrap(self, delta_us: int) -> int:
        """Return *delta_us* brought into [-cycle_us/2, cycle_us/2): the nearest reading."""
        half = self.cycle_us // 2
        return (delta_us + half) % self.cycle_us - half


def write_cyclic_position_track(path: Path, duration_ms: int, code: PositionCode) -> Path:
    """Write a position track of any length, its code repeating every `code.cycle` segments."""
    one_cycle: array.array[int] = array.array("h")
    for k in range(code.cycle):
        one_cycle.extend(tone_samples(code.frequency(k), SEGMENT_MS))
    total = RATE * duration_ms // 1000
    samples = one_cycle * math.ceil(total / len(one_cycle))
    return write_wav(path, samples[:total])


# ---------------------------------------------------------------- edges


def _sample_ranges(capture: Capture, start_us: int, end_us: int) -> list[tuple[int, int, int]]:
    """Return (block start instant, first index, last index + 1) of the samples in the window."""
    out = []
    rate = capture.recording.rate
    for block_us, first, frames in capture.blocks:
        lo = max(0, math.ceil((start_us - block_us) * rate / 1_000_000))
        hi = min(frames, math.ceil((end_us - block_us) * rate / 1_000_000))
        if lo < hi:
            out.append((block_us, first + lo, first + hi))
    return out


def first_audible_between(capture: Capture, start_us: int, end_us: int) -> int | None:
    """Return the instant of the first audible sample presented in [start_us, end_us)."""
    samples = capture.samples
    for _block_us, lo, hi in _sample_ranges(capture, start_us, end_us):
        for i in range(lo, hi):
            if abs(samples[i]) >= AUDIBLE_SAMPLE:
                return capture.instant_of(i)
    return None


def last_audible_between(capture: Capture, start_us: int, end_us: int) -> int | None:
    """Return the instant just after the last audible sample presented in [start_us, end_us)."""
    samples, rate = capture.samples, capture.recording.rate
    for _block_us, lo, hi in reversed(_sample_ranges(capture, start_us, end_us)):
        for i in range(hi - 1, lo - 1, -1):
            if abs(samples[i]) >= AUDIBLE_SAMPLE:
                return capture.instant_of(i) + 1_000_000 // rate
    return None


# ---------------------------------------------------------------- content


def segment_in(capture: Capture, index: int, code: PositionCode) -> int | None:
    """Return the segment (mod cycle) heard in the 20 ms from sample *index*, None if unclear."""
    window = capture.samples[index : index + WINDOW]
    if len(window) < WINDOW or rms(window) < SILENCE_RMS:
        return None
    guess = round((zero_crossing_frequency(window) - POSITION_F0_HZ) / POSITION_STEP_HZ)
    near = [k for k in (guess - 1, guess, guess + 1) if 0 <= k < code.cycle]
    if not near:
        return None
    freq, purity = dominant_frequency(window, [segment_frequency(k) for k in near])
    if purity < MIN_PURITY:
        return None
    return round((freq - POSITION_F0_HZ) / POSITION_STEP_HZ)


def segment_before(capture: Capture, at_us: int, code: PositionCode) -> int | None:
    """Return the segment heard in the last clear 20 ms window ending by *at_us*."""
    end = _index_at_or_before(capture, at_us)
    if end is None:
        return None
    for start in range(end - WINDOW, max(-1, end - WINDOW - 8 * HOP), -HOP):
        if start >= 0 and (segment := segment_in(capture, start, code)) is not None:
            return segment
    return None


def segment_after(capture: Capture, at_us: int, code: PositionCode) -> int | None:
    """Return the segment heard in the first clear 20 ms window starting at or after *at_us*."""
    start = capture.index_at(at_us)
    if start is None:
        return None
    for index in range(start, start + 8 * HOP, HOP):
        if (segment := segment_in(capture, index, code)) is not None:
            return segment
    return None


@dataclass(frozen=True)
class Offset:
    """Content minus presentation instant over a steady stretch, from its segment boundaries."""

    offset_us: int  # in [0, cycle_us): content at instant t is (t + offset_us) mod cycle_us
    boundaries: int  # how many boundaries it was read from
    spread_us: int  # largest minus smallest reading: ~0 when the stretch really is steady


def content_offset(
    capture: Capture,
    start_us: int,
    end_us: int,
    code: PositionCode,
    *,
    near: Literal["start", "end"] | None = None,
) -> Offset | None:
    """Return the content offset over [start_us, end_us) (None: no boundary, or not steady)."""
    lo, hi = _index_at_or_after(capture, start_us), _index_at_or_before(capture, end_us)
    if lo is None or hi is None:
        return None
    # A pause inside would make two offsets of one: insist on one continuous presentation.
    # *near* names the side of the span an edge is on: the offset is then the one in effect
    # there, read from the presentation that reaches it; what came before a break (a late block
    # libVLC dropped, a re-buffer) is another offset than the edge's.
    runs = _continuous_runs(capture, lo, hi)
    if near is not None:
        lo, hi = runs[0] if near == "start" else runs[-1]
    elif len(runs) > 1:
        return None
    if hi - lo < 2 * WINDOW:
        return None
    hits = [(i, segment_in(capture, i, code)) for i in range(lo, hi - WINDOW, HOP)]
    clear = [(i, k) for i, k in hits if k is not None]
    readings = []
    for (i, k), (j, k_next) in itertools.pairwise(clear):
        if k_next != (k + 1) % code.cycle or j - i > WINDOW + 2 * HOP:
            continue
        boundary = _locate_boundary(capture, i, j, code.frequency(k), code.frequency(k_next))
        content_us = ((k + 1) % code.cycle) * SEGMENT_US
        readings.append((content_us - capture.instant_of(boundary)) % code.cycle_us)
    if not readings:
        return None
    # Readings agree to a few µs; compare them relative to the first, away from the wrap.
    first = readings[0]
    relative = [code.wrap(r - first) for r in readings]
    offset = (first + round(statistics.median(relative))) % code.cycle_us
    return Offset(offset, len(readings), max(relative) - min(relative))


def _continuous_runs(capture: Capture, lo: int, hi: int) -> list[tuple[int, int]]:
    """Split samples [lo, hi) where the presentation breaks (a jump over CONTINUOUS_US)."""
    runs, start = [], lo
    for _block_us, first, frames in capture.blocks:
        if lo < first < hi:
            previous_end = capture.instant_of(first - 1) + 1_000_000 / RATE
            if abs(capture.instant_of(first) - previous_end) > CONTINUOUS_US:
                runs.append((start, first))
                start = first
        if first + frames >= hi:
            break
    runs.append((start, hi))
    return runs


def _locate_boundary(capture: Capture, i: int, j: int, f_before: float, f_after: float) -> int:
    """Return the first sample of the new segment, between windows *i* (old) and *j* (new).

    The boundary is where a window ending there is purest in the old frequency and one
    starting there purest in the new: a coarse scan, then every sample around its best.
    """
    samples = capture.samples

    def score(b: int) -> float:
        before, after = samples[max(0, b - WINDOW) : b], samples[b : b + WINDOW]
        return tone_purity(before, f_before) + tone_purity(after, f_after)

    lo, hi = i + WINDOW // 2, j + WINDOW // 2
    best = max(range(lo, hi + 1, COARSE_STEP), key=score)
    return max(range(max(lo, best - COARSE_STEP), min(hi, best + COARSE_STEP) + 1), key=score)


def _index_at_or_after(capture: Capture, at_us: int) -> int | None:
    """Return the index of the first sample presented at or after *at_us* (None if none)."""
    ranges = _sample_ranges(capture, at_us, 2**62)
    return ranges[0][1] if ranges else None


def _index_at_or_before(capture: Capture, at_us: int) -> int | None:
    """Return the index of the last sample presented before *at_us* (None if none)."""
    best = None
    for _block_us, _lo, hi in _sample_ranges(capture, -(2**62), at_us):
        best = hi
    return best


# ---------------------------------------------------------------- a transfer


@dataclass(frozen=True)
class HeardSide:
    """One device's side of a transfer, as its capture shows it."""

    edge_us: int  # source: just after its last audible sample; target: its first audible one
    segment: int | None  # segment (mod cycle) heard right at the edge
    offset: Offset | None  # over the steady stretch next to the edge


@dataclass(frozen=True)
class HeardTransfer:
    """A transfer as heard: the source's last sound, the target's first, and their contents."""

    source: HeardSide
    target: HeardSide
    code: PositionCode

    @property
    def gap_us(self) -> int:
        """Return target first audible minus source last audible (negative: overlap)."""
        return self.target.edge_us - self.source.edge_us

    @property
    def position_error_us(self) -> int | None:
        """Return target content minus the source's content extrapolated to the same instant."""
        if self.source.offset is None or self.target.offset is None:
            return None
        return self.code.wrap(self.target.offset.offset_us - self.source.offset.offset_us)

    def content_us(self, side: HeardSide, at_us: int) -> int | None:
        """Return the content (mod cycle) *side* plays at *at_us* (extrapolated at rate 1)."""
        if side.offset is None:
            return None
        return (at_us + side.offset.offset_us) % self.code.cycle_us

    @property
    def source_stop_us(self) -> int | None:
        """Return the content at the source's last audible sample (mod cycle)."""
        return self.content_us(self.source, self.source.edge_us - 1)

    @property
    def target_start_us(self) -> int | None:
        """Return the content at the target's first audible sample (mod cycle)."""
        return self.content_us(self.target, self.target.edge_us)


def hear_transfer(
    source: Capture,
    target: Capture,
    start_us: int,
    end_us: int,
    code: PositionCode,
    *,
    fade_us: int,
) -> HeardTransfer:
    """Read one transfer from two captures: the source's last sound and the target's first in
    [start_us, end_us), the offset from up to STEADY_US of steady play on each side of them.

    Raise ValueError when either side is silent in that window.
    """
    last = last_audible_between(source, start_us, end_us)
    first = first_audible_between(target, start_us, end_us)
    if last is None or first is None:
        raise ValueError(
            f"nothing audible in [{start_us}, {end_us}): source last {last}, target first {first}"
        )
    steady_end = last - fade_us
    steady_start = first + fade_us
    return HeardTransfer(
        HeardSide(
            last,
            segment_before(source, last, code),
            content_offset(source, steady_end - STEADY_US, steady_end, code, near="end"),
        ),
        HeardSide(
            first,
            segment_after(target, first, code),
            content_offset(target, steady_start, steady_start + STEADY_US, code, near="start"),
        ),
        code,
    )
