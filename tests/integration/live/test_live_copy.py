"""A live station whose URL ends in .mp3 gets no decoded copy (devices/_ffmpeg_copy.py): it has
no length, and a copy taken at the station's pace would run dry under the player."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from devices._ffmpeg_copy import ffmpeg_available
from devices._pcm_copy import ffmpeg_copy
from tests.live_station import LiveStation

pytestmark = pytest.mark.skipif(not ffmpeg_available(), reason="needs ffmpeg (apt install ffmpeg)")

COPY_TIMEOUT_S = 20.0


async def test_a_station_named_mp3_is_never_copied(station: LiveStation, tmp_path: Path) -> None:
    copy = ffmpeg_copy(station.url, tmp_path / "radio.pcm", 1)
    copy.start()

    def until_failed() -> None:
        for _ in range(int(COPY_TIMEOUT_S / 0.01)):
            if copy.failed:
                return
            time.sleep(0.01)  # a flag to poll, with a deadline

    await asyncio.to_thread(until_failed)
    assert copy.failed  # no length: it would be copied at the station's pace and run dry
    assert not copy.has_length
    copy.stop()
