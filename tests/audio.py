"""Audio test tooling: write test tones as WAV, and analyse what a player recorded.

Everything is mono, signed 16-bit, 44.1 kHz (what libVLC's afile output writes for such input),
in pure Python: numpy is not a dependency. The analysis stays fast by working on `array`s with
`sum(map(operator.mul, ...))` (a C loop) and by asking a cheap zero-crossing estimate first, so
the exact DFT runs on a handful of candidate frequencies instead of a whole spectrum.

The position-encoding track: segment k (k*100 ms .. (k+1)*100 ms of content) is a sine at
`segment_frequency(k)` = 500 + 100*k Hz. A 50 ms analysis window resolves 20 Hz, so neighbours
100 Hz apart are five bins apart and never confused; the top segment (189, 19.4 kHz) stays under
Nyquist, which bounds the track at 19 s.
"""

from __future__ import annotations

import array
import math
import operator
import random
import struct
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RATE = 44_100
SEGMENT_MS = 100
POSITION_F0_HZ = 500.0
POSITION_STEP_HZ = 100.0
MAX_SEGMENTS = 190
FULL_SCALE = 32767
# Below this RMS (-50 dBFS) a block counts as silence: far under any tone the tests play
# (-32 dB is the quietest fade step), far over the exact zeros libVLC writes for nothing.
SILENCE_RMS = FULL_SCALE * 10 ** (-50 / 20)


# ---------------------------------------------------------------- writing


def tone_samples(
    freq_hz: float, duration_ms: int, *, amplitude: float = 0.5, rate: int = RATE
) -> array.array[int]:
    """Return a sine of *freq_hz* lasting *duration_ms*, peak *amplitude* of full scale."""
    count = rate * duration_ms // 1000
    step = 2 * math.pi * freq_hz / rate
    peak = amplitude * FULL_SCALE
    return array.array("h", (round(peak * math.sin(step * i)) for i in range(count)))


def write_wav(path: Path, samples: Sequence[int], *, rate: int = RATE) -> Path:
    """Write mono s16 *samples* to *path* as a WAV file; return *path*."""
    data = samples if isinstance(samples, array.array) else array.array("h", samples)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data.tobytes())
    return path


def write_tone(
    path: Path, freq_hz: float = 440.0, duration_ms: int = 1000, *, amplitude: float = 0.5
) -> Path:
    """Write a constant tone WAV; return *path*."""
    return write_wav(path, tone_samples(freq_hz, duration_ms, amplitude=amplitude))


def segment_frequency(segment: int) -> float:
    """Return the frequency of the position track's *segment* (its k-th 100 ms)."""
    if not 0 <= segment < MAX_SEGMENTS:
        raise ValueError(f"segment {segment} outside 0..{MAX_SEGMENTS - 1}")
    return POSITION_F0_HZ + POSITION_STEP_HZ * segment


def write_position_track(path: Path, duration_ms: int, *, amplitude: float = 0.5) -> Path:
    """Write the position-encoding track (a new frequency every 100 ms); return *path*."""
    segments = math.ceil(duration_ms / SEGMENT_MS)
    if segments > MAX_SEGMENTS:
        raise ValueError(f"a position track holds at most {MAX_SEGMENTS * SEGMENT_MS} ms")
    samples: array.array[int] = array.array("h")
    for k in range(segments):
        length = min(SEGMENT_MS, duration_ms - k * SEGMENT_MS)
        samples.extend(tone_samples(segment_frequency(k), length, amplitude=amplitude))
    return write_wav(path, samples)


def write_garbage(path: Path, size: int = 100_000, *, seed: int = 1) -> Path:
    """Write *size* reproducible random bytes: a file no demuxer recognises."""
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Recording:
    """Mono s16 samples and their rate, as read from a WAV file."""

    samples: array.array[int]
    rate: int = RATE

    @property
    def duration_ms(self) -> float:
        """Return the recording's length in ms."""
        return len(self.samples) * 1000 / self.rate

    def ms_to_index(self, ms: float) -> int:
        """Return the sample index at *ms* from the start."""
        return round(ms * self.rate / 1000)


