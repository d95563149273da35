"""An HLS live station on real receivers: recognised as live, and moved at the live edge.

tests/hls_station.py's station (ffmpeg's live segmenter: 1 s MPEG-TS segments of the position
code's MP3, a rolling window of 4, served on loopback) played by `baton-receiver` processes
into capture outputs. libVLC seeks in an HLS window and reports its length, so only the
playlist says it is live (devices/_live.py). A listener joins at the start of the window it
fetched, so two receivers play the programme up to a segment apart: the transfer bound on the
programme offset is a segment, not the Icecast stream's fraction of a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.controller import Controller
from connect.session.playback import LIVE_SEEK_REASON
from connect.wire import messages as m
from tests.audio import read_capture
from tests.hls_station import SEGMENT_S, HlsStation
from tests.integration.live.live_edge import (
    assert_at_the_live_edge,
    hear_both_ways,
    move_both_ways,
)
from tests.integration.live.test_radio import FOUND_TIMEOUT_S, tune_in, wait_state
from tests.integration.transfer.proof_audio import content_offset
from tests.live_station import CODE
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow

# Each connection joins at a segment boundary of the window it fetched: a segment apart at most,
# plus the segmenter's uneven cuts (ffmpeg cuts at MP3 frames: ±26 ms).
MAX_OFFSET_US = SEGMENT_S * 1_000_000 + 100_000


@pytest.fixture
async def hls(programme: list[bytes], tmp_path: Path) -> AsyncIterator[HlsStation]:
    """The station, started by the receivers' fixtures beside their receivers."""
    station = HlsStation(programme, tmp_path / "hls")
    yield station
    await station.close()


async def _start_beside(
    station: HlsStation, *starting: Awaitable[RunningReceiver]
) -> list[RunningReceiver]:
    """Start the station and the receivers together; return the receivers.

    The segmenter writes a segment a second in real time, so the station is seconds from
    listing its first ones, idle meanwhile; a receiver takes about a second to listen."""
    results = await asyncio.gather(station.start(), *starting, return_exceptions=True)
    receivers = [r for r in results if isinstance(r, RunningReceiver)]
    for result in results:
        if isinstance(result, BaseException):
            for receiver in receivers:
                await receiver.kill()
            raise result
    return receivers


@pytest.fixture
async def controller() -> AsyncIterator[Controller]:
    ctl = Controller(m.ClientIdentity("test-hls", "HLS test"), interfaces=["127.0.0.1"])
    await ctl.async_start()
    yield ctl
    await ctl.async_close()


@pytest.fixture
async def receiver(tmp_path: Path, hls: HlsStation) -> AsyncIterator[RunningReceiver]:
    [running] = await _start_beside(hls, start_receiver(tmp_path, "Kitchen", output="capture"))
    yield running
    if running.process.returncode is None:
        await running.kill()


@pytest.fixture
async def devices(
    tmp_path: Path, hls: HlsStation
) -> AsyncIterator[tuple[RunningReceiver, RunningReceiver]]:
    a, b = await _start_beside(
        hls,
        start_receiver(tmp_path, "Kitchen", output="capture"),
        start_receiver(tmp_path, "Study", output="capture"),
    )
    yield a, b
    for receiver in (a, b):
        if receiver.process.returncode is None:
            await receiver.kill()


async def test_an_hls_live_playlist_plays_live_refuses_seek_and_a_404_is_typed(
    receiver: RunningReceiver, controller: Controller, hls: HlsStation
) -> None:
    conn, result = await tune_in(controller, receiver, hls.url)
    assert result.ok, result.failure
    state = await wait_state(conn, lambda s: s.live, FOUND_TIMEOUT_S)
    assert state.status is m.PlaybackStatus.PLAYING
    assert any(r.command is m.CommandKind.SEEK for r in state.restrictions)
    item = state.current_item
    assert item is not None
    assert item.duration_ms == 0  # not the window's length libVLC reports
    refused = await controller.async_command(receiver.device_id, m.Seek(1000))
    assert refused.failure is not None
    assert refused.failure.code is m.ErrorCode.RESTRICTED
    assert LIVE_SEEK_REASON in refused.failure.message
    heard_from = monotonic_us()
    await asyncio.sleep(1.0)  # let the stream play on: the music's own pace

    # A playlist that is not there (the station moved) is a typed error, never a silent stop.
    gone = m.QueueItem("gone-1", hls.missing_url, title="gone")
    missing = await controller.async_command(receiver.device_id, m.SetQueue((gone,), play=True))
    assert missing.failure is not None
    assert missing.failure.code is m.ErrorCode.MEDIA_NOT_FOUND

    assert await receiver.stop() == 0, "".join(receiver.output)
    capture = read_capture(receiver.recording)
    # What was heard is the programme, steady: its segments decode to the station's content.
    assert content_offset(capture, heard_from, heard_from + 800_000, CODE) is not None


async def test_hls_radio_moves_both_ways_at_the_live_edge(
    devices: tuple[RunningReceiver, RunningReceiver], controller: Controller, hls: HlsStation
) -> None:
    a, b = devices
    await controller.async_add_address("127.0.0.1", b.port)
    _conn, played = await tune_in(controller, a, hls.url)
    assert played.ok, played.failure
    await wait_state(controller.connection(a.device_id), lambda s: s.live, FOUND_TIMEOUT_S)
    await controller.async_connect(b.device_id)

    windows = await move_both_ways(controller, devices, lambda moved: None)
    assert_at_the_live_edge(await hear_both_ways(devices, windows), MAX_OFFSET_US)
