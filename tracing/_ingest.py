"""The collector's OTLP/HTTP receiver: authenticate, queue, decode, store in group commits.

`POST /v1/traces`, `/v1/logs` and `/v1/metrics` (metrics are checked and answered, not kept).
The event loop only reads bodies and answers. The writer thread takes every request queued
since it last looked (up to `GROUP_MAX_REQUESTS` or `GROUP_MAX_BYTES`), inflates and decodes
each, and stores all their records in one SQLite transaction: one commit, one devices update,
one clock-sample pass and one wake-up of the loop for the whole group, however many small
requests 200 devices sent meanwhile. While requests come faster than one every
`GATHER_BELOW_GAP_S` on average, the group after a small one (under `GROUP_ENOUGH_RECORDS`)
starts no sooner than `COMMIT_INTERVAL_S` after it unless `GROUP_ENOUGH_BYTES` are waiting: a
busy collector gathers small requests into fewer commits, while a quiet one, a lone client and
large batches are stored as they come. A request is answered once its group is committed, so
a 200 still means "stored".

Answers follow the OTLP/HTTP specification: 200 with the signal's export response (with
`partial_success` counting what was refused, e.g. spans with invalid ids), else a
`google.rpc.Status` in the request's encoding: 400 not OTLP, 401 no or unknown ingest token,
413 too large, 415 not an OTLP Content-Type or Content-Encoding, 503 storage failing (retry).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from tracing import _guard, _otlp
from tracing import _otlp_body as body_codec
from tracing._store import Fresh, Store

_LOG = logging.getLogger(__name__)

GROUP_MAX_REQUESTS = 256
GROUP_MAX_BYTES = 8 * 1024 * 1024  # as sent: bounds how long one group holds the others
# A commit costs nearly as much for one small request as for twenty (the pages it writes are
# mostly the same: the tables' and indexes' last pages, the senders, devices and resources
# rows), and with 200 devices sending 8 spans every 250 ms four groups in five held a single
# request: ~0.6 ms of the writer's CPU each. Waiting at most this long since the previous
# group started makes groups of ~16 such requests; the wait is part of a request's latency.
COMMIT_INTERVAL_S = 0.02
GROUP_ENOUGH_BYTES = 256 * 1024  # waiting (as sent): worth a commit of its own at once
# A group that stored this many records paid for its commit: the next one need not wait (one
# client sending large batches one after another is not held 20 ms a batch).
GROUP_ENOUGH_RECORDS = 256
# Gathering pays only when commits come often enough to cost the writer a good part of a core;
# below this rate (400 requests a second) each request goes at once, so a viewer watching one
# device live, or a client posting one request after another, is not held.
GATHER_BELOW_GAP_S = 0.0025
_GAP_WEIGHT = 0.1  # of each new gap in the moving average
AUTH_HEADER = "Bearer"


class StoreFailedError(Exception):
    """The database refused a write (disk full, locked too long): answered 503, retry."""


class DecodeFailedError(Exception):
    """Decoding hit a bug of the collector's (answered 500: the client does not retry)."""


@dataclass(eq=False)
class Job:
    """One request waiting for the writer."""

    signal: str
    sent: bytes  # the body as sent
    encoding: str
    media: str
    user_id: str | None  # the authenticated sender's user, or None (open ingest)
    received_ns: int
    future: asyncio.Future[Outcome]
    body: bytes = b""  # inflated (what --forward sends on)


@dataclass(frozen=True)
class Outcome:
    """What became of one request's records."""

    stored: int
    rejected: int = 0
    message: str = ""


@dataclass(eq=False)
class _Result:
    job: Job
    outcome: Outcome | None = None
    error: Exception | None = None


