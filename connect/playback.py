"""The rules of a playback session, without I/O: how commands and player events change state.

`apply_command` takes a state, a command and the device's current instant, and returns the new
state with the `PlayerAction`s the device's player must carry out, or raises `CommandRejectedError`
with a typed failure and changes nothing. Every applied command bumps the revision and records
its id. Player events (end of item, failure) have their own functions. The receiver and the
app's local player both drive a real player from these results.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from connect import messages as m
from connect.errors import ConnectError

RESTART_THRESHOLD_MS = 3000  # SkipPrevious restarts the item if it has played longer than this


class CommandRejectedError(ConnectError):
    """A command cannot be applied; `failure` says why, in the protocol's terms."""

    def __init__(self, code: m.ErrorCode, message: str) -> None:
        super().__init__(message)
        self.failure = m.Failure(code, message)


# ------------------------------------------------------------------------------ player actions


@dataclass(frozen=True, slots=True)
class Load:
    """Open `item` at `position_ms`; start playing if `play`, else stay paused there."""

    item: m.QueueItem
    position_ms: int
    play: bool


@dataclass(frozen=True, slots=True)
class PausePlayer:
    """Pause output, keeping the position."""


@dataclass(frozen=True, slots=True)
class ResumePlayer:
    """Resume output from the paused position."""


@dataclass(frozen=True, slots=True)
class SeekPlayer:
    """Move to `position_ms` in the loaded item."""

    position_ms: int


@dataclass(frozen=True, slots=True)
class StopPlayer:
    """Unload the media."""


@dataclass(frozen=True, slots=True)
class SetPlayerVolume:
    """Set the output level (0 when muted)."""

    volume: int


PlayerAction = Load | PausePlayer | ResumePlayer | SeekPlayer | StopPlayer | SetPlayerVolume


@dataclass(frozen=True, slots=True)
class Outcome:
    """A new state and what the player must do to match it."""

    state: m.PlaybackState
    actions: tuple[PlayerAction, ...] = ()


# ------------------------------------------------------------------------------ commands

_KINDS: dict[type, m.CommandKind] = {
    m.Play: m.CommandKind.PLAY,
    m.Pause: m.CommandKind.PAUSE,
    m.Resume: m.CommandKind.RESUME,
    m.Seek: m.CommandKind.SEEK,
    m.SkipNext: m.CommandKind.SKIP_NEXT,
    m.SkipPrevious: m.CommandKind.SKIP_PREVIOUS,
    m.SetVolume: m.CommandKind.SET_VOLUME,
    m.SetQueue: m.CommandKind.SET_QUEUE,
    m.AddToQueue: m.CommandKind.ADD_TO_QUEUE,
    m.SetOptions: m.CommandKind.SET_OPTIONS,
}


def command_kind(action: m.Action) -> m.CommandKind:
    """Return the restriction kind of an action."""
    return _KINDS[type(action)]


def apply_command(
    state: m.PlaybackState, command: m.Command, now_us: int, *, max_volume: int = 100
) -> Outcome:
    """Apply *command* at device instant *now_us*; raise CommandRejectedError if it cannot apply."""
    if command.expected_revision is not None and command.expected_revision != state.revision:
        raise CommandRejectedError(
            m.ErrorCode.CONFLICT,
            f"state is at revision {state.revision}, not {command.expected_revision}",
        )
    kind = command_kind(command.action)
    for restriction in state.restrictions:
        if restriction.command is kind:
            raise CommandRejectedError(
                m.ErrorCode.RESTRICTED,
                f"{kind.name.lower()} is not allowed now: {', '.join(restriction.reasons)}",
            )
    outcome = _apply(state, command.action, now_us, max_volume)
    return Outcome(
        replace(
            outcome.state,
            revision=state.revision + 1,
            last_command_id=command.command_id,
        ),
        outcome.actions,
    )


