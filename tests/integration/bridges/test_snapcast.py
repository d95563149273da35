"""A real Snapcast group (snapserver and a snapclient, Debian's), bridged, is a Baton device:
listed, played, paused and resumed (also right after the bridge was too busy to feed it for
longer than its lead), sought, turned down, followed when another control client changes it,
on to the next item after the end, and music moves to it from a Baton receiver and back,
stop-first; a group that comes later is bridged as it comes. What the client played is
checked from its recording, within the position uncertainty the bridge states (the server's
buffer is known, its chunks and the client's blocks are not)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridges.snapcast import snapcast_device_id
from bridges.snapcast._status import POSITION_UNCERTAINTY_MS
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.wire import messages as m
from tests.audio import (
    first_audible_us,
    last_audible_us,
    read_capture,
    write_position_track,
)
from tests.integration.bridges.round_trip import round_trip
from tests.integration.bridges.test_mpd import (
    content_from,
    content_near,
    content_until,
)
from tests.integration.cli.conftest import baton
from tests.media_server import MediaServer
from tests.mpd_peer import RunningBridge
from tests.receivers import start_receiver
from tests.snapcast_peer import (
    CLIENT_ID,
    READY,
    RunningSnapcast,
    start_snapcast,
    start_snapcast_bridge,
)
from tests.waiting import until

pytestmark = [pytest.mark.slow, pytest.mark.netns]

NAME = "Garden"
HOME = "Living Room"
TRACK_MS = 18_000
HEARD = POSITION_UNCERTAINTY_MS + 5  # what the bridge says is heard vs what was, ms


@dataclass
class Bridged:
    snapcast: RunningSnapcast
    bridge: RunningBridge
    controller: Controller
    at: str

    @property
    def device_id(self) -> str:
        return snapcast_device_id("127.0.0.1", self.snapcast.control_port, self.snapcast.group_id)

    def state(self) -> m.PlaybackState:
        state = self.controller.connection(self.device_id).state
        assert state is not None
        return state


@pytest.fixture
async def bridged(tmp_path: Path, config: Path) -> AsyncIterator[Bridged]:
    snapcast = await start_snapcast(tmp_path / "snapcast", NAME)
    try:
        bridge = await start_snapcast_bridge(snapcast)
        controller = Controller(m.ClientIdentity("test", "test"), browse=False)
        await controller.async_start()
        try:
            await controller.async_add_address(bridge.host, bridge.port)
            await controller.async_connect(bridge.device_id)
            yield Bridged(snapcast, bridge, controller, f"--connect={bridge.host}:{bridge.port}")
        finally:
            await controller.async_close()
            print("".join(bridge.output))  # shown when the test fails
            assert await bridge.stop() == 0, "".join(bridge.output)
            assert "Traceback" not in "".join(bridge.output), "".join(bridge.output)
    finally:
        await snapcast.stop()


async def _heard_for(b: Bridged, seconds: float) -> None:
    """Wait until the client has written *seconds* more (it writes silence too, in time)."""
    goal = b.snapcast.played_frames() + round(seconds * 44_100)
    await until(lambda: b.snapcast.played_frames() >= goal, 10, f"{seconds} s more played")


async def _busy(b: Bridged, seconds: float) -> None:
    """Stop the bridge for *seconds* (SIGSTOP): a machine too busy to run it that long."""
    b.bridge.process.send_signal(signal.SIGSTOP)
    try:
        await asyncio.sleep(seconds)  # the stall's length is what this simulates: nothing to await
    finally:
        b.bridge.process.send_signal(signal.SIGCONT)


def _clock_vs_heard(b: Bridged, at_us: int) -> float:
    instant, heard = content_near(b.snapcast.capture(), at_us)
    return b.state().clock.position_at(instant) - heard


async def test_a_group_is_listed_and_played(
    bridged: Bridged, capsys: pytest.CaptureFixture[str], media_server: MediaServer
) -> None:
    b = bridged
    assert b.bridge.device_id == b.device_id  # made of the server's address and the group id
    code, out, err = await baton(capsys, "devices", "--interface", "lo", "--json")
    assert (code, err) == (0, "")
    [row] = [r for r in json.loads(out) if r["id"] == b.device_id]
    assert (row["name"], row["type"], row["online"]) == (NAME, "speaker", True)
    info = b.controller.connection(b.device_id).welcome
    assert info is not None
    caps = info.device.capabilities
    assert (caps.no_timed_start, caps.position_uncertainty_ms) == (True, POSITION_UNCERTAINTY_MS)

    write_position_track(media_server.root / "position.wav", TRACK_MS)
    code, _, err = await baton(capsys, "play", NAME, media_server.url("position.wav"), b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PLAYING, 5, "playing")
    assert (
        b.snapcast.rpc("Group.GetStatus", {"id": b.snapcast.group_id})["group"]["stream_id"]
        == "Baton"
    )
    await until(lambda: b.state().clock.position_at(monotonic_us()) >= 1_000, 10, "1 s heard")
    await _heard_for(b, 0.5)
    errors = [_clock_vs_heard(b, monotonic_us() - 300_000)]

    # The bridge busy for longer than its lead, so the server waits for it and dates what
    # follows afresh: the feed is re-dated likewise (what it owes is not left waiting in the
    # socket, the group playing that much later than the bridge says, for good).
    await _busy(b, 0.4)

    # Pause: the group goes silent at once (muted: the server's buffer is not heard), and the
    # clock stops where it did.
    code, _, err = await baton(capsys, "pause", NAME, b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PAUSED, 5, "paused")
    await _heard_for(b, 0.3)
    capture = b.snapcast.capture()
    stopped_at = last_audible_us(capture)
    assert stopped_at is not None
    heard = content_until(capture, stopped_at)
    errors.append(b.state().clock.position_ms - heard)

    # Resume, then seek: it plays on from there, then from 8 s.
    code, _, err = await baton(capsys, "resume", NAME, b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PLAYING, 5, "playing")
    await until(
        lambda: first_audible_us(b.snapcast.capture(), after_us=stopped_at) is not None,
        5, "heard again",
    )  # fmt: skip
    await _heard_for(b, 0.4)
    resumed_at = first_audible_us(b.snapcast.capture(), after_us=stopped_at)
    assert resumed_at is not None
    errors.append(content_from(b.snapcast.capture(), resumed_at) - heard)  # no content lost

    code, _, err = await baton(capsys, "seek", NAME, "8", b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().clock.position_at(monotonic_us()) >= 8_500, 10, "8.5 s")
    await _heard_for(b, 0.3)
    now = monotonic_us()

    assert 8_000 <= content_near(b.snapcast.capture(), now - 200_000)[1] <= 10_000
    errors.append(_clock_vs_heard(b, now - 200_000))

    # Volume: the group's client, echoed in the state.
    code, _, err = await baton(capsys, "volume", NAME, "40", b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().volume == 40, 5, "volume 40")
    client = b.snapcast.rpc("Client.GetStatus", {"id": "baton-test-client"})["client"]
    assert client["config"]["volume"]["percent"] == 40
    print("clock - heard (ms): " + ", ".join(f"{e:+.0f}" for e in errors))
    assert all(abs(e) <= HEARD for e in errors), errors


async def test_music_moves_to_the_group_and_back(
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
        code, _, err = await baton(capsys, "play", HOME, media_server.url("position.wav"), *at)
        assert (code, err) == (0, "")
        conn = await b.controller.async_connect(home.device_id)
        # The music's own pace: home's content is read from 60-300 ms before its last sound
        # (round_trip.py), so a second of play is room enough. (It was 1.5 s.)
        await until(
            lambda: conn.state is not None
            and conn.state.clock.position_at(monotonic_us()) >= 1_000,
            10, "home plays 1 s",
        )  # fmt: skip
        code, out, err = await baton(capsys, "transfer", HOME, NAME, "--json", *at)
        assert (code, err) == (0, ""), out
        there = json.loads(out)
        assert there["mode"] == "stop-first"
        assert there["mode_reason"].startswith(f"stop-first: {NAME} cannot start at an instant")
        await until(lambda: b.state().clock.position_at(monotonic_us()) > 0, 5, "group plays")
        start = b.state().clock.position_at(monotonic_us())
        await until(
            lambda: b.state().clock.position_at(monotonic_us()) >= start + 1_500, 10, "1.5 s"
        )
        await _heard_for(b, 0.2)
        code, out, err = await baton(capsys, "transfer", NAME, HOME, *at)
        assert (code, err) == (0, ""), out
        back = monotonic_us()
        await until(lambda: conn.state is not None and conn.state.active
                    and conn.state.clock.position_at(monotonic_us()) > 0
                    and monotonic_us() - back > 1_000_000, 10, "home plays again")  # fmt: skip
    finally:
        assert await home.stop() == 0
    trip = round_trip(b.snapcast.capture(), read_capture(home.recording))
    print(f"home->group->home: {trip} (reported there: gap {there['gap_ms']} ms)")
    assert abs(trip.there_content_ms) <= HEARD
    assert abs(trip.back_content_ms) <= HEARD


async def test_the_group_is_followed_and_goes_on_after_the_end(
    bridged: Bridged, capsys: pytest.CaptureFixture[str], media_server: MediaServer
) -> None:
    b = bridged
    write_position_track(media_server.root / "first.wav", 1_500)
    write_position_track(media_server.root / "second.wav", 8_000)
    urls = [media_server.url("first.wav"), media_server.url("second.wav")]
    code, _, err = await baton(capsys, "play", NAME, *urls, b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PLAYING, 5, "playing")
    first = b.state().current_uid

    # Another Snapcast client (Snapweb, an app) turns the group's client down: followed.
    b.snapcast.rpc("Client.SetVolume", {"id": CLIENT_ID, "volume": {"muted": False,
                                                                   "percent": 25}})  # fmt: skip
    await until(lambda: b.state().volume == 25, 5, "volume 25 followed")
    group = {"id": b.snapcast.group_id}
    b.snapcast.rpc("Group.SetMute", {**group, "mute": True})  # and mutes the group
    await until(lambda: b.state().volume == 0, 5, "muted: volume 0")
    code, _, err = await baton(capsys, "volume", NAME, "30", b.at)  # to be heard: unmuted
    assert (code, err) == (0, "")
    await until(lambda: b.state().volume == 30, 5, "volume 30")
    assert b.snapcast.rpc("Group.GetStatus", group)["group"]["muted"] is False

    # The first item ends (its last frame heard): the bridge feeds the second.
    await until(
        lambda: b.state().current_uid != first and b.state().status is m.PlaybackStatus.PLAYING,
        8, "on to the second item",
    )  # fmt: skip
    assert b.state().current_item is not None
    assert b.state().current_item.url == urls[1]
    await until(lambda: b.state().clock.position_at(monotonic_us()) >= 500, 5, "second heard")
    await _heard_for(b, 0.3)
    _, heard = content_near(b.snapcast.capture(), monotonic_us() - 200_000)
    assert heard < 2_000  # the second item, from its start

    # A client switched on later is a group of its own: bridged as it comes.
    await b.snapcast.add_client("kitchen-pi")
    await until(lambda: len(READY.findall("".join(b.bridge.output))) == 2, 10, "a second group")

    # Someone moves the group to another stream: the session stops there.
    b.snapcast.rpc("Group.SetStream", {"id": b.snapcast.group_id, "stream_id": "Other"})
    await until(lambda: b.state().status is m.PlaybackStatus.STOPPED, 5, "stopped")
