"""Which Host headers the media server answers: its own addresses and this machine's names.

A web page can rebind its DNS name to one of our addresses; the browser then takes our answers
for same-origin and lets the page read them. The Host header it sends is still the page's own
name, so the server answers only requests that name it: an IP literal it listens on (any
loopback literal when it listens on loopback), `localhost` when it listens on loopback, or this
machine's own host name (`NAME`, `NAME.local`, the name with its domain). Anything else gets
421, before the token or the path is looked at.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from httpguard import host_without_port, is_loopback_host

_LOG = logging.getLogger(__name__)


def own_host_names() -> frozenset[str]:
    """Return this machine's names as a Host header may carry them (lower case, no final dot)."""
    full = socket.gethostname().strip().lower().rstrip(".")
    short = full.split(".", 1)[0]
    return frozenset(name for name in (full, short, f"{short}.local") if name)


class AllowedHosts:
    """The Host values a server bound to *addresses* answers to (see the module docstring)."""

    def __init__(self, addresses: Iterable[str], names: Iterable[str] | None = None) -> None:
        self._names = frozenset(own_host_names() if names is None else names)
        self._addresses: frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address] = frozenset()
        self._loopback = False
        self.update(addresses)

    def update(self, addresses: Iterable[str]) -> None:
        """Answer to *addresses* from now on (the server listens on them)."""
        self._addresses = frozenset(ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses)
        self._loopback = any(a.is_loopback for a in self._addresses)

    def allows(self, host_header: str) -> bool:
        """Return whether a request with this Host header (port included, or not) is for us."""
        host = host_without_port(host_header.strip()).lower().removeprefix("[").removesuffix("]")
        host = host.rstrip(".")
        if not host:
            return False
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return host in self._names or (self._loopback and is_loopback_host(host))
        return literal in self._addresses or (self._loopback and literal.is_loopback)


def host_check(allowed: AllowedHosts) -> Middleware:
    """Return a middleware answering 421 to requests whose Host is not one *allowed* lists."""

    @web.middleware
    async def refuse_foreign_hosts(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if not allowed.allows(host):
            # Debug only: a page retrying in a loop must not fill the log.
            _LOG.debug("refused %s for host %r: not our name", request.method, host[:100])
            raise web.HTTPMisdirectedRequest(text="this server does not answer to that name")
        return await handler(request)

    return refuse_foreign_hosts
