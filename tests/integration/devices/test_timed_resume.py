"""A pause holds the clock where the output stopped, and a resume says where it resumed, after
a timed start and after a gapless change too: read from the capture (a group's leader sends
its timeline from this clock, and its followers are put where it says)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from devices.player_types import OutputStarted, OutputStopped, TrackChanged
from tests.integration.devices.conftest import PlayerHarness
from tests.integration.devices.proof_drift import CODE
from tests.integration.devices.proof_group import read_heard
from tests.integration.transfer.proof_audio import write_cyclic_position_track
from tests.media_server import MediaServer

pytestmark = pytest.mark.slow

SLACK_MS = 2  # the clock is read to the millisecond


@pytest.mark.parametrize("gapless", [False, True], ids=["same item", "after a gapless change"])
async def test_a_resume_after_a_timed_start_is_where_the_pause_held_the_content(
    gapless: bool, tmp_path: Path, capture: PlayerHarness, media_server: MediaServer
) -> None:
    # Loaded at 500 ms: played to its end before the gapless change (1 s, the next item set
    # meanwhile); played through the pause and past the resume otherwise (0.8 + 0.5 s and more).
    a_ms = 1_500 if gapless else 3_000
    write_cyclic_position_track(media_server.root / "a.wav", a_ms, CODE)
    write_cyclic_position_track(media_server.root / "b.wav", 9000, CODE)
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
    await asyncio.sleep(0.5)  # heard a while
    await player.async_stop()
    offset = read_heard(capture.recording, "resumed").offset_at(resumed.at_us + 100_000)
    assert offset is not None
    heard_ms = (resumed.at_us + offset) % CODE.cycle_us / 1000  # the content at the resume
    assert abs(resumed.position_ms - held) <= SLACK_MS, (resumed.position_ms, held)
    assert abs(heard_ms - held) <= SLACK_MS, (heard_ms, held)
