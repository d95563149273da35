"""A real receiver refuses what a controller must not make it do, and a refusal changes nothing.

Baton issue 13: item 3 (a controller may queue only http and https media; libVLC would open a
`file://` URL on the receiver) and item 7 (a refused seek was stored anyway, and then made
`resume` and `transfer` fail until another seek).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.controller import Controller
from connect.session import ConnectionEvent, StateChanged
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from devices.persistence import SESSION_FILE, SessionStore
from devices.resume import ResumableStore
from tests.audio import write_tone
from tests.integration.receiver.helpers import (
    EVENT_TIMEOUT_S,
    Events,
    identity,
    state_is,
    until_saved,
)
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
async def controller() -> AsyncIterator[Controller]:
    ctl = Controller(identity(1), interfaces=["127.0.0.1"])
    await ctl.async_start()
    yield ctl
    await ctl.async_close()


async def started(tmp_path: Path, **kw: object) -> RunningReceiver:
    return await start_receiver(tmp_path, "Car", **kw)  # type: ignore[arg-type]


async def stop(receiver: RunningReceiver) -> None:
    if receiver.process.returncode is None:
        assert await receiver.stop() == 0, "".join(receiver.output)


async def current_state(controller: Controller, receiver: RunningReceiver) -> m.PlaybackState:
    """Return the receiver's state as its controller last heard it (after the first snapshot)."""
    conn = await controller.async_connect(receiver.device_id, timeout=EVENT_TIMEOUT_S)
    if conn.state is None:
        first: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def heard(event: ConnectionEvent) -> None:
            if isinstance(event, StateChanged) and not first.done():
                first.set_result(None)

        unsubscribe = conn.subscribe(heard)
        try:
            if conn.state is None:
                await asyncio.wait_for(first, EVENT_TIMEOUT_S)
        finally:
            unsubscribe()
    assert conn.state is not None
    return conn.state


async def test_a_file_url_is_refused_and_never_opened(
    tmp_path: Path, controller: Controller
) -> None:
    secret = tmp_path / "secret.wav"
    write_tone(secret, 440.0, 500)  # it exists and libVLC could play it
    receiver = await started(tmp_path)
    try:
        await controller.async_add_address("127.0.0.1", receiver.port)
        before = await current_state(controller, receiver)
        item = m.QueueItem("item-1", secret.as_uri())
        result = await controller.async_command(receiver.device_id, m.SetQueue((item,), play=True))
        assert result.failure is not None
        assert result.failure.code is m.ErrorCode.INVALID_ARGUMENT
        assert "http and https" in result.failure.message
        assert result.revision == before.revision
        after = await controller.async_command(receiver.device_id, m.SetVolume(before.volume))
        assert after.revision == before.revision + 1  # nothing happened in between
    finally:
        await stop(receiver)
    assert not receiver.recording.exists()  # libVLC never played a sample


async def test_a_saved_session_holding_a_file_url_is_not_resumed(
    tmp_path: Path, controller: Controller
) -> None:
    secret = tmp_path / "secret.wav"
    write_tone(secret, 440.0, 500)
    state_dir = tmp_path / "car-state"
    store = ResumableStore(state_dir)
    store.prepare()
    item = m.QueueItem("item-1", secret.as_uri())
    playing = m.PlaybackState(
        "old-session",
        revision=9,
        queue=(item,),
        current_uid=item.uid,
        clock=m.PlaybackClock(0, monotonic_us(), 1.0, True),
        status=m.PlaybackStatus.PLAYING,
    )
    store.save_session(playing, monotonic_us())  # as a version that queued anything saved it
    receiver = await started(tmp_path, state_dir=state_dir)
    try:
        await controller.async_add_address("127.0.0.1", receiver.port)
        state = await current_state(controller, receiver)
        assert state.session_id != "old-session"
        assert (state.queue, state.status) == ((), m.PlaybackStatus.STOPPED)
        assert (state_dir / SESSION_FILE).with_suffix(".refused").exists()
    finally:
        await stop(receiver)
    log = "".join(receiver.output)
    assert "refused" in log
    assert "http and https" in log
    assert not receiver.recording.exists()