def _apply(state: m.PlaybackState, action: m.Action, now: int, max_volume: int) -> Outcome:
    position = state.clock.position_at(now)
    if isinstance(action, m.Play):
        return _play(state, action, now)
    if isinstance(action, m.Pause):
        if state.status in (m.PlaybackStatus.PLAYING, m.PlaybackStatus.BUFFERING):
            return Outcome(_frozen(state, position, now, m.PlaybackStatus.PAUSED), (PausePlayer(),))
        return Outcome(state)
    if isinstance(action, m.Resume):
        return _resume(state, position, now)
    if isinstance(action, m.Seek):
        return _seek(state, action.position_ms, now)
    if isinstance(action, m.SkipNext):
        following = neighbour(state, +1, wrap=state.repeat is not m.RepeatMode.OFF)
        if following is None:
            raise CommandRejectedError(m.ErrorCode.RESTRICTED, "there is no next item")
        return _start(state, following, 0, now, play=_wants_to_play(state))
    if isinstance(action, m.SkipPrevious):
        previous = neighbour(state, -1, wrap=state.repeat is not m.RepeatMode.OFF)
        if position > RESTART_THRESHOLD_MS or previous is None:
            return _seek(state, 0, now)
        return _start(state, previous, 0, now, play=_wants_to_play(state))
    if isinstance(action, m.SetVolume):
        volume = min(action.volume, max_volume)
        muted = state.muted if action.muted is None else action.muted
        changed = replace(state, volume=volume, muted=muted)
        return Outcome(changed, (SetPlayerVolume(0 if muted else volume),))
    if isinstance(action, m.SetQueue):
        return _set_queue(state, action, now)
    if isinstance(action, m.AddToQueue):
        return Outcome(replace(state, queue=_inserted(state, action)))
    return Outcome(_with_options(state, action))


def _play(state: m.PlaybackState, action: m.Play, now: int) -> Outcome:
    uid = action.item_uid or state.current_uid or (state.queue[0].uid if state.queue else "")
    item = find_item(state, uid)
    if item is None:
        code = m.ErrorCode.NOT_FOUND if uid else m.ErrorCode.INVALID_ARGUMENT
        raise CommandRejectedError(code, f"no queue item {uid!r}" if uid else "the queue is empty")
    if action.position_ms is None and uid == state.current_uid:
        if state.status is m.PlaybackStatus.PAUSED:
            return _resume(state, state.clock.position_ms, now)
        if state.status is m.PlaybackStatus.PLAYING:
            return Outcome(state)
    return _start(state, item, action.position_ms or 0, now, play=True)


def _resume(state: m.PlaybackState, position: int, now: int) -> Outcome:
    if state.status is m.PlaybackStatus.PAUSED:
        clock = m.PlaybackClock(position, now, state.clock.rate, True)
        playing = replace(state, clock=clock, status=m.PlaybackStatus.PLAYING)
        return Outcome(playing, (ResumePlayer(),))
    if state.status is m.PlaybackStatus.STOPPED:
        item = state.current_item or (state.queue[0] if state.queue else None)
        if item is None:
            raise CommandRejectedError(
                m.ErrorCode.INVALID_ARGUMENT, "nothing to resume: empty queue"
            )
        return _start(state, item, position if item.uid == state.current_uid else 0, now, True)
    return Outcome(state)


def _seek(state: m.PlaybackState, position_ms: int, now: int) -> Outcome:
    item = state.current_item
    if item is None:
        raise CommandRejectedError(m.ErrorCode.INVALID_ARGUMENT, "nothing to seek in")
    if item.duration_ms and position_ms > item.duration_ms:
        raise CommandRejectedError(
            m.ErrorCode.INVALID_ARGUMENT,
            f"position {position_ms} ms is past the end ({item.duration_ms} ms)",
        )
    clock = m.PlaybackClock(position_ms, now, state.clock.rate, state.clock.playing)
    if state.status is m.PlaybackStatus.STOPPED:
        return _start(state, item, position_ms, now, play=False)
    return Outcome(replace(state, clock=clock), (SeekPlayer(position_ms),))


def _set_queue(state: m.PlaybackState, action: m.SetQueue, now: int) -> Outcome:
    if not action.items:
        emptied = replace(
            state,
            queue=(),
            current_uid="",
            clock=m.PlaybackClock(0, now, state.clock.rate, False),
            status=m.PlaybackStatus.STOPPED,
            error=None,
        )
        return Outcome(emptied, (StopPlayer(),))
    queued = replace(state, queue=action.items)
    start = find_item(queued, action.start_uid) if action.start_uid else action.items[0]
    if start is None:
        raise CommandRejectedError(
            m.ErrorCode.NOT_FOUND, f"no item {action.start_uid!r} to start at"
        )
    return _start(queued, start, action.start_position_ms, now, play=action.play)


