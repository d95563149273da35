"""A real AirPlay speaker (shairport-sync), found on mDNS and bridged, is a Baton device:
listed, played with its title, paused, sought, turned down; what it played is checked from its
recording, within the uncertainty the bridge states for a position it computes from what it
streamed and when (test_airplay_transfer.py moves music to it and back)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridges.airplay._status import POSITION_UNCERTAINTY_MS
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.wire import messages as m
from tests.airplay_peer import RunningSpeaker, start_speaker
from tests.audio import write_position_track
from tests.integration.bridges.test_mpd import content_near
from tests.integration.cli.conftest import baton
from tests.media_server import MediaServer
from tests.mpd_peer import RunningBridge, start_bridge_with
from tests.waiting import until

pytestmark = [pytest.mark.slow, pytest.mark.netns]

NAME = "Patio Speaker"
TRACK_MS = 18_000
HEARD = POSITION_UNCERTAINTY_MS + 5  # the stated uncertainty, and reading the recording


@dataclass
class Bridged:
    speaker: RunningSpeaker
    bridge: RunningBridge
    controller: Controller
    at: str
    name: str

    def state(self) -> m.PlaybackState:
        state = self.controller.connection(self.bridge.device_id).state
        assert state is not None
        return state


@contextlib.asynccontextmanager
async def bridged_speaker(folder: Path, *, named: bool = False) -> AsyncIterator[Bridged]:
    """A shairport-sync speaker and a bridge to it: found by browsing mDNS, or *named* by its
    address (then the bridge looks its mDNS record up: the same name, id and TXT record)."""
    speaker = await start_speaker(folder, NAME)
    try:
        words = ["--airplay", f"127.0.0.1:{speaker.port}"] if named else ["--browse-airplay"]
        bridge = await start_bridge_with([*words, "--interface", "lo"])
        controller = Controller(m.ClientIdentity("test", "test"), browse=False)
        await controller.async_start()
        try:
            await controller.async_add_address("127.0.0.1", bridge.port)
            await controller.async_connect(bridge.device_id)
            yield Bridged(speaker, bridge, controller, f"--connect=127.0.0.1:{bridge.port}", NAME)
        finally:
            await controller.async_close()
            print("".join(bridge.output))  # shown when the test fails
            assert await bridge.stop() == 0, "".join(bridge.output)
            assert "Traceback" not in "".join(bridge.output), "".join(bridge.output)
    finally:
        await speaker.stop()


@pytest.fixture
async def bridged(tmp_path: Path, config: Path) -> AsyncIterator[Bridged]:
    async with bridged_speaker(tmp_path / "speaker") as b:
        yield b


async def playing_past(b: Bridged, position_ms: int) -> None:
    """Wait until the session's clock (anchored where the bridge says the speaker is heard)
    is past *position_ms*, and 0.5 s more so the recording has it."""
    await until(
        lambda: b.state().status is m.PlaybackStatus.PLAYING
        and b.state().clock.position_at(monotonic_us()) >= position_ms + 500,
        10, f"playing past {position_ms} ms",
    )  # fmt: skip


def _off_by(b: Bridged) -> float:
    """Return how far the session's clock is from what the speaker played 0.4 s ago (ms)."""
    at, heard = content_near(b.speaker.capture(), monotonic_us() - 400_000)
    return b.state().clock.position_at(at) - heard


async def test_a_speaker_is_found_listed_and_played(
    bridged: Bridged, capsys: pytest.CaptureFixture[str], media_server: MediaServer
) -> None:
    b = bridged
    assert b.bridge.device_id.startswith("airplay-")  # made of its hardware id
    code, out, err = await baton(capsys, "devices", "--interface", "lo", "--json")
    assert (code, err) == (0, "")
    [row] = [r for r in json.loads(out) if r["id"] == b.bridge.device_id]
    assert (row["name"], row["type"], row["online"]) == (NAME, "speaker", True)

    write_position_track(media_server.root / "position.wav", TRACK_MS)
    item = m.QueueItem("p", media_server.url("position.wav"), "Position", artist="The Testers")
    result = await b.controller.async_command(b.bridge.device_id, m.SetQueue((item,)))
    assert result.ok, result.failure
    await playing_past(b, 1_500)
    first = _off_by(b)
    assert abs(first) <= HEARD, first
    # The speaker was told what plays (its metadata pipe: DMAP title and artist).
    assert (b.speaker.shown("minm"), b.speaker.shown("asar")) == (["Position"], ["The Testers"])

    code, _, err = await baton(capsys, "pause", NAME, b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PAUSED, 5, "paused")
    for words in (["seek", NAME, "9"], ["volume", NAME, "35"], ["volume", NAME, "100"],
                  ["resume", NAME]):  # fmt: skip
        code, _, err = await baton(capsys, *words, b.at)
        assert (code, err) == (0, ""), words
    await playing_past(b, 10_000)
    _, heard = content_near(b.speaker.capture(), monotonic_us() - 400_000)
    assert 9_000 <= heard <= 11_000, heard
    again = _off_by(b)
    print(f"clock - heard: {first:+.0f} ms, after seek and resume {again:+.0f} ms")
    assert abs(again) <= HEARD, again
