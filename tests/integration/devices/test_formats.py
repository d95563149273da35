"""The same position in every common format: a pre-roll, a seek, and a pause and resume land on
the content asked for, read from the capture output's recording (tests/corpus.py).

libVLC's own seeks land up to hundreds of ms off in VBR MP3, FLAC and Ogg, seconds in Vorbis;
the receiver presents a copy of the track decoded from its start (devices/_decoded_copy.py),
so content P is sample P * 44.1 of that decoding, whatever the container's index says. What a
play from 0 presents first is the reference. Decoded by ffmpeg, every format's first sample is
the track's first (its encoder delay trimmed), but for an MP3 without a LAME header, which does
not say its delay: that one starts ~25 ms in, the same on every receiver.
"""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest

from devices.player import OutputStarted, OutputStopped
from tests.audio import RATE, Capture, read_capture
from tests.corpus import CorpusFile
from tests.integration.devices.conftest import PlayerHarness
from tests.integration.transfer.proof_audio import (
    HOP,
    WINDOW,
    PositionCode,
    _locate_boundary,
    segment_in,
)
from tests.media_server import MediaServer

EXACT_MS = 5.0  # the bound for content against the position asked
REPORTED_MS = 2.0  # what the player says it presented, against what it did
STRETCH_US = 250_000  # played after each start: two or three segment boundaries to read
CODE = PositionCode()
# A play from 0 of these presents content 0 first: the copy trims their encoder delay or they
# have none.
TRUE_START = (
    "wav", "flac", "flac-seektable", "mp3-cbr", "mp3-vbr-art", "aac-m4a", "opus", "vorbis"
)  # fmt: skip
FORMATS = [
    pytest.param(name, marks=() if name in ("wav", "mp3-vbr-art") else pytest.mark.slow)
    for name in (
        "wav", "mp3-cbr", "mp3-vbr-art", "mp3-vbr-no-xing", "aac-m4a", "flac", "flac-seektable",
        "opus", "vorbis",
    )
]  # fmt: skip


def monotonic_us() -> int:
    """Return the device clock, computed here independently of the code under test."""
    return time.monotonic_ns() // 1000


async def play_for(us: int, since_us: int) -> None:
    """Let the player play until *us* after *since_us* (an instant it reported): the music's
    own pace, what the capture must hold to be read; there is no event to wait for."""
    await asyncio.sleep(max(0, since_us + us - monotonic_us()) / 1_000_000)


def content_at(capture: Capture, index: int, *, forward: bool = True) -> float:
    """Return the content (ms) of sample *index*, counted in samples from the nearest segment
    boundary after it (*forward*) or before it: presentation gaps (libVLC restamping a block)
    do not count, only what was presented."""
    step = HOP if forward else -HOP
    first = index if forward else index - WINDOW
    clear = []
    for i in range(first, first + step * 80, step):
        segment = segment_in(capture, i, CODE) if i >= 0 else None
        if segment is None:
            continue
        if clear and segment != clear[-1][1]:
            (a, k_a), (b, k_b) = sorted([clear[-1], (i, segment)])
            if k_b == k_a + 1 and b - a <= WINDOW + 2 * HOP:
                boundary = _locate_boundary(capture, a, b, CODE.frequency(k_a), CODE.frequency(k_b))
                return k_b * 100 + (index - boundary) * 1000 / RATE
        clear.append((i, segment))
    raise AssertionError(f"no segment boundary near sample {index}")


@pytest.mark.parametrize("name", FORMATS)
async def test_pre_roll_seek_and_pause_land_on_the_content_asked_for(
    name: str, corpus: dict[str, CorpusFile], capture: PlayerHarness, media_server: MediaServer
) -> None:
    track = corpus[name]
    shutil.copy(track.path, media_server.root / track.filename)
    url = media_server.url(track.filename)
    player = capture.player

    await player.async_load(url, 0, play=True)
    from_start = await capture.next_event(OutputStarted)
    await play_for(STRETCH_US, from_start.at_us)
    await player.async_load(url, 1530, play=False)
    await player.async_play()
    pre_rolled = await capture.next_event(OutputStarted)
    await play_for(STRETCH_US, pre_rolled.at_us)
    await player.async_seek(2770)
    await play_for(STRETCH_US + 50_000, monotonic_us())
    # Where the player says content 2770 was heard (a seek in a decoded copy is continuous:
    # no OutputStarted; WAV's, libVLC's own, restarts the output and anchors on it).
    clock = player.clock()
    sought_us = clock.as_of_us - (clock.position_ms - 2770) * 1000
    while not capture.events.empty():  # the seek's own output edges (WAV's)
        capture.events.get_nowait()
    await player.async_pause()
    paused = await capture.next_event(OutputStopped)
    await player.async_play()
    resumed = await capture.next_event(OutputStarted)
    await play_for(STRETCH_US, resumed.at_us)
    await player.async_stop()

    cap = read_capture(capture.recording)

    def content_from(at_us: int) -> float:
        index = cap.index_at(at_us)
        assert index is not None
        return content_at(cap, index)

    start = content_from(from_start.at_us)  # libVLC's own start of this format
    if name in TRUE_START:
        assert abs(start) <= EXACT_MS
    heard = content_from(pre_rolled.at_us) - start
    assert abs(heard - 1530) <= EXACT_MS, f"{name}: pre-rolled at 1530 ms, heard {heard:.1f}"
    assert abs(pre_rolled.position_ms - heard) <= REPORTED_MS
    heard = content_from(sought_us) - start
    assert abs(heard - 2770) <= EXACT_MS, f"{name}: sought 2770 ms, heard {heard:.1f}"
    last = cap.index_at(paused.at_us - 1)
    assert last is not None
    before, after = content_at(cap, last + 1, forward=False), content_from(resumed.at_us)
    assert abs(after - before) <= EXACT_MS, f"{name}: paused at {before:.1f}, resumed {after:.1f}"
    # libVLC restamps the blocks it held a few ms off at a resume (devices/_timed_sink.py).
    assert abs(resumed.position_ms - (after - start)) <= EXACT_MS
