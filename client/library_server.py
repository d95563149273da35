"""Serve the listener's music to receivers over HTTP: capability URLs, our names only, Range.

A `LibraryServer` serves a catalogue (the app's music folder, or the files `baton play` was
given: client/media_catalogue.py) at `http://ADDRESS:PORT/media/TOKEN/PATH`:

* it listens only on the addresses it is given (the app: loopback, for "This computer", and
  the addresses of the interfaces it uses; `baton play`: the one facing the receiver), never
  on a wildcard address;
* it answers only requests whose Host names it (client/media_hosts.py; 421 otherwise), so a
  web page cannot read the library by rebinding its DNS name to one of our addresses;
* every URL carries TOKEN (the shape: connect/media_capability.py), the HMAC-SHA256 of its
  PATH under a key drawn each time a server starts: a URL opens its one file, and only until
  the server restarts. A request without the right token (none, another path's, one from
  before a restart) gets a bare 404 that says nothing of what exists. Under the right token
  a malformed path gets 400, a path leading outside 403, and a file that is not there 410
  (so a receiver can tell "the app restarted", a 404, from "that file is gone", a 410);
* requests take no body and heads are bounded (httpguard), and nothing is logged per request:
  the token is a credential.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from client.media_catalogue import (
    FolderCatalogue,
    MediaCatalogue,
    OutsideLibraryError,
    PathRefusedError,
)
from client.media_hosts import AllowedHosts, host_check
from connect.media_capability import MEDIA_PATH_PREFIX
from httpguard import ConnectionLimits, GuardedSite, guarded_runner

_LOG = logging.getLogger(__name__)

MEDIA_PREFIX = MEDIA_PATH_PREFIX.rstrip("/")
BIND_ATTEMPTS = 3  # a new port when another address of ours already has the one picked
# A few receivers, each streaming a track or two at once: the defaults leave ample room, and
# give one hostile host no more than its share (docs/security.md, "Limits").
MEDIA_LIMITS = ConnectionLimits()
KEY_BYTES = 32


def new_media_key() -> bytes:
    """Return a fresh key for a server's capabilities (256 random bits)."""
    return secrets.token_bytes(KEY_BYTES)


def capability_path(key: bytes, tail: str) -> str:
    """Return the URL path (from MEDIA_PREFIX on) that opens *tail* (decoded) under *key*."""
    return f"{MEDIA_PREFIX}/{_token(key, tail)}/{quote(tail)}"


def library_application(
    catalogue: MediaCatalogue,
    key: bytes,
    allowed: AllowedHosts,
    middlewares: Iterable[Middleware] = (),
) -> web.Application:
    """Return an aiohttp application serving *catalogue* under MEDIA_PREFIX, tokens from *key*.

    Requests pass the Host check (*allowed*) and the no-body rule, then *middlewares*.
    """
    app = web.Application(middlewares=[host_check(allowed), _refuse_bodies, *middlewares])

    async def serve(request: web.Request) -> web.FileResponse:
        tail = request.match_info["tail"]
        offered = request.match_info["token"].encode("utf-8", "replace")
        if not hmac.compare_digest(offered, _token(key, tail).encode()):
            raise web.HTTPNotFound()  # the same bare answer as for any unknown path
        try:
            # Lookups hit the disk (resolve, is_file): keep them off the event loop.
            path = await asyncio.get_running_loop().run_in_executor(None, catalogue.find, tail)
        except OutsideLibraryError as exc:
            raise web.HTTPForbidden(text=f"refused: {exc}") from exc
        except PathRefusedError as exc:
            raise web.HTTPBadRequest(text=f"refused: {exc}") from exc
        if path is None:
            raise web.HTTPGone(text="no such file here (any more)")
        # FileResponse answers Range with 206: libVLC seeks with it.
        return web.FileResponse(path)

    app.router.add_get(MEDIA_PREFIX + "/{token}/{tail:.+}", serve)
    return app


def library_runner(app: web.Application) -> web.AppRunner:
    """Return a runner for *app* with bounded heads, no access log, and MEDIA_LIMITS."""
    return guarded_runner(app, "client.media_http", limits=MEDIA_LIMITS)


