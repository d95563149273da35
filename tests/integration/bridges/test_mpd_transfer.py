"""Music moves from a Baton receiver to a bridged MPD and back, stop-first by the coordinator's
own choice (the MPD cannot start at an instant), and the content goes on where it stopped, to
within what the bridge says it knows of MPD's position; heard on both sides' recordings.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridges.mpd._status import POSITION_UNCERTAINTY_MS
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.wire import messages as m
from tests.audio import (
    first_audible_us,
    last_audible_us,
    read_capture,
    write_position_track,
)
from tests.integration.bridges.test_mpd import NAME, Bridged, content_from, content_until
from tests.integration.cli.conftest import baton
from tests.media_server import MediaServer
from tests.mpd_peer import start_bridge, start_mpd
from tests.receivers import RunningReceiver, start_receiver
from tests.waiting import until

pytestmark = pytest.mark.slow

HOME = "Living Room"
# What the content may jump by across a switch: the bridge's stated uncertainty of MPD's
# position, and 5 ms for reading the recordings (2 ms steps, segment windows).
CONTINUITY_MS = POSITION_UNCERTAINTY_MS + 5
REASON = "stop-first: Kitchen MPD cannot start at an instant"


@pytest.fixture
async def pair(tmp_path: Path, config: Path) -> AsyncIterator[tuple[Bridged, RunningReceiver]]:
    mpd = await start_mpd(tmp_path / "mpd")
    receiver = await start_receiver(tmp_path, HOME, output="capture")
    try:
        bridge = await start_bridge(mpd, NAME)
        controller = Controller(m.ClientIdentity("test", "test"), browse=False)
        await controller.async_start()
        try:
            for host, port in ((bridge.host, bridge.port), (receiver.host, receiver.port)):
                await controller.async_add_address(host, port)
            await controller.async_connect(bridge.device_id)
            await controller.async_connect(receiver.device_id)
            at = f"--connect={bridge.host}:{bridge.port}"
            yield Bridged(mpd, bridge, controller, at), receiver
        finally:
            await controller.async_close()
            assert await bridge.stop() == 0, "".join(bridge.output)
            assert "Traceback" not in "".join(bridge.output), "".join(bridge.output)
    finally:
        if receiver.process.returncode is None:
            await receiver.stop()
        await mpd.stop()


def _position(controller: Controller, device_id: str) -> int:
    state = controller.connection(device_id).state
    return -1 if state is None else state.clock.position_at(monotonic_us())


async def test_music_moves_to_mpd_and_back_where_it_stopped(
    pair: tuple[Bridged, RunningReceiver],
    capsys: pytest.CaptureFixture[str],
    media_server: MediaServer,
) -> None:
    b, home = pair
    at = [b.at, f"--connect={home.host}:{home.port}"]
    write_position_track(media_server.root / "position.wav", 18_000)
    code, _, err = await baton(capsys, "play", HOME, media_server.url("position.wav"), *at)
    assert (code, err) == (0, "")
    await until(lambda: _position(b.controller, home.device_id) >= 1_500, 10, "home plays 1.5 s")

    code, out, err = await baton(capsys, "transfer", HOME, NAME, "--json", *at)
    assert (code, err) == (0, ""), out
    there = json.loads(out)
    assert there["mode"] == "stop-first"
    assert there["mode_reason"].startswith(REASON)
    assert b.state().status is m.PlaybackStatus.PLAYING
    start = _position(b.controller, b.bridge.device_id)
    await until(
        lambda: _position(b.controller, b.bridge.device_id) >= start + 1_500, 10, "MPD plays"
    )

    code, out, err = await baton(capsys, "transfer", NAME, HOME, *at)
    assert (code, err) == (0, ""), out
    assert out.startswith(f"{NAME} -> {HOME}: playing after "), out
    assert f"({REASON}" in out, out  # the second line says why it was not a handoff
    back = _position(b.controller, home.device_id)
    await until(lambda: _position(b.controller, home.device_id) >= back + 1_000, 10, "home plays")
    assert await home.stop() == 0
    mpd_heard, home_heard = b.mpd.capture(), read_capture(home.recording)

    # Home -> MPD: MPD starts where home went silent.
    mpd_from = first_audible_us(mpd_heard)
    assert mpd_from is not None
    home_until = last_audible_us(home_heard, before_us=mpd_from)
    assert home_until is not None
    stopped = content_until(home_heard, home_until)
    started = content_from(mpd_heard, mpd_from)
    there_error = started - stopped
    assert abs(there_error) <= CONTINUITY_MS, (stopped, started)

    # MPD -> home: home starts where MPD went silent.
    home_again = first_audible_us(home_heard, after_us=mpd_from)
    assert home_again is not None
    mpd_until = last_audible_us(mpd_heard, before_us=home_again)
    assert mpd_until is not None
    stopped = content_until(mpd_heard, mpd_until)
    started = content_from(home_heard, home_again)
    back_error = started - stopped
    assert abs(back_error) <= CONTINUITY_MS, (stopped, started)
    print(
        f"home->MPD: gap {(mpd_from - home_until) / 1000:.0f} ms (reported {there['gap_ms']} "
        f"ms), content {there_error:+.0f} ms; MPD->home: gap {(home_again - mpd_until) / 1000:.0f}"
        f" ms, content {back_error:+.0f} ms"
    )
