"""The collector's HTTP guard: limits, loopback Host names, cross-site refusal, quiet logs.

Everything here is about what a hostile or broken client may send; the routes themselves live
in `_server.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from httpguard import MAX_HEADER_COUNT, MAX_LINE_BYTES, async_refuse_foreign_hosts, is_loopback_host

_LOG = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("tracing.access")

__all__ = [
    "MAX_HEADER_COUNT",
    "MAX_LINE_BYTES",
    "async_refuse_foreign_hosts",
    "is_loopback_host",
]  # and what is defined here
# OTLP bodies: as sent (possibly compressed), and after inflation. The second bound is what
# stops a gzip bomb: inflation stops one byte past it.
MAX_WIRE_BODY = 16 * 1024 * 1024
MAX_INFLATED_BODY = 32 * 1024 * 1024
# Everything else takes at most a small JSON object (the login).
MAX_SMALL_BODY = 4 * 1024

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A page may load only its own scripts and styles, talk only to its own origin, and may not be
# framed (clickjacking); the viewer needs nothing more.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
}


async def async_read_body(request: web.Request, limit: int) -> bytes:
    """Return the request body as sent; raise 413 once it is known to exceed *limit* bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        # Refuse on the declared length, before reading a byte of it.
        raise _too_large(limit)
    # A chunked body declares nothing: read one byte past the limit to see whether it is over.
    body = bytearray()
    while len(body) <= limit:
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) > limit:
        raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(
        max_size=limit, text=f"request body over {limit} bytes: send less per request"
    )


def cross_site_reason(headers: Mapping[str, str], own_origin: str) -> str:
    """Return why a request comes from another origin than *own_origin*, or "" if it does not.

    A request with neither `Origin` nor `Sec-Fetch-Site` is not from a browser page (curl, an
    SDK, a test): it passes. Another port on the same host is another origin and is refused:
    SameSite cookies do not tell ports apart, so this check is what keeps them out.
    """
    fetch_site = headers.get("Sec-Fetch-Site", "").strip().lower()
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {fetch_site}"
    origin = headers.get("Origin")
    if origin is not None and origin.strip().lower() != own_origin.lower():
        return f"Origin {origin.strip()[:100]!r} is not {own_origin}"
    return ""


def needs_same_origin(request: web.Request) -> bool:
    """Say whether *request* changes state, or reads data on the strength of a cookie alone."""
    if request.method not in SAFE_METHODS:
        return True
    # A bearer token cannot be sent by another site's page, so such reads stay open to any
    # caller (a dashboard on another origin); a cookie is sent by the browser on its own.
    bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
    return request.path.startswith("/api/") and not bearer


@web.middleware
async def async_refuse_cross_site(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 403 to a guarded request (see `needs_same_origin`) sent from another origin."""
    if needs_same_origin(request):
        reason = cross_site_reason(request.headers, f"{request.scheme}://{request.host}")
        if reason:
            _LOG.info("refused a cross-site %s %s: %s", request.method, request.path, reason)
            raise web.HTTPForbidden(text=f"cross-site request refused ({reason})")
    return await handler(request)


async def async_add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add `SECURITY_HEADERS` to every response (an `on_response_prepare` hook)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """An access log of method, path, status and duration at debug level.

    Never headers, cookies or the query string: those are where tokens travel.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Log one answered request."""
        self.logger.debug(
            "%s %s %s -> %d in %.1f ms",
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
        )

    @property
    def enabled(self) -> bool:
        """Skip the work when debug logging is off."""
        return self.logger.isEnabledFor(logging.DEBUG)
