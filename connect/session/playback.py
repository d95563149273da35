"""The rules of a playback session, without I/O: how commands and player events change state.

`apply_command` takes a state, a command and the device's current instant, and returns the new
state with the `PlayerAction`s the device's player must carry out, or raises `CommandRejectedError`
with a typed failure and changes nothing. Every applied command bumps the revision and records
its id. Player events (end of item, failure) have their own functions. The receiver and the
app's local player both drive a real player from these results.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from connect import queues as q
from connect.media_urls import media_url_refusal

# Re-exported: devices and tests name it as playback.CommandRejectedError.
from connect.session.rejections import CommandRejectedError as CommandRejectedError
from connect.wire import messages as m

RESTART_THRESHOLD_MS = 3000  # SkipPrevious restarts the item if it has played longer than this


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
    """A new state and what the player must do to match it; how its queue changed, if it did."""

    state: m.PlaybackState
    actions: tuple[PlayerAction, ...] = ()
    queue_change: m.QueueChange | None = None


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
    m.RemoveFromQueue: m.CommandKind.REMOVE_FROM_QUEUE,
    m.MoveInQueue: m.CommandKind.MOVE_IN_QUEUE,
    m.ClearQueue: m.CommandKind.CLEAR_QUEUE,
}


def command_kind(action: m.Action) -> m.CommandKind:
    """Return the restriction kind of an action."""
    return _KINDS[type(action)]


def apply_command(
    state: m.PlaybackState,
    command: m.Command,
    now_us: int,
    *,
    max_volume: int = 100,
    media_length_ms: int = 0,
) -> Outcome:
    """Apply *command* at device instant *now_us*; raise CommandRejectedError if it cannot apply.

    *media_length_ms* is the current item's length as the device's player measured it (0:
    unknown): a controller that queued a URL often leaves `duration_ms` at 0, and a position
    past the real end must be refused here, before anything changes (issue 13, item 7).
    """
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
    outcome = _apply(state, command.action, now_us, max_volume, media_length_ms)
    return Outcome(
        replace(
            outcome.state,
            revision=state.revision + 1,
            last_command_id=command.command_id,
        ),
        outcome.actions,
        outcome.queue_change,
    )


def _apply(
    state: m.PlaybackState, action: m.Action, now: int, max_volume: int, media_length_ms: int
) -> Outcome:
    position = state.clock.position_at(now)
    current = state.current_item
    length = (current.duration_ms or media_length_ms) if current is not None else 0
    if isinstance(action, m.Play):
        return _play(state, action, now, length)
    if isinstance(action, m.Pause):
        if state.status in (m.PlaybackStatus.PLAYING, m.PlaybackStatus.BUFFERING):
            return Outcome(_frozen(state, position, now, m.PlaybackStatus.PAUSED), (PausePlayer(),))
        return Outcome(state)
    if isinstance(action, m.Resume):
        return _resume(state, position, now)
    if isinstance(action, m.Seek):
        return _seek(state, action.position_ms, now, length)
    if isinstance(action, m.SkipNext):
        following = neighbour(state, +1, wrap=state.repeat is not m.RepeatMode.OFF)
        if following is None:
            raise CommandRejectedError(m.ErrorCode.RESTRICTED, "there is no next item")
        return _start(state, following, 0, now, play=_wants_to_play(state))
    if isinstance(action, m.SkipPrevious):
        previous = neighbour(state, -1, wrap=state.repeat is not m.RepeatMode.OFF)
        if position > RESTART_THRESHOLD_MS or previous is None:
            return _seek(state, 0, now, length)
        return _start(state, previous, 0, now, play=_wants_to_play(state))
    if isinstance(action, m.SetVolume):
        volume = min(action.volume, max_volume, 100)  # clamped, as a volume knob is
        muted = state.muted if action.muted is None else action.muted
        changed = replace(state, volume=volume, muted=muted)
        return Outcome(changed, (SetPlayerVolume(0 if muted else volume),))
    if isinstance(action, m.SetQueue):
        _check_media_urls(action.items)
        outcome = _set_queue(state, action, now)
        return _queue_changed(state, outcome, m.QueueChange(state.queue_revision, reset=True))
    if isinstance(action, m.AddToQueue):
        _check_media_urls(action.items)
        return _edited(state, _insertion(state, action))
    if isinstance(action, m.RemoveFromQueue):
        return _edited(state, _removal(state, action))
    if isinstance(action, m.MoveInQueue):
        return _edited(state, _move(state, action))
    if isinstance(action, m.ClearQueue):  # all but the current item: the music goes on
        kept = state.current_uid
        return _edited(state, m.QueueRemove(tuple(u for u in m.uids_of(state.queue) if u != kept)))
    return Outcome(_with_options(state, action))


def _edited(state: m.PlaybackState, edit: m.QueueEdit) -> Outcome:
    """Apply one checked edit to the queue: a new queue revision, and the edit to tell."""
    queue = q.apply_edits(state.queue, (edit,))
    change = m.QueueChange(state.queue_revision, (edit,))
    return _queue_changed(state, Outcome(replace(state, queue=queue)), change)


def _queue_changed(state: m.PlaybackState, outcome: Outcome, change: m.QueueChange) -> Outcome:
    """Number the queue *outcome* made, and say how it came from *state*'s."""
    changed = replace(outcome.state, queue_revision=state.queue_revision + 1)
    return Outcome(changed, outcome.actions, change)


