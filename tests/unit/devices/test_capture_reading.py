"""Reading a capture's content back (tests/audio.py segment_at, proof_audio's content offset),
checked on captures built here: the position track presented on a known timeline."""

from __future__ import annotations

import array

import pytest

from tests.audio import RATE, Capture, Recording, segment_at, segment_frequency, tone_samples
from tests.integration.transfer.proof_audio import PositionCode, content_offset

T0 = 5_000_000_000  # the instant the first sample is presented
BLOCK = 1152  # an MP3 frame, as libVLC hands a live stream over
CODE = PositionCode(128)


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


def test_an_edge_reads_the_offset_of_the_presentation_that_reaches_it() -> None:
    # A late block dropped 200 ms before an edge: the presentation jumps by a frame there.
    samples = position_track(10)
    frame_us = BLOCK * 1_000_000 // RATE
    capture = presented(samples, {17: frame_us})
    start, end = T0 + 100_000, T0 + 900_000
    assert content_offset(capture, start, end, CODE) is None  # not one steady offset
    after = content_offset(capture, start, end, CODE, near="end")
    before = content_offset(capture, start, end, CODE, near="start")
    assert after is not None
    assert before is not None
    # Content minus instant, to the sample: 0 before the jump, one frame less after it.
    assert CODE.wrap(before.offset_us + T0) == pytest.approx(0, abs=25)
    assert CODE.wrap(after.offset_us + T0) == pytest.approx(-frame_us, abs=25)
    assert after.boundaries >= 3
    assert after.spread_us <= 25


def test_an_edge_next_to_a_break_has_no_offset_to_read() -> None:
    # The presentation reaching the edge is 30 ms long: no boundary in it, so no offset, rather
    # than the offset from before the break.
    samples = position_track(10)
    capture = presented(samples, {30: 100_000})
    edge = capture.blocks[30][0] + 30_000
    assert content_offset(capture, edge - 400_000, edge, CODE, near="end") is None