@dataclass
class Ingest:
    """The receiver; its writer thread is the store's (`pool`, one thread)."""

    store: Store
    pool: ThreadPoolExecutor
    authenticate: Callable[[web.Request], str | None]  # the user id, None when open; or raises
    on_stored: Callable[[Sequence[Fresh]], None]  # on the loop, once per group
    on_accepted: Callable[[str, bytes, str], None]  # each accepted request (forwarding)
    # Asked on the writer after each group (cheap); if true, `on_over_size` on the loop.
    over_size: Callable[[], bool] = lambda: False
    on_over_size: Callable[[], None] = lambda: None
    _pending: list[Job] = field(default_factory=list)
    _pending_bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _draining: bool = False
    _enough: threading.Event = field(default_factory=threading.Event)  # a group need not wait
    _group_started: float = float("-inf")  # time.monotonic() when the writer took the last one
    _group_was_small: bool = False  # it held fewer than GROUP_ENOUGH_RECORDS records
    _gap: float = 1.0  # moving average of the time between two requests' arrivals (s)
    _arrived: float = float("-inf")  # time.monotonic() of the last arrival

    def add_routes(self, app: web.Application) -> None:
        """Route the three OTLP/HTTP paths to this receiver."""
        for signal in ("traces", "logs", "metrics"):
            app.router.add_post(f"/v1/{signal}", self._handler(signal))

    def _handler(self, signal: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            return await self.async_receive(signal, request)

        return handler

    async def async_receive(self, signal: str, request: web.Request) -> web.Response:
        """Answer one export request as the specification says (see the module docstring)."""
        try:
            media = body_codec.media_type(request.headers.get("Content-Type"))
        except body_codec.UnsupportedMediaError as exc:
            raise web.HTTPUnsupportedMediaType(text=str(exc)) from exc
        user_id = self.authenticate(request)
        sent = await _guard.async_read_body(request, _guard.MAX_WIRE_BODY)
        loop = asyncio.get_running_loop()
        job = Job(
            signal,
            sent,
            request.headers.get("Content-Encoding", ""),
            media,
            user_id,
            time.time_ns(),
            loop.create_future(),
        )
        self._enqueue(job)
        try:
            outcome = await job.future
        except body_codec.UnsupportedMediaError as exc:
            raise web.HTTPUnsupportedMediaType(text=str(exc)) from exc
        except body_codec.BodyTooLargeError as exc:
            raise web.HTTPRequestEntityTooLarge(
                max_size=_guard.MAX_INFLATED_BODY, actual_size=len(sent), text=str(exc)
            ) from exc
        except body_codec.OtlpError as exc:
            _LOG.debug("refused an OTLP %s request: %s", signal, exc)
            raise web.HTTPBadRequest(text=str(exc)) from exc
        except StoreFailedError as exc:
            raise web.HTTPServiceUnavailable(text=str(exc), headers={"Retry-After": "1"}) from exc
        except DecodeFailedError as exc:
            raise web.HTTPInternalServerError(text=str(exc)) from exc
        if signal != "metrics":
            self.on_accepted(signal, job.body, request.headers.get("Content-Type", ""))
        return web.Response(
            body=body_codec.success_body(signal, media, outcome.rejected, outcome.message),
            content_type=body_codec.MIME[media],
        )

    # ------------------------------------------------------------ the writer thread
    def _enqueue(self, job: Job) -> None:
        now = time.monotonic()
        with self._lock:
            self._gap += _GAP_WEIGHT * (min(now - self._arrived, 1.0) - self._gap)
            self._arrived = now
            self._pending.append(job)
            self._pending_bytes += len(job.sent)
            self._note_enough()
            start, self._draining = not self._draining, True
        if start:
            self.pool.submit(self._drain)

    def _note_enough(self) -> None:
        """Tell a waiting writer whether what is queued is a group worth committing now."""
        if self._pending_bytes >= GROUP_ENOUGH_BYTES or len(self._pending) >= GROUP_MAX_REQUESTS:
            self._enough.set()
        else:
            self._enough.clear()

    def _drain(self) -> None:
        """Process queued requests group by group until none is left (writer thread)."""
        while True:
            with self._lock:
                if not self._pending:  # the next request starts the writer again
                    self._draining = False
                    return
            wait = self._group_started + COMMIT_INTERVAL_S - time.monotonic()
            if wait > 0 and self._group_was_small and self._gap < GATHER_BELOW_GAP_S:
                self._enough.wait(wait)  # more requests join this group meanwhile
            with self._lock:
                jobs = self._take()
            self._group_started = time.monotonic()
            try:
                self._process(jobs)
            except BaseException as exc:  # never leave a request waiting for ever
                _LOG.exception("ingest group failed")
                failed = [_Result(job, error=StoreFailedError(str(exc))) for job in jobs]
                self._finish(failed, [], over=False)

    def _take(self) -> list[Job]:
        size, count = 0, 0
        for job in self._pending:
            if count and (count >= GROUP_MAX_REQUESTS or size + len(job.sent) > GROUP_MAX_BYTES):
                break
            size += len(job.sent)
            count += 1
        jobs, self._pending = self._pending[:count], self._pending[count:]
        self._pending_bytes -= size
        self._note_enough()
        return jobs

    def _process(self, jobs: list[Job]) -> None:
        results = [_Result(job) for job in jobs]
        decoded: list[tuple[_Result, _otlp.Decoded]] = []
        for result in results:
            job = result.job
            try:
                job.body = body_codec.decompress(job.sent, job.encoding, _guard.MAX_INFLATED_BODY)
                if job.signal == "metrics":
                    points = body_codec.count_metrics(
                        body_codec.parse("metrics", job.body, job.media)
                    )
                    _LOG.debug("accepted and dropped %d metric data points", points)
                    result.outcome = Outcome(0)
                    continue
                decoded.append(
                    (
                        result,
                        _otlp.decode_request(
                            job.signal,
                            job.body,
                            job.media,
                            user_id=job.user_id,
                            received_ns=job.received_ns,
                        ),
                    )
                )
            except body_codec.OtlpError as exc:
                result.error = exc
            except Exception as exc:  # a bug: that request fails, its group goes on
                _LOG.exception("could not decode an OTLP %s request", job.signal)
                result.error = DecodeFailedError(f"the collector failed on this request: {exc}")
        self._group_was_small = sum(len(d.records) for _, d in decoded) < GROUP_ENOUGH_RECORDS
        fresh: list[Fresh] = []
        if decoded:
            try:
                fresh, refused = self.store.insert_batches([d.records for _, d in decoded])
            except sqlite3.Error as exc:
                _LOG.warning("storing %d request(s) failed: %s", len(decoded), exc)
                for result, _ in decoded:
                    result.error = StoreFailedError(f"the collector could not store it: {exc}")
            else:
                for (result, d), n in zip(decoded, refused, strict=True):
                    message = d.message
                    if n:
                        extra = f"{n} records of a sender with too many distinct resources"
                        message = f"{message}; {extra}" if message else extra
                    result.outcome = Outcome(len(d.records) - n, d.rejected + n, message)
        self._finish(results, fresh, over=bool(fresh) and self.over_size())

    def _finish(self, results: list[_Result], fresh: list[Fresh], over: bool) -> None:
        loop = results[0].job.future.get_loop()
        loop.call_soon_threadsafe(self._settle, results, fresh, over)

    def _settle(self, results: list[_Result], fresh: list[Fresh], over: bool) -> None:
        """On the loop: publish the group's new records, then answer its requests."""
        self.on_stored(fresh)
        if over:
            self.on_over_size()
        for result in results:
            future = result.job.future
            if future.done():
                continue
            if result.error is not None:
                future.set_exception(result.error)
            else:
                future.set_result(result.outcome or Outcome(0))


def bearer_token(request: web.Request) -> str:
    """Return the token of an `Authorization: Bearer TOKEN` header, or ""."""
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == AUTH_HEADER.lower() else ""


@web.middleware
async def async_otlp_status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error answer on /v1/ into a `google.rpc.Status` body, as OTLP/HTTP asks.

    In the request's encoding where it has one (JSON or protobuf), else protobuf.
    """
    if not request.path.startswith("/v1/"):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return status_response(request, exc.status, exc.text or exc.reason, exc.headers)


def status_response(
    request: web.Request, status: int, message: str, headers: Any = None
) -> web.Response:
    """Return an error answer whose body is a `google.rpc.Status`."""
    try:
        media = body_codec.media_type(request.headers.get("Content-Type"))
    except body_codec.UnsupportedMediaError:
        media = body_codec.PROTOBUF
    keep = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
    return web.Response(
        status=status,
        body=body_codec.status_body(status, message, media),
        content_type=body_codec.MIME[media],
        headers=keep,
    )
