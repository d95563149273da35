"""Player bookkeeping against a hand-written fake backend: no libVLC, events on cue."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from devices._vlc_backend import BackendEvent, EventSink, now_us
from devices._vlc_log import FailureHint
from devices.audio_output import AudioOutput, OutputKind
from devices.errors import (
    AudioOutputError,
    MediaUnreachableError,
    MediaUnsupportedError,
    PositionOutOfRangeError,
)
from devices.player import (
    PlaybackFailed,
    Player,
    PlayerEvent,
    PlayerState,
    StateChanged,
    TrackEnded,
)

URL = "http://127.0.0.1:9/track.wav"


class FakeBackend:
    """Stands in for VLCBackend: records each call and its thread; emits events when told."""

    def __init__(self, output: AudioOutput, sink: EventSink) -> None:
        self.sink = sink
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.times: list[int] = []  # when each call ran, on the device clock
        self.threads: set[int] = set()
        self.epoch = 0
        self.bytes = 0
        self._loop = asyncio.get_running_loop()
        self.loaded = asyncio.Event()

    def _record(self, name: str, *args: Any) -> int:
        self.calls.append((name, args))
        self.threads.add(threading.get_ident())
        self.times.append(now_us())
        return self.times[-1]

    def start(self) -> str:
        self._record("start")
        return "3.0.24 fake"

    def open_copy(self, url: str) -> None:
        return None  # no decoded copy: libVLC's samples, as with a WAV

    def load(
        self, url: str, position_ms: int, play: bool, epoch: int, volume: int, copy: Any = None
    ) -> int:
        self.epoch = epoch
        at = self._record("load", url, position_ms, play, volume)
        self._loop.call_soon_threadsafe(self.loaded.set)
        return at

    def resume(self) -> int:
        return self._record("resume")

    def pause(self) -> int:
        return self._record("pause")

    def seek(self, position_ms: int) -> int:
        return self._record("seek", position_ms)

    def stop(self) -> int:
        return self._record("stop")

    def set_volume(self, volume: int) -> None:
        self._record("set_volume", volume)

    def bytes_read(self) -> int:
        self._record("bytes_read")
        return self.bytes

    def release(self) -> None:
        self._record("release")

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    async def emit(
        self, kind: BackendEvent, value: object = None, *, epoch: int | None = None
    ) -> None:
        """Deliver one libVLC event as the real backend would, and let the loop handle it."""
        self.sink(self.epoch if epoch is None else epoch, kind, value, now_us())
        await asyncio.sleep(0)  # call_soon_threadsafe: handled on the next loop iteration


class FakeRampClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Rig:
    def __init__(self, player: Player, events: list[PlayerEvent]) -> None:
        self.player = player
        self.events = events
        self.listener_threads: set[int] = set()

    @property
    def backend(self) -> FakeBackend:
        backend = self.player._backend
        assert isinstance(backend, FakeBackend)
        return backend

    async def start_load(
        self, *, play: bool, position_ms: int = 0, **kw: Any
    ) -> asyncio.Task[None]:
        self.backend.loaded.clear()
        task = asyncio.create_task(self.player.async_load(URL, position_ms, play=play, **kw))
        await asyncio.wait_for(self.backend.loaded.wait(), 5)
        return task

    async def playing(self) -> None:
        task = await self.start_load(play=True)
        await self.backend.emit(BackendEvent.AUDIO_ES_ADDED)
        await self.backend.emit(BackendEvent.PLAYING)
        await asyncio.wait_for(task, 5)

    def of_type(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    events: list[PlayerEvent] = []
    holder: list[Rig] = []

    def listener(event: PlayerEvent) -> None:
        holder[0].listener_threads.add(threading.get_ident())
        events.append(event)

    player = Player(
        AudioOutput(OutputKind.NONE),
        listener=listener,
        ramp_clock=FakeRampClock(),
        backend_factory=FakeBackend,  # type: ignore[arg-type]
    )
    holder.append(Rig(player, events))
    await player.async_start()
    try:
        yield holder[0]
    finally:
        await player.async_close()


async def test_every_backend_call_runs_on_one_thread_and_events_on_the_loop(rig: Rig) -> None:
    await rig.playing()
    await rig.player.async_pause()
    await rig.player.async_seek(100)
    await rig.player.async_play()
    await rig.player.async_close()
    assert rig.backend.names() == ["start", "load", "pause", "seek", "resume", "release"]
    assert len(rig.backend.threads) == 1
    assert threading.get_ident() not in rig.backend.threads
    assert rig.listener_threads == {threading.get_ident()}


async def test_a_load_with_play_resolves_once_playing_with_audio(rig: Rig) -> None:
    task = await rig.start_load(play=True, position_ms=250)
    await rig.backend.emit(BackendEvent.PLAYING)
    assert not task.done()  # no audio stream yet
    await rig.backend.emit(BackendEvent.AUDIO_ES_ADDED)
    await asyncio.wait_for(task, 5)
    assert rig.player.state is PlayerState.PLAYING
    assert rig.backend.calls[1] == ("load", (URL, 250, True, 100))
    assert [e.state for e in rig.of_type(StateChanged)] == [
        PlayerState.LOADING,
        PlayerState.PLAYING,
    ]


async def test_a_preroll_needs_pause_audio_and_a_full_buffer(rig: Rig) -> None:
    task = await rig.start_load(play=False, position_ms=4000)
    for kind in (BackendEvent.PLAYING, BackendEvent.PAUSED, BackendEvent.AUDIO_ES_ADDED):
        await rig.backend.emit(kind)
    await rig.backend.emit(BackendEvent.BUFFERING, 40.0)
    assert not task.done()
    await rig.backend.emit(BackendEvent.BUFFERING, 100.0)
    await asyncio.wait_for(task, 5)
    assert rig.player.state is PlayerState.READY
    clock = rig.player.clock()
    assert (clock.position_ms, clock.playing) == (4000, False)


async def test_a_preroll_near_the_end_needs_no_full_buffer(rig: Rig) -> None:
    task = await rig.start_load(play=False, position_ms=1950)
    await rig.backend.emit(BackendEvent.LENGTH_CHANGED, 2000)
    for kind in (BackendEvent.PLAYING, BackendEvent.PAUSED, BackendEvent.AUDIO_ES_ADDED):
        await rig.backend.emit(kind)
    await asyncio.wait_for(task, 5)  # 50 ms left: libVLC's buffer can never fill
    assert rig.player.state is PlayerState.READY


async def test_a_start_beyond_the_end_fails_at_once(rig: Rig) -> None:
    task = await rig.start_load(play=False, position_ms=2000)
    await rig.backend.emit(BackendEvent.LENGTH_CHANGED, 2000)
    with pytest.raises(PositionOutOfRangeError, match="2000 ms long"):
        await asyncio.wait_for(task, 5)


async def test_an_end_before_any_audio_is_unsupported_media(rig: Rig) -> None:
    task = await rig.start_load(play=True)
    await rig.backend.emit(BackendEvent.PLAYING)
    await rig.backend.emit(BackendEvent.END_REACHED)
    with pytest.raises(MediaUnsupportedError, match="no audio stream"):
        await asyncio.wait_for(task, 5)
    assert rig.player.state is PlayerState.FAILED
    assert rig.backend.names()[-1] == "stop"
    assert rig.of_type(TrackEnded) == []


@pytest.mark.warning_logs(r"playback of .* failed")
async def test_an_audio_device_failure_while_playing_is_reported_once(rig: Rig) -> None:
    await rig.playing()
    hint = (FailureHint.AUDIO_OUTPUT, "failed to create audio output")
    for _ in range(3):  # libVLC repeats it for every buffer
        await rig.backend.emit(BackendEvent.HINT, hint)
    failures = rig.of_type(PlaybackFailed)
    assert len(failures) == 1
    assert isinstance(failures[0].error, AudioOutputError)
    assert rig.player.state is PlayerState.FAILED
    # The player owns a stop task; close() would cancel it if it had not reached the thread yet
    # (release stops libVLC anyway), so wait for it here rather than race it.
    await asyncio.gather(*rig.player._tasks.running())
    assert "stop" in rig.backend.names()


@pytest.mark.warning_logs(r"playback of .* failed")
async def test_an_error_mid_stream_carries_the_logged_reason(rig: Rig) -> None:
    await rig.playing()
    await rig.backend.emit(BackendEvent.HINT, (FailureHint.UNREACHABLE, "connection reset"))
    await rig.backend.emit(BackendEvent.ERROR)
    (failure,) = rig.of_type(PlaybackFailed)
    assert isinstance(failure.error, MediaUnreachableError)
    assert failure.error.url == URL
    assert "connection reset" in str(failure.error)


async def test_the_previous_media_s_late_events_are_ignored(rig: Rig) -> None:
    await rig.playing()
    old_epoch = rig.backend.epoch
    task = await rig.start_load(play=True)
    await rig.backend.emit(BackendEvent.END_REACHED, epoch=old_epoch)
    assert rig.of_type(TrackEnded) == []
    assert rig.player.state is PlayerState.LOADING
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_end_racing_a_stop_is_not_reported(rig: Rig) -> None:
    await rig.playing()
    await rig.player.async_stop()
    await rig.backend.emit(BackendEvent.END_REACHED)
    await rig.backend.emit(BackendEvent.ERROR)
    assert rig.of_type(TrackEnded) == []
    assert rig.of_type(PlaybackFailed) == []
    assert rig.player.state is PlayerState.STOPPED


async def test_the_end_is_reported_as_track_ended_at_the_length(rig: Rig) -> None:
    await rig.playing()
    await rig.backend.emit(BackendEvent.LENGTH_CHANGED, 1800)
    await rig.backend.emit(BackendEvent.END_REACHED)
    (ended,) = rig.of_type(TrackEnded)
    assert (ended.url, ended.position_ms) == (URL, 1800)
    assert rig.player.state is PlayerState.ENDED
    assert rig.player.clock().position_ms == 1800


async def test_the_clock_reanchors_only_on_a_large_drift(rig: Rig) -> None:
    await rig.playing()
    before = rig.player.clock()
    await rig.backend.emit(BackendEvent.TIME_CHANGED, before.position_ms + 100)
    assert rig.player._anchor.as_of_us < before.as_of_us  # small drift: anchor kept
    await rig.backend.emit(BackendEvent.TIME_CHANGED, before.position_ms + 5000)
    assert rig.player.clock().position_ms >= before.position_ms + 5000


@pytest.mark.parametrize(
    ("bytes_read", "error"), [(5000, MediaUnsupportedError), (0, MediaUnreachableError)]
)
async def test_a_load_deadline_tells_garbage_from_silence(
    rig: Rig, bytes_read: int, error: type[Exception]
) -> None:
    rig.backend.bytes = bytes_read
    task = await rig.start_load(play=False, timeout_s=0.05)
    await rig.backend.emit(BackendEvent.PAUSED)
    with pytest.raises(error):
        await asyncio.wait_for(task, 5)
    assert rig.player.state is PlayerState.FAILED


async def test_a_fade_steps_on_the_injected_clock(rig: Rig) -> None:
    await rig.player.async_ramp_volume(40, 30)
    assert rig.player.volume == 40
    volumes = [args[0] for name, args in rig.backend.calls if name == "set_volume"]
    assert volumes == [80, 60, 40]


async def test_commands_before_any_load(rig: Rig) -> None:
    from devices.errors import NothingLoadedError

    with pytest.raises(NothingLoadedError):
        await rig.player.async_play()
    await rig.player.async_pause()  # nothing playing: a no-op
    assert rig.player.state is PlayerState.IDLE


async def test_a_failing_listener_does_not_stop_the_player(caplog) -> None:
    def listener(event: PlayerEvent) -> None:
        raise RuntimeError("owner bug")

    player = Player(
        AudioOutput(OutputKind.NONE),
        listener=listener,
        backend_factory=FakeBackend,  # type: ignore[arg-type]
    )
    await player.async_start()
    try:
        await player.async_set_volume(30)
        await player.async_stop()
    finally:
        await player.async_close()
    assert player.volume == 30
    assert player.state is PlayerState.CLOSED
    assert "player listener failed" in caplog.text
