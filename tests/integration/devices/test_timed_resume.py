"""A resume after a timed start says where it resumed: the content held at the pause, not the
timed start's content carried on through the pause (a group follower's clock after a pause)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from devices.player_types import OutputStarted, OutputStopped, TrackChanged
from tests.audio import write_position_track
from tests.integration.devices.conftest import PlayerHarness
from tests.media_server import MediaServer

pytestmark = pytest.mark.slow

SLACK_MS = 5  # the paused clock is read to the millisecond


@pytest.mark.parametrize("gapless", [False, True], ids=["same item", "after a gapless change"])
async def test_a_resume_after_a_timed_start_reports_the_paused_position(
    gapless: bool, tmp_path: Path, capture: PlayerHarness, media_server: MediaServer
) -> None:
    write_position_track(media_server.root / "a.wav", 3000)
    write_position_track(media_server.root / "b.wav", 9000)
    player = capture.player
    await player.async_load(media_server.url("a.wav"), 500, play=False)
    await player.async_play_at(monotonic_us() + 300_000)  # a timed start, as a group join's
    started = await capture.next_event(OutputStarted)
    assert started.position_ms == 500
    if gapless:
        assert await player.async_set_next(media_server.url("b.wav"))
        await capture.next_event(TrackChanged)
    await asyncio.sleep(0.8)  # the music's own pace
    await player.async_pause()
    await capture.next_event(OutputStopped)
    held = player.anchor.position_ms
    await asyncio.sleep(0.5)  # paused a while
    await player.async_play()
    resumed = await capture.next_event(OutputStarted)
    assert abs(resumed.position_ms - held) <= SLACK_MS, (resumed.position_ms, held)
