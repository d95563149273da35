"""How a listener edits the queue, by row, on a queue of any length: Delete removes an item,
Ctrl+Up and Ctrl+Down move it, a drop puts it elsewhere. Every edit names items by uid (the
protocol's RemoveFromQueue and MoveInQueue), so it applies to the device's whole queue
whatever part of it the app has fetched; `UidAt` reads a row's uid (None: not fetched yet,
and no edit is made from a row whose neighbours are unknown)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from connect.wire import messages as m

QUEUE_MIME = "application/x-baton-queue-uid"

UidAt = Callable[[int], "str | None"]


def uids_of(order: Sequence[str]) -> UidAt:
    """Return a `UidAt` over a list of uids (for a queue held whole, and tests)."""
    return lambda row: order[row] if 0 <= row < len(order) else None


def move_up(uid_at: UidAt, row: int) -> m.MoveInQueue | None:
    """The edit that moves the item at *row* one place up (None: first already, or unknown)."""
    uid = uid_at(row)
    if uid is None or row <= 0:
        return None
    after = uid_at(row - 2) if row >= 2 else ""
    return None if after is None else m.MoveInQueue(uid, after)


def move_down(uid_at: UidAt, row: int, rows: int) -> m.MoveInQueue | None:
    """The edit that moves the item at *row* of *rows* one place down (None: last, unknown)."""
    uid = uid_at(row)
    after = uid_at(row + 1) if row + 1 < rows else None
    return None if uid is None or after is None else m.MoveInQueue(uid, after)


def drop_edit(uid_at: UidAt, dragged: int, onto: int, below: bool) -> m.MoveInQueue | None:
    """The edit that puts the item at row *dragged* above (or *below*) the row *onto*
    (None: no change, or a row not fetched)."""
    uid = uid_at(dragged)
    before = onto if below else onto - 1  # the row that will come right before it
    if uid is None or dragged in (onto, before, before + 1):
        return None  # onto itself, or there already
    after = uid_at(before) if before >= 0 else ""
    return None if after is None else m.MoveInQueue(uid, after)
