"""Music moves from a Baton receiver to a bridged AirPlay speaker (shairport-sync) and back,
stop-first by the coordinator's own choice (RAOP cannot start at an instant); the content goes
on where it stopped, within the uncertainty the bridge states, heard on both recordings. The
gap to the speaker is RAOP's latency (pyatv's 1.5 s and the speaker's buffer), not Baton's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.wire import messages as m
from tests.audio import read_capture, write_position_track
from tests.integration.bridges.round_trip import round_trip
from tests.integration.bridges.test_airplay import HEARD, Bridged, bridged_speaker, playing_past
from tests.integration.cli.conftest import baton
from tests.media_server import MediaServer
from tests.receivers import start_receiver
from tests.waiting import until

pytestmark = [pytest.mark.slow, pytest.mark.netns]

HOME = "Living Room"
TRACK_MS = 18_000


@pytest.fixture
async def bridged(tmp_path: Path, config: Path) -> AsyncIterator[Bridged]:
    """The speaker named by its address (`--airplay`), not browsed: that path too (the bridge
    finds its mDNS record: its name, its id and that it takes metadata)."""
    async with bridged_speaker(tmp_path / "speaker", named=True) as b:
        yield b


async def test_music_moves_to_the_speaker_and_back(
    bridged: Bridged,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    media_server: MediaServer,
) -> None:
    b = bridged
    home = await start_receiver(tmp_path, HOME, output="capture")
    try:
        await b.controller.async_add_address(home.host, home.port)
        at = [b.at, f"--connect={home.host}:{home.port}"]
        write_position_track(media_server.root / "position.wav", TRACK_MS)
        conn = await b.controller.async_connect(home.device_id)
        item = m.QueueItem("p", media_server.url("position.wav"), "Moving", artist="The Testers")
        result = await b.controller.async_command(home.device_id, m.SetQueue((item,)))
        assert result.ok, result.failure
        await until(
            lambda: conn.state is not None
            and conn.state.clock.position_at(monotonic_us()) >= 1_500,
            10, "home plays 1.5 s",
        )  # fmt: skip
        code, out, err = await baton(capsys, "transfer", HOME, b.name, "--json", *at)
        assert (code, err) == (0, ""), out
        there = json.loads(out)
        assert there["mode"] == "stop-first", there
        assert there["mode_reason"].startswith(f"stop-first: {b.name} cannot start at an instant")
        await playing_past(b, 4_000)
        # The Load names only a URL: the offer's item gives the speaker its title and artist.
        assert (b.speaker.shown("minm"), b.speaker.shown("asar")) == (["Moving"], ["The Testers"])
        code, out, err = await baton(capsys, "transfer", b.name, HOME, *at)
        assert (code, err) == (0, ""), out
        back = monotonic_us()
        await until(lambda: conn.state is not None and conn.state.active
                    and conn.state.clock.position_at(monotonic_us()) > 0
                    and monotonic_us() - back > 1_000_000, 10, "home plays again")  # fmt: skip
    finally:
        assert await home.stop() == 0
    trip = round_trip(b.speaker.capture(), read_capture(home.recording))
    print(f"home->speaker->home: {trip} (reported there: gap {there['gap_ms']} ms)")
    assert abs(trip.there_content_ms) <= HEARD
    assert abs(trip.back_content_ms) <= HEARD
