"""The collector's HTTP side: OTLP ingest, the REST API, the SSE stream and the viewer's files.

Threads: the event loop owns HTTP and checks tokens (point lookups on its own connection, on
every request: a change by `baton-traces user ...` counts at once); one writer thread owns the
writing SQLite connection (inflate, decode and group commits run there, see `_ingest`, so the
loop stays free for streams); one reader thread serves queries.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import ClientSession, ClientTimeout, web

from httpguard import ConnectionLimits, GuardedSite, guarded_runner
from taskowner import TaskOwner
from tracing import _export, _guard, _views
from tracing._ingest import Ingest, async_otlp_status_errors, bearer_token
from tracing._live import LiveHub
from tracing._query import Filters, Scope
from tracing._store import Fresh, Store, User
from tracing._stream import LiveStreams
from tracing._view_api import ViewApi

_LOG = logging.getLogger(__name__)
# Every device of a user sends here, many through one address (a proxy, an OpenTelemetry
# Collector in front): room for 200 devices' connections from one peer (bench/load.py).
COLLECTOR_LIMITS = ConnectionLimits(per_peer=256, total=1024)
_CLOSE_TIMEOUT_S = 5.0  # for the background loops (retention, auth, forwarding) to end
_T = TypeVar("_T")

STATIC_DIR = Path(__file__).parent / "static"
COOKIE = "baton_token"
TOKEN_HEADER = "X-Baton-Token"  # noqa: S105  (a header name) a viewer token, for clients that cannot send Authorization
INGEST_HELP = "baton-traces ingest add USER"
EARLY_RETENTION_S = 1.0  # the shortest time between two retention passes
GC_YOUNG_THRESHOLD = 50_000  # new containers between two young collections (Python: 700)


@dataclass(frozen=True)
class CollectorConfig:
    """Settings of one collector process."""

    db: Path
    host: str = "127.0.0.1"
    port: int = 4318
    forward: str = ""  # base URL of an OTLP/HTTP receiver that gets a copy of every request
    retention_age_s: float = 7 * 24 * 3600
    retention_bytes: int = 1024 * 1024 * 1024
    retention_interval_s: float = 60.0
    # True: ingest without a token, records filed under the user their resource names (a
    # laptop on loopback). False: every /v1/ request needs an ingest token.
    open_ingest: bool = False
    auth_check_interval_s: float = 1.0  # how often open streams notice a change of users


class Collector:
    """The collector: `await start()`, then `port`; `await close()` (idempotent) to stop."""

    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.hub = LiveHub()
        self.port = 0
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="traces-writer")
        self._reader_pool = ThreadPoolExecutor(1, thread_name_prefix="traces-reader")
        # A small budget asks for a small WAL too (it is disk as well): a quarter of it.
        wal_pages = min(10_000, max(256, config.retention_bytes // 4096 // 4))
        self._writer = Store(config.db, wal_autocheckpoint=wal_pages, cache_mb=32)
        self._reader = Store(config.db)
        self._auth = Store(config.db)  # token lookups, on the loop thread
        self._runner: web.AppRunner | None = None
        self._tasks = TaskOwner("collector", _LOG)
        self._forward_queue: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue(1000)
        self._retention_wanted = asyncio.Event()  # the data went over its size: retain soon
        self._streams = LiveStreams(self.hub, self._reader, self._read, self._viewer)
        self.ingest = Ingest(
            self._writer,
            self._writer_pool,
            self._ingest_user,
            self._stored,
            self._queue_forward,
            over_size=lambda: self._writer.used_bytes() > config.retention_bytes,
            on_over_size=self._retention_wanted.set,
        )
        self._closed = False
        self.ingested = 0  # records stored (after de-duplication)

    # ------------------------------------------------------------ lifecycle
    async def async_start(self) -> None:
        """Bind and serve; `port` is the bound port afterwards."""
        # client_max_size bounds what `request.read()`/`json()` accept (the login); OTLP ingest
        # reads its body itself, within its own two limits (see `_guard`).
        middlewares = [async_otlp_status_errors, _guard.async_refuse_cross_site]
        if _guard.is_loopback_host(self.config.host):
            middlewares.insert(1, _guard.async_refuse_foreign_hosts)  # no DNS rebinding
        app = web.Application(middlewares=middlewares, client_max_size=_guard.MAX_SMALL_BODY)
        app.on_response_prepare.append(_guard.async_add_security_headers)
        self.ingest.add_routes(app)
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC_DIR)
        app.router.add_post("/api/login", self._login)
        app.router.add_post("/api/logout", self._logout)
        app.router.add_get("/api/whoami", self._whoami)
        app.router.add_get("/api/devices", self._devices)
        app.router.add_get("/api/sessions", self._groups("session_id"))
        app.router.add_get("/api/traces", self._groups("trace_id"))
        ViewApi(self._scope, self._read, self._reader).add_routes(app)
        app.router.add_get("/api/traces/{trace_id}", self._trace)
        app.router.add_get("/api/search", self._search)
        app.router.add_get("/api/stream", self._stream)
        app.router.add_get("/api/export", self._export)
        # auto_decompress=False: ingest inflates bodies itself, so that it can bound the bytes
        # sent and the bytes inflated separately. Neither log quotes query strings or headers,
        # where tokens travel.
        self._runner = guarded_runner(
            app,
            "tracing.http",
            access_log=_guard.ACCESS_LOG,
            access_log_class=_guard.PathOnlyAccessLogger,
            shutdown_timeout=2.0,
            auto_decompress=False,
            limits=COLLECTOR_LIMITS,
        )
        await self._runner.setup()
        site = GuardedSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = site.port
        if self.config.open_ingest:
            _LOG.warning(
                "ingest is open (--open-ingest): anyone who can reach port %d may send traces "
                "as any user; without it, devices send with an ingest token (%s)",
                self.port,
                INGEST_HELP,
            )
        self._tasks.async_supervise(self._retention_loop, "retention")
        self._tasks.async_supervise(self._auth_watch, "token watch")
        if self.config.forward:
            self._tasks.async_supervise(self._forward_loop, "forwarding")

    async def async_close(self) -> None:
        """Stop serving, cancel background tasks, close the database (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)
        await asyncio.gather(self._streams.async_close(), return_exceptions=True)
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), 10)
        # Each store is closed on its own thread (SQLite objects stay on the thread that made
        # them), awaited rather than waited for: a checkpoint can take a while, the loop not.
        await asyncio.wait_for(self._write(self._writer.close), 10)
        await asyncio.wait_for(self._read(self._reader.close), 10)
        self._auth.close()
        self._writer_pool.shutdown(wait=False)
        self._reader_pool.shutdown(wait=False)

    async def _write(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._writer_pool, fn, *args)

    async def _read(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._reader_pool, fn, *args)

    # ------------------------------------------------------------ ingest
    def _ingest_user(self, request: web.Request) -> str | None:
        """Return the user id an ingest request's records are filed under (None: as claimed)."""
        token = bearer_token(request)
        if token:
            sender = _looked_up(self._auth.sender_for_token, token)
            if sender is not None:
                return sender.user_id
            if self._viewer(token) is not None:
                reason = (
                    f"that is a viewer token: devices send with an ingest token ({INGEST_HELP})"
                )
            else:
                reason = "unknown ingest token"
            raise web.HTTPUnauthorized(text=reason, headers={"WWW-Authenticate": "Bearer"})
        if self.config.open_ingest:
            return None
        raise web.HTTPUnauthorized(
            text=f"ingest needs a token: Authorization: Bearer TOKEN ({INGEST_HELP}), "
            "or a collector started with --open-ingest",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def _stored(self, fresh: Sequence[Fresh]) -> None:
        self.ingested += len(fresh)
        self.hub.publish(fresh)

    def _queue_forward(self, signal: str, body: bytes, content_type: str) -> None:
        if not self.config.forward:
            return
        headers = {"Content-Type": content_type}
        try:
            self._forward_queue.put_nowait((signal, body, headers))
        except asyncio.QueueFull:
            _LOG.warning("forward %s: queue full, dropping a request", self.config.forward)

    async def _forward_loop(self) -> None:
        base = self.config.forward.rstrip("/")
        failing = False
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while True:
                signal, body, headers = await self._forward_queue.get()
                try:
                    async with session.post(f"{base}/v1/{signal}", data=body, headers=headers) as r:
                        r.raise_for_status()
                    failing = False
                except Exception as exc:  # any failure of the far end: log, drop, carry on
                    level = logging.DEBUG if failing else logging.WARNING
                    _LOG.log(level, "forward %s: %s", base, exc)
                    failing = True

    async def _retention_loop(self) -> None:
        """Retention every `retention_interval_s`, and soon after ingest goes over the size."""
        cfg = self.config
        while True:
            self._retention_wanted.clear()
            deleted = await self._write(
                self._writer.enforce_retention, cfg.retention_age_s, cfg.retention_bytes
            )
            if deleted:
                _LOG.info("retention: deleted %d records", deleted)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(cfg.retention_interval_s):
                    await self._retention_wanted.wait()
                # Over size: go again, but no more often than this, however fast data comes.
                await asyncio.sleep(EARLY_RETENTION_S)

    async def _auth_watch(self) -> None:
        """Close the live streams of tokens that changed, soon after any change of users."""
        seen: int | None = None
        while True:
            try:
                rev = self._auth.auth_rev()
                if seen is not None and rev != seen:
                    self._streams.recheck()
                seen = rev
            except (sqlite3.Error, web.HTTPException) as exc:  # try again at the next tick
                _LOG.warning("could not re-check the live streams' tokens: %s", exc)
            await asyncio.sleep(self.config.auth_check_interval_s)

    # ------------------------------------------------------------ auth
    def _token(self, request: web.Request) -> str:
        # X-Baton-Token first: what Backstage's proxy lets through, where Authorization, if
        # forwarded at all, holds Backstage's own token (docs/backstage.md).
        return (
            request.headers.get(TOKEN_HEADER, "").strip()
            or bearer_token(request)
            or request.cookies.get(COOKIE, "")
        )

    def _user(self, request: web.Request) -> User:
        """Return the viewer user of a request, checked against the database now."""
        token = self._token(request)
        if not token:
            raise web.HTTPUnauthorized(text="a token is required (baton-traces user add NAME)")
        user = self._viewer(token)
        if user is None:
            raise web.HTTPUnauthorized(text="unknown token")
        return user

    def _viewer(self, token: str) -> User | None:
        return _looked_up(self._auth.user_for_token, token)

    def _scope(self, request: web.Request) -> Scope:
        user = self._user(request)
        return Scope(None if user.admin else user.user_id)

    async def _login(self, request: web.Request) -> web.Response:
        try:
            token = str((await request.json())["token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise web.HTTPBadRequest(text='send {"token": "..."}') from exc
        user = self._viewer(token)
        if user is None:
            raise web.HTTPUnauthorized(text="unknown token")
        response = web.json_response({"name": user.name, "admin": user.admin})
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response

    async def _logout(self, request: web.Request) -> web.Response:
        response = web.json_response({})
        response.del_cookie(COOKIE, path="/")
        return response

    async def _whoami(self, request: web.Request) -> web.Response:
        user = self._user(request)
        return web.json_response({"name": user.name, "user_id": user.user_id, "admin": user.admin})

    # ------------------------------------------------------------ REST
    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def _devices(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        return web.json_response(await self._read(self._reader.devices, scope))

    def _groups(self, column: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            scope = self._scope(request)
            return web.json_response(await self._read(self._reader.groups, scope, column))

        return handler

    async def _trace(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        filters = Filters(trace=request.match_info["trace_id"])
        rows = await self._read(self._reader.latest, scope, filters, 10_000)
        if not rows:
            raise web.HTTPNotFound(text="no such trace")
        arrows = [a.as_dict() for a in _export.pair_arrows(rows)]
        return web.json_response({"records": rows, "arrows": arrows})

    async def _search(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        limit = _int_param(request, "limit", 200, 1, 5000)
        rows = await self._read(self._reader.latest, scope, _filters(request), limit)
        return web.json_response(rows)

    async def _export(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        fmt = request.query.get("format", "otlp-json")
        if fmt not in _export.FORMATS:
            raise web.HTTPBadRequest(text=f"format must be one of {', '.join(_export.FORMATS)}")
        rows = await self._read(self._reader.latest, scope, _filters(request), 50_000)
        names = await self._read(_views.device_names, self._reader.connection, scope)
        return web.Response(text=_export.render(fmt, rows, names), content_type=_export.MIME[fmt])

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        token = self._token(request)
        user = self._user(request)
        last = request.headers.get("Last-Event-ID") or request.query.get("after", "")
        backlog = _int_param(request, "backlog", 200, 0, 5000)
        return await self._streams.async_serve(
            request, token, user, _filters(request), last, backlog
        )


def _looked_up(lookup: Callable[[str], _T], token: str) -> _T:
    """Look a token up; a database that cannot answer now is a 503 (retry), not a 500."""
    try:
        return lookup(token)
    except sqlite3.Error as exc:
        _LOG.warning("could not check a token: %s", exc)
        raise web.HTTPServiceUnavailable(
            text="the collector cannot check tokens right now", headers={"Retry-After": "1"}
        ) from exc


def _filters(request: web.Request) -> Filters:
    q = request.query
    return Filters(
        device=q.get("device", ""),
        kind=q.get("kind", ""),
        session=q.get("session", ""),
        transfer=q.get("transfer", ""),
        trace=q.get("trace", ""),
        text=q.get("q", ""),
    )


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    try:
        return max(low, min(high, int(raw)))
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"{name} must be an integer") from exc


async def async_run_forever(config: CollectorConfig) -> None:
    """Serve until SIGINT or SIGTERM, then close cleanly (the CLI's `serve`)."""
    collector = Collector(config)
    await collector.async_start()
    # This process's own policy, not the library's (tests run collectors in-process): what is
    # loaded by now lives as long as the process, so the cyclic collector stops walking it
    # again and again, and it runs less often. Ingest makes a few short-lived containers per
    # span, none in a cycle; a young collection every 700 of them cost about a tenth of it.
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    print(f"baton-traces: collecting on http://{config.host}:{collector.port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await collector.async_close()
