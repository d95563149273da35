"""The decoded copy's reader (devices/_decoded_copy.py) and a timed sink presenting from it:
content by sample count, a seek that refills what is queued, a late timed start, the end."""

from __future__ import annotations

import array
from pathlib import Path

from devices._decoded_copy import CopyReader, DecodedCopy
from devices._envelope import RATE
from devices._player_base import anchor_on_the_ms
from devices._timed_sink import TimedSink

BLOCK = 441  # 10 ms


def a_copy(tmp_path: Path, frames: int, *, complete: bool = True) -> DecodedCopy:
    """Return a mono copy whose sample i is i (mod 2**15): content is its own index."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "copy.pcm"
    path.write_bytes(array.array("h", (i % 32_768 for i in range(frames))).tobytes())
    copy = DecodedCopy("http://h/a.mp3", path, 1)
    copy.complete = complete
    return copy


def test_a_reader_hands_out_content_by_sample_count_and_silence_past_the_end(
    tmp_path: Path,
) -> None:
    ended: list[int] = []
    reader = CopyReader(a_copy(tmp_path, 1_000), 900, ended.append)
    first = reader.take(BLOCK, 5_000_000)
    assert list(first[:100]) == list(range(900, 1_000))
    assert set(first[100:]) == {0}  # past the end: silence
    # The last sample ends 100 frames into the block.
    assert ended == [5_000_000 + 100 * 1_000_000 // RATE]
    reader.take(BLOCK, 5_010_000)
    assert len(ended) == 1  # said once


def test_a_jump_back_further_than_libvlcs_stream_went_is_refused(tmp_path: Path) -> None:
    reader = CopyReader(a_copy(tmp_path, 10_000), 5_000, lambda _at: None)
    reader.take(BLOCK, 0)
    reader.take(BLOCK, 10_000)
    assert reader.jump(2 * BLOCK)  # libVLC's stream, begun at 0, has that much left
    assert list(reader.take(3, 20_000)) == [2 * BLOCK, 2 * BLOCK + 1, 2 * BLOCK + 2]
    assert not reader.jump(100)


def test_a_late_first_block_of_a_timed_start_starts_later_in_the_content(tmp_path: Path) -> None:
    reader = CopyReader(a_copy(tmp_path, 20_000), 0, lambda _at: None)
    reader.schedule(1_000, 1_000_000)
    block = reader.take(BLOCK, 1_010_000)  # 10 ms late: the content of 10 ms on
    assert block[0] == 1_000 + BLOCK
    assert reader.presented_at(1_010_000) == 1_000 + BLOCK


def test_the_frame_presented_at_an_instant_is_read_from_the_block_heard_then(
    tmp_path: Path,
) -> None:
    """A start's first sample (here 2.5 ms into a block, the gate opening late) is known to the
    frame, not to the millisecond the clocks read; an instant no block covers is None."""
    reader = CopyReader(a_copy(tmp_path, 20_000), 0, lambda _at: None)
    reader.take(BLOCK, 1_000_000)
    reader.take(BLOCK, 1_010_000)
    assert reader.presented_at(1_012_500) == BLOCK + 2_500 * RATE // 1_000_000
    assert reader.presented_at(1_000_000) == 0
    assert reader.presented_at(999_000) is None
    assert reader.presented_at(1_020_000) is None


def test_blocks_held_by_a_pause_are_presented_later_by_its_length(tmp_path: Path) -> None:
    """Paused 5 ms into the second block, resumed 1 s later: its rest, and the blocks after it,
    are heard 1 s later than they were taken for; what played before the pause is where it was."""
    reader = CopyReader(a_copy(tmp_path, 20_000), 0, lambda _at: None)
    for i in range(3):
        reader.take(BLOCK, 1_000_000 + i * 10_000)
    reader.held(1_015_000, 1_000_000)
    assert reader.presented_at(1_012_000) == BLOCK + 2_000 * RATE // 1_000_000
    assert reader.presented_at(1_016_000) is None  # paused then
    paused_frame = BLOCK + 5_000 * RATE // 1_000_000
    assert reader.presented_at(2_015_000) == paused_frame  # the resume's first sample
    assert reader.presented_at(2_020_000) == 2 * BLOCK


def test_a_clock_anchored_on_a_frame_is_exact_though_it_reads_whole_ms() -> None:
    frame = 44_123  # 1000.521 ms: between two whole ms
    clock = anchor_on_the_ms(frame, 5_000_000)
    assert clock.playing
    assert clock.position_ms == 1001
    exact_us = frame * 1_000_000 / RATE
    # The clock has content 1001 ms heard where the frame's own line puts it.
    assert abs((clock.as_of_us - 5_000_000) - (1_001_000 - exact_us)) <= 1


def test_a_seek_refills_what_the_sink_holds_from_the_new_position(tmp_path: Path) -> None:
    now = [1_000_000]
    sink = TimedSink(lambda _edge: None, clock=lambda: now[0])  # pull mode: nothing presented
    reader = CopyReader(a_copy(tmp_path, 30_000), 0, lambda _at: None)
    sink.content = reader
    for i in range(3):
        sink._on_play(None, 0, BLOCK, 1_100_000 + i * 10_000)
    moved, heard = sink.refill(lambda: reader.jump(20_000))
    assert moved
    assert heard == 1_100_000
    frames, media, _more = sink.render(0, 1_100_000, 3 * BLOCK)
    assert media
    assert list(array.array("h", frames)[:3]) == [20_000, 20_001, 20_002]


def test_a_following_copy_goes_on_in_the_same_block_at_the_boundary(tmp_path: Path) -> None:
    first, second = a_copy(tmp_path / "a", 1_000), a_copy(tmp_path / "b", 5_000)
    boundaries: list[int] = []
    ended: list[int] = []
    reader = CopyReader(first, 900, ended.append, boundaries.append)
    reader.follow = second
    block = reader.take(BLOCK, 5_000_000)
    # The first track's last 100 samples, then the next one's from its first: no gap.
    assert list(block) == list(range(900, 1_000)) + list(range(BLOCK - 100))
    assert boundaries == [5_000_000 + 100 * 1_000_000 // RATE]
    assert ended == []
    assert reader.copy is second
    assert not reader.continued
    assert list(reader.take(10, 6_000_000)) == list(range(BLOCK - 100, BLOCK - 90))


def test_an_unfinished_following_copy_is_not_continued(tmp_path: Path) -> None:
    reader = CopyReader(a_copy(tmp_path / "a", 1_000), 900, lambda _at: None, lambda _at: None)
    reader.follow = a_copy(tmp_path / "b", 5_000, complete=False)
    block = reader.take(BLOCK, 5_000_000)
    assert set(block[100:]) == {0}


def test_a_slew_skips_or_repeats_a_few_frames_a_block_and_never_at_the_end(
    tmp_path: Path,
) -> None:
    from devices._decoded_copy import SLEW_STEPS

    reader = CopyReader(a_copy(tmp_path, 20_000), 0, lambda _at: None)
    reader.slew(3)  # three frames on: skipped, SLEW_STEPS a block (1)
    first = reader.take(BLOCK, 1_000_000)
    assert len(first) == BLOCK  # as long as asked: the timing is untouched
    assert first[-1] == BLOCK - 1 + SLEW_STEPS  # the content moved on by a block's share
    assert len(set(first)) == BLOCK  # each skipped frame simply left out
    second = reader.take(BLOCK, 1_010_000)
    assert second[-1] == 2 * BLOCK - 1 + 2 * SLEW_STEPS
    reader.take(BLOCK, 1_010_000)
    assert reader.take(BLOCK, 1_020_000)[-1] == 4 * BLOCK - 1 + 3  # all three now
    reader.slew(-2)  # two back: repeated
    third = reader.take(BLOCK, 1_030_000)
    assert third[-1] == 5 * BLOCK - 1 + 3 - SLEW_STEPS
    assert len(set(third)) == BLOCK - SLEW_STEPS  # a frame heard twice
    # Never within two blocks of the track's end (a gapless change is placed there).
    near = CopyReader(a_copy(tmp_path / "b", 1_000), 300, lambda _at: None)  # 2 blocks left
    near.slew(2)
    assert near.take(BLOCK, 1_000_000)[-1] == 300 + BLOCK - 1
