"""Serve the user's music folder to receivers over HTTP: Range requests, nothing outside it.

aiohttp's static route answers Range requests (libVLC seeks with them), resolves every path
inside the folder and refuses `..` and symlinks that lead out of it, so a receiver can read the
library and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from aiohttp import web

MEDIA_PREFIX = "/media"


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
        app = web.Application()
        app.router.add_static(MEDIA_PREFIX, self.root, follow_symlinks=False)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
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
