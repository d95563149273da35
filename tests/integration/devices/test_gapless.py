"""Gapless albums: a continuous track cut into three files, played as a queue by a Player, goes on
at each cut without a gap or an overlap, read from the capture output's recording.

The player presents each track from its decoded copy (devices/_decoded_copy.py, made by ffmpeg:
devices/_ffmpeg_copy.py); the next track's copy, opened before the current one ends, continues
it on the same timeline, and TrackChanged says when its first sample is heard. The cuts fall
inside a position segment, so the content on either side of one is counted from the segment
boundaries around it.
"""

from __future__ import annotations

import array
import asyncio
import itertools
import os
import shutil
import sys
from pathlib import Path

import pytest

from devices.player import OutputStarted, TrackChanged, TrackEnded
from tests.audio import (
    AUDIBLE_SAMPLE,
    RATE,
    Capture,
    read_capture,
    read_wav,
    write_position_track,
    write_wav,
)
from tests.corpus import encode
from tests.integration.devices.conftest import PlayerHarness
from tests.integration.devices.test_formats import content_at
from tests.media_server import MediaServer
from tests.receivers import start_receiver

ROOT = Path(__file__).resolve().parents[3]
BATON = [sys.executable, "-m", "client.cli"]

CUTS_MS = (1550, 3070)  # inside segments 15 and 30
LENGTH_MS = 3_500
BOUNDARY_MS = 1.0  # the bound for a discontinuity at a track change
REPORTED_MS = 2.0  # where TrackChanged says the next track began, against what was heard
# Every format whose files say their encoder delay and padding, copied by ffmpeg (an MP3 with
# no LAME header says neither: its parts keep ~25 ms of delay and up to a frame of padding).
FORMATS = ["wav", "flac", "mp3-cbr", "mp3-vbr-art", "aac-m4a", "opus", "vorbis"]


def cut_frames() -> list[int]:
    """Return where the cuts fall, in frames from the album's start."""
    return [ms * RATE // 1000 for ms in CUTS_MS]


def presentation_gaps_ms(cap: Capture) -> list[float]:
    """Return the holes (or, negative, overlaps) between the capture's continuous stretches."""
    stretches = cap.stretches()
    return [(b[0] - a[1]) / 1000 for a, b in itertools.pairwise(stretches)]


def cut_album(folder: Path, name: str, whole: array.array[int] | None = None) -> list[Path]:
    """Write *whole* (the position track by default) cut at CUTS_MS into three files of
    format *name*."""
    folder.mkdir(parents=True, exist_ok=True)
    if whole is None:
        whole = read_wav(write_position_track(folder / "whole.wav", LENGTH_MS)).samples
    edges = [0, *cut_frames(), len(whole)]
    parts = []
    for n, (lo, hi) in enumerate(itertools.pairwise(edges)):
        part_folder = folder / f"part{n}"
        part_folder.mkdir()
        source = write_wav(part_folder / "source.wav", array.array("h", whole[lo:hi]))
        parts.append(encode(source, name, part_folder).path)
    return parts


@pytest.mark.slow
@pytest.mark.parametrize("name", FORMATS)
async def test_a_queue_of_consecutive_tracks_plays_without_a_gap(
    name: str, tmp_path: Path, capture: PlayerHarness, media_server: MediaServer
) -> None:
    urls = []
    for n, part in enumerate(cut_album(tmp_path / "album", name)):
        shutil.copy(part, media_server.root / f"{n}-{part.name}")
        urls.append(media_server.url(f"{n}-{part.name}"))
    player = capture.player

    await player.async_load(urls[0], 0, play=True)
    await capture.next_event(OutputStarted)
    changes = []
    for following in urls[1:]:
        assert await player.async_set_next(following)
        changes.append(await capture.next_event(TrackChanged))
        assert changes[-1].url == following
        assert player.url == following
    await capture.next_event(TrackEnded, timeout=5.0)
    await player.async_stop()

    cap = read_capture(capture.recording)
    assert presentation_gaps_ms(cap) == []  # one stretch: no hole, no overlap in time
    for change, cut in zip(changes, CUTS_MS, strict=True):
        index = cap.index_at(change.at_us)
        assert index is not None
        before = content_at(cap, index, forward=False)  # the previous track's, to its last sample
        after = content_at(cap, index)  # the next track's, from its first
        assert abs(before - after) <= BOUNDARY_MS, f"{name}: {before:.2f} -> {after:.2f} ms"
        assert abs(after - cut) <= REPORTED_MS, f"{name}: heard {after:.2f} ms at the change"


@pytest.mark.slow
async def test_a_receiver_plays_an_album_queue_on_at_each_cut(tmp_path: Path) -> None:
    album = tmp_path / "Album"
    # WAV parts: the issue's own album, which lost ~1.2 s at each change through PulseAudio.
    for n, part in enumerate(cut_album(tmp_path / "cut", "wav")):
        album.mkdir(exist_ok=True)
        shutil.copy(part, album / f"{n + 1:02}.wav")
    car = await start_receiver(tmp_path, "Car", output="capture")
    try:
        process = await asyncio.create_subprocess_exec(
            *BATON, "play", "Car", str(album), "--connect", f"127.0.0.1:{car.port}",
            cwd=ROOT, env={**os.environ, "BATON_CONFIG_DIR": str(tmp_path / "config")},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        assert "Car: 3/3" in out.decode()
    finally:
        assert await car.stop() == 0, "".join(car.output)

    cap = read_capture(car.recording)
    assert presentation_gaps_ms(cap) == []  # one stretch: no hole, no overlap in time
    first = next(i for i, s in enumerate(cap.samples) if abs(s) >= AUDIBLE_SAMPLE)
    shift = 0.0  # a gap at a cut would move every later sample by its length
    for cut in CUTS_MS:
        # Inside the cut's segment, before the cut: counted from its start and from its end.
        index = first + round((cut - 20 + shift) * RATE / 1000)
        before, after = content_at(cap, index, forward=False), content_at(cap, index)
        assert abs(before - after) <= BOUNDARY_MS, f"at {cut} ms: {before:.2f} vs {after:.2f}"
        shift += before - after
