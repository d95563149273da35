"""A decoded copy through PulseAudio (the pulse output pulls what it renders): a VBR MP3's
pre-roll and seek land on the content asked for, and an album cut in three goes on at each
cut without a gap or an overlap, heard on the sink's monitor."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import TypeVar

import pytest

from connect.clock import monotonic_us
from devices.audio_output import parse_audio_output
from devices.player import OutputStarted, Player, PlayerEvent, TrackChanged, TrackEnded
from tests.audio import RATE
from tests.corpus import CorpusFile
from tests.integration.devices.continuity import decoded, join_error, noise
from tests.integration.devices.test_formats import EXACT_MS, content_at
from tests.integration.devices.test_gapless import (
    BOUNDARY_MS,
    CUTS_MS,
    FORMATS,
    LENGTH_MS,
    cut_album,
    cut_frames,
)
from tests.integration.transfer.proof_levels import monitor_capture
from tests.media_server import MediaServer
from tests.pulse_server import AudioServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.warning_logs(r"pulse output: the server ran out of audio"),
]

E = TypeVar("E")
RENDER_AHEAD_US = 5_000  # a null sink's monitor shows a sample this early (test_pulse_output.py)
BOUNDARY_FRAMES = round(BOUNDARY_MS * RATE / 1000)  # 44
SPAN = RATE // 20  # how far from where TrackChanged says it was the join is looked for: 50 ms


async def test_a_vbr_mp3_pre_roll_and_seek_are_heard_at_the_content_asked_for(
    server: AudioServer, tmp_path: Path, corpus: dict[str, CorpusFile]
) -> None:
    track = corpus["mp3-vbr-art"]
    shutil.copy(track.path, tmp_path / track.filename)
    events: asyncio.Queue[PlayerEvent] = asyncio.Queue()
    player = Player(parse_audio_output("pulse:room"), listener=events.put_nowait)
    recorder = server.recorder("room")
    await recorder.start()
    try:
        await player.async_start()
        async with MediaServer(tmp_path) as media:
            await player.async_load(media.url(track.filename), 1530, play=False)
            planned = monotonic_us() + 300_000
            await player.async_play_at(planned)
            started = await _next_start(events)
            # The music's own pace: 400 ms of it heard before the seek, to read from the monitor.
            await asyncio.sleep(max(0, started.at_us + 400_000 - monotonic_us()) / 1e6)
            await player.async_seek(2770)
            await asyncio.sleep(0.4 + player.output_delay_us / 1e6)  # 400 ms of it heard
            clock = player.clock()
            sought_us = clock.as_of_us - (clock.position_ms - 2770) * 1000
            await player.async_stop()
    finally:
        await player.async_close()
        recording = await recorder.close()
    capture = monitor_capture(recording)
    for heard_us, asked in ((started.at_us, started.position_ms), (sought_us, 2770)):
        index = capture.index_at(heard_us - RENDER_AHEAD_US)
        assert index is not None
        heard = await asyncio.to_thread(content_at, capture, index)
        assert abs(heard - asked) <= EXACT_MS, (asked, heard)
    # A fresh player's first start may come a decoder block late (an MP3 frame, 26 ms): its
    # content then starts as late, on the schedule it was planned on.
    late_ms = max(0, started.at_us - planned) / 1000
    assert abs(started.position_ms - (1530 + late_ms)) <= EXACT_MS


async def _next_start(events: asyncio.Queue[PlayerEvent]) -> OutputStarted:
    async with asyncio.timeout(10):
        while True:
            event = await events.get()
            if isinstance(event, OutputStarted):
                return event


# WAV: libVLC's stream and the copy end together; AAC: the copy outlasts libVLC's stream (the
# other formats take one of these two paths; each is checked on capture in test_gapless.py).
# The suite runs those two; BATON_EVERY_FORMAT=1 runs every gapless format through the server.
_TWO_PATHS = ("wav", "aac-m4a")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                name not in _TWO_PATHS and not os.environ.get("BATON_EVERY_FORMAT"),
                reason="its path is WAV's or AAC's; BATON_EVERY_FORMAT=1 runs it",
            ),
        )
        for name in FORMATS
    ],
)
async def test_an_album_cut_in_three_goes_on_at_each_cut_through_the_server(
    name: str, server: AudioServer, tmp_path: Path
) -> None:
    # Noise, found in the recording to the frame (tests/integration/devices/continuity.py).
    whole = noise(LENGTH_MS * RATE // 1000)
    parts = cut_album(tmp_path / "album", name, whole)
    urls = []
    events: asyncio.Queue[PlayerEvent] = asyncio.Queue()
    player = Player(parse_audio_output("pulse:room"), listener=events.put_nowait)
    recorder = server.recorder("room")
    await recorder.start()
    changes: list[TrackChanged] = []
    try:
        await player.async_start()
        async with MediaServer(tmp_path) as media:
            # AAC: libVLC's stream of a part ends before its copy (devices/_timed_sink.py plays
            # the copy's rest at the drain, ahead of what the server renders).
            for n, part in enumerate(parts):
                shutil.copy(part, tmp_path / f"{n}{part.suffix}")
                urls.append(media.url(f"{n}{part.suffix}"))
            await player.async_load(urls[0], 0, play=True)
            await _next_start(events)
            for following in urls[1:]:
                assert await player.async_set_next(following)
                changes.append(await _next_of(events, TrackChanged))
            await _next_of(events, TrackEnded)
            await player.async_stop()
    finally:
        await player.async_close()
        recording = await recorder.close()
    capture = monitor_capture(recording)
    decodings = [await asyncio.to_thread(decoded, part) for part in parts]
    edges = [0, *cut_frames()]
    for n, (change, cut) in enumerate(zip(changes, CUTS_MS, strict=True)):
        # Where TrackChanged says the join was heard; the join itself is found in the samples.
        near = capture.index_at(change.at_us - RENDER_AHEAD_US)
        assert near is not None, f"{name}: nothing recorded at the change at {cut} ms"
        frames = edges[n + 1] - edges[n]  # the part's own length: an encoder's padding is cut
        error = await asyncio.to_thread(
            join_error, recording.samples, decodings[n], frames, decodings[n + 1], near, SPAN
        )
        print(f"{name}: the join at {cut} ms is {error:+d} frames off")
        assert abs(error) <= BOUNDARY_FRAMES, f"{name} at {cut} ms: {error:+d} frames"


async def _next_of(events: asyncio.Queue[PlayerEvent], kind: type[E]) -> E:
    async with asyncio.timeout(10):
        while True:
            event = await events.get()
            if isinstance(event, kind):
                return event
