"""A long queue across a transfer: the source serves it, the target fetches it after the switch.

A transfer offers a long queue as a window (connect/queues.py, `offerable`). As the
source, a receiver keeps the queue it had at each commit for SERVE_S and serves it a page at a
time (`page`, for `GET /connect/v1/transfers/{id}/queue`); it is the same tuple its session
holds, not a copy, until the receiver takes a session by a transfer itself (`session_taken`):
then it stops serving the old one, which would otherwise stay in memory beside the new. As the
target, once it took a session whose queue is only a window (`wants_fill`), it fetches the
other items from the source, what plays next first, and splices them around the window it
holds, which controllers may have edited meanwhile (`async_fill`). Until then its snapshots say
the queue is partial, and its pages for items not there yet say BUSY.
A source that does not answer leaves the target with the window: it plays on from that.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Protocol

import aiohttp

from connect import queues as q
from connect.errors import ConnectError
from connect.transfer import async_fetch_queue_page
from connect.wire import messages as m
from devices._memory import release_freed_memory

_LOG = logging.getLogger(__name__)

SERVE_S = 600.0
"""How long a source serves the queue of a transfer it committed (the proto says 10 minutes)."""
_KEPT = 4  # transfers remembered, either way
PAGE_ITEMS = q.MAX_PAGE_ITEMS

Fetch = Callable[[str, str, str, int, int], Coroutine[Any, Any, m.QueuePage]]
"""(source id, source URL, transfer id, offset, count) -> a page of the source's queue."""


class QueueHost(Protocol):
    """What the relay needs of its receiver."""

    @property
    def state(self) -> m.PlaybackState:
        """Return the session as it is now."""
        ...

    def adopt_queue(self, state: m.PlaybackState) -> None:
        """Take *state*, the same session with its whole queue (the caller holds the lock)."""
        ...


@dataclass(frozen=True)
class _Offered:
    transfer_id: str
    source_id: str
    source_url: str
    offset: int  # where the offered window starts in the whole queue
    window: int  # how many items it held
    length: int  # the whole queue's


class QueueRelay:
    """One receiver's long queues across transfers (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._served: OrderedDict[str, tuple[m.PlaybackState, float]] = OrderedDict()
        self._offered: OrderedDict[str, _Offered] = OrderedDict()  # by session id

    def note(self, body: m.Body, state: m.PlaybackState) -> None:
        """Remember what a transfer message means for queues; *state* is the session now."""
        if isinstance(body, m.TransferCommit) and body.role is m.TransferRole.SOURCE:
            self._served[body.transfer_id] = (state, self._clock() + SERVE_S)
            _trim(self._served)
        elif isinstance(body, m.TransferOffer) and body.source_url and not body.prepare:
            offered = body.state
            self._offered[offered.session_id] = _Offered(
                body.transfer_id,
                body.source_device_id,
                body.source_url,
                offered.queue_offset,
                len(offered.queue),
                offered.queue_total,
            )
            _trim(self._offered)

    def page(self, transfer_id: str, request: m.QueueRequest) -> m.QueuePage | None:
        """Return a page of the queue this device had when it committed *transfer_id* as
        its source, or None if it serves none for it."""
        now = self._clock()
        for tid in [tid for tid, (_, until) in self._served.items() if until <= now]:
            del self._served[tid]
        served = self._served.get(transfer_id)
        return None if served is None else q.page(served[0], request)

    def session_taken(self) -> None:
        """This device took a session by a transfer: stop serving queues it held before."""
        self._served.clear()

    def reuse(self, held: m.PlaybackState, taken: m.PlaybackState) -> m.PlaybackState:
        """Return *taken* (a session this device takes) with the whole queue of *held* (what
        it had) when it is that very queue, the same session at the same revision: a transfer
        back needs no fetch, and the device holds one copy of it, not two."""
        start, window = taken.queue_offset, taken.queue
        if (
            taken.queue_whole
            or not held.queue_whole
            or (held.session_id, held.queue_revision) != (taken.session_id, taken.queue_revision)
            or len(held.queue) != taken.queue_length
            or held.queue[start : start + len(window)] != window
        ):
            return taken
        self._offered.pop(taken.session_id, None)
        return replace(taken, queue=held.queue, queue_offset=0, queue_length=0)

    def wants_fill(self, state: m.PlaybackState) -> bool:
        """Whether *state* (just taken by a transfer) has a queue to fetch the rest of."""
        return not state.queue_whole and state.session_id in self._offered

    async def async_fill(self, host: QueueHost, lock: Any, fetch: Fetch | None = None) -> bool:
        """Fetch the rest of the current session's queue from its source and splice it in;
        return whether the queue is whole now."""
        session_id = host.state.session_id
        offered = self._offered.pop(session_id, None)
        if offered is None:
            return False
        try:
            if fetch is None:
                async with aiohttp.ClientSession() as http:
                    before, after = await self._fetch(offered, _http_fetch(http))
            else:
                before, after = await self._fetch(offered, fetch)
        except ConnectError as exc:
            _LOG.warning(
                "could not fetch the rest of the queue from %s: %s; playing on from the %d items "
                "offered",
                offered.source_url,
                exc,
                offered.window,
            )
            return False
        async with lock:
            state = host.state
            if state.session_id != session_id or state.queue_whole:
                return False  # the session moved on meanwhile: the fetched items are not its
            held = {item.uid for item in state.queue}
            whole = (
                tuple(item for item in before if item.uid not in held)
                + state.queue
                + tuple(item for item in after if item.uid not in held)
            )
            host.adopt_queue(replace(state, queue=whole, queue_offset=0, queue_length=0))
        release_freed_memory()  # the pages' garbage, and the queue this device held before
        _LOG.info("queue of session %s complete: %d items", session_id, len(whole))
        return True

    async def _fetch(
        self, offered: _Offered, fetch: Fetch
    ) -> tuple[tuple[m.QueueItem, ...], tuple[m.QueueItem, ...]]:
        """Return the items before and after the offered window, what plays next first."""
        after: list[m.QueueItem] = []
        start = offered.offset + offered.window
        while start < offered.length:
            page = await self._page(offered, fetch, start)
            after += page.items
            start += len(page.items)
        before: list[m.QueueItem] = []
        start = 0
        while start < offered.offset:
            page = await self._page(offered, fetch, start, offered.offset - start)
            before += page.items
            start += len(page.items)
        return tuple(before), tuple(after)

    @staticmethod
    async def _page(
        offered: _Offered, fetch: Fetch, start: int, limit: int = PAGE_ITEMS
    ) -> m.QueuePage:
        page = await fetch(
            offered.source_id,
            offered.source_url,
            offered.transfer_id,
            start,
            min(PAGE_ITEMS, limit),
        )
        if page.failure is not None:
            raise ConnectError(f"the source refused a page: {page.failure.message}")
        if page.queue_length != offered.length:
            length, offered_length = page.queue_length, offered.length
            raise ConnectError(f"the source's queue has {length} items, not {offered_length}")
        if not page.items:
            raise ConnectError(f"the source sent no items from {start}")
        return page


def _http_fetch(http: aiohttp.ClientSession) -> Fetch:
    async def fetch(
        source_id: str, source_url: str, transfer_id: str, offset: int, count: int
    ) -> m.QueuePage:
        return await async_fetch_queue_page(http, source_id, source_url, transfer_id, offset, count)

    return fetch


def _trim(remembered: OrderedDict[str, Any]) -> None:
    while len(remembered) > _KEPT:
        remembered.popitem(last=False)
