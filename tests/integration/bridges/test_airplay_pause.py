"""A pause that comes while a stream to a bridged AirPlay speaker (shairport-sync) is still
being set up stops it: nothing of it is heard, and the session stays at the start."""

from __future__ import annotations

import pytest

from connect.clock import monotonic_us
from connect.wire import messages as m
from tests.audio import first_audible_us, last_audible_us, write_position_track
from tests.integration.bridges.test_airplay import Bridged
from tests.integration.bridges.test_airplay import bridged as bridged  # a fixture, by name
from tests.media_server import MediaServer
from tests.waiting import until

pytestmark = [pytest.mark.slow, pytest.mark.netns]


async def test_a_pause_right_after_play_leaves_the_speaker_quiet_at_the_start(
    bridged: Bridged, media_server: MediaServer
) -> None:
    b = bridged
    write_position_track(media_server.root / "position.wav", 6_000)
    item = m.QueueItem("p", media_server.url("position.wav"), "Position")
    for command in (m.SetQueue((item,)), m.Pause()):  # the pause while the stream sets up
        result = await b.controller.async_command(b.bridge.device_id, command)
        assert result.ok, result.failure
    paused = monotonic_us()
    assert b.state().status is m.PlaybackStatus.PAUSED
    assert b.state().clock.position_at(monotonic_us()) == 0  # nothing was heard yet
    # The window in which a stream that went on would be heard (START_MS and more): a
    # measurement's length, not a wait for a state.
    await until(lambda: monotonic_us() - paused > 3_000_000, 5, "the stream's time to be heard")
    capture = b.speaker.capture()
    heard_from, heard_until = first_audible_us(capture), last_audible_us(capture)
    heard_ms = 0 if heard_from is None or heard_until is None else (heard_until - heard_from) / 1000
    print(f"heard after a pause during the set-up: {heard_ms:.0f} ms")
    assert heard_ms <= 300, heard_ms
