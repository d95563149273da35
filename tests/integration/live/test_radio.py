"""Internet radio on a real receiver: recognised as live, what is on shown, drops survived.

A `baton-receiver` process plays tests/live_station.py's endless MP3 (paced at real time, no
length, no ranges, ICY metadata) into a capture output; a Controller watches its state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.controller import Controller
from connect.session import DeviceConnection
from connect.session.playback import LIVE_SEEK_REASON
from connect.wire import messages as m
from devices._live import RECONNECT_DELAYS_S, STALL_NOTICE_S, WATCH_INTERVAL_S
from tests.audio import read_capture
from tests.integration.transfer.proof_audio import first_audible_between
from tests.live_station import STATION_NAME, LiveStation
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow

STATE_TIMEOUT_S = 15.0
# Found live and its title read within a few polls of the first audio.
FOUND_TIMEOUT_S = 6 * WATCH_INTERVAL_S + 5.0


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[RunningReceiver]:
    running = await start_receiver(tmp_path, "Kitchen", output="capture")
    yield running
    if running.process.returncode is None:
        assert await running.stop() == 0, "".join(running.output)


@pytest.fixture
async def controller() -> AsyncIterator[Controller]:
    ctl = Controller(m.ClientIdentity("test-radio", "Radio test"), interfaces=["127.0.0.1"])
    await ctl.async_start()
    yield ctl
    await ctl.async_close()


async def wait_state(
    conn: DeviceConnection,
    match: Callable[[m.PlaybackState], bool],
    timeout: float = STATE_TIMEOUT_S,
) -> m.PlaybackState:
    """Return the connection's state once *match* holds (bounded)."""
    changed = asyncio.Event()
    unsubscribe = conn.subscribe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(timeout):
            while conn.state is None or not match(conn.state):
                changed.clear()
                await changed.wait()
    finally:
        unsubscribe()
    assert conn.state is not None
    return conn.state


async def tune_in(
    controller: Controller, receiver: RunningReceiver, url: str
) -> tuple[DeviceConnection, m.CommandResult]:
    await controller.async_add_address("127.0.0.1", receiver.port)
    item = m.QueueItem("radio-1", url, title="radio")
    result = await controller.async_command(receiver.device_id, m.SetQueue((item,), play=True))
    return controller.connection(receiver.device_id), result


def title_is(title: str) -> Callable[[m.PlaybackState], bool]:
    def match(state: m.PlaybackState) -> bool:
        return state.now_playing is not None and state.now_playing.title == title

    return match


async def test_radio_is_live_shows_what_is_on_and_refuses_seek_saying_why(
    receiver: RunningReceiver, controller: Controller, station: LiveStation
) -> None:
    conn, result = await tune_in(controller, receiver, station.url)
    assert result.ok, result.failure
    state = await wait_state(conn, title_is("Morning Show"), FOUND_TIMEOUT_S)
    assert state.live
    assert state.status is m.PlaybackStatus.PLAYING
    assert state.now_playing == m.NowPlaying("Morning Show", STATION_NAME, station.logo_url)
    assert any(r.command is m.CommandKind.SEEK for r in state.restrictions)

    refused = await controller.async_command(receiver.device_id, m.Seek(5000))
    assert refused.failure is not None
    assert refused.failure.code is m.ErrorCode.RESTRICTED
    assert LIVE_SEEK_REASON in refused.failure.message

    station.title = "Afternoon News"  # reaches the receiver at its next metadata block
    state = await wait_state(conn, title_is("Afternoon News"), FOUND_TIMEOUT_S)
    assert state.now_playing is not None
    assert state.now_playing.station == STATION_NAME

    assert await receiver.stop() == 0, "".join(receiver.output)
    capture = read_capture(receiver.recording)
    assert first_audible_between(capture, 0, 2**62) is not None


async def test_radio_without_icy_metadata_is_live_with_the_station_name_only(
    receiver: RunningReceiver, controller: Controller, programme: list[bytes]
) -> None:
    plain = LiveStation(programme)  # no icy-metaint, no logo: only the icy-name header
    await plain.start()
    try:
        conn, result = await tune_in(controller, receiver, plain.url)
        assert result.ok, result.failure
        state = await wait_state(
            conn, lambda s: s.live and s.now_playing is not None, FOUND_TIMEOUT_S
        )
        assert state.now_playing == m.NowPlaying("", STATION_NAME, "")
        assert all(listener.icy is False for listener in plain.listeners)
    finally:
        await plain.close()


