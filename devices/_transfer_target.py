"""How a receiver carries out its target machine's player actions (connect/transfer/target.py).

Each function does one action on the player, under the receiver's lock held by the caller, and
returns the wait for the event that answers it (the load's end, the output's first sample), to
be fed back to the machine once the batch of actions it came in is done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from dataclasses import replace

from connect.transfer import target as t
from connect.wire import messages as m
from devices._transfer_host import OutputEdges, TransferHost
from devices.errors import ReceiverError
from devices.failures import failure_from
from devices.player import LOAD_TIMEOUT_S
from devices.player_types import OutputStarted

TargetActions = t.Load | t.Seek | t.StartAt | t.TakeSession | t.HandBack | t.StopPlayer


async def async_carry_out(
    host: TransferHost, edges: OutputEdges, action: TargetActions
) -> Awaitable[t.TargetEvent] | None:
    """Do *action* (the caller holds the lock); return the wait for its answer, if any."""
    player = host.player
    if isinstance(action, t.Load | t.Seek):
        return await _load(host, action)
    if isinstance(action, t.StartAt):
        if action.seek:
            await player.async_seek(action.position_ms)  # Ready came late: catch up
        edges.drain()
        if action.live and not action.paused:
            # Playing gated since the offer: heard from the switch, at the volume.
            if await player.async_open_at(action.at_us, action.volume, fade_in_ms=action.fade_ms):
                return _started(edges, action)
            return _ready(t.OutputEdge(action.transfer_id, action.at_us, action.position_ms))
        await player.async_set_volume(action.volume)
        if action.paused:
            return None
        await player.async_play_at(action.at_us, fade_in_ms=action.fade_ms)
        return _started(edges, action)
    if isinstance(action, t.TakeSession):
        publish(host, action.state)
        return None
    with contextlib.suppress(ReceiverError):
        await player.async_stop()
    if isinstance(action, t.HandBack):
        publish(host, action.state)
    return None


def publish(host: TransferHost, state: m.PlaybackState) -> None:
    """Adopt *state*, its revision kept above the current one (a command may have come since)."""
    revision = max(state.revision, host.state.revision + 1)
    host.publish_state(replace(state, revision=revision), m.StateChangeReason.TRANSFER)


async def _load(host: TransferHost, action: t.Load | t.Seek) -> Awaitable[t.TargetEvent]:
    """Open or move the pre-roll now; the answer is ready at once (no wait outside the lock)."""
    failure, heard_from_us = None, 0
    try:
        if isinstance(action, t.Load):
            timeout_s = min(action.timeout_us / 1e6, LOAD_TIMEOUT_S)
            await host.player.async_load(
                action.url, action.position_ms, play=action.live, timeout_s=timeout_s,
                gated=action.live,
            )  # fmt: skip
            if action.live:
                heard_from_us = host.player.heard_from_us or 0
        else:
            await host.player.async_seek(action.position_ms)
    except ReceiverError as exc:
        failure = failure_from(exc)
    return _ready(t.LoadDone(action.transfer_id, failure, heard_from_us))


async def _ready(event: t.TargetEvent) -> t.TargetEvent:
    return event


async def _started(edges: OutputEdges, action: t.StartAt) -> t.TargetEvent:
    at_us, position = await edges.async_next(OutputStarted, action.at_us, action.position_ms)
    return t.OutputEdge(action.transfer_id, at_us, position)
