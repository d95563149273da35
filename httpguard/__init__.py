"""What every Baton HTTP server does about hostile or broken clients: bounded heads, a deadline
for them, caps on connections, no credentials in logs, logs that do not flood, and loopback Host
names on loopback-bound servers.

A leaf package: it imports nothing of Baton, so the receiver (connect/session/server.py), the
media server (client/library_server.py) and the trace collector (tracing/_guard.py) share it
without `tracing` depending on `connect`, and a fix to one is a fix to all.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from aiohttp.web_log import AccessLogger

from httpguard._connections import ConnectionLimits, Stage
from httpguard._descriptors import descriptor_limit, raise_descriptor_limit
from httpguard._repeats import OncePerWindow, RepeatedRecordFilter
from httpguard._site import (
    GUARD_KEY,
    ConnectionGuard,
    GuardedSite,
    completion_hook,
    tracking_middleware,
    trust,
)

__all__ = [
    "MAX_HEADER_COUNT",
    "MAX_LINE_BYTES",
    "ConnectionGuard",
    "ConnectionLimits",
    "GuardedSite",
    "MalformedRequestFilter",
    "OncePerWindow",
    "RepeatedRecordFilter",
    "Stage",
    "async_refuse_foreign_hosts",
    "connection_guard",
    "descriptor_limit",
    "guarded_runner",
    "host_without_port",
    "is_loopback_host",
    "raise_descriptor_limit",
    "server_logger",
    "trust",
]

_LOG = logging.getLogger(__name__)

# Handed to aiohttp's request parser: a longer request line or header line, or more headers,
# gets its 400 before any route runs. Baton's clients send a handful of short headers.
MAX_LINE_BYTES = 8 * 1024
MAX_HEADER_COUNT = 100


class MalformedRequestFilter(logging.Filter):
    """Rewrites aiohttp's log of a request its parser refused: one line, none of the request.

    aiohttp logs such a request at error level with a traceback whose message quotes the first
    100 bytes of the offending line: a long Authorization or Cookie header, or a URL, would put
    a token in the log. A client's malformed request is not the server's error: info level.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a parser refusal in place; let every other record through unchanged."""
        exc = record.exc_info[1] if record.exc_info else None
        # A body that is not in its Content-Encoding surfaces later, as the payload's error,
        # caused by the parser's refusal (aiohttp logs it as an "Unhandled exception").
        if isinstance(exc, web.RequestPayloadError) and exc.__cause__ is not None:
            exc = exc.__cause__
        if isinstance(exc, HttpProcessingError):
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "refused a malformed request from %s: %d %s"
            record.args = (remote, exc.code, type(exc).__name__)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def server_logger(name: str) -> logging.Logger:
    """Return the logger *name*, filtered by MalformedRequestFilter, for `AppRunner(logger=)`."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, MalformedRequestFilter) for f in logger.filters):
        logger.addFilter(MalformedRequestFilter())
    return logger


def guarded_runner(
    app: web.Application,
    logger_name: str,
    *,
    limits: ConnectionLimits | None = None,
    **options: Any,
) -> web.AppRunner:
    """Return an AppRunner with bounded heads, quiet parser errors and no access log.

    Serve it with GuardedSite, which applies *limits* (default: ConnectionLimits(), lowered
    to fit the process's descriptor limit): a deadline for the TLS handshake and the request
    head, caps per peer address and in total. *options* go to AppRunner (e.g. an
    `access_log` and `access_log_class` that logs paths only). Call it before the app is
    frozen: it adds a middleware and the guard to *app*.
    """
    guard = ConnectionGuard((limits or ConnectionLimits()).within(descriptor_limit()), logger_name)
    app[GUARD_KEY] = guard
    app.middlewares.insert(0, tracking_middleware(guard))
    logger = server_logger(logger_name)
    # What a client can make this server log over and over (a malformed request, and asyncio's
    # accept error, which CPython 3.11 logs for every pending connection on every turn of the
    # loop while descriptors are exhausted) is written once a minute with a count, for as long
    # as the server runs.
    _quiet_while_serving(app, RepeatedRecordFilter(), logger, logging.getLogger("asyncio"))
    # aiohttp calls the access logger after each response's last byte: the guard's cue that a
    # connection is idle again. Without an access log of the server's own, it writes nothing.
    access_log = options.pop("access_log", None)
    access_log_class = options.pop("access_log_class", AccessLogger)
    if not access_log:
        access_log_class = None
    settings: dict[str, Any] = {
        "access_log": access_log or logging.getLogger("httpguard.unused_access_log"),
        "access_log_class": completion_hook(guard, access_log_class),
        "handle_signals": False,
        "max_line_size": MAX_LINE_BYTES,
        "max_field_size": MAX_LINE_BYTES,
        "max_headers": MAX_HEADER_COUNT,
        "logger": logger,
        **options,
    }
    return web.AppRunner(app, **settings)


def _quiet_while_serving(
    app: web.Application, repeats: logging.Filter, *loggers: logging.Logger
) -> None:
    for logger in loggers:
        logger.addFilter(repeats)

    async def remove(_: web.Application) -> None:
        for logger in loggers:
            logger.removeFilter(repeats)

    app.on_cleanup.append(remove)


def connection_guard(runner: web.AppRunner) -> ConnectionGuard:
    """Return the guard of a runner made by guarded_runner (its census and counters)."""
    return runner.app[GUARD_KEY]


@functools.lru_cache(maxsize=256)  # asked on every request, with the same few Host values
def is_loopback_host(host: str) -> bool:
    """Say whether *host* (a name or an address, IPv6 bracketed or not, no port) is loopback."""
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_without_port(host_header: str) -> str:
    """Return the name or address of a Host header, without its port."""
    if host_header.startswith("["):
        return host_header.partition("]")[0] + "]"
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


@web.middleware
async def async_refuse_foreign_hosts(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 421 to a request whose Host is not a loopback name; for loopback-bound servers.

    A page that rebinds its own DNS name to 127.0.0.1 is same-origin to the browser, so an
    Origin check cannot see it; the Host header it sends is still its own name.
    """
    host = request.headers.get("Host", "")
    if not is_loopback_host(host_without_port(host)):
        _LOG.info("refused %s %s for host %r", request.method, request.path, host[:100])
        raise web.HTTPMisdirectedRequest(
            text=f"this server answers only to loopback names, not {host[:100]!r}"
        )
    return await handler(request)