def _play(state: m.PlaybackState, action: m.Play, now: int, current_length_ms: int) -> Outcome:
    first = neighbour(replace(state, current_uid=""), +1, wrap=False)  # first in play order
    uid = action.item_uid or state.current_uid or (first.uid if first is not None else "")
    item = find_item(state, uid)
    if item is None:
        code = m.ErrorCode.NOT_FOUND if uid else m.ErrorCode.INVALID_ARGUMENT
        raise CommandRejectedError(code, f"no queue item {uid!r}" if uid else "the queue is empty")
    if action.position_ms is not None:
        length = current_length_ms if uid == state.current_uid else item.duration_ms
        _check_position(action.position_ms, length)
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


def _seek(state: m.PlaybackState, position_ms: int, now: int, length_ms: int) -> Outcome:
    item = state.current_item
    if item is None:
        raise CommandRejectedError(m.ErrorCode.INVALID_ARGUMENT, "nothing to seek in")
    _check_position(position_ms, length_ms)
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
    start = (
        find_item(queued, action.start_uid)
        if action.start_uid
        else neighbour(replace(queued, current_uid=""), +1, wrap=False)  # first in play order
    )
    if start is None:
        raise CommandRejectedError(
            m.ErrorCode.NOT_FOUND, f"no item {action.start_uid!r} to start at"
        )
    _check_position(action.start_position_ms, start.duration_ms)
    return _start(queued, start, action.start_position_ms, now, play=action.play)


def _check_position(position_ms: int, length_ms: int) -> None:
    """Refuse a position past the end of an item *length_ms* long (0: unknown, not checked)."""
    if length_ms and position_ms > length_ms:
        raise CommandRejectedError(
            m.ErrorCode.INVALID_ARGUMENT,
            f"position {position_ms} ms is past the end ({length_ms} ms)",
        )


def _insertion(state: m.PlaybackState, action: m.AddToQueue) -> m.QueueInsert:
    queue = state.queue
    # Against the cached uid list, in C: no set of the whole queue is built for the check.
    clash = sorted({item.uid for item in action.items}.intersection(m.uids_of(queue)))
    if clash:
        raise CommandRejectedError(m.ErrorCode.INVALID_ARGUMENT, f"uids already queued: {clash}")
    after = action.after_uid
    if after and m.index_of(queue, after) is None:
        raise CommandRejectedError(m.ErrorCode.NOT_FOUND, f"no queue item {after!r}")
    if not after and queue:  # "at the end", as an edit says it: after the last item
        after = queue[-1].uid
    return m.QueueInsert(after, action.items)


def _removal(state: m.PlaybackState, action: m.RemoveFromQueue) -> m.QueueRemove:
    uids = tuple(dict.fromkeys(action.uids))  # a uid named twice is removed once
    queued = set(m.uids_of(state.queue))
    missing = [uid for uid in uids if uid not in queued]
    if missing:
        raise CommandRejectedError(m.ErrorCode.NOT_FOUND, f"no queue item {missing[0]!r}")
    if state.current_uid and state.current_uid in uids:
        raise CommandRejectedError(
            m.ErrorCode.INVALID_ARGUMENT,
            f"{state.current_uid!r} is the current item: skip it, or clear the queue",
        )
    return m.QueueRemove(uids)


def _move(state: m.PlaybackState, action: m.MoveInQueue) -> m.QueueMove:
    if action.uid == action.after_uid:
        raise CommandRejectedError(m.ErrorCode.INVALID_ARGUMENT, "an item cannot follow itself")
    for uid in (action.uid, action.after_uid):
        if uid and m.index_of(state.queue, uid) is None:
            raise CommandRejectedError(m.ErrorCode.NOT_FOUND, f"no queue item {uid!r}")
    return m.QueueMove(action.uid, action.after_uid)


