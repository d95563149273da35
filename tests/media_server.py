"""A loopback HTTP media server for tests: a folder with Range support, and a path that 404s.

Use the `media_server` fixture (import it into a conftest.py), or `MediaServer` directly:

    async with MediaServer(folder) as server:
        url = server.url("tone.wav")
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType

import pytest
from aiohttp import web

from client.library_server import (
    capability_path,
    library_application,
    library_runner,
    new_media_key,
)
from client.media_catalogue import FolderCatalogue
from client.media_hosts import AllowedHosts

MISSING_PATH = "/missing.wav"
STALL_PATH = "/stall.wav"


class MediaServer:
    """Serves *root* on 127.0.0.1 at /media/TOKEN/NAME until closed, as the app's server does."""

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        self.root = root
        self.host = host
        self.port = 0
        self.key = new_media_key()
        self.requests: list[str] = []  # paths asked for, in order: lets tests see re-fetches
        self.stalled = asyncio.Event()  # set when a request to `stall_url` is being held
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind an ephemeral port and start serving."""
        # The app's own media routes (Range, path checks), so tests exercise what ships.
        app = library_application(
            FolderCatalogue(self.root), self.key, AllowedHosts([self.host]), [self._record]
        )
        app.router.add_get(MISSING_PATH, self._not_found)
        app.router.add_get(STALL_PATH, self._stall)
        self._runner = library_runner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Stop serving; idempotent."""
        runner, self._runner = self._runner, None
        self._release.set()  # let held requests finish, or cleanup would wait for them
        if runner is not None:
            await runner.cleanup()

    def url(self, name: str) -> str:
        """Return the URL of file *name* (a path relative to the folder) on this server."""
        return f"http://{self.host}:{self.port}{self.capability_path(name)}"

    def capability_path(self, tail: str) -> str:
        """Return the URL path that opens *tail* (decoded, relative) on this server."""
        return capability_path(self.key, tail)

    @property
    def missing_url(self) -> str:
        """Return a URL this server answers with 404 Not Found."""
        return f"http://{self.host}:{self.port}{MISSING_PATH}"

    @property
    def stall_url(self) -> str:
        """Return a URL whose request is accepted and then never answered (until close)."""
        return f"http://{self.host}:{self.port}{STALL_PATH}"

    async def __aenter__(self) -> MediaServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @web.middleware
    async def _record(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        self.requests.append(request.path)
        return await handler(request)

    async def _not_found(self, request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def _stall(self, request: web.Request) -> web.Response:
        self.stalled.set()
        await self._release.wait()
        raise web.HTTPServiceUnavailable()


def refused_url(host: str = "127.0.0.1") -> str:
    """Return an HTTP URL on a loopback port nothing listens on (connection refused)."""
    # Bind, read the port, close: the port is free and, on loopback, refuses at once.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    return f"http://{host}:{port}/nothing.wav"


@pytest.fixture
async def media_server(tmp_path: Path) -> AsyncIterator[MediaServer]:
    """A MediaServer over a fresh `tmp_path / "media"` folder; write files into `.root`."""
    root = tmp_path / "media"
    root.mkdir()
    async with MediaServer(root) as server:
        yield server
