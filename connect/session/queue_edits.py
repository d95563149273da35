"""Queue edits by item uid, without I/O: insert, remove, move (the session's rules use them).

Uids, never indices: an edit means the same whatever arrived before it, so a later delta of
the queue can carry it as is. Each either returns the whole new queue or refuses with the
protocol's error, changing nothing.
"""

from __future__ import annotations

from connect.session.rejections import CommandRejectedError
from connect.wire import messages as m


def inserted(state: m.PlaybackState, action: m.AddToQueue) -> tuple[m.QueueItem, ...]:
    """Return the queue with *action.items* after *action.after_uid* (empty: at the end)."""
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


def removed(state: m.PlaybackState, uids: tuple[str, ...]) -> tuple[m.QueueItem, ...]:
    """Return the queue without *uids* (all of them queued, none of them current)."""
    queued = {item.uid for item in state.queue}
    missing = [uid for uid in uids if uid not in queued]
    if missing:
        raise CommandRejectedError(m.ErrorCode.NOT_FOUND, f"no queue item {missing[0]!r}")
    if state.current_uid and state.current_uid in uids:
        raise CommandRejectedError(
            m.ErrorCode.INVALID_ARGUMENT,
            f"{state.current_uid!r} is the current item: skip it, or clear the queue",
        )
    gone = set(uids)
    return tuple(item for item in state.queue if item.uid not in gone)


def moved(state: m.PlaybackState, action: m.MoveInQueue) -> tuple[m.QueueItem, ...]:
    """Return the queue with *action.uid* right after *action.after_uid* (empty: first)."""
    if action.uid == action.after_uid:
        raise CommandRejectedError(m.ErrorCode.INVALID_ARGUMENT, "an item cannot follow itself")
    moving = next((item for item in state.queue if item.uid == action.uid), None)
    if moving is None:
        raise CommandRejectedError(m.ErrorCode.NOT_FOUND, f"no queue item {action.uid!r}")
    rest = tuple(item for item in state.queue if item.uid != action.uid)
    if not action.after_uid:
        return (moving, *rest)
    for index, item in enumerate(rest):
        if item.uid == action.after_uid:
            return (*rest[: index + 1], moving, *rest[index + 1 :])
    raise CommandRejectedError(m.ErrorCode.NOT_FOUND, f"no queue item {action.after_uid!r}")
