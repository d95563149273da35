"""A hand-written player and receiver for driving TransferSide without libVLC or sockets."""

from __future__ import annotations

import asyncio
from typing import Any

from connect.clock import monotonic_us
from connect.session import ControllerLink
from connect.wire import messages as m
from devices.player_types import OutputStarted, OutputStopped, PlayerClock
from devices.transfer import TransferSide

ITEM = m.QueueItem("u1", "http://127.0.0.1:9/tone.wav", duration_ms=60_000)


class FakePlayer:
    """Records what it was told; reports output edges at once, as the capture output would."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.playing = False
        self.played_at: int | None = None  # the instant of the last play_at
        self.seeked_to: int | None = None  # the position of the last seek
        self.side: TransferSide | None = None  # where output edges go
        self.output_delay_us = 0  # as the capture output: no sound server in the way

    def clock(self) -> PlayerClock:
        return PlayerClock(1_000, monotonic_us(), self.playing)

    async def async_load(self, url: str, position_ms: int, **_: Any) -> None:
        self.calls.append("load")

    async def async_play(self) -> None:
        self.calls.append("play")
        self.playing = True

    async def async_play_at(self, at_us: int, *, fade_in_ms: int = 0) -> None:
        self.calls.append("play_at")
        self.played_at = at_us
        self.playing = True
        self._edge(OutputStarted(at_us, 1_000, True))

    async def async_fade_out_at(self, at_us: int, fade_ms: int, *, then: str) -> None:
        self.calls.append("fade_out")
        self.playing = False
        self._edge(OutputStopped(at_us + fade_ms * 1000, 1_000, True))

    async def async_seek(self, position_ms: int) -> None:
        self.calls.append("seek")
        self.seeked_to = position_ms

    async def async_stop(self) -> None:
        self.calls.append("stop")
        self.playing = False

    async def async_set_volume(self, volume: int) -> None:
        self.calls.append("volume")

    def _edge(self, edge: OutputStarted | OutputStopped) -> None:
        assert self.side is not None
        self.side.on_player_event(edge)


class FakeReceiver:
    """The TransferHost side of a receiver: a state, a lock, a player, published states."""

    def __init__(self, *, playing: bool = True) -> None:
        self.clock = monotonic_us
        self.lock = asyncio.Lock()
        self.player: Any = FakePlayer()
        self.codecs = ("wav",)
        status = m.PlaybackStatus.PLAYING if playing else m.PlaybackStatus.PAUSED
        self.state = m.PlaybackState(
            session_id="sess",
            revision=5,
            device_id="dev-fake",
            queue=(ITEM,),
            current_uid=ITEM.uid,
            clock=m.PlaybackClock(1_000, monotonic_us(), 1.0, playing),
            status=status,
            volume=40,
            active=True,
        )
        self.published: list[m.PlaybackState] = []
        self.changed = asyncio.Event()

    def publish_state(self, state: m.PlaybackState, reason: m.StateChangeReason) -> None:
        self.state = state
        self.published.append(state)
        self.changed.set()


def new_side(receiver: FakeReceiver, **kwargs: Any) -> TransferSide:
    side = TransferSide(receiver, **kwargs)
    receiver.player.side = side
    return side


def new_link() -> ControllerLink:
    return ControllerLink("conn-1", m.ClientIdentity("ctl", "Controller"), m.Role.OWNER)


def sent(link: ControllerLink) -> list[m.Body]:
    """Return the bodies queued for the controller so far."""
    bodies = []
    while not link.outbox.empty():
        envelope = link.outbox.get_nowait()
        if envelope is not None:
            bodies.append(envelope.body)
    return bodies
