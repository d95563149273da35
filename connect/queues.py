"""A queue as large as a library, sans-IO: what of it travels, in windows, pages and edits.

Proto: "Queues as large as a library". A device keeps its whole queue; a 1.1 session carries a
window of it in each snapshot (`window`), pages on request (`page`), and the edits that changed
it (`change_for`); a 1.0 session gets the whole queue while it fits in a frame, else as many
items around the current one as fit (`fitting`). Controllers keep what they fetched up to date
with `apply_edits`. `play_order` is the shuffle order every peer computes alike.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from connect.wire import messages as m

__all__ = [
    "MAX_CHANGE_BYTES",
    "MAX_PAGE_BYTES",
    "MAX_PAGE_ITEMS",
    "WINDOW_BEFORE",
    "WINDOW_ITEMS",
    "QueueEditError",
    "apply_edits",
    "change_for",
    "fitting",
    "item_bytes",
    "offerable",
    "page",
    "play_order",
    "window",
]

WINDOW_ITEMS = 64
"""Items of the queue in a 1.1 snapshot, around the current one."""
WINDOW_BEFORE = 16
"""Of those, how many may come before the current item (the rest is what plays next)."""
MAX_PAGE_ITEMS = 1000
MAX_PAGE_BYTES = 512 * 1024
MAX_CHANGE_BYTES = 256 * 1024
"""Edits larger than this travel as `reset`: the controller fetches what it needs instead."""
FITTING_BUDGET = m.MAX_FRAME_BYTES - 64 * 1024
"""What a whole queue may take in a 1.0 snapshot: the frame, less room for the rest of it."""


class QueueEditError(ValueError):
    """An edit names a uid the queue does not hold (a mirror out of step: fetch again)."""


def item_bytes(item: m.QueueItem) -> int:
    """Return how many bytes *item* takes on the wire, in a repeated QueueItem field."""
    body = 0
    for text in (
        item.uid,
        item.url,
        item.title,
        item.artist,
        item.album,
        item.artwork_url,
        item.content_type,
    ):
        if text:
            size = len(text) if text.isascii() else len(text.encode())
            body += 1 + _varint_bytes(size) + size
    if item.duration_ms:
        body += 1 + _varint_bytes(item.duration_ms)
    return 1 + _varint_bytes(body) + body


def _varint_bytes(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


# ------------------------------------------------------------------------------ snapshots


def window(state: m.PlaybackState) -> m.PlaybackState:
    """Return *state* as a 1.1 snapshot carries it: at most WINDOW_ITEMS around the current."""
    queue = state.queue
    if len(queue) <= WINDOW_ITEMS:
        return state
    start, stop = _around(state, WINDOW_BEFORE, WINDOW_ITEMS)
    return replace(
        state,
        queue=queue[start:stop],
        queue_offset=state.queue_offset + start,
        queue_length=state.queue_total,
    )


def fitting(state: m.PlaybackState, budget: int = FITTING_BUDGET) -> m.PlaybackState:
    """Return *state* as a 1.0 snapshot carries it: whole if it fits, else what fits around the
    current item (an older controller knows no pages)."""
    queue = state.queue
    if len(queue) <= WINDOW_ITEMS:
        return state
    key = (id(queue), state.current_uid, budget)
    with _lock:
        cached = _fitting.get(key)
    if cached is None or cached[0] is not queue:
        cached = (queue, *_fit(state, budget))
        with _lock:
            _fitting[key] = cached
            while len(_fitting) > _QUEUES_CACHED:
                _fitting.popitem(last=False)
    _, start, stop = cached
    if start == 0 and stop == len(queue):
        return state
    # The same slice object each time: the codec reuses its bytes for every 1.0 controller.
    return replace(
        state,
        queue=_slice(queue, start, stop),
        queue_offset=state.queue_offset + start,
        queue_length=state.queue_total,
    )


def _fit(state: m.PlaybackState, budget: int) -> tuple[int, int]:
    queue = state.queue
    # Each item's size is computed once: a 50 000-item queue's fit measured 92 ms when the grow
    # loop re-measured every item it looked at, long enough to stall the device's loop.
    sizes: dict[int, int] = {}

    def size(index: int) -> int:
        found = sizes.get(index)
        if found is None:
            found = sizes[index] = item_bytes(queue[index])
        return found

    total = 0
    for index in range(len(queue)):
        total += size(index)
        if total > budget:
            break
    else:
        return 0, len(queue)
    current = _current_index(state)
    start = stop = current
    used = 0
    # Grow around the current item, two after for one before: what plays next matters more.
    while True:
        grew = False
        for _ in range(2):
            if stop < len(queue) and used + size(stop) <= budget:
                used += size(stop)
                stop += 1
                grew = True
        if start > 0 and used + size(start - 1) <= budget:
            start -= 1
            used += size(start)
            grew = True
        if not grew:
            return start, stop


def _around(state: m.PlaybackState, before: int, size: int) -> tuple[int, int]:
    """Return the slice of at most *size* items starting up to *before* ahead of the current."""
    current = _current_index(state)
    start = max(0, current - before)
    stop = min(len(state.queue), start + size)
    return max(0, stop - size), stop


def _current_index(state: m.PlaybackState) -> int:
    if not state.current_uid:
        return 0
    found = m.index_of(state.queue, state.current_uid)
    return 0 if found is None else found


OFFER_BUDGET = 256 * 1024
"""A whole queue rides in a transfer offer up to this size; a longer one is offered as a window."""


def offerable(state: m.PlaybackState) -> m.PlaybackState:
    """Return *state* as a transfer offer carries it: whole while short, else a window (the
    target fetches the rest from the source after the switch)."""
    if state.queue_whole and sum(map(item_bytes, state.queue)) <= OFFER_BUDGET:
        return state
    return window(state)


# ------------------------------------------------------------------------------ pages


def page(state: m.PlaybackState, request: m.QueueRequest) -> m.QueuePage:
    """Return the page of *state*'s queue that *request* asks for (capped in items and bytes).

    A device whose queue is still arriving (a transfer's target, `queue_length` set) answers
    BUSY for items it does not hold yet.
    """
    total = state.queue_total
    have_from = state.queue_offset
    have_to = have_from + len(state.queue)
    wanted = max(0, min(request.count, MAX_PAGE_ITEMS))
    offset = min(request.offset, total)
    if wanted and offset < total and not have_from <= offset < have_to:
        failure = m.Failure(m.ErrorCode.BUSY, "the queue is still arriving: ask again shortly")
        return m.QueuePage(request.request_id, state.queue_revision, offset, total, (), failure)
    items: list[m.QueueItem] = []
    used = 0
    for item in state.queue[offset - have_from : min(offset + wanted, have_to) - have_from]:
        used += item_bytes(item)
        if used > MAX_PAGE_BYTES and items:
            break
        items.append(item)
    return m.QueuePage(request.request_id, state.queue_revision, offset, total, tuple(items))


# ------------------------------------------------------------------------------ edits


def change_for(
    told: int | None, state: m.PlaybackState, change: m.QueueChange | None
) -> m.QueueChange | None:
    """Return the QueueChange that brings a controller at queue revision *told* to *state*.

    None when its queue is current; *change* (the edit that made this revision) when it starts
    from *told* and is small; else a reset. *told* None: the controller holds nothing yet.
    """
    if told is None or told == state.queue_revision:
        return None
    if change is not None and change.from_revision == told and not change.reset:
        size = sum(
            sum(item_bytes(item) for item in edit.items)
            if isinstance(edit, m.QueueInsert)
            else len(edit.uids) * 40
            if isinstance(edit, m.QueueRemove)
            else 80
            for edit in change.edits
        )
        if size <= MAX_CHANGE_BYTES:
            return change
    return m.QueueChange(told, reset=True)


def apply_edits(
    items: Sequence[m.QueueItem], edits: Iterable[m.QueueEdit]
) -> tuple[m.QueueItem, ...]:
    """Return *items* after *edits*, in order; raise QueueEditError for a uid not there."""
    result = list(items)
    # Until the first edit, a uid is found in *items* itself: its uid list is cached and
    # searched in C (a device applies one edit at a time; a scan in Python of a 50 000-item
    # queue cost each command 2 ms of the device's loop).
    look_in: Sequence[m.QueueItem] = items
    for edit in edits:
        if isinstance(edit, m.QueueInsert):
            at = _after(look_in, edit.after_uid)
            result[at:at] = edit.items
        elif isinstance(edit, m.QueueRemove):
            gone = set(edit.uids)
            kept = [item for item in result if item.uid not in gone]
            if len(kept) != len(result) - len(gone):
                raise QueueEditError(f"removed uids not all in the queue: {sorted(gone)[:3]}")
            result = kept
        else:
            moving = _index(look_in, edit.uid)
            item = result.pop(moving)
            at = _after(result, edit.after_uid)
            result.insert(at, item)
        look_in = result
    return tuple(result)


def _after(items: Sequence[m.QueueItem], after_uid: str) -> int:
    return 0 if not after_uid else _index(items, after_uid) + 1


def _index(items: Sequence[m.QueueItem], uid: str) -> int:
    if isinstance(items, tuple):  # a queue as the state holds it: the cached uid list
        found = m.index_of(items, uid)
        if found is not None:
            return found
    else:
        for at, item in enumerate(items):
            if item.uid == uid:
                return at
    raise QueueEditError(f"no queue item {uid!r}")


# ------------------------------------------------------------------------------ shuffle

_MASK = (1 << 64) - 1


def play_order(length: int, seed: int) -> tuple[Sequence[int], Sequence[int]]:
    """Return (order, place): queue indices in shuffled play order, and each index's place in it.

    The order is the proto's ("Shuffle order"): Fisher-Yates driven by SplitMix64 from *seed*,
    so every peer computes it from the queue's length and the seed alone. Cached: a long queue's
    order is computed once per length and seed.
    """
    key = (length, seed & _MASK)
    with _lock:
        cached = _orders.get(key)
        if cached is not None:
            _orders.move_to_end(key)
            return cached
    order = array("I", range(length))
    state = seed & _MASK
    for i in range(length - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        z ^= z >> 31
        j = z % (i + 1)
        order[i], order[j] = order[j], order[i]
    place = array("I", bytes(4 * length))
    for position, index in enumerate(order):
        place[index] = position
    with _lock:
        _orders[key] = (order, place)
        while len(_orders) > _CACHED:
            _orders.popitem(last=False)
    return order, place


_CACHED = 2  # play orders: two (length, seed) pairs, arrays of ints
_QUEUES_CACHED = 1  # caches that hold a queue itself: a replaced one must not stay alive
_lock = threading.Lock()
_orders: OrderedDict[tuple[int, int], tuple[Sequence[int], Sequence[int]]] = OrderedDict()
_fitting: OrderedDict[tuple[int, str, int], tuple[tuple[m.QueueItem, ...], int, int]] = (
    OrderedDict()
)
_slices: OrderedDict[
    tuple[int, int, int], tuple[tuple[m.QueueItem, ...], tuple[m.QueueItem, ...]]
] = OrderedDict()


def _slice(queue: tuple[m.QueueItem, ...], start: int, stop: int) -> tuple[m.QueueItem, ...]:
    key = (id(queue), start, stop)
    with _lock:
        cached = _slices.get(key)
        if cached is not None and cached[0] is queue:
            return cached[1]
    part = queue[start:stop]
    with _lock:
        _slices[key] = (queue, part)
        while len(_slices) > _QUEUES_CACHED:
            _slices.popitem(last=False)
    return part