async def test_a_refused_seek_on_a_stopped_track_changes_nothing(
    tmp_path: Path, controller: Controller, media_server: MediaServer
) -> None:
    # The report: a stopped 6 s track, `baton seek Car 20`: refused, yet the position was
    # stored, and `resume` and `transfer` were refused with the same error until another seek.
    write_tone(media_server.root / "track.wav", 440.0, 1000)  # shorter, the same story
    car = await started(tmp_path)
    kitchen = await start_receiver(tmp_path, "Kitchen")
    try:
        events = Events(controller)
        for receiver in (car, kitchen):
            await controller.async_add_address("127.0.0.1", receiver.port)
        item = m.QueueItem("item-1", media_server.url("track.wav"))  # as the CLI: no duration
        played = await controller.async_command(car.device_id, m.SetQueue((item,), play=True))
        assert played.ok, played.failure
        await events.wait_for(state_is(m.PlaybackStatus.STOPPED, m.StateChangeReason.PLAYBACK))
        stopped = await current_state(controller, car)
        await until_saved(car.state_dir, lambda saved: saved.revision == stopped.revision)

        seek = await controller.async_command(car.device_id, m.Seek(20_000))
        assert seek.failure is not None
        assert seek.failure.code is m.ErrorCode.INVALID_ARGUMENT
        assert seek.revision == stopped.revision

        # What was saved moves on only with the next change, which lands on the old state.
        volume = await controller.async_command(car.device_id, m.SetVolume(31))
        assert volume.revision == stopped.revision + 1
        await until_saved(car.state_dir, lambda saved: saved.volume == 31)
        saved = SessionStore(car.state_dir).load_session()
        assert saved is not None
        assert saved.clock.position_ms == stopped.clock.position_ms
        assert saved.last_command_id == volume.command_id

        outcome = await TransferCoordinator(controller).async_transfer(
            car.device_id, kitchen.device_id
        )
        assert outcome.failure is None, outcome.failure
    finally:
        await stop(car)
        await stop(kitchen)


async def test_a_start_the_player_refuses_leaves_the_music_playing(
    tmp_path: Path, controller: Controller, media_server: MediaServer
) -> None:
    # Nobody knows b's length before it is opened: the player refuses the start after it has
    # let a go. a comes back where it was, and plays on to its end.
    write_tone(media_server.root / "a.wav", 440.0, 1500)
    write_tone(media_server.root / "b.wav", 660.0, 500)
    car = await started(tmp_path)
    try:
        events = Events(controller)
        await controller.async_add_address("127.0.0.1", car.port)
        a, b = (m.QueueItem(uid, media_server.url(f"{uid}.wav")) for uid in "ab")
        played = await controller.async_command(car.device_id, m.SetQueue((a, b), play=True))
        assert played.ok, played.failure
        playing = await current_state(controller, car)
        assert playing.status is m.PlaybackStatus.PLAYING

        jump = await controller.async_command(car.device_id, m.Play("b", 20_000))
        assert jump.failure is not None
        assert jump.failure.code is m.ErrorCode.INVALID_ARGUMENT
        # The refusal published nothing of its own. Playback may have published meanwhile (a's
        # length learnt, its clock realigned to the start heard: a clean clone's run saw
        # revision 3 for 2); the refusal names the last of those, each for playback's reasons.
        meanwhile = [
            e.snapshot
            for e in events.seen
            if isinstance(e, StateChanged)
            and playing.revision < e.snapshot.state.revision <= jump.revision
        ]
        assert jump.revision == max(
            (snap.state.revision for snap in meanwhile), default=playing.revision
        )
        assert all(snap.reason is m.StateChangeReason.PLAYBACK for snap in meanwhile), meanwhile

        # a ends by itself, and the queue moves on to b: a kept playing.
        moved = await events.wait_for(
            lambda e: (
                isinstance(e, StateChanged)
                and e.snapshot.reason is m.StateChangeReason.PLAYBACK
                and e.snapshot.state.current_uid == "b"
            )
        )
        assert isinstance(moved, StateChanged)
        assert moved.snapshot.state.revision > playing.revision
    finally:
        await stop(car)