def read_wav(path: Path) -> Recording:
    """Read a PCM s16 WAV (first channel if several), even one whose sizes were never updated."""
    # Parsed by hand: a recording cut short (its writer not yet closed) carries a placeholder
    # data size, which the wave module would trust.
    raw = path.read_bytes()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path} is not a WAV file")
    pos, channels, rate, bits = 12, 1, RATE, 16
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        body = pos + 8
        if chunk == b"fmt ":
            fmt, channels, rate = struct.unpack_from("<HHI", raw, body)
            bits = struct.unpack_from("<H", raw, body + 14)[0]
            if fmt not in (1, 0xFFFE) or bits != 16:
                raise ValueError(f"{path}: only PCM s16 is supported (format {fmt}, {bits} bit)")
        elif chunk == b"data":
            end = len(raw) if size == 0 or body + size > len(raw) else body + size
            end -= (end - body) % (2 * channels)
            samples = array.array("h", raw[body:end])
            return Recording(samples[::channels] if channels > 1 else samples, rate)
        pos = body + size + (size & 1)
    raise ValueError(f"{path} has no data chunk")


# ---------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Gap:
    """A stretch of silence in a recording."""

    start_ms: float
    duration_ms: float


@dataclass(frozen=True)
class SegmentHit:
    """At `at_ms` of the recording, position-track segment `segment` was playing."""

    at_ms: float
    segment: int


def rms(samples: Sequence[int]) -> float:
    """Return the root mean square of *samples* (0 for none)."""
    if not samples:
        return 0.0
    return math.sqrt(float(sum(map(operator.mul, samples, samples))) / len(samples))


def block_levels(rec: Recording, block_ms: float = 5.0) -> list[float]:
    """Return the RMS of each consecutive *block_ms* block (the last may be shorter)."""
    size = max(1, rec.ms_to_index(block_ms))
    s = rec.samples
    return [rms(s[i : i + size]) for i in range(0, len(s), size)]


def find_gaps(
    rec: Recording,
    *,
    min_gap_ms: float = 20.0,
    block_ms: float = 5.0,
    threshold: float = SILENCE_RMS,
) -> list[Gap]:
    """Return every silence of at least *min_gap_ms* (to *block_ms* precision), in order."""
    size = max(1, rec.ms_to_index(block_ms))
    gaps: list[Gap] = []
    run_start: int | None = None  # sample index where the current silent run began
    levels = block_levels(rec, block_ms)
    for i, level in enumerate([*levels, math.inf]):  # the sentinel closes a trailing run
        if level < threshold:
            if run_start is None:
                run_start = i * size
        elif run_start is not None:
            end = min(i * size, len(rec.samples))
            duration = (end - run_start) * 1000 / rec.rate
            if duration >= min_gap_ms:
                gaps.append(Gap(run_start * 1000 / rec.rate, duration))
            run_start = None
    return gaps


def audible_duration_ms(
    rec: Recording, *, block_ms: float = 5.0, threshold: float = SILENCE_RMS
) -> float:
    """Return how long the recording is not silent, to *block_ms* precision."""
    size = max(1, rec.ms_to_index(block_ms))
    s = rec.samples
    loud = sum(
        len(s[i : i + size]) for i in range(0, len(s), size) if rms(s[i : i + size]) >= threshold
    )
    return loud * 1000 / rec.rate


def zero_crossing_frequency(samples: Sequence[int], rate: int = RATE) -> float:
    """Estimate the frequency of a pure tone from its sign changes (exact to ~1/duration Hz)."""
    if len(samples) < 2:
        return 0.0
    signs = [x >= 0 for x in samples]
    changes = int(sum(map(operator.ne, signs, signs[1:])))
    return changes * rate / (2 * (len(samples) - 1))


@lru_cache(maxsize=512)
def _basis(freq_hz: float, count: int, rate: int) -> tuple[array.array[float], array.array[float]]:
    step = 2 * math.pi * freq_hz / rate
    cos = array.array("d", (math.cos(step * i) for i in range(count)))
    sin = array.array("d", (math.sin(step * i) for i in range(count)))
    return cos, sin


def tone_purity(samples: Sequence[int], freq_hz: float, rate: int = RATE) -> float:
    """Return the share (0..1) of the samples' energy at *freq_hz* (single-bin DFT)."""
    count = len(samples)
    energy = float(sum(map(operator.mul, samples, samples)))
    if count == 0 or energy == 0:
        return 0.0
    cos, sin = _basis(freq_hz, count, rate)
    re = float(sum(map(operator.mul, samples, cos)))
    im = float(sum(map(operator.mul, samples, sin)))
    # A pure sine of amplitude A over N samples: |X|^2 = (A N / 2)^2, energy = A^2 N / 2.
    return min(1.0, 2 * (re * re + im * im) / (count * energy))


