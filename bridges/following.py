"""How a bridged device's own changes move the Baton session: pure rules, no I/O.

A bridged device does things nobody asked through Baton: its song ends, another of its clients
pauses or seeks it, someone turns its volume. The bridge reads its status when it says so
(MPD's idle) and `followed` returns the session that is then true, with the player actions the
session rules want (the next item of the queue after an end), or None when the status only
confirms the session (the echo of a command of ours, a position within its uncertainty).
`anchored` puts a command's result on the device's own clock.
"""

from __future__ import annotations

from dataclasses import replace

from bridges.player import PlayerState, PlayerStatus
from connect.session import playback
from connect.wire import messages as m

__all__ = ["END_SLACK_MS", "anchored", "followed", "next_item", "status_of"]

END_SLACK_MS = 2_000
"""A song that stops this close to its end (or of unknown length) ended; further from it, it
was stopped (by another client of the device): the session stops there, nothing follows."""

_STATUS = {
    PlayerState.PLAYING: m.PlaybackStatus.PLAYING,
    PlayerState.PAUSED: m.PlaybackStatus.PAUSED,
    PlayerState.STOPPED: m.PlaybackStatus.STOPPED,
}


def status_of(player: PlayerState) -> m.PlaybackStatus:
    """Return the session status of a player state."""
    return _STATUS[player]


def anchored(state: m.PlaybackState, status: PlayerStatus) -> m.PlaybackState:
    """Return *state* with its clock on the device's reading, if the device plays its item."""
    item = state.current_item
    if item is None or status.url != item.url:
        return state
    clock = m.PlaybackClock(status.position_ms, status.as_of_us, state.clock.rate, status.playing)
    return replace(state, clock=clock)


def followed(state: m.PlaybackState, status: PlayerStatus, now_us: int) -> playback.Outcome | None:
    """Return the session after what the device did on its own (None: nothing changed)."""
    after = _volume_followed(state, status)
    item = after.current_item
    following = next_item(after)
    if item is not None and following is not None and status.url == following.url != item.url:
        # It went on to the next item by itself (given ahead): the session follows it there,
        # with nothing for the device to do.
        moved = playback.after_item_ended(after, status.as_of_us)
        outcome = playback.Outcome(anchored(moved.state, status), ())
    elif item is not None and status.url == item.url:
        after = _item_followed(after, status)
        outcome = playback.Outcome(after)
    elif item is not None and state.status is not m.PlaybackStatus.STOPPED:
        outcome = _item_gone(after, status, now_us)
    else:
        outcome = playback.Outcome(after)
    if outcome.state == state:
        return None
    return replace(outcome, state=replace(outcome.state, revision=state.revision + 1))


def next_item(state: m.PlaybackState) -> m.QueueItem | None:
    """Return the item that plays after the current one (repeat and shuffle respected)."""
    if state.repeat is m.RepeatMode.ONE:
        return state.current_item
    return playback.neighbour(state, +1, wrap=state.repeat is m.RepeatMode.ALL)


def _volume_followed(state: m.PlaybackState, status: PlayerStatus) -> m.PlaybackState:
    heard = 0 if state.muted else state.volume
    if status.volume < 0 or status.volume == heard:
        return state
    return replace(state, volume=status.volume, muted=False)


def _item_followed(state: m.PlaybackState, status: PlayerStatus) -> m.PlaybackState:
    """The device plays (or holds) our item: its length, its state, its position."""
    item = state.current_item
    assert item is not None
    learnt = playback.with_length(state, item.url, status.duration_ms)
    if learnt is not None:
        state = replace(learnt, revision=state.revision)  # one bump, by the caller
    wanted = status_of(status.state)
    if wanted is not state.status:
        return replace(anchored(state, status), status=wanted, error=None)
    if not status.playing:
        return state
    drift = state.clock.position_at(status.as_of_us) - status.position_ms
    if abs(drift) > status.uncertainty_ms or not state.clock.playing:
        return anchored(state, status)  # sought by someone else, or started late
    return state


def _item_gone(state: m.PlaybackState, status: PlayerStatus, now_us: int) -> playback.Outcome:
    """Our item is not on the device any more: it ended, failed, or was stopped or replaced."""
    if status.error:
        failure = m.Failure(m.ErrorCode.MEDIA_UNREACHABLE, f"the device said: {status.error}")
        return playback.Outcome(playback.after_failure(state, failure, now_us))
    item = state.current_item
    assert item is not None
    position = state.clock.position_at(now_us)
    near_end = not item.duration_ms or position >= item.duration_ms - END_SLACK_MS
    if state.status is m.PlaybackStatus.PLAYING and near_end:
        return playback.after_item_ended(state, now_us)
    clock = m.PlaybackClock(position, now_us, state.clock.rate, False)
    return playback.Outcome(replace(state, status=m.PlaybackStatus.STOPPED, clock=clock))
