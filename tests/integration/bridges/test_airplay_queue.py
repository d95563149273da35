"""A bridged AirPlay speaker (shairport-sync) goes on through the queue when a track's stream
ends, and says why when it cannot play an item (the media cannot be read)."""

from __future__ import annotations

import pytest

from connect.clock import monotonic_us
from connect.wire import messages as m
from tests.audio import first_audible_us, last_audible_us, write_position_track, write_tone
from tests.integration.bridges.test_airplay import HEARD, Bridged, playing_past
from tests.integration.bridges.test_airplay import bridged as bridged  # a fixture, by name
from tests.integration.bridges.test_mpd import content_near
from tests.media_server import MediaServer
from tests.waiting import until

pytestmark = [pytest.mark.slow, pytest.mark.netns]


async def test_the_queue_goes_on_when_a_track_ends(
    bridged: Bridged, media_server: MediaServer
) -> None:
    b = bridged
    write_tone(media_server.root / "first.wav", 440.0, 1_500)
    write_position_track(media_server.root / "second.wav", 4_000)
    items = (m.QueueItem("a", media_server.url("first.wav"), "First"),
             m.QueueItem("b", media_server.url("second.wav"), "Second"))  # fmt: skip
    result = await b.controller.async_command(b.bridge.device_id, m.SetQueue(items))
    assert result.ok, result.failure
    await until(
        lambda: b.state().current_uid == "b" and b.state().status is m.PlaybackStatus.PLAYING,
        10, "on to the second",
    )  # fmt: skip
    assert b.speaker.shown("minm") == ["First", "Second"]
    await playing_past(b, 1_000)
    _, heard = content_near(b.speaker.capture(), monotonic_us() - 400_000)
    assert abs(b.state().clock.position_at(monotonic_us() - 400_000) - heard) <= HEARD
    capture = b.speaker.capture()
    first_from = first_audible_us(capture)
    assert first_from is not None
    second_from = first_audible_us(capture, after_us=first_from + 1_600_000)
    assert second_from is not None
    first_until = last_audible_us(capture, before_us=second_from)
    assert first_until is not None
    print(f"between the tracks: {(second_from - first_until) / 1000:.0f} ms of silence")


async def test_an_item_it_cannot_read_fails_with_the_reason(
    bridged: Bridged, media_server: MediaServer
) -> None:
    b = bridged
    item = m.QueueItem("x", media_server.url("missing.wav"), "Missing")
    result = await b.controller.async_command(b.bridge.device_id, m.SetQueue((item,)))
    assert result.failure is not None
    assert result.failure.code is m.ErrorCode.MEDIA_UNREACHABLE, result.failure
    assert "could not be read" in result.failure.message, result.failure
    await until(lambda: b.state().status is m.PlaybackStatus.STOPPED, 5, "stopped")