def dominant_frequency(
    samples: Sequence[int], candidates: Iterable[float], rate: int = RATE
) -> tuple[float, float]:
    """Return the candidate frequency holding most of the energy, and its share (0..1)."""
    best = max(((tone_purity(samples, f, rate), f) for f in candidates), default=(0.0, 0.0))
    return best[1], best[0]


def content_positions(
    rec: Recording, *, window_ms: float = 50.0, hop_ms: float = 25.0, min_purity: float = 0.6
) -> list[SegmentHit]:
    """Map a recording of the position track back to the segment playing in each window."""
    size, hop = rec.ms_to_index(window_ms), rec.ms_to_index(hop_ms)
    hits: list[SegmentHit] = []
    s = rec.samples
    for start in range(0, len(s) - size + 1, hop):
        window = s[start : start + size]
        if rms(window) < SILENCE_RMS:
            continue
        # The zero crossings point at a segment; the DFT confirms it (or rejects a window that
        # straddles two segments) on that segment and its two neighbours only.
        guess = round((zero_crossing_frequency(window, rec.rate) - POSITION_F0_HZ) / 100)
        near = [k for k in (guess - 1, guess, guess + 1) if 0 <= k < MAX_SEGMENTS]
        if not near:
            continue
        freq, purity = dominant_frequency(window, [segment_frequency(k) for k in near], rec.rate)
        if purity >= min_purity:
            segment = round((freq - POSITION_F0_HZ) / POSITION_STEP_HZ)
            hits.append(SegmentHit(start * 1000 / rec.rate, segment))
    return hits


def segment_sequence(hits: Sequence[SegmentHit]) -> list[int]:
    """Return the segments in the order heard, each run of repeats collapsed to one entry."""
    sequence: list[int] = []
    for hit in hits:
        if not sequence or sequence[-1] != hit.segment:
            sequence.append(hit.segment)
    return sequence


# ---------------------------------------------------------------- capture recordings

# A sample whose magnitude reaches this counts as audible in a capture: the capture output writes
# exact zeros for what it gates, and even the first step of a fade-in rounds above it for the
# test tones (amplitude 0.5), while a sine's own zero crossings are single samples.
AUDIBLE_SAMPLE = 2
# How much purer the window ending at an instant must be to name its segment instead of the one
# starting there: a 20 ms window holding 0.5 ms of a neighbouring segment is 0.0004 less pure.
PURER_BY = 0.001


@dataclass(frozen=True)
class Capture:
    """A capture output's recording with its timeline: when each sample was presented."""

    recording: Recording
    blocks: tuple[tuple[int, int, int], ...]  # (presentation_us, first sample index, frames)

    @property
    def samples(self) -> array.array[int]:
        """Return the recorded samples."""
        return self.recording.samples

    def instant_of(self, index: int) -> int:
        """Return the presentation instant (device clock, µs) of sample *index*."""
        for start_us, first, frames in self.blocks:
            if first <= index < first + frames:
                return start_us + (index - first) * 1_000_000 // self.recording.rate
        raise IndexError(f"sample {index} is not in the capture")

    def index_at(self, at_us: int) -> int | None:
        """Return the index of the sample presented at *at_us*, None if none was then."""
        rate = self.recording.rate
        for start_us, first, frames in self.blocks:
            offset = (at_us - start_us) * rate // 1_000_000
            # Instants are rounded down to the µs: the sample starting exactly at at_us may be
            # the next one.
            if (offset + 1) * 1_000_000 // rate <= at_us - start_us:
                offset += 1
            if 0 <= offset < frames:
                return first + offset
        # Each line's instant is rounded on its own (the sink carries what truncating each
        # block's end loses): a block may start a µs after the one before ends.
        for start_us, first, _frames in self.blocks:
            if 0 < start_us - at_us <= 1:
                return first
        return None

    def stretches(self) -> list[tuple[int, int]]:
        """Return the [start_us, end_us) intervals of continuous presentation, in order."""
        out: list[tuple[int, int]] = []
        for start_us, _first, frames in self.blocks:
            end_us = start_us + frames * 1_000_000 // self.recording.rate
            if out and abs(out[-1][1] - start_us) <= 1:  # µs rounding between blocks
                out[-1] = (out[-1][0], end_us)
            else:
                out.append((start_us, end_us))
        return out


