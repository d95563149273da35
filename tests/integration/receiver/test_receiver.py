"""A real baton-receiver process on loopback, found over mDNS and driven by Controllers.

What afile records: exactly what libVLC played, nothing while paused. So a pause shows as a
recording that continues the content with nothing lost and nothing repeated; a seek shows as a
jump in the position track's segments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connect.controller import Controller
from connect.paths import DEAD_AFTER_BEATS, HEARTBEAT_INTERVAL_MS
from connect.session import Connected, Disconnected, StateChanged
from connect.wire import messages as m
from tests.audio import (
    audible_duration_ms,
    content_positions,
    find_gaps,
    read_wav,
    segment_sequence,
    write_position_track,
    write_tone,
    zero_crossing_frequency,
)
from tests.integration.receiver.helpers import (
    EVENT_TIMEOUT_S,
    Events,
    identity,
    play,
    state_is,
    until_position,
    until_saved,
)
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[RunningReceiver]:
    running = await start_receiver(tmp_path, "Living Room")
    yield running
    if running.process.returncode is None:
        assert await running.stop() == 0, "".join(running.output)


@pytest.fixture
async def controller() -> AsyncIterator[Controller]:
    ctl = Controller(identity(1), interfaces=["127.0.0.1"])
    await ctl.async_start()
    yield ctl
    await ctl.async_close()


async def test_found_over_mdns_and_plays_a_tone_that_is_recorded_whole(
    receiver: RunningReceiver, controller: Controller, media_server: MediaServer
) -> None:
    write_tone(media_server.root / "a440.wav", 440.0, 1000, amplitude=0.5)
    entry = await controller.async_find("living room", timeout=EVENT_TIMEOUT_S)
    assert entry.id == receiver.device_id
    events = Events(controller)
    result = await play(controller, entry.id, media_server.url("a440.wav"))
    assert result.ok, result.failure
    await events.wait_for(state_is(m.PlaybackStatus.STOPPED, m.StateChangeReason.PLAYBACK))

    recording = read_wav(receiver.recording)
    assert recording.duration_ms == pytest.approx(1000, abs=50)
    assert audible_duration_ms(recording) == pytest.approx(1000, abs=50)
    assert zero_crossing_frequency(recording.samples) == pytest.approx(440, abs=2)
    assert find_gaps(recording) == []


async def test_pause_and_resume_lose_no_content_and_seek_jumps(
    receiver: RunningReceiver, controller: Controller, media_server: MediaServer
) -> None:
    write_position_track(media_server.root / "pos.wav", 2500)
    events = Events(controller)
    device = receiver.device_id
    await controller.async_add_address("127.0.0.1", receiver.port)
    assert (await play(controller, device, media_server.url("pos.wav"))).ok
    conn = controller.connection(device)
    await until_position(conn, 400)
    assert (await controller.async_command(device, m.Pause())).ok
    paused = conn.state
    assert paused is not None
    assert paused.status is m.PlaybackStatus.PAUSED
    assert paused.clock.playing is False
    # (afile writes through a stdio buffer, so the file's size says nothing about "now":
    # the pause is proven by the content below, every segment heard once, in order.)
    assert (await controller.async_command(device, m.Resume())).ok
    await until_position(conn, 900)
    assert (await controller.async_command(device, m.Seek(2000))).ok
    await events.wait_for(state_is(m.PlaybackStatus.STOPPED, m.StateChangeReason.PLAYBACK))

    heard = segment_sequence(content_positions(read_wav(receiver.recording)))
    jump = next(i for i in range(1, len(heard)) if heard[i] != heard[i - 1] + 1)
    # Up to the seek every segment once, in order (the pause lost and repeated nothing) ...
    assert heard[:jump] == list(range(heard[jump - 1] + 1))
    assert 8 <= heard[jump - 1] <= 12
    # ... then from 2.0 s to the end.
    assert heard[jump:] == list(range(20, 25))


async def test_two_controllers_see_every_change(
    receiver: RunningReceiver, controller: Controller
) -> None:
    other = Controller(identity(2), interfaces=["127.0.0.1"])
    await other.async_start()
    try:
        for ctl in (controller, other):
            await ctl.async_find(receiver.device_id, timeout=EVENT_TIMEOUT_S)
            await ctl.async_connect(receiver.device_id, timeout=EVENT_TIMEOUT_S)
        watching = Events(other)
        result = await controller.async_command(receiver.device_id, m.SetVolume(33))
        assert result.ok
        event = await watching.wait_for(
            lambda e: (
                isinstance(e, StateChanged)
                and e.snapshot.state.last_command_id == result.command_id
            )
        )
        assert isinstance(event, StateChanged)
        assert event.snapshot.state.volume == 33
        assert event.snapshot.state.revision == result.revision
    finally:
        await other.async_close()


async def test_missing_media_is_a_typed_error_in_result_and_state(
    receiver: RunningReceiver, controller: Controller, media_server: MediaServer
) -> None:
    await controller.async_add_address("127.0.0.1", receiver.port)
    result = await play(controller, receiver.device_id, media_server.missing_url)
    assert result.failure is not None
    assert result.failure.code is m.ErrorCode.MEDIA_NOT_FOUND
    state = controller.connection(receiver.device_id).state
    assert state is not None
    assert state.revision == result.revision
    assert state.error is not None
    assert state.error.code is m.ErrorCode.MEDIA_NOT_FOUND
    assert state.status is m.PlaybackStatus.STOPPED


@pytest.mark.warning_logs(r"offline: .*closed by the device")
async def test_killed_receiver_goes_offline_and_is_reconnected_when_back(
    tmp_path: Path, receiver: RunningReceiver, controller: Controller
) -> None:
    events = Events(controller)
    await controller.async_find(receiver.device_id, timeout=EVENT_TIMEOUT_S)
    await controller.async_connect(receiver.device_id, timeout=EVENT_TIMEOUT_S)
    volume = await controller.async_command(receiver.device_id, m.SetVolume(21))
    # Saves are asynchronous and rate-limited (a power cut may lose the last second): kill
    # only once this change is on disk, which is what the test is about.
    await until_saved(receiver.state_dir, lambda state: state.volume == 21)
    await receiver.kill()
    # The session notices within the heartbeat timeout (here at once: the kernel closes the
    # socket of a killed process; a cut link is the heartbeat's job).
    timeout_s = DEAD_AFTER_BEATS * HEARTBEAT_INTERVAL_MS / 1000 + 1
    await events.wait_for(lambda e: isinstance(e, Disconnected), timeout=timeout_s)
    entry = controller.registry.get(receiver.device_id)
    assert entry is not None
    assert not entry.online
    events.seen.clear()  # only what happens after the restart counts from here

    back = await start_receiver(tmp_path, "Living Room", state_dir=receiver.state_dir)
    try:
        assert back.device_id == receiver.device_id  # same state dir, same identity
        connected = await events.wait_for(lambda e: isinstance(e, Connected))
        assert isinstance(connected, Connected)
        restored = await events.wait_for(lambda e: isinstance(e, StateChanged))
        assert isinstance(restored, StateChanged)
        # The saved session came back: same session, its volume, a higher revision.
        assert restored.snapshot.state.volume == 21
        assert restored.snapshot.state.revision > volume.revision
    finally:
        assert await back.stop() == 0
