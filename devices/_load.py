"""One load's progress: the libVLC signals seen for its media, and when it counts as ready."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from devices._vlc_backend import BackendEvent
from devices._vlc_log import FailureHint
from devices.player_types import PlayerState


@dataclass
class LoadProgress:
    """Progress of one async_load; fed libVLC's events, it says when the media is ready."""

    epoch: int
    url: str
    position_ms: int
    play: bool
    future: asyncio.Future[None]
    playing: bool = False
    paused: bool = False
    audio: bool = False  # libVLC found an audio stream it can demux
    buffered: bool = False
    taken: bool = False  # failed because a stop, close or newer load took the player over
    heard: bool = False  # its first sample was heard (the clock is anchored on it already)
    # A gated load on a Baton-fed output waits for its first block: until then nobody knows
    # when the stream can be heard (devices/_timed_sink.py, on_queued).
    wait_queued: bool = False
    heard_from_us: int | None = None  # when its first sample is heard, once queued
    hints: list[tuple[FailureHint, str]] = field(default_factory=list)

    def observe(self, kind: BackendEvent, value: object) -> None:
        """Record one event of this load's media."""
        if kind is BackendEvent.AUDIO_ES_ADDED:
            self.audio = True
        elif kind is BackendEvent.PLAYING:
            self.playing = True
        elif kind is BackendEvent.PAUSED:
            self.paused = True
        elif kind is BackendEvent.BUFFERING and isinstance(value, float) and value >= 100.0:
            self.buffered = True

    def ready_state(self, length_ms: int | None, caching_ms: int) -> PlayerState | None:
        """Return PLAYING or READY once the load has what it waits for, None before."""
        if self.play:
            # Playing with an audio stream: the output is being fed.
            fed = not self.wait_queued or self.heard_from_us is not None
            return PlayerState.PLAYING if self.playing and self.audio and fed else None
        # A pre-roll is ready when libVLC holds it paused with its buffer full, so play starts
        # from memory. libVLC reports a full buffer only once it holds a caching's worth of
        # audio; paused closer than that to the end it never does (measured: 1000 ms caching,
        # 500 ms left), so there the paused audio stream suffices.
        near_end = length_ms is not None and length_ms - self.position_ms <= 2 * caching_ms
        if self.paused and self.audio and (self.buffered or near_end):
            return PlayerState.READY
        return None