def _with_options(state: m.PlaybackState, action: m.SetOptions) -> m.PlaybackState:
    return replace(
        state,
        shuffle=state.shuffle if action.shuffle is None else action.shuffle,
        shuffle_seed=state.shuffle_seed if action.shuffle_seed is None else action.shuffle_seed,
        repeat=state.repeat if action.repeat is None else action.repeat,
    )


def _check_media_urls(items: Iterable[m.QueueItem]) -> None:
    failure = media_url_refusal(items)
    if failure is not None:
        raise CommandRejectedError(failure.code, failure.message)


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


def with_length(state: m.PlaybackState, url: str, length_ms: int) -> m.PlaybackState | None:
    """Return the state with the current item's unknown duration set to what the player found.

    A URL played from the CLI arrives without a duration; the player learns it once it has
    parsed the media. None when there is nothing to change: another item is current now (a
    late report), the length is not positive, or the item already has a duration (the
    controller's stands).
    """
    item = state.current_item
    if item is None or item.url != url or item.duration_ms or length_ms <= 0 or state.live:
        return None  # a live stream has no length (an HLS player's is its playlist's window)
    known = replace(item, duration_ms=length_ms)
    queue = tuple(known if entry.uid == item.uid else entry for entry in state.queue)
    return replace(state, queue=queue, revision=state.revision + 1)


LIVE_SEEK_REASON = "the current item is a live stream: it plays at its live edge only"


def with_stream(
    state: m.PlaybackState, *, live: bool, now_playing: m.NowPlaying | None
) -> m.PlaybackState:
    """Return *state* saying whether its current item is live, and what it says is on.

    A live item restricts Seek, with the reason, and has no duration (one the player learnt
    from an HLS live playlist is its window's, which slides); anything else keeps its
    restrictions. The revision is the caller's to bump (it stays as it is when nothing changed).
    """
    others = tuple(r for r in state.restrictions if LIVE_SEEK_REASON not in r.reasons)
    queue = state.queue
    if live:
        others += (m.Restriction(m.CommandKind.SEEK, (LIVE_SEEK_REASON,)),)
        queue = tuple(
            replace(i, duration_ms=0) if i.uid == state.current_uid and i.duration_ms else i
            for i in queue
        )
    return replace(state, live=live, now_playing=now_playing, restrictions=others, queue=queue)


def stream_learnt(
    state: m.PlaybackState, url: str, live: bool, now_playing: m.NowPlaying | None
) -> m.PlaybackState | None:
    """Return the state with what the player found out about the stream at *url*, bumped.

    None when nothing changes, or when *url* is not the current item's any more (a late report).
    """
    item = state.current_item
    if item is None or item.url != url:
        return None
    learnt = with_stream(state, live=live, now_playing=now_playing)
    if learnt == state:
        return None
    return replace(learnt, revision=state.revision + 1)


# ------------------------------------------------------------------------------ queue helpers


def find_item(state: m.PlaybackState, uid: str) -> m.QueueItem | None:
    """Return the queue item with *uid*, or None."""
    index = m.index_of(state.queue, uid)
    return None if index is None else state.queue[index]


def play_order(state: m.PlaybackState) -> list[int]:
    """Return queue indices in play order: as queued, or shuffled by the session's seed."""
    if not state.shuffle:
        return list(range(len(state.queue)))
    # Seeded, so every peer computes the same order for the same queue and seed (the proto's
    # "Shuffle order").
    return list(q.play_order(len(state.queue), state.shuffle_seed)[0])


def neighbour(state: m.PlaybackState, step: int, *, wrap: bool) -> m.QueueItem | None:
    """Return the item *step* places from the current one in play order, or None past an end."""
    length = len(state.queue)
    if not length:
        return None
    if state.shuffle:
        order, place_of = q.play_order(length, state.shuffle_seed)
    else:
        order = place_of = range(length)
    current = m.index_of(state.queue, state.current_uid) if state.current_uid else None
    if current is None:
        return state.queue[order[0]]
    place = place_of[current] + step
    if wrap:
        place %= length
    elif not 0 <= place < length:
        return None
    return state.queue[order[place]]


def _wants_to_play(state: m.PlaybackState) -> bool:
    return state.status in (m.PlaybackStatus.PLAYING, m.PlaybackStatus.BUFFERING)


def _start(
    state: m.PlaybackState, item: m.QueueItem, position_ms: int, now: int, play: bool
) -> Outcome:
    status = m.PlaybackStatus.PLAYING if play else m.PlaybackStatus.PAUSED
    current = state.current_item
    if current is None or current.url != item.url:
        state = with_stream(state, live=False, now_playing=None)  # the player says anew
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