def _inserted(state: m.PlaybackState, action: m.AddToQueue) -> tuple[m.QueueItem, ...]:
    taken = {item.uid for item in state.queue}
    clash = sorted(taken.intersection(item.uid for item in action.items))
    if clash:
        raise CommandRejectedError(m.ErrorCode.INVALID_ARGUMENT, f"uids already queued: {clash}")
    if not action.after_uid:
        return state.queue + action.items
    for index, item in enumerate(state.queue):
        if item.uid == action.after_uid:
            return state.queue[: index + 1] + action.items + state.queue[index + 1 :]
    raise CommandRejectedError(m.ErrorCode.NOT_FOUND, f"no queue item {action.after_uid!r}")


def _with_options(state: m.PlaybackState, action: m.SetOptions) -> m.PlaybackState:
    return replace(
        state,
        shuffle=state.shuffle if action.shuffle is None else action.shuffle,
        shuffle_seed=state.shuffle_seed if action.shuffle_seed is None else action.shuffle_seed,
        repeat=state.repeat if action.repeat is None else action.repeat,
    )


# ------------------------------------------------------------------------------ player events


def after_item_ended(state: m.PlaybackState, now_us: int) -> Outcome:
    """Move on after the current item played to its end (repeat and shuffle respected)."""
    current = state.current_item
    if current is not None and state.repeat is m.RepeatMode.ONE:
        following: m.QueueItem | None = current
    else:
        following = neighbour(state, +1, wrap=state.repeat is m.RepeatMode.ALL)
    if following is None:
        ended = _frozen(state, 0, now_us, m.PlaybackStatus.STOPPED)
        return Outcome(replace(ended, revision=state.revision + 1), (StopPlayer(),))
    outcome = _start(state, following, 0, now_us, play=True)
    return Outcome(replace(outcome.state, revision=state.revision + 1), outcome.actions)


def after_failure(state: m.PlaybackState, failure: m.Failure, now_us: int) -> m.PlaybackState:
    """Return the state after the player failed: stopped where it was, with the failure shown."""
    stopped = _frozen(state, state.clock.position_at(now_us), now_us, m.PlaybackStatus.STOPPED)
    return replace(stopped, error=failure, revision=state.revision + 1)


# ------------------------------------------------------------------------------ queue helpers


def find_item(state: m.PlaybackState, uid: str) -> m.QueueItem | None:
    """Return the queue item with *uid*, or None."""
    return next((item for item in state.queue if item.uid == uid), None)


def play_order(state: m.PlaybackState) -> list[int]:
    """Return queue indices in play order: as queued, or shuffled by the session's seed."""
    order = list(range(len(state.queue)))
    if state.shuffle:
        # Seeded, so every device computes the same order for the same queue and seed.
        random.Random(state.shuffle_seed).shuffle(order)
    return order


def neighbour(state: m.PlaybackState, step: int, *, wrap: bool) -> m.QueueItem | None:
    """Return the item *step* places from the current one in play order, or None past an end."""
    order = play_order(state)
    if not order:
        return None
    indices = [i for i, item in enumerate(state.queue) if item.uid == state.current_uid]
    if not indices:
        return state.queue[order[0]]
    place = order.index(indices[0]) + step
    if wrap:
        place %= len(order)
    elif not 0 <= place < len(order):
        return None
    return state.queue[order[place]]


def _wants_to_play(state: m.PlaybackState) -> bool:
    return state.status in (m.PlaybackStatus.PLAYING, m.PlaybackStatus.BUFFERING)


def _start(
    state: m.PlaybackState, item: m.QueueItem, position_ms: int, now: int, play: bool
) -> Outcome:
    status = m.PlaybackStatus.PLAYING if play else m.PlaybackStatus.PAUSED
    started = replace(
        state,
        current_uid=item.uid,
        clock=m.PlaybackClock(position_ms, now, state.clock.rate, play),
        status=status,
        error=None,
    )
    return Outcome(started, (Load(item, position_ms, play),))


def _frozen(
    state: m.PlaybackState, position_ms: int, now: int, status: m.PlaybackStatus
) -> m.PlaybackState:
    return replace(
        state, clock=m.PlaybackClock(position_ms, now, state.clock.rate, False), status=status
    )
