"""Reading a capture's content back (tests/audio.py segment_at), checked on captures built here:
the position track presented on a known timeline."""

from __future__ import annotations

import array

import pytest

from tests.audio import RATE, Capture, Recording, segment_at, segment_frequency, tone_samples

T0 = 5_000_000_000  # the instant the first sample is presented
BLOCK = 1152  # an MP3 frame, as libVLC hands a live stream over


def position_track(segments: int) -> array.array[int]:
    samples: array.array[int] = array.array("h")
    for k in range(segments):
        samples.extend(tone_samples(segment_frequency(k), 100))
    return samples


def presented(samples: array.array[int], jumps: dict[int, int] | None = None) -> Capture:
    """Return *samples* presented in BLOCK blocks from T0; jumps: block number -> µs moved on."""
    blocks, shift = [], 0
    for number, first in enumerate(range(0, len(samples), BLOCK)):
        shift += (jumps or {}).get(number, 0)
        frames = min(BLOCK, len(samples) - first)
        blocks.append((T0 + shift + first * 1_000_000 // RATE, first, frames))
    return Capture(Recording(samples), tuple(blocks))


def instant_of_content(content_us: int, shift_us: int = 0) -> int:
    return T0 + shift_us + content_us


@pytest.mark.parametrize("into_segment_ms", [0, 3, 8, 10, 12, 15, 50, 81, 85, 90, 95, 99])
def test_segment_at_names_the_segment_wherever_the_instant_falls(into_segment_ms: int) -> None:
    # 81..99 ms in: a window starting then straddles the next boundary, half and half at 90.
    capture = presented(position_track(10))
    for segment in (2, 5, 8):
        at = instant_of_content(segment * 100_000 + into_segment_ms * 1000)
        assert segment_at(capture, at) == segment


def test_segment_at_hears_nothing_in_silence_or_outside_the_capture() -> None:
    samples = position_track(3)
    samples.extend(array.array("h", bytes(2 * RATE // 10)))  # 100 ms of exact zeros
    capture = presented(samples)
    assert segment_at(capture, instant_of_content(350_000)) is None
    assert segment_at(capture, T0 - 1_000) is None
    assert segment_at(capture, instant_of_content(1_000_000)) is None


def test_segment_at_does_not_read_across_a_break_in_the_presentation() -> None:
    # A pause of 200 ms after content 410.0 ms: the window ending 5 ms after the resume would
    # hold 15 ms from before it; the one starting there is read.
    samples = position_track(10)
    pause_block = 410 * RATE // 1000 // BLOCK + 1
    capture = presented(samples, {pause_block: 200_000})
    resumed = capture.blocks[pause_block][0]
    content_ms = capture.blocks[pause_block][1] * 1000 / RATE
    assert segment_at(capture, resumed + 5_000) == int(content_ms + 5) // 100
