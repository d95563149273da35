"""What a sound server's monitor recording says about levels, silences and content.

A monitor recording (tests/pulse_server.py) is one continuous stretch of samples on the server's
clock, aligned to CLOCK_MONOTONIC; as a tests.audio `Capture` with a single block, every reader
of proof_audio.py works on it unchanged (edges, content offsets). Levels are RMS over 5 ms
windows stepped by 1 ms: what a listener hears as a burst or a dropout is at least that long.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from tests.audio import SILENCE_RMS, Capture, Recording, rms
from tests.integration.transfer.proof_audio import PositionCode, content_offset
from tests.pulse_server import MonitorRecording

WINDOW_US = 5_000
HOP_US = 1_000


def monitor_capture(recording: MonitorRecording) -> Capture:
    """Return *recording* as a Capture: one block, sample i presented at t0 + i / rate, at
    the rate the sink's clock really ran (the recording's clock fit), to the Hz."""
    # A null sink runs ~190-250 ppm fast against CLOCK_MONOTONIC: read at the nominal 44.1 kHz,
    # the recording's instants drift ~3 ms over a 15 s session and ~0.2 ms between the two
    # sides of a handoff, which the content offsets then counted as a jump.
    heard = Recording(recording.samples, round(recording.rate * (1 + recording.clock_ppm / 1e6)))
    return Capture(heard, ((recording.t0_us, 0, len(recording.samples)),))


def window_levels(capture: Capture, start_us: int, end_us: int) -> list[tuple[int, float]]:
    """Return (window start, RMS) of every 5 ms window starting in [start_us, end_us)."""
    ((t0, _first, count),) = capture.blocks
    rate = capture.recording.rate
    size = WINDOW_US * rate // 1_000_000
    out = []
    for at in range(max(start_us, t0), end_us, HOP_US):
        index = (at - t0) * rate // 1_000_000
        if index + size > count:
            break
        out.append((at, rms(capture.samples[index : index + size])))
    return out


def steady_level(capture: Capture, start_us: int, end_us: int) -> float:
    """Return the median 5 ms level over [start_us, end_us) (0 if nothing was recorded)."""
    levels = [level for _at, level in window_levels(capture, start_us, end_us)]
    return statistics.median(levels) if levels else 0.0


def loudest(capture: Capture, start_us: int, end_us: int) -> tuple[int, float]:
    """Return the loudest 5 ms window in [start_us, end_us): (its start, its RMS)."""
    return max(window_levels(capture, start_us, end_us), key=lambda w: w[1], default=(0, 0.0))


@dataclass(frozen=True)
class Silence:
    """The longest run of silent 5 ms windows: from the first window's start to the last's end."""

    start_us: int
    end_us: int

    @property
    def duration_us(self) -> int:
        """Return how long it lasted (0: no silent window)."""
        return self.end_us - self.start_us


def longest_silence(capture: Capture, start_us: int, end_us: int) -> Silence:
    """Return the longest silence (every 5 ms window in it below -50 dBFS) in the span."""
    best, run_start, last = Silence(0, 0), None, 0
    for at, level in [*window_levels(capture, start_us, end_us), (end_us, math.inf)]:
        if level < SILENCE_RMS:
            run_start = at if run_start is None else run_start
            last = at
        elif run_start is not None:
            run = Silence(run_start, last + WINDOW_US)
            best = run if run.duration_us > best.duration_us else best
            run_start = None
    return best


def sample_edges(capture: Capture, silence: Silence) -> Silence:
    """Return *silence* from just after the last sample above the silence level before it to
    the first one after it: the 5 ms windows place a gap's edges only to within a window
    (measured: 0-2 ms short, 1.2 ms on average), the samples to a sample."""
    level = SILENCE_RMS
    samples = capture.samples
    window = WINDOW_US * capture.recording.rate // 1_000_000
    start = capture.index_at(silence.start_us)
    end = capture.index_at(silence.end_us)
    if start is None or end is None:
        return silence
    before = range(min(start + window, len(samples)) - 1, max(0, start - 2 * window) - 1, -1)
    last = next((i for i in before if abs(samples[i]) > level), None)
    after = range(max(0, end - window), min(len(samples), end + 2 * window))
    first = next((i for i in after if abs(samples[i]) > level), None)
    if last is None or first is None or first <= last:
        return silence
    return Silence(capture.instant_of(last + 1), capture.instant_of(first))


def db(level: float, reference: float) -> float:
    """Return *level* relative to *reference* in dB."""
    return 20 * math.log10(max(level, 1e-9) / reference)


def content_jump_us(
    capture: Capture, before: tuple[int, int], after: tuple[int, int], code: PositionCode
) -> int | None:
    """Return the content offset over *after* minus that over *before*: how far the content
    moved relative to the clock across whatever happened between (0: continuous)."""
    first = content_offset(capture, *before, code)
    second = content_offset(capture, *after, code)
    if first is None or second is None:
        return None
    return code.wrap(second.offset_us - first.offset_us)
