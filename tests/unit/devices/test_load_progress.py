"""LoadProgress: libVLC events in, readiness out (no I/O, no loop needed beyond a future)."""

from __future__ import annotations

import asyncio

from devices._load import LoadProgress
from devices._vlc_backend import BackendEvent
from devices.player_types import PlayerState


def progress(*, play: bool, position_ms: int = 0) -> LoadProgress:
    loop = asyncio.new_event_loop()
    try:
        return LoadProgress(1, "http://h/a.wav", position_ms, play, loop.create_future())
    finally:
        loop.close()


def test_play_is_ready_with_playing_and_audio_in_any_order() -> None:
    load = progress(play=True)
    load.observe(BackendEvent.PLAYING, None)
    assert load.ready_state(None, 50) is None
    load.observe(BackendEvent.AUDIO_ES_ADDED, None)
    assert load.ready_state(None, 50) is PlayerState.PLAYING


def test_preroll_waits_for_a_full_buffer() -> None:
    load = progress(play=False, position_ms=1000)
    for kind in (BackendEvent.PLAYING, BackendEvent.PAUSED, BackendEvent.AUDIO_ES_ADDED):
        load.observe(kind, None)
    load.observe(BackendEvent.BUFFERING, 99.0)
    assert load.ready_state(5000, 50) is None
    load.observe(BackendEvent.BUFFERING, 100.0)
    assert load.ready_state(5000, 50) is PlayerState.READY


def test_preroll_near_the_end_needs_no_full_buffer() -> None:
    load = progress(play=False, position_ms=4950)
    load.observe(BackendEvent.PAUSED, None)
    load.observe(BackendEvent.AUDIO_ES_ADDED, None)
    assert load.ready_state(None, 50) is None  # length unknown: wait for the buffer
    assert load.ready_state(5000, 50) is PlayerState.READY


def test_preroll_without_audio_is_never_ready() -> None:
    load = progress(play=False)
    load.observe(BackendEvent.PAUSED, None)
    load.observe(BackendEvent.BUFFERING, 100.0)
    assert load.ready_state(5000, 50) is None


def test_a_gated_play_waits_for_its_first_block_queued() -> None:
    load = progress(play=True)
    load.wait_queued = True
    load.observe(BackendEvent.PLAYING, None)
    load.observe(BackendEvent.AUDIO_ES_ADDED, None)
    assert load.ready_state(None, 50) is None  # libVLC plays, but nothing is heard yet
    load.heard_from_us = 1_060_000
    assert load.ready_state(None, 50) is PlayerState.PLAYING
