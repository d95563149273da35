"""The collector's HTTP side: OTLP ingest, the REST API, the SSE stream and the viewer's files.

Threads: the event loop owns HTTP; one writer thread owns the writing SQLite connection (decode +
insert run there, so the loop stays free for streams); one reader thread serves queries.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import ClientSession, ClientTimeout, web

from connect.http_guard import guarded_runner
from tracing import _export, _guard, _otlp
from tracing._live import LiveHub, Subscriber, sse_event
from tracing._query import Filters, Scope
from tracing._store import Store, User, token_digest

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")

STATIC_DIR = Path(__file__).parent / "static"
COOKIE = "baton_token"
REPLAY_PAGE = 1000
PING_INTERVAL_S = 15.0


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


class Collector:
    """The collector: `await start()`, then `port`; `await close()` (idempotent) to stop."""

    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.hub = LiveHub()
        self.port = 0
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="traces-writer")
        self._reader_pool = ThreadPoolExecutor(1, thread_name_prefix="traces-reader")
        self._writer = Store(config.db)
        self._reader = Store(config.db)
        self._users: dict[str, User] = {}
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._forward_queue: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue(1000)
        self._streams: set[asyncio.Task[Any]] = set()  # SSE handlers, cancelled on close
        self._closed = False
        self.ingested = 0  # records stored (after de-duplication)

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Bind and serve; `port` is the bound port afterwards."""
        # client_max_size bounds what `request.read()`/`json()` accept (the login); OTLP ingest
        # reads its body itself, within its own two limits (see `_guard`).
        middlewares = [_guard.refuse_cross_site]
        if _guard.is_loopback_host(self.config.host):
            middlewares.insert(0, _guard.refuse_foreign_hosts)  # no DNS rebinding
        app = web.Application(middlewares=middlewares, client_max_size=_guard.MAX_SMALL_BODY)
        app.on_response_prepare.append(_guard.add_security_headers)
        app.router.add_post("/v1/traces", self._ingest_traces)
        app.router.add_post("/v1/logs", self._ingest_logs)
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC_DIR)
        app.router.add_post("/api/login", self._login)
        app.router.add_post("/api/logout", self._logout)
        app.router.add_get("/api/whoami", self._whoami)
        app.router.add_get("/api/devices", self._devices)
        app.router.add_get("/api/sessions", self._groups("session_id"))
        app.router.add_get("/api/transfers", self._groups("transfer_id"))
        app.router.add_get("/api/traces", self._groups("trace_id"))
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
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        self._spawn(self._retention_loop())
        if self.config.forward:
            self._spawn(self._forward_loop())

    async def close(self) -> None:
        """Stop serving, cancel background tasks, close the database (idempotent)."""
        if self._closed:
            return
        self._closed = True
        streams = list(self._streams)
        for task in [*self._tasks, *streams]:
            task.cancel()
        await asyncio.gather(*self._tasks, *streams, return_exceptions=True)
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), 10)
        self._writer_pool.submit(self._writer.close).result(10)
        self._reader_pool.submit(self._reader.close).result(10)
        self._writer_pool.shutdown()
        self._reader_pool.shutdown()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._writer_pool, fn, *args)

    async def _read(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._reader_pool, fn, *args)

    # ------------------------------------------------------------ ingest
    async def _ingest_traces(self, request: web.Request) -> web.Response:
        return await self._ingest("traces", request)

    async def _ingest_logs(self, request: web.Request) -> web.Response:
        return await self._ingest("logs", request)

    async def _ingest(self, signal: str, request: web.Request) -> web.Response:
        sent = await _guard.read_body(request, _guard.MAX_WIRE_BODY)
        encoding = request.headers.get("Content-Encoding", "")
        content_type = request.headers.get("Content-Type", "application/x-protobuf")
        try:
            body, rows = await self._write(
                self._inflate_and_store, signal, sent, encoding, content_type
            )
        except _otlp.BodyTooLargeError as exc:
            _LOG.debug("refused an OTLP %s request: %s", signal, exc)
            raise web.HTTPRequestEntityTooLarge(
                max_size=_guard.MAX_INFLATED_BODY, actual_size=len(sent), text=str(exc)
            ) from exc
        except _otlp.OtlpError as exc:
            _LOG.debug("refused an OTLP %s request: %s", signal, exc)
            raise web.HTTPBadRequest(text=str(exc)) from exc
        self.ingested += len(rows)
        self.hub.publish(rows)
        if self.config.forward:
            self._queue_forward(signal, body, content_type)
        json_wanted = content_type.split(";")[0].strip().lower() == "application/json"
        return web.Response(
            body=_otlp.response_body(signal, json_wanted),
            content_type="application/json" if json_wanted else "application/x-protobuf",
        )

    def _inflate_and_store(
        self, signal: str, sent: bytes, encoding: str, ctype: str
    ) -> tuple[bytes, list[dict[str, Any]]]:
        # Inflation runs here, on the writer thread, so a large body never stalls the loop.
        body = _otlp.decompress(sent, encoding, _guard.MAX_INFLATED_BODY)
        return body, self._writer.insert(_otlp.decode(signal, body, ctype))

    def _queue_forward(self, signal: str, body: bytes, content_type: str) -> None:
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
        cfg = self.config
        while True:
            deleted = await self._write(
                self._writer.enforce_retention, cfg.retention_age_s, cfg.retention_bytes
            )
            if deleted:
                _LOG.info("retention: deleted %d records", deleted)
            await asyncio.sleep(cfg.retention_interval_s)

    # ------------------------------------------------------------ auth
    async def _user(self, request: web.Request) -> User:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        token = token or request.cookies.get(COOKIE, "")
        if not token:
            raise web.HTTPUnauthorized(text="a token is required (baton-traces user add NAME)")
        digest = token_digest(token)
        user = self._users.get(digest)
        if user is None:
            user = await self._read(self._reader.user_for_token, token)
            if user is None:
                raise web.HTTPUnauthorized(text="unknown token")
            self._users[digest] = user
        return user

    async def _scope(self, request: web.Request) -> Scope:
        user = await self._user(request)
        return Scope(None if user.admin else user.user_id)

    async def _login(self, request: web.Request) -> web.Response:
        try:
            token = str((await request.json())["token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise web.HTTPBadRequest(text='send {"token": "..."}') from exc
        user = await self._read(self._reader.user_for_token, token)
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
        user = await self._user(request)
        return web.json_response({"name": user.name, "user_id": user.user_id, "admin": user.admin})

    # ------------------------------------------------------------ REST
    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def _devices(self, request: web.Request) -> web.Response:
        scope = await self._scope(request)
        return web.json_response(await self._read(self._reader.devices, scope))

    def _groups(self, column: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            scope = await self._scope(request)
            return web.json_response(await self._read(self._reader.groups, scope, column))

        return handler

    async def _trace(self, request: web.Request) -> web.Response:
        scope = await self._scope(request)
        filters = Filters(trace=request.match_info["trace_id"])
        rows = await self._read(self._reader.latest, scope, filters, 10_000)
        if not rows:
            raise web.HTTPNotFound(text="no such trace")
        arrows = [a.as_dict() for a in _export.pair_arrows(rows)]
        return web.json_response({"records": rows, "arrows": arrows})

    async def _search(self, request: web.Request) -> web.Response:
        scope = await self._scope(request)
        limit = _int_param(request, "limit", 200, 1, 5000)
        rows = await self._read(self._reader.latest, scope, _filters(request), limit)
        return web.json_response(rows)

    async def _export(self, request: web.Request) -> web.Response:
        scope = await self._scope(request)
        fmt = request.query.get("format", "otlp-json")
        if fmt not in _export.FORMATS:
            raise web.HTTPBadRequest(text=f"format must be one of {', '.join(_export.FORMATS)}")
        rows = await self._read(self._reader.latest, scope, _filters(request), 50_000)
        return web.Response(text=_export.render(fmt, rows), content_type=_export.MIME[fmt])

    # ------------------------------------------------------------ SSE
    async def _stream(self, request: web.Request) -> web.StreamResponse:
        scope = await self._scope(request)
        filters = _filters(request)
        last = request.headers.get("Last-Event-ID") or request.query.get("after", "")
        backlog = _int_param(request, "backlog", 200, 0, 5000)
        sub = self.hub.subscribe(scope, filters)  # before the replay, so nothing falls between
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        try:
            response = web.StreamResponse(
                headers={
                    "Content-Type": "text/event-stream",
                    "Cache-Control": "no-cache",
                    "X-Accel-Buffering": "no",
                }
            )
            await response.prepare(request)
            await response.write(b"retry: 1000\n\n")
            sent = await self._replay(response, scope, filters, last, backlog)
            await self._tail(response, sub, sent)
        except ConnectionResetError:
            pass  # the viewer went away
        finally:
            self.hub.unsubscribe(sub)
            self._streams.discard(task)
        return response

    async def _replay(
        self, response: web.StreamResponse, scope: Scope, filters: Filters, last: str, backlog: int
    ) -> int:
        if not last.isdigit():
            rows = await self._read(self._reader.latest, scope, filters, backlog)
            await _write_rows(response, rows)
            # The viewer resumes from the newest id it saw; with no rows, from the present.
            return rows[-1]["seq"] if rows else await self._read(_max_seq, self._reader)
        sent = int(last)
        if await self._read(self._reader.deleted_through) > sent:
            # Retention removed part of what the viewer missed: say so before replaying the rest.
            oldest = await self._read(self._reader.oldest_seq)
            await response.write(f"event: reset\ndata: {oldest}\n\n".encode())
        while True:
            rows = await self._read(self._reader.records_after, scope, filters, sent, REPLAY_PAGE)
            await _write_rows(response, rows)
            if rows:
                sent = rows[-1]["seq"]
            if len(rows) < REPLAY_PAGE:
                return sent

    async def _tail(self, response: web.StreamResponse, sub: Subscriber, sent: int) -> None:
        overflow = asyncio.ensure_future(sub.overflowed.wait())
        try:
            while True:
                getter = asyncio.ensure_future(sub.queue.get())
                done, _ = await asyncio.wait(
                    {getter, overflow}, timeout=PING_INTERVAL_S, return_when="FIRST_COMPLETED"
                )
                if getter not in done:
                    getter.cancel()
                    if overflow in done:
                        await response.write(b"event: overflow\ndata: reconnect\n\n")
                        return
                    await response.write(b": ping\n\n")
                    continue
                items = [getter.result()]
                while not sub.queue.empty():  # coalesce whatever queued up into one write
                    items.append(sub.queue.get_nowait())
                chunk = b"".join(sse_event(row, text) for row, text in items if row["seq"] > sent)
                sent = max(sent, items[-1][0]["seq"])
                if chunk:
                    await response.write(chunk)
        finally:
            overflow.cancel()


def _max_seq(store: Store) -> int:
    rows = store.latest(Scope(None), Filters(), 1)
    return int(rows[0]["seq"]) if rows else 0


async def _write_rows(response: web.StreamResponse, rows: list[dict[str, Any]]) -> None:
    if rows:
        await response.write(b"".join(sse_event(r) for r in rows))


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


async def run_forever(config: CollectorConfig) -> None:
    """Serve until SIGINT or SIGTERM, then close cleanly (the CLI's `serve`)."""
    collector = Collector(config)
    await collector.start()
    print(f"baton-traces: collecting on http://{config.host}:{collector.port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await collector.close()
