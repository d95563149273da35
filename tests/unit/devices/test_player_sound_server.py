"""The player's clock behind a sound server's delay, against a fake backend with a timed sink.

Through a sound server a sample is heard ~100 ms after libVLC stamps it, so the first sample
of a play can be heard (its edge reported) before libVLC's events have finished the load; the
clock must still start from that sample, not from libVLC's Playing event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devices._decoded_copy import CopyReader, DecodedCopy
from devices._timed_sink import SinkEdge, TimedSink
from devices._vlc_backend import BackendEvent, EventSink, now_us
from devices.audio_output import AudioOutput, OutputKind
from devices.player import (
    OutputStarted,
    Player,
    PlayerEvent,
    PlayerState,
    TrackChanged,
    TrackEnded,
)
from tests.unit.devices.test_player_logic import URL, FakeBackend

DELAY_US = 105_000
NEXT = "http://127.0.0.1:9/next.flac"


class SinkBackend(FakeBackend):
    """The fake backend, with the timed sink a pulse output has (fed nothing: edges on cue)."""

    def __init__(self, output: AudioOutput, sink: EventSink) -> None:
        super().__init__(output, sink)
        self.timed_sink = TimedSink(lambda _edge: None, channels=2, delay_us=DELAY_US)

    def carry_on(self, url: str, epoch: int) -> int:
        self.epoch = epoch
        return self._record("carry_on", url, epoch)


@pytest.fixture
async def player() -> AsyncIterator[tuple[Player, list[PlayerEvent]]]:
    events: list[PlayerEvent] = []
    factory: Any = SinkBackend
    player = Player(AudioOutput(OutputKind.PULSE), listener=events.append, backend_factory=factory)
    await player.async_start()
    yield player, events
    await player.async_close()


@pytest.mark.parametrize("edge_first", [False, True])
async def test_a_play_is_clocked_from_its_first_heard_sample_even_before_the_load_ends(
    player: tuple[Player, list[PlayerEvent]], edge_first: bool
) -> None:
    p, events = player
    backend = p._backend
    assert isinstance(backend, SinkBackend)
    backend.loaded.clear()
    task = asyncio.create_task(p.async_load(URL, 5_000, play=True))
    await asyncio.wait_for(backend.loaded.wait(), 5)
    heard = now_us() + 150_000  # the first sample, heard the output's delay after libVLC
    edge = SinkEdge(True, heard, heard)
    if edge_first:
        await backend.emit(BackendEvent.OUTPUT_EDGE, edge)
        await backend.emit(BackendEvent.PLAYING)
    else:
        await backend.emit(BackendEvent.PLAYING)
        await backend.emit(BackendEvent.OUTPUT_EDGE, edge)
    assert p.state is PlayerState.LOADING  # libVLC has not said it found the audio yet
    await backend.emit(BackendEvent.AUDIO_ES_ADDED)
    await asyncio.wait_for(task, 5)
    assert p.state is PlayerState.PLAYING
    [started] = [e for e in events if isinstance(e, OutputStarted)]
    assert started.position_ms == 5_000
    # 5 000 ms of content at the first heard sample, not 150 ms more.
    assert p._anchor.position_at(heard) == 5_000


async def test_libvlc_time_ahead_by_the_output_delay_does_not_move_the_clock(
    player: tuple[Player, list[PlayerEvent]],
) -> None:
    # libVLC's time runs ahead of what is heard by its input buffer (~40 ms) and, behind a
    # sound server, by the output's delay too: together more than the resync threshold, which
    # is for stalls, not for a delay the player knows.
    p, _events = player
    backend = p._backend
    assert isinstance(backend, SinkBackend)
    backend.loaded.clear()
    task = asyncio.create_task(p.async_load(URL, 0, play=True))
    await asyncio.wait_for(backend.loaded.wait(), 5)
    await backend.emit(BackendEvent.PLAYING)
    await backend.emit(BackendEvent.AUDIO_ES_ADDED)
    await asyncio.wait_for(task, 5)
    heard = now_us()
    await backend.emit(BackendEvent.OUTPUT_EDGE, SinkEdge(True, heard, heard))
    assert p._anchor.position_at(heard) == 0
    # libVLC says 155 ms more than is heard (measured: the output's delay and ~50 ms more).
    ahead_ms = 50 + DELAY_US // 1000
    await backend.emit(BackendEvent.TIME_CHANGED, (now_us() - heard) // 1000 + ahead_ms)
    assert abs(p._anchor.position_at(now_us()) - (now_us() - heard) // 1000) <= 5
    await backend.emit(BackendEvent.TIME_CHANGED, 5_000)  # a real jump (a stall) still counts
    assert p._anchor.position_at(now_us()) >= 5_000 - DELAY_US // 1000 - 5


async def test_a_gapless_boundary_moves_the_player_to_the_next_track_at_its_first_sample(
    player: tuple[Player, list[PlayerEvent]], tmp_path: Path
) -> None:
    p, events = player
    backend = p._backend
    assert isinstance(backend, SinkBackend)
    task = asyncio.create_task(p.async_load(URL, 0, play=True))
    await asyncio.wait_for(backend.loaded.wait(), 5)
    await backend.emit(BackendEvent.PLAYING)
    await backend.emit(BackendEvent.AUDIO_ES_ADDED)
    await asyncio.wait_for(task, 5)
    # The copy reader has just crossed into the next track's copy.
    backend.timed_sink.content = CopyReader(DecodedCopy(NEXT, tmp_path / "n.pcm", 2), 0, print)
    old_epoch = backend.epoch
    boundary = now_us() + 20_000
    told = asyncio.Event()

    def listener(event: PlayerEvent) -> None:
        events.append(event)
        if isinstance(event, TrackChanged):
            told.set()

    p._listener = listener
    await backend.emit(BackendEvent.CONTENT_BOUNDARY, boundary)
    await asyncio.wait_for(told.wait(), 5)
    [changed] = [e for e in events if isinstance(e, TrackChanged)]
    assert changed == TrackChanged(URL, NEXT, boundary)
    assert now_us() >= boundary  # told once heard
    assert ("carry_on", (NEXT, backend.epoch)) in backend.calls
    assert p.url == NEXT
    assert p._anchor.position_at(boundary) == 0
    await backend.emit(BackendEvent.END_REACHED, epoch=old_epoch)  # the old stream's end
    assert p.state is PlayerState.PLAYING
    assert not [e for e in events if isinstance(e, TrackEnded)]
