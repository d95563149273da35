"""How a receiver runs one command: the session rules, then the player; a refusal changes nothing.

`async_run_command` applies a Command with connect.session.playback's rules and carries the
actions out on the player. It ends one of three ways:

* applied: the new state, its clock anchored on the player's;
* refused, by the rules or by the player for an argument the rules could not judge (a position
  past the end of media whose length only the player learns, a URL it does not open): the
  state stays exactly as it was, same revision, nothing to publish or save, and the player is
  brought back to it if the refused action had unloaded its media (Baton issue 13, item 7:
  a refused seek used to be stored, and then made `resume` and `transfer` fail too);
* failed: applied, but the media or the output failed (404, unreadable, no sound card): the
  state shows the failure, stopped with `error` set, at a new revision, as the .proto says.
"""

from __future__ import annotations

from dataclasses import dataclass

from connect.clock import Clock
from connect.session import playback
from connect.wire import messages as m
from devices._player_actions import ActionPlayer, async_carry_out, async_perform
from devices.errors import ReceiverError
from devices.failures import failure_from
from devices.player_types import PlayerState

REFUSING_CODES = frozenset({m.ErrorCode.INVALID_ARGUMENT})
"""Player errors that refuse the command's argument, rather than report the media failing."""

_HOLDING = (PlayerState.READY, PlayerState.PAUSED, PlayerState.PLAYING)


@dataclass(frozen=True)
class CommandRun:
    """How a command ended: the state now, the failure if any, and whether anything changed."""

    state: m.PlaybackState
    failure: m.Failure | None = None
    changed: bool = True  # False: refused; the state is the one before, to publish nowhere
    queue_change: m.QueueChange | None = None  # how the queue changed, for the controllers


async def async_run_command(
    state: m.PlaybackState,
    command: m.Command,
    player: ActionPlayer,
    clock: Clock,
    *,
    max_volume: int = 100,
) -> CommandRun:
    """Apply *command* to *state* and carry it out on *player* (see the module docstring)."""
    try:
        outcome = playback.apply_command(
            state,
            command,
            clock(),
            max_volume=max_volume,
            media_length_ms=known_length_ms(player, state),
        )
    except playback.CommandRejectedError as exc:
        return CommandRun(state, exc.failure, changed=False)
    after, failure = await async_carry_out(player, outcome, clock)
    if failure is None or failure.code not in REFUSING_CODES:
        return CommandRun(after, failure, queue_change=outcome.queue_change)
    restored = await _async_restore(player, state, clock)
    # Restoring can fail only if the media that played before fails now: that change is the
    # media's, shown in the state like any playback failure, and the command stays refused.
    return CommandRun(restored, failure, changed=restored is not state)


def known_length_ms(player: ActionPlayer, state: m.PlaybackState) -> int:
    """Return the current item's length as the player measured it, 0 if it does not know."""
    item = state.current_item
    if item is None or player.url != item.url:
        return 0
    return player.length_ms or 0


async def _async_restore(
    player: ActionPlayer, before: m.PlaybackState, clock: Clock
) -> m.PlaybackState:
    """Bring *player* back to *before* after a refused action; return the state then true."""
    item = before.current_item
    if before.status is m.PlaybackStatus.STOPPED or item is None:
        return before  # a failed load leaves the player stopped, as a stopped state has it
    if player.url == item.url and player.state in _HOLDING:
        return before  # refused before anything replaced the media
    play = before.status in (m.PlaybackStatus.PLAYING, m.PlaybackStatus.BUFFERING)
    try:
        await async_perform(player, playback.Load(item, before.clock.position_at(clock()), play))
    except ReceiverError as exc:
        return playback.after_failure(before, failure_from(exc), clock())
    return before
