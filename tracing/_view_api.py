"""The REST routes of the viewer's views: the transfers list, one transfer, one session.

    GET /api/transfers                 recent transfers, failures first (tracing._transfers)
    GET /api/transfers/{transfer_id}   its summary, records, arrows and timeline
    GET /api/sessions/{session_id}     its commands, state changes and messages, with revisions
    GET /api/groups                    groups: roster, leader, each member's skew (tracing._groups)

Every answer names devices by their names (the id alongside), as the viewer shows them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tracing import _groups, _sessions, _transfers, _views
from tracing import attributes as a
from tracing._export import pair_arrows
from tracing._query import Scope
from tracing._store import Store

Reader = Callable[..., Awaitable[Any]]
MAX_LISTED = 100  # transfers in the list


class ViewApi:
    """The view routes, reading through the collector's reader thread with a request's scope."""

    def __init__(
        self, scope_of: Callable[[web.Request], Scope], read: Reader, reader: Store
    ) -> None:
        self._scope_of = scope_of
        self._read = read
        self._reader = reader

    def add_routes(self, app: web.Application) -> None:
        """Add the routes to *app*."""
        app.router.add_get("/api/transfers", self._transfers)
        app.router.add_get("/api/transfers/{transfer_id}", self._transfer)
        app.router.add_get("/api/sessions/{session_id}", self._session)
        app.router.add_get("/api/groups", self._groups)

    async def _transfers(self, request: web.Request) -> web.Response:
        scope = self._scope_of(request)
        db = self._reader.connection
        by_id = await self._read(_views.recent_transfers, db, scope, MAX_LISTED)
        names = await self._read(_views.device_names, db, scope)
        summaries = [_transfers.summarise(tid, rows, names) for tid, rows in by_id.items()]
        return web.json_response(_transfers.listed(summaries))

    async def _transfer(self, request: web.Request) -> web.Response:
        scope = self._scope_of(request)
        tid = request.match_info["transfer_id"]
        db = self._reader.connection
        rows = await self._read(_views.transfer_records, db, scope, tid)
        own = [r for r in rows if r["transfer_id"] == tid]
        if not own:
            raise web.HTTPNotFound(text="no such transfer")
        names = await self._read(_views.device_names, db, scope)
        return web.json_response(
            {
                "transfer": _transfers.summarise(tid, own, names),
                "timeline": _transfers.timeline(rows, names),
                "records": rows,
                "arrows": [arrow.as_dict() for arrow in pair_arrows(rows)],
                "names": names,
            }
        )

    async def _session(self, request: web.Request) -> web.Response:
        scope = self._scope_of(request)
        sid = request.match_info["session_id"]
        db = self._reader.connection
        rows = await self._read(_views.session_records, db, scope, sid)
        if not rows:
            raise web.HTTPNotFound(text="no such session")
        names = await self._read(_views.device_names, db, scope)
        return web.json_response(
            {"session_id": sid, "entries": _sessions.entries(rows, names), "names": names}
        )

    async def _groups(self, request: web.Request) -> web.Response:
        scope = self._scope_of(request)
        db = self._reader.connection
        rows = await self._read(_views.group_records, db, scope, a.EVENT_GROUP_SKEW)
        names = await self._read(_views.device_names, db, scope)
        return web.json_response(_groups.groups(rows, names))
