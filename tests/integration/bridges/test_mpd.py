"""A real MPD, bridged, is a Baton device: listed, played, paused, sought, turned down, and
followed when another of its clients changes it; what it played is checked from its recording.

MPD runs from Debian's package with a FIFO output the test records (tests/mpd_peer.py); the
bridge is the real `baton-bridge` process; commands go through the real `baton` CLI, and an
in-process Controller reads the published state to compare its clock with what was heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mpd.asyncio import MPDClient

from bridges.mpd import mpd_device_id
from bridges.mpd._status import POSITION_UNCERTAINTY_MS
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.wire import messages as m
from tests.audio import (
    SEGMENT_MS,
    Capture,
    first_audible_us,
    last_audible_us,
    segment_at,
    write_position_track,
)
from tests.integration.cli.conftest import baton
from tests.media_server import MediaServer
from tests.mpd_peer import (
    READY,
    RunningBridge,
    RunningMpd,
    free_port,
    start_bridge,
    start_mpd,
)
from tests.waiting import until

pytestmark = pytest.mark.slow

NAME = "Kitchen MPD"
TRACK_MS = 18_000
HEARD = POSITION_UNCERTAINTY_MS + 5  # what MPD says it played vs what it played, ms


@dataclass
class Bridged:
    mpd: RunningMpd
    bridge: RunningBridge
    controller: Controller
    at: str  # --connect HOST:PORT

    def state(self) -> m.PlaybackState:
        state = self.controller.connection(self.bridge.device_id).state
        assert state is not None
        return state


@pytest.fixture
async def bridged(tmp_path: Path, config: Path) -> AsyncIterator[Bridged]:
    mpd = await start_mpd(tmp_path / "mpd")
    running = [mpd]
    try:
        bridge = await start_bridge(mpd, NAME)
        controller = Controller(m.ClientIdentity("test", "test"), browse=False)
        await controller.async_start()
        try:
            await controller.async_add_address(bridge.host, bridge.port)
            await controller.async_connect(bridge.device_id)
            bridged = Bridged(mpd, bridge, controller, f"--connect={bridge.host}:{bridge.port}")
            yield bridged
            running.append(bridged.mpd)  # a test may have started another (MPD restarting)
        finally:
            await controller.async_close()
            assert await bridge.stop() == 0, "".join(bridge.output)
            assert "Traceback" not in "".join(bridge.output), "".join(bridge.output)
    finally:
        for each in running:
            await each.stop()  # idempotent


class UnclearError(AssertionError):
    """No single segment is clearly heard there (a window across a break in the recording)."""


def content_ms_at(capture: Capture, at_us: int) -> float:
    """Return the position track's content position heard at *at_us* (ms), to ~2 ms: from the
    instant the segment heard then gives way to the next; UnclearError if it cannot tell."""
    segment = segment_at(capture, at_us)
    if segment is None:
        raise UnclearError(f"no segment heard at {at_us}")
    edge = at_us
    while (heard := segment_at(capture, edge)) == segment:
        edge += 2_000
        if edge - at_us > 2 * SEGMENT_MS * 1000:
            raise UnclearError(f"a segment that does not end after {at_us}")
    if heard is None:
        raise UnclearError(f"a break in the recording after {at_us}")
    return (segment + 1) * SEGMENT_MS - (edge - at_us) / 1000


def content_near(capture: Capture, at_us: int) -> tuple[int, float]:
    """Return an instant at or up to 300 ms before *at_us* where the content is clearly heard,
    and that content (a busy test process reads the recording late now and then)."""
    for back_ms in range(0, 300, 10):
        instant = at_us - back_ms * 1000
        with contextlib.suppress(UnclearError):
            return instant, content_ms_at(capture, instant)
    raise UnclearError(f"nothing clear heard before {at_us}")


def content_from(capture: Capture, at_us: int) -> float:
    """Return the content heard from *at_us* on (an output's first sound): read at the first
    instant after it where one segment is clearly heard (a start may click or ramp)."""
    for offset_ms in range(10, 300, 10):
        with contextlib.suppress(UnclearError):
            return content_ms_at(capture, at_us + offset_ms * 1000) - offset_ms
    raise UnclearError(f"nothing clear heard after {at_us}")


def content_until(capture: Capture, at_us: int) -> float:
    """Return the content heard up to *at_us* (an output's last sound), read likewise before."""
    for offset_ms in range(60, 300, 10):
        with contextlib.suppress(UnclearError):
            return content_ms_at(capture, at_us - offset_ms * 1000) + offset_ms
    raise UnclearError(f"nothing clear heard before {at_us}")


async def _heard_for(b: Bridged, seconds: float) -> None:
    """Wait until MPD has played *seconds* more audio (its FIFO paces it in real time)."""
    goal = b.mpd.played_frames() + round(seconds * 44_100)
    await until(lambda: b.mpd.played_frames() >= goal, 10, f"{seconds} s more played by MPD")


def _clock_matches_audio(b: Bridged, capture: Capture, at_us: int) -> float:
    """Return how far the published clock is from the content heard about *at_us* (ms)."""
    instant, heard = content_near(capture, at_us)
    return b.state().clock.position_at(instant) - heard


async def test_an_mpd_is_listed_and_played_as_a_baton_device(
    bridged: Bridged, capsys: pytest.CaptureFixture[str], media_server: MediaServer
) -> None:
    b = bridged
    code, out, err = await baton(capsys, "devices", "--interface", "lo", "--json")
    assert (code, err) == (0, "")
    [row] = [r for r in json.loads(out) if r["id"] == b.bridge.device_id]
    assert (row["name"], row["type"], row["online"]) == (NAME, "speaker", True)
    info = b.controller.connection(b.bridge.device_id).welcome
    assert info is not None
    caps = info.device.capabilities
    assert (caps.no_timed_start, caps.position_uncertainty_ms) == (True, POSITION_UNCERTAINTY_MS)
    assert "wav" in caps.audio_codecs

    write_position_track(media_server.root / "position.wav", TRACK_MS)
    url = media_server.url("position.wav")
    code, _, err = await baton(capsys, "play", NAME, url, b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PLAYING, 5, "playing")
    await _heard_for(b, 1.0)
    now = monotonic_us()
    assert abs(_clock_matches_audio(b, b.mpd.capture(), now - 300_000)) <= HEARD

    # Pause: the music stops, the clock stops where it did.
    code, _, err = await baton(capsys, "pause", NAME, b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PAUSED, 5, "paused")
    capture = b.mpd.capture()
    stopped_at = last_audible_us(capture)
    assert stopped_at is not None
    heard = content_until(capture, stopped_at)
    assert abs(b.state().clock.position_ms - heard) <= HEARD

    # Resume and seek: it plays on from there, then from 8 s.
    for words in (["resume", NAME], ["seek", NAME, "8"]):
        code, _, err = await baton(capsys, *words, b.at)
        assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PLAYING, 5, "playing")
    await _heard_for(b, 0.8)
    now = monotonic_us()
    capture = b.mpd.capture()
    assert 8_000 <= content_near(capture, now - 300_000)[1] <= 9_500
    assert abs(_clock_matches_audio(b, capture, now - 300_000)) <= HEARD

    # Volume: the device's mixer, echoed in the state.
    code, _, err = await baton(capsys, "volume", NAME, "40", b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().volume == 40, 5, "volume 40")
    code, out, _ = await baton(capsys, "status", NAME, b.at)
    assert out.startswith(f"{NAME}: playing position at "), out
    assert out.rstrip().endswith("volume 40"), out


async def test_what_another_mpd_client_does_is_followed(
    bridged: Bridged, capsys: pytest.CaptureFixture[str], media_server: MediaServer
) -> None:
    b = bridged
    write_position_track(media_server.root / "position.wav", TRACK_MS)
    code, _, err = await baton(capsys, "play", NAME, media_server.url("position.wav"), b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PLAYING, 5, "playing")
    other = MPDClient()
    await other.connect("127.0.0.1", b.mpd.port)
    try:
        # MPD's idle tells the bridge; nothing polls.
        await other.pause(1)
        await until(lambda: b.state().status is m.PlaybackStatus.PAUSED, 2, "followed a pause")
        await other.setvol(25)
        await until(lambda: b.state().volume == 25, 2, "followed a volume change")
        await other.seekcur("12.0")
        await other.pause(0)
        await until(lambda: b.state().status is m.PlaybackStatus.PLAYING, 2, "followed a resume")
        await until(
            lambda: abs(b.state().clock.position_at(monotonic_us()) - 12_000) < 2_000,
            2, "followed a seek",
        )  # fmt: skip
        await _heard_for(b, 0.8)
        now = monotonic_us()
        assert abs(_clock_matches_audio(b, b.mpd.capture(), now - 300_000)) <= HEARD
    finally:
        other.disconnect()
    assert first_audible_us(b.mpd.capture()) is not None


async def test_an_mpd_that_restarts_is_reached_again(
    bridged: Bridged, tmp_path: Path, capsys: pytest.CaptureFixture[str], media_server: MediaServer
) -> None:
    b = bridged
    write_position_track(media_server.root / "position.wav", TRACK_MS)
    url = media_server.url("position.wav")
    code, _, err = await baton(capsys, "play", NAME, url, b.at)
    assert (code, err) == (0, "")
    await until(lambda: b.state().status is m.PlaybackStatus.PLAYING, 5, "playing")
    await b.mpd.stop()
    # The session stops, saying why: nobody is told it plays where nothing can.
    await until(lambda: b.state().error is not None, 5, "the loss shown")
    assert b.state().status is m.PlaybackStatus.STOPPED
    b.mpd = await start_mpd(tmp_path / "mpd-again", b.mpd.port)
    await until(lambda: "MPD is back" in "".join(b.bridge.output), 10, "reached again")
    code, _, err = await baton(capsys, "play", NAME, url, b.at)
    assert (code, err) == (0, "")
    await _heard_for(b, 0.5)


async def test_a_bridge_started_before_its_mpd_waits_for_it(tmp_path: Path) -> None:
    port = free_port()
    bridge = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridges", "--mpd", f"127.0.0.1:{port}", "--interface", "lo",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert bridge.stdout is not None
    mpd = None
    try:
        async with asyncio.timeout(20):
            # It does not give up on an MPD that is not there yet (started after it, at boot).
            while "trying again until it answers" not in (line := await _line(bridge)):
                assert line, "the bridge exited"
            mpd = await start_mpd(tmp_path / "mpd", port)
            while not (found := READY.search(await _line(bridge))):
                pass
        assert found["id"] == mpd_device_id("127.0.0.1", port)
    finally:
        bridge.terminate()
        assert await asyncio.wait_for(bridge.wait(), 10) == 0
        if mpd is not None:
            await mpd.stop()


async def _line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    return (await process.stdout.readline()).decode(errors="replace")
