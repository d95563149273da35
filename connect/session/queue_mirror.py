"""A controller's copy of a device's queue, sans-IO: what it knows, and what it still lacks.

A `QueueMirror` follows one device's queue the way protocol 1.1 sends it (proto: "Queues as
large as a library"): each snapshot's window fills in items, `queue_change` edits move what is
known along with the device's queue, and pages fetched on demand (QueueRequest) fill in the
rest. It holds one slot per item of the whole queue, None until known, so a view of 50 000
rows asks it only for the rows on screen (`missing`, then a page per range) and never for the
whole list. A change it cannot follow (a reset, an edit naming an item it does not hold, a
new session) forgets what it held outside the next window: the view fetches those rows again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from connect import queues as q
from connect.wire import messages as m

__all__ = ["QueueMirror", "Span"]


@dataclass(frozen=True, slots=True)
class Span:
    """Items `start` to `stop` (excluded) of the whole queue, to fetch."""

    start: int
    stop: int


class QueueMirror:
    """One device's queue as a controller knows it (see the module docstring)."""

    def __init__(self) -> None:
        self.session_id = ""
        self.revision = 0  # the queue revision the slots belong to
        self._slots: list[m.QueueItem | None] = []
        # Where the last edit's item was found or put: an upload's next insert goes after it,
        # and a scan of a 50 000-item queue per echoed edit cost the session's step 2 ms.
        self._hint = 0

    @property
    def length(self) -> int:
        """Return the number of items in the device's whole queue."""
        return len(self._slots)

    def item(self, index: int) -> m.QueueItem | None:
        """Return the item at *index*, or None while it is not fetched (or out of range)."""
        return self._slots[index] if 0 <= index < len(self._slots) else None

    def items(self, start: int, stop: int) -> list[m.QueueItem | None]:
        """Return the slots from *start* to *stop* (None: not fetched yet)."""
        return self._slots[max(0, start) : max(0, stop)]

    def known(self) -> int:
        """Return how many items are held."""
        return sum(item is not None for item in self._slots)

    def missing(self, start: int, stop: int, page: int = q.MAX_PAGE_ITEMS) -> list[Span]:
        """Return the spans of at most *page* items between *start* and *stop* not held yet."""
        spans: list[Span] = []
        stop = min(stop, len(self._slots))
        index = max(0, start)
        while index < stop:
            if self._slots[index] is not None:
                index += 1
                continue
            begin = index
            while index < stop and self._slots[index] is None and index - begin < page:
                index += 1
            spans.append(Span(begin, index))
        return spans

    def update(self, snapshot: m.StateSnapshot) -> bool:
        """Follow one snapshot; return True when what is shown may have changed."""
        state = snapshot.state
        change = snapshot.queue_change
        same_session = state.session_id == self.session_id
        if same_session and state.queue_revision == self.revision:
            return self._take_window(state)
        if not (same_session and change is not None and self._follow(change)):
            self._slots = [None] * state.queue_total  # start over from this window
        self.session_id, self.revision = state.session_id, state.queue_revision
        if len(self._slots) != state.queue_total:  # the edits did not add up: start over
            self._slots = [None] * state.queue_total
        self._take_window(state)
        return True

    def add_page(self, page: m.QueuePage) -> bool:
        """Take a fetched page; return False (and take nothing) if it is of another revision."""
        if page.failure is not None or page.queue_revision != self.revision:
            return False
        if page.queue_length != len(self._slots):
            return False
        self._slots[page.offset : page.offset + len(page.items)] = page.items
        return True

    def __iter__(self) -> Iterator[m.QueueItem | None]:
        return iter(self._slots)

    # -------------------------------------------------------------------------- internals

    def _take_window(self, state: m.PlaybackState) -> bool:
        start = state.queue_offset
        window = list(state.queue)
        if self._slots[start : start + len(window)] == window:
            return False
        self._slots[start : start + len(window)] = window
        return True

    def _follow(self, change: m.QueueChange) -> bool:
        """Apply *change* to the slots; False when it cannot be followed (start over)."""
        if change.reset or change.from_revision != self.revision:
            return False
        slots = self._slots
        for edit in change.edits:
            if isinstance(edit, m.QueueInsert):
                at = self._after(edit.after_uid)
                if at is None:
                    return False
                slots[at:at] = edit.items
                self._hint = at + len(edit.items) - 1
            elif isinstance(edit, m.QueueRemove):
                gone = set(edit.uids)
                # An item removed that we never fetched leaves a hole we cannot place.
                kept = [item for item in slots if item is None or item.uid not in gone]
                if len(kept) != len(slots) - len(gone):
                    return False
                slots[:] = kept
            else:
                moving = self._where(edit.uid)
                if moving is None:
                    return False
                item = slots.pop(moving)
                at = self._after(edit.after_uid)
                if at is None:
                    return False
                slots.insert(at, item)
        return True

    def _after(self, uid: str) -> int | None:
        if not uid:
            return 0
        where = self._where(uid)
        return None if where is None else where + 1

    def _where(self, uid: str) -> int | None:
        slots, hint = self._slots, self._hint
        if 0 <= hint < len(slots) and (held := slots[hint]) is not None and held.uid == uid:
            return hint
        for index, item in enumerate(slots):
            if item is not None and item.uid == uid:
                self._hint = index
                return index
        return None
