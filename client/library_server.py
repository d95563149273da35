"""Serve the user's music folder to receivers over HTTP: Range requests, nothing outside it.

Every request path is checked before the disk is touched: NUL bytes, backslashes, empty, `.` and
`..` segments (also when percent-encoded) get 400; a path whose symlinks resolve outside the
folder gets 403. Requests take no body and headers are bounded, so a receiver can read the
library and nothing else, and a broken client cannot make the server hold much memory.
Bound to loopback, it answers only to loopback Host names (421 otherwise: DNS rebinding).
URLs carry no secret: the folder is the only thing exposed, and only on the address given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from connect.http_guard import guarded_runner, is_loopback_host, refuse_foreign_hosts

__all__ = ["is_loopback_host"]  # and what is defined here: tests/media_server.py uses it

MEDIA_PREFIX = "/media"


class PathRefusedError(ValueError):
    """A media path that is malformed or tries to leave the library (answered with 400)."""


class OutsideLibraryError(PathRefusedError):
    """A well-formed media path that resolves outside the library (answered with 403)."""


def library_file(root: Path, tail: str) -> Path:
    """Return the resolved path that *tail* (decoded, after /media/) names inside *root*.

    *root* must be resolved. Raise PathRefusedError for a malformed path and
    OutsideLibraryError when symlinks lead out of *root*. Touches the disk (resolve).
    """
    if "\0" in tail:
        raise PathRefusedError("a NUL byte in the path")
    if "\\" in tail:
        raise PathRefusedError("a backslash in the path")
    segments = tail.split("/")
    # An empty segment catches absolute paths ("//etc") too. aiohttp routes the path as sent,
    # so ".." arrives here plain or decoded from %2e%2e.
    if any(segment in ("", ".", "..") for segment in segments):
        raise PathRefusedError("an empty, '.' or '..' segment in the path")
    resolved = root.joinpath(*segments).resolve()
    if not resolved.is_relative_to(root):
        raise OutsideLibraryError("the path leads outside the library")
    return resolved


def library_application(
    root: Path, middlewares: Iterable[Middleware] = (), *, loopback_only: bool = False
) -> web.Application:
    """Return an aiohttp application serving *root* under MEDIA_PREFIX, after *middlewares*.

    With *loopback_only* (for a server bound to loopback), a request whose Host is not a
    loopback name gets 421: a web page that rebinds its DNS name to 127.0.0.1 reads as
    same-origin to the browser, and could otherwise read the library.
    """
    root = root.resolve()
    guards: list[Middleware] = [refuse_foreign_hosts] if loopback_only else []
    app = web.Application(middlewares=[*guards, _refuse_bodies, *middlewares])

    async def serve(request: web.Request) -> web.FileResponse:
        try:
            # resolve() and is_file() hit the disk: keep them off the event loop.
            path = await asyncio.get_running_loop().run_in_executor(
                None, _existing_file, root, request.match_info["tail"]
            )
        except OutsideLibraryError as exc:
            raise web.HTTPForbidden(text=f"refused: {exc}") from exc
        except PathRefusedError as exc:
            raise web.HTTPBadRequest(text=f"refused: {exc}") from exc
        if path is None:
            raise web.HTTPNotFound(text="no such file in the library")
        # FileResponse answers Range with 206: libVLC seeks with it.
        return web.FileResponse(path)

    app.router.add_get(MEDIA_PREFIX + "/{tail:.+}", serve)
    return app


def library_runner(app: web.Application) -> web.AppRunner:
    """Return a runner for *app* with bounded request and header lines and no access log."""
    return guarded_runner(app, "client.media_http")


class LibraryServer:
    """Serves *root* at http://HOST:PORT/media/... until `async_close()`."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = root.resolve()
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def async_start(self) -> None:
        """Start serving; raise OSError if the address cannot be bound."""
        if not self.root.is_dir():
            raise FileNotFoundError(f"music folder {self.root} does not exist")
        app = library_application(self.root, loopback_only=is_loopback_host(self.host))
        self._runner = library_runner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])

    def url_for(self, path: Path) -> str:
        """Return the URL of *path*, a file inside the folder; raise ValueError if it is not."""
        relative = path.resolve().relative_to(self.root)  # ValueError outside the folder
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{MEDIA_PREFIX}/{quote(relative.as_posix())}"

    async def async_close(self) -> None:
        """Stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _existing_file(root: Path, tail: str) -> Path | None:
    path = library_file(root, tail)
    return path if path.is_file() else None


@web.middleware
async def _refuse_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Nothing here reads a body; refusing one up front says so instead of silently dropping it.
    if request.content_length or "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        raise web.HTTPRequestEntityTooLarge(
            max_size=0, text="the media server takes no request body"
        )
    return await handler(request)
