"""The queue's wire types (protocol 1.1: windows, pages, edits) and a fast uid lookup.

connect.wire.messages re-exports every name here: import them from there. Proto: "Queues as
large as a library".
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "QueueChange",
    "QueueEdit",
    "QueueInsert",
    "QueueItem",
    "QueueMove",
    "QueueRemove",
    "QueueRequest",
    "index_of",
    "uids_of",
]


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A track in the queue; `uid` names this entry, not the track."""

    uid: str
    url: str
    title: str = ""
    artist: str = ""
    album: str = ""
    duration_ms: int = 0
    artwork_url: str = ""
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class QueueInsert:
    """Items inserted after the item `after_uid` ("": at the very start)."""

    after_uid: str
    items: tuple[QueueItem, ...]


@dataclass(frozen=True, slots=True)
class QueueRemove:
    """Items taken out of the queue."""

    uids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QueueMove:
    """The item `uid` moved to just after `after_uid` ("": to the very start)."""

    uid: str
    after_uid: str = ""


QueueEdit = QueueInsert | QueueRemove | QueueMove


@dataclass(frozen=True, slots=True)
class QueueChange:
    """How a queue went from revision `from_revision` to the next one; `reset`: fetch again."""

    from_revision: int
    edits: tuple[QueueEdit, ...] = ()
    reset: bool = False


@dataclass(frozen=True, slots=True)
class QueueRequest:
    """Ask a device for `count` items of its queue from index `offset` on (protocol 1.1)."""

    request_id: str
    offset: int
    count: int


# ------------------------------------------------------------------------------ uid lookup

# A queue tuple never changes, and the same one is asked about again and again (every command
# looks for the current item). A long queue's uids are kept as a list, in queue order: a lookup
# is list.index, a scan in C that takes a fraction of a millisecond for 50 000 items, and the
# list costs 8 bytes an item where a uid -> index map would cost 70 (a device holding a
# library's queue counts its megabytes). The last index found is tried first. One queue only:
# the cache holds it, and a replaced queue (50 000 items, 17 MB) must not outlive its use.
_CACHED = 1
_SCAN_BELOW = 64  # shorter queues are scanned in Python: a list would cost more than it saves
_uids: OrderedDict[int, tuple[Sequence[QueueItem], list[str], list[int]]] = OrderedDict()
_lock = threading.Lock()


def index_of(queue: Sequence[QueueItem], uid: str) -> int | None:
    """Return the index of the item with *uid* in *queue*, or None."""
    if len(queue) < _SCAN_BELOW:
        for at, item in enumerate(queue):
            if item.uid == uid:
                return at
        return None
    uids, hint = _uids_of(queue)
    last = hint[0]
    if last < len(uids) and uids[last] == uid:
        return last
    try:
        found = uids.index(uid)
    except ValueError:
        return None
    hint[0] = found
    return found


def uids_of(queue: Sequence[QueueItem]) -> list[str]:
    """Return *queue*'s uids in order (cached for a long queue: do not change the list)."""
    if len(queue) < _SCAN_BELOW:
        return [item.uid for item in queue]
    return _uids_of(queue)[0]


def _uids_of(queue: Sequence[QueueItem]) -> tuple[list[str], list[int]]:
    key = id(queue)
    with _lock:
        cached = _uids.get(key)
        if cached is not None and cached[0] is queue:
            _uids.move_to_end(key)
            return cached[1], cached[2]
    uids = [item.uid for item in queue]
    hint = [0]
    with _lock:
        _uids[key] = (queue, uids, hint)  # the queue itself: its id cannot be reused meanwhile
        while len(_uids) > _CACHED:
            _uids.popitem(last=False)
    return uids, hint
