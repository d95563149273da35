"""`GET /api/stream`: the live Server-Sent-Events stream of one viewer.

Replay first (the newest `backlog` records, or everything after `Last-Event-ID` / `after`), then
the live tail from `tracing._live`. A stream whose token stops working, or whose user's rights
change, is closed (`recheck`): its browser reconnects and is asked to log in again, or gets
its new, narrower view. A viewer that goes away (reset, broken pipe, lost connection) is just
gone: nothing is logged above debug level.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from tracing._live import LiveHub, Subscriber, sse_event
from tracing._query import Filters, Scope
from tracing._store import Store
from tracing._users import User

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")

REPLAY_PAGE = 1000
PING_INTERVAL_S = 15.0


class LiveStreams:
    """The open streams: served, re-checked when users change, cancelled on close."""

    def __init__(
        self,
        hub: LiveHub,
        reader: Store,
        read: Callable[..., Awaitable[Any]],
        user_for_token: Callable[[str], User | None],
    ) -> None:
        self._hub = hub
        self._reader = reader
        self._read = read  # runs a reader-store call on the reader thread
        self._user_for_token = user_for_token
        self._open: dict[Subscriber, tuple[str, User]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def async_serve(
        self,
        request: web.Request,
        token: str,
        user: User,
        filters: Filters,
        last: str,
        backlog: int,
    ) -> web.StreamResponse:
        """Stream records to one viewer until it leaves, falls behind or loses its rights."""
        scope = Scope(None if user.admin else user.user_id)
        sub = self._hub.subscribe(scope, filters)  # before the replay: nothing falls between
        self._open[sub] = (token, user)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache, no-transform",  # no proxy may gzip (and buffer) it
                "X-Accel-Buffering": "no",
            }
        )
        try:
            await response.prepare(request)
            await response.write(b"retry: 1000\n\n")
            sent = await self._replay(response, sub, filters, last, backlog)
            await _tail(response, sub, sent)
        except ConnectionError:
            # The viewer went away: a reset, a broken pipe, or the connection lost while a
            # write waited for room. Its browser reconnects if it still wants the stream.
            _LOG.debug("a live stream's viewer went away")
        finally:
            self._hub.unsubscribe(sub)
            self._open.pop(sub, None)
            self._tasks.discard(task)
        return response

    def recheck(self) -> None:
        """Close every stream whose token no longer gives the rights it was opened with."""
        for sub, (token, user) in list(self._open.items()):
            if self._user_for_token(token) != user:
                _LOG.info("closing a live stream of %r: their access changed", user.name)
                sub.end()

    async def async_close(self) -> None:
        """Cancel every open stream and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _replay(
        self,
        response: web.StreamResponse,
        sub: Subscriber,
        filters: Filters,
        last: str,
        backlog: int,
    ) -> int:
        reader, scope = self._reader, sub.scope
        if not last.isdigit():
            rows = await self._read(reader.latest, scope, filters, backlog)
            await _write_rows(response, rows)
            # The viewer resumes from the newest id it saw; with no rows, from the moment it
            # subscribed (what is published after that reaches it live).
            return int(rows[-1]["seq"]) if rows else sub.start_seq
        sent = int(last)
        if await self._read(reader.deleted_through) > sent:
            # Retention removed part of what the viewer missed: say so before replaying the rest.
            oldest = await self._read(reader.oldest_seq)
            await response.write(f"event: reset\ndata: {oldest}\n\n".encode())
        while True:
            rows = await self._read(reader.records_after, scope, filters, sent, REPLAY_PAGE)
            await _write_rows(response, rows)
            if rows:
                sent = int(rows[-1]["seq"])
            if len(rows) < REPLAY_PAGE:
                return sent


async def _tail(response: web.StreamResponse, sub: Subscriber, sent: int) -> None:
    """Write what the hub gives *sub*, coalesced, until it overflows or ends; ping when idle."""
    while True:
        if not (sub.backlog or sub.overflowed or sub.ended):
            woke = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PING_INTERVAL_S):
                    woke = await sub.wake.wait()
            if not woke:
                await response.write(b": ping\n\n")
                continue
        if sub.ended:
            return  # the browser reconnects, and is asked for a token that works
        if sub.overflowed:
            await response.write(b"event: overflow\ndata: reconnect\n\n")
            return
        items = sub.take()
        # Records replayed already (published while the replay ran) are skipped.
        chunk = b"".join(event for seq, event in items if seq > sent)
        if items:
            sent = max(sent, items[-1][0])
        if chunk:
            await response.write(chunk)


async def _write_rows(response: web.StreamResponse, rows: list[dict[str, Any]]) -> None:
    if rows:
        await response.write(b"".join(sse_event(r) for r in rows))
