"""How a receiver carries out its source machine's actions (connect/transfer/source.py), and
the source's timing figures.

Each function does one action on the player, under the receiver's lock held by the caller, and
returns the wait for the event that answers it (the fade's end), to be fed back to the machine
once the batch of actions it came in is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from connect.transfer import source as s
from connect.wire import messages as m
from devices._transfer_host import OutputEdges, TransferHost
from devices._transfer_target import publish
from devices.player_types import OutputStopped

# Read when a receiver's transfer side is made: a test that shortens one patches it here.
HOLD_S = s.HOLD_US / 1e6  # how long a source keeps the media after the switch, for the verdict
LATE_COMMIT_US = s.LATE_COMMIT_US  # a source refuses a commit that comes this long after its switch

AskTarget = Callable[[str, str, str], Awaitable[m.TransferPhase]]
"""(target device id, target base URL, transfer id) -> the phase there; raises ConnectError."""

SourceActions = s.Publish | s.FadeOutAt | s.Release | s.RollBack


async def async_carry_out(
    host: TransferHost, edges: OutputEdges, action: SourceActions
) -> Awaitable[s.SourceEvent] | None:
    """Do *action* (the caller holds the lock); return the wait for its answer, if any."""
    player = host.player
    if isinstance(action, s.Publish):
        publish(host, action.state)
    elif isinstance(action, s.FadeOutAt):
        edges.drain()
        await player.async_fade_out_at(action.at_us, action.fade_ms, then="pause")
        return _faded(edges, action)
    elif isinstance(action, s.Release):
        # The target plays: stop (or stay paused), as the transfer asked.
        if action.stop:
            await player.async_stop()
            publish(host, s.released_state(host.state))
        await player.async_set_volume(action.volume)
    else:
        # The target failed after the switch: play on (if we played) from where we stopped.
        await player.async_set_volume(action.volume)
        playing = None
        if action.play:
            await player.async_play()
            clock = player.clock()
            playing = clock.position_ms, clock.as_of_us
        publish(host, s.rolled_back_state(host.state, playing, action.revision, action.epoch))
    return None


async def _faded(edges: OutputEdges, action: s.FadeOutAt) -> s.SourceEvent:
    at_us, position = await edges.async_next(OutputStopped, action.edge_at_us, action.position_ms)
    return s.FadedOut(action.transfer_id, at_us, position)