async def test_a_file_is_not_live(
    receiver: RunningReceiver, controller: Controller, tmp_path: Path
) -> None:
    from tests.audio import write_position_track
    from tests.media_server import MediaServer

    root = tmp_path / "media"
    root.mkdir()
    write_position_track(root / "pos.wav", 6000)
    async with MediaServer(root) as server:
        conn, result = await tune_in(controller, receiver, server.url("pos.wav"))
        assert result.ok, result.failure
        await wait_state(conn, lambda s: s.status is m.PlaybackStatus.PLAYING)
        # Give the watch the polls that found the radio live above; a file stays a file.
        await asyncio.sleep(4 * WATCH_INTERVAL_S)
        state = conn.state
        assert state is not None
        assert not state.live
        assert state.now_playing is None
        assert not state.restrictions
        moved = await controller.async_command(receiver.device_id, m.Seek(3000))
        assert moved.ok, moved.failure


async def test_a_station_that_restarts_is_reconnected_and_says_so(
    receiver: RunningReceiver, controller: Controller, station: LiveStation
) -> None:
    conn, _ = await tune_in(controller, receiver, station.url)
    await wait_state(conn, lambda s: s.live, FOUND_TIMEOUT_S)
    connections = station.connections

    down = asyncio.create_task(station.restart(down_s=1.5))
    dropped = await wait_state(conn, lambda s: s.status is m.PlaybackStatus.BUFFERING)
    assert dropped.error is not None
    assert dropped.error.code is m.ErrorCode.MEDIA_UNREACHABLE
    assert "reconnecting" in dropped.error.message
    await down
    back_by = sum(RECONNECT_DELAYS_S[:4]) + STATE_TIMEOUT_S
    back = await wait_state(
        conn, lambda s: s.status is m.PlaybackStatus.PLAYING and s.error is None, back_by
    )
    assert back.live
    assert station.connections > connections
    heard_back_from = monotonic_us()
    await wait_state(conn, lambda s: bool(station.listeners), STATE_TIMEOUT_S)
    await asyncio.sleep(1.0)  # let the stream play on: the music's own pace

    assert await receiver.stop() == 0, "".join(receiver.output)
    capture = read_capture(receiver.recording)
    assert first_audible_between(capture, heard_back_from, 2**62) is not None


async def test_a_station_gone_404_on_reconnection_is_a_typed_error(
    receiver: RunningReceiver, controller: Controller, station: LiveStation
) -> None:
    conn, _ = await tune_in(controller, receiver, station.url)
    await wait_state(conn, lambda s: s.live, FOUND_TIMEOUT_S)
    station.gone = True
    await station.restart(down_s=0.2)
    stopped = await wait_state(conn, lambda s: s.status is m.PlaybackStatus.STOPPED)
    assert stopped.error is not None
    assert stopped.error.code is m.ErrorCode.MEDIA_NOT_FOUND


async def test_a_stall_of_five_seconds_is_said_and_playback_goes_on(
    receiver: RunningReceiver, controller: Controller, station: LiveStation
) -> None:
    conn, _ = await tune_in(controller, receiver, station.url)
    await wait_state(conn, lambda s: s.live, FOUND_TIMEOUT_S)
    station.stall(5.0)
    stalled = await wait_state(
        conn, lambda s: s.status is m.PlaybackStatus.BUFFERING, STALL_NOTICE_S + 5.0
    )
    assert stalled.error is not None
    assert "stall" in stalled.error.message
    flowing = await wait_state(
        conn, lambda s: s.status is m.PlaybackStatus.PLAYING and s.error is None
    )
    assert flowing.live
    after = monotonic_us()
    await asyncio.sleep(1.0)  # let the stream play on: the music's own pace

    assert await receiver.stop() == 0, "".join(receiver.output)
    capture = read_capture(receiver.recording)
    assert first_audible_between(capture, after, 2**62) is not None


async def test_a_missing_station_is_a_typed_error(
    receiver: RunningReceiver, controller: Controller, station: LiveStation
) -> None:
    _conn, result = await tune_in(controller, receiver, station.missing_url)
    assert result.failure is not None
    assert result.failure.code is m.ErrorCode.MEDIA_NOT_FOUND
