"""play_at and fade_out_at on outputs without exact timing, against the fake backend."""

from __future__ import annotations

import asyncio
import logging

import pytest

from devices._output_timing import ASSUMED_LATENCY_US, EARLY_US
from devices._vlc_backend import BackendEvent, now_us
from devices.errors import NothingLoadedError
from devices.player import OutputStarted, OutputStopped, PlayerState
from tests.unit.devices.test_player_logic import Rig


async def preroll(rig: Rig, position_ms: int = 1000) -> None:
    task = await rig.start_load(play=False, position_ms=position_ms)
    for kind in (BackendEvent.PLAYING, BackendEvent.PAUSED, BackendEvent.AUDIO_ES_ADDED):
        await rig.backend.emit(kind)
    await rig.backend.emit(BackendEvent.BUFFERING, 100.0)
    await asyncio.wait_for(task, 5)
    assert rig.player.state is PlayerState.READY


def resumed_at(rig: Rig) -> int:
    """Return when the fake backend's resume ran (the real clock, as its call recorded it)."""
    [at] = [at for name, _args, at in timed_calls(rig) if name == "resume"]
    return at


def timed_calls(rig: Rig) -> list[tuple[str, tuple[object, ...], int]]:
    return [
        (name, args, at)
        for (name, args), at in zip(rig.backend.calls, rig.backend.times, strict=True)
    ]


async def test_play_at_resumes_ahead_by_the_assumed_latency(rig: Rig) -> None:
    await preroll(rig)
    target = now_us() + 60_000
    await rig.player.async_play_at(target)
    assert rig.player.state is PlayerState.PLAYING
    # Not before its time; a generous bound after it for a loaded machine.
    planned = target - ASSUMED_LATENCY_US - EARLY_US
    assert planned <= resumed_at(rig) <= planned + 30_000
    [started] = rig.of_type(OutputStarted)
    assert not started.exact
    # An estimate (exact=False), read from the clock at the assumed edge: the clock is anchored
    # when the resume call returned, the state change comes a moment later on a busy loop.
    assert started.position_ms == pytest.approx(1000, abs=5)
    assert started.at_us == pytest.approx(planned + ASSUMED_LATENCY_US, abs=30_000)


async def test_play_at_fades_in_from_silence(rig: Rig) -> None:
    await preroll(rig)
    await rig.player.async_play_at(now_us(), fade_in_ms=30)
    names = rig.backend.names()
    volumes = [args[0] for name, args in rig.backend.calls if name == "set_volume"]
    assert names.index("resume") > names.index("set_volume")
    assert volumes[-4:] == [0, 33, 67, 100]
    assert rig.player.volume == 100


async def test_play_at_in_the_past_starts_at_once_and_says_so(rig: Rig, caplog) -> None:
    await preroll(rig)
    with caplog.at_level(logging.INFO, logger="devices.player"):
        await rig.player.async_play_at(now_us() - 500_000)
    assert rig.player.state is PlayerState.PLAYING
    assert "late, starting now" in caplog.text


async def test_play_at_needs_a_preroll_or_a_pause(rig: Rig) -> None:
    with pytest.raises(NothingLoadedError):
        await rig.player.async_play_at(now_us())
    await rig.playing()
    await rig.player.async_play_at(now_us())  # already playing: nothing to do
    assert "resume" not in rig.backend.names()


async def test_fade_out_at_ramps_then_pauses_and_restores_the_volume(rig: Rig) -> None:
    await rig.playing()
    await rig.player.async_fade_out_at(now_us() + 20_000, 30, then="pause")
    assert rig.player.state is PlayerState.PAUSED
    tail = [(name, args) for name, args in rig.backend.calls][-5:]
    assert tail == [
        ("set_volume", (67,)),
        ("set_volume", (33,)),
        ("set_volume", (0,)),
        ("pause", ()),
        ("set_volume", (100,)),
    ]
    [stopped] = rig.of_type(OutputStopped)
    assert not stopped.exact
    await rig.player.async_play()  # a rolled-back transfer plays on from the pause
    assert rig.player.state is PlayerState.PLAYING


async def test_fade_out_at_then_stop(rig: Rig) -> None:
    await rig.playing()
    await rig.player.async_fade_out_at(now_us(), 0, then="stop")
    assert rig.player.state is PlayerState.STOPPED
    assert rig.backend.names()[-2:] == ["stop", "set_volume"]


async def test_a_stop_during_the_wait_cancels_the_timed_start(rig: Rig) -> None:
    await preroll(rig)
    start = asyncio.create_task(rig.player.async_play_at(now_us() + 150_000))
    await asyncio.sleep(0)  # the start is waiting for its instant now
    await rig.player.async_stop()
    await asyncio.wait_for(start, 5)
    assert "resume" not in rig.backend.names()
    assert rig.player.state is PlayerState.STOPPED
