"""A gated load (a live stream joined silently) ends when its first block is queued, not at
libVLC's Playing event, and says when that block is heard (fake backend with a timed sink)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from devices._vlc_backend import BackendEvent, now_us
from devices.audio_output import AudioOutput, OutputKind
from devices.player import Player, PlayerState
from tests.unit.devices.test_player_logic import URL, FakeBackend
from tests.unit.devices.test_player_sound_server import SinkBackend


@pytest.fixture
async def player() -> AsyncIterator[Player]:
    factory: Any = SinkBackend
    player = Player(AudioOutput(OutputKind.PULSE), backend_factory=factory)
    await player.async_start()
    yield player
    await player.async_close()


async def test_a_gated_load_ends_once_its_first_block_is_queued(player: Player) -> None:
    backend = player._backend
    assert isinstance(backend, SinkBackend)
    backend.loaded.clear()
    task = asyncio.create_task(player.async_load(URL, 0, play=True, gated=True))
    await asyncio.wait_for(backend.loaded.wait(), 5)
    await backend.emit(BackendEvent.PLAYING)
    await backend.emit(BackendEvent.AUDIO_ES_ADDED)
    assert player.state is PlayerState.LOADING  # libVLC plays, but nothing is queued yet
    heard = now_us() + 60_000  # the network caching and the decoder, after libVLC's Playing
    await backend.emit(BackendEvent.OUTPUT_QUEUED, heard)
    await asyncio.wait_for(task, 5)
    assert player.state is PlayerState.PLAYING
    assert player.heard_from_us == heard


async def test_an_ungated_load_does_not_wait_for_a_block(player: Player) -> None:
    backend = player._backend
    assert isinstance(backend, SinkBackend)
    backend.loaded.clear()
    task = asyncio.create_task(player.async_load(URL, 0, play=True))
    await asyncio.wait_for(backend.loaded.wait(), 5)
    await backend.emit(BackendEvent.PLAYING)
    await backend.emit(BackendEvent.AUDIO_ES_ADDED)
    await asyncio.wait_for(task, 5)
    assert player.heard_from_us is None


async def test_without_a_timed_sink_a_gated_load_ends_at_playing() -> None:
    factory: Any = FakeBackend  # libVLC drives the output: no block is ever reported
    player = Player(AudioOutput(OutputKind.NONE), backend_factory=factory)
    await player.async_start()
    try:
        backend = player._backend
        assert isinstance(backend, FakeBackend)
        backend.loaded.clear()
        task = asyncio.create_task(player.async_load(URL, 0, play=True, gated=True))
        await asyncio.wait_for(backend.loaded.wait(), 5)
        await backend.emit(BackendEvent.PLAYING)
        await backend.emit(BackendEvent.AUDIO_ES_ADDED)
        await asyncio.wait_for(task, 5)
        assert player.heard_from_us is None
    finally:
        await player.async_close()