def read_capture(path: Path) -> Capture:
    """Read a capture output's WAV and its PATH.timeline."""
    recording = read_wav(path)
    blocks: list[tuple[int, int, int]] = []
    first = 0
    timeline = Path(f"{path}.timeline").read_text(encoding="ascii")
    for line in timeline.splitlines():
        if not line or line.startswith("#"):
            continue
        start_us, frames = (int(x) for x in line.split(","))
        blocks.append((start_us, first, frames))
        first += frames
    if first != len(recording.samples):
        raise ValueError(f"{path}: timeline holds {first} frames, the WAV {len(recording.samples)}")
    return Capture(recording, tuple(blocks))


def _audible_indices(capture: Capture, level: int, *, reverse: bool) -> Iterable[tuple[int, int]]:
    """Yield (index, presentation instant) of every audible sample, in order or reversed."""
    samples, rate = capture.samples, capture.recording.rate
    blocks = reversed(capture.blocks) if reverse else capture.blocks
    for start_us, first, frames in blocks:
        offsets = range(frames - 1, -1, -1) if reverse else range(frames)
        for offset in offsets:
            if abs(samples[first + offset]) >= level:
                yield first + offset, start_us + offset * 1_000_000 // rate


def first_audible_us(
    capture: Capture, *, after_us: int | None = None, level: int = AUDIBLE_SAMPLE
) -> int | None:
    """Return the instant of the first audible sample (at or after *after_us*), None if none."""
    for _index, at in _audible_indices(capture, level, reverse=False):
        if after_us is None or at >= after_us:
            return at
    return None


def last_audible_us(
    capture: Capture, *, before_us: int | None = None, level: int = AUDIBLE_SAMPLE
) -> int | None:
    """Return the instant just after the last audible sample (before *before_us*), None if none."""
    for _index, at in _audible_indices(capture, level, reverse=True):
        if before_us is None or at < before_us:
            return at + 1_000_000 // capture.recording.rate
    return None


def segment_at(capture: Capture, at_us: int, *, window_ms: float = 20.0) -> int | None:
    """Return the position-track segment heard at *at_us*, None if none is clear there."""
    # Read from the window starting at the instant. Segments last 100 ms and a window 20: a
    # boundary that blurs that window leaves the one ending at the instant whole, and a whole
    # window is purer than one holding any of two frequencies, so wherever the instant falls
    # in its segment, the purer of the two names the segment playing then (the later one
    # within half a millisecond of a boundary, where they are nearly as pure).
    index = capture.index_at(at_us)
    if index is None:
        return None
    size = capture.recording.ms_to_index(window_ms)
    purity, segment = _window_segment(capture, index, size)
    before = _window_segment(capture, index - size, size)
    if before[0] > purity + PURER_BY:
        purity, segment = before
    return segment if purity >= 0.5 else None


def _window_segment(capture: Capture, start: int, size: int) -> tuple[float, int | None]:
    """Return how pure the *size* samples from *start* are in their segment, and which it is."""
    samples, rate = capture.samples, capture.recording.rate
    if start < 0 or start + size > len(samples):
        return 0.0, None
    # One continuous presentation: a window across a pause was not heard at one instant.
    span_us = capture.instant_of(start + size - 1) - capture.instant_of(start)
    if abs(span_us - (size - 1) * 1_000_000 / rate) > 5_000:
        return 0.0, None
    window = samples[start : start + size]
    if rms(window) < SILENCE_RMS:
        return 0.0, None
    guess = round((zero_crossing_frequency(window, rate) - POSITION_F0_HZ) / POSITION_STEP_HZ)
    near = [k for k in (guess - 1, guess, guess + 1) if 0 <= k < MAX_SEGMENTS]
    candidates = near or range(MAX_SEGMENTS)
    freq, purity = dominant_frequency(window, [segment_frequency(k) for k in candidates], rate)
    return purity, round((freq - POSITION_F0_HZ) / POSITION_STEP_HZ)


def first_segment(rec: Recording) -> int | None:
    """Return the position-track segment heard first in the recording, None if none is."""
    hits = content_positions(rec)
    return hits[0].segment if hits else None