class LibraryServer:
    """Serves a catalogue at http://ADDRESS:PORT/media/TOKEN/... until `async_close()`.

    *source* is a music folder or any MediaCatalogue; *addresses* are the IP addresses to
    listen on (one port for all of them); *port* 0 picks a free one.
    """

    def __init__(
        self,
        source: Path | MediaCatalogue,
        addresses: Sequence[str] = ("127.0.0.1",),
        port: int = 0,
    ) -> None:
        self.catalogue: MediaCatalogue = (
            FolderCatalogue(source) if isinstance(source, Path) else source
        )
        self.addresses = _checked_addresses(addresses)
        self.port = port
        self._key = new_media_key()  # new at every start of the program: old URLs die
        self._allowed = AllowedHosts(self.addresses)
        self._runner: web.AppRunner | None = None
        self._sites: dict[str, GuardedSite] = {}

    @property
    def root(self) -> Path:
        """Return the music folder served; ValueError for a server of single files."""
        if not isinstance(self.catalogue, FolderCatalogue):
            raise ValueError("this server serves single files, not a folder")
        return self.catalogue.root

    async def async_start(self) -> None:
        """Start serving; raise OSError if an address cannot be bound (nothing is left open)."""
        if isinstance(self.catalogue, FolderCatalogue) and not self.catalogue.root.is_dir():
            raise FileNotFoundError(f"music folder {self.catalogue.root} does not exist")
        app = library_application(self.catalogue, self._key, self._allowed)
        self._runner = library_runner(app)
        await self._runner.setup()
        try:
            await self._bind(self.addresses)
        except BaseException:
            await self.async_close()
            raise

    async def async_serve_on(self, addresses: Sequence[str]) -> None:
        """Listen on *addresses* from now on, on the same port (the interfaces changed).

        Addresses that went away are closed; a new one that cannot be bound is logged and left
        out. The token stays: URLs already handed out keep working where still reachable.
        """
        if self._runner is None:
            raise RuntimeError("the media server is not started")
        wanted = _checked_addresses(addresses)
        for address in [a for a in self._sites if a not in wanted]:
            await self._sites.pop(address).stop()
        for address in [a for a in wanted if a not in self._sites]:
            try:
                await self._start_site(address, self.port)
            except OSError as exc:
                _LOG.warning("cannot serve the music on %s: %s", address, exc)
        self.addresses = tuple(self._sites)
        self._allowed.update(self.addresses)

    def url_for(self, path: Path, address: str | None = None) -> str:
        """Return the URL of *path* on *address* (default: the first one served).

        Raise ValueError if *path* is not in the catalogue or *address* is not served.
        """
        host = address if address is not None else self.addresses[0]
        if host not in self.addresses:
            raise ValueError(f"the music is not served on {host}")
        authority = f"[{host}]" if ":" in host else host
        return f"http://{authority}:{self.port}{self.capability_path(self.catalogue.tail_of(path))}"

    def capability_path(self, tail: str) -> str:
        """Return the URL path that opens *tail* (decoded, relative) on this server, this run."""
        return capability_path(self._key, tail)

    async def async_close(self) -> None:
        """Stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        self._sites.clear()
        if runner is not None:
            await runner.cleanup()

    async def _bind(self, addresses: Sequence[str]) -> None:
        """Listen on every address, one port for all; retry with a new port if it is taken."""
        for attempt in range(1, BIND_ATTEMPTS + 1):
            try:
                port = self.port
                for address in addresses:
                    port = await self._start_site(address, port)
            except OSError:
                for site in self._sites.values():
                    await site.stop()
                self._sites.clear()
                # A port asked for is a port asked for; one we picked may be taken on
                # another address of ours: pick again.
                if self.port != 0 or attempt == BIND_ATTEMPTS:
                    raise
                continue
            self.port = port
            return

    async def _start_site(self, address: str, port: int) -> int:
        assert self._runner is not None
        site = GuardedSite(self._runner, address, port)
        await site.start()
        self._sites[address] = site
        return site.port


def _token(key: bytes, tail: str) -> str:
    """Return the capability token of *tail*: base64url(HMAC-SHA256(key, tail)), 43 characters."""
    digest = hmac.new(key, tail.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _checked_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """Return *addresses* without duplicates; ValueError for a wildcard or a name."""
    checked: list[str] = []
    for address in addresses:
        ip = ipaddress.ip_address(address)  # ValueError for a name: bind what we mean
        if ip.is_unspecified:
            raise ValueError(f"{address} would serve the music on every interface: name one")
        if address not in checked:
            checked.append(address)
    if not checked:
        raise ValueError("no address to serve the music on")
    return tuple(checked)


@web.middleware
async def _refuse_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Nothing here reads a body; refusing one up front says so instead of silently dropping it.
    if request.content_length or "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        raise web.HTTPRequestEntityTooLarge(
            max_size=0, text="the media server takes no request body"
        )
    return await handler(request)
