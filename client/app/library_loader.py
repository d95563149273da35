"""Loading the music folder for the core: the cached library at once, then a rescan in the
background that reports its progress and shows the library again only if it changed.

Runs on the core's event loop; the file and SQLite work runs on a worker thread
(`asyncio.to_thread`), so neither the loop nor the UI waits on the disk. One scan at a time:
choosing another folder, or closing, stops the one under way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from client.app.library import Library
from client.app.library_cache import LibraryCache, ScanCancelledError
from client.app.views import LibraryLoaded, LibraryProgress

_LOG = logging.getLogger(__name__)

CACHE_FILE = "library.sqlite"

Emit = Callable[[object], None]


class LibraryLoader:
    """Loads one folder at a time; `loaded` gets each library shown, `emit` the progress."""

    def __init__(
        self, state_dir: Path, loaded: Callable[[LibraryLoaded], None], emit: Emit
    ) -> None:
        self.cache_path = state_dir / CACHE_FILE
        self.loaded = loaded  # the core takes these over from whoever showed the cache first
        self.emit = emit
        self.shown: Library | None = None  # the cached library shown before the core started
        self._shown_root: Path | None = None
        self._scan: asyncio.Task[None] | None = None
        self._stop = threading.Event()

    async def async_show_cached(
        self, folder: Path, early: concurrent.futures.Future[Library | None] | None = None
    ) -> None:
        """Show *folder*'s cached library, if any; the app calls this before the core is up
        (*early*: the cache as `read_cache_early` started reading it)."""
        cache = await asyncio.to_thread(LibraryCache, self.cache_path, folder)  # resolves: disk
        cached = await asyncio.wrap_future(early) if early else await asyncio.to_thread(cache.load)
        if cached is not None:
            self.shown, self._shown_root = cached, cache.root
            self.loaded(LibraryLoaded(cached))

    async def async_open(self, folder: Path) -> None:
        """Show *folder*'s cached library (if any) now, and rescan it in the background."""
        await self.async_close()
        self._stop = threading.Event()
        cache = await asyncio.to_thread(LibraryCache, self.cache_path, folder)
        if self.shown is not None and self._shown_root == cache.root:
            cached: Library | None = self.shown  # already on screen
        else:
            cached = await asyncio.to_thread(cache.load)
            if cached is not None:
                self.loaded(LibraryLoaded(cached))
        self.shown, self._shown_root = None, None
        self._scan = asyncio.get_running_loop().create_task(
            self._rescan(cache, cached, self._stop), name="library scan"
        )

    async def async_close(self) -> None:
        """Stop the scan under way, if any, and wait for it (idempotent)."""
        self._stop.set()
        scan, self._scan = self._scan, None
        if scan is not None:
            scan.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scan

    async def _rescan(
        self, cache: LibraryCache, shown: Library | None, stop: threading.Event
    ) -> None:
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:  # on the worker thread
            loop.call_soon_threadsafe(self.emit, LibraryProgress(done, total))

        try:
            scanned = await asyncio.to_thread(cache.scan, progress, stop)
        except ScanCancelledError:
            return
        except OSError as exc:
            self.emit(LibraryProgress(0, 0))
            self.loaded(LibraryLoaded(Library(cache.root, ()), f"cannot read {cache.root}: {exc}"))
            return
        if scanned != shown:
            self.loaded(LibraryLoaded(scanned))


def read_cache_early(state_dir: Path, folder: Path) -> concurrent.futures.Future[Library | None]:
    """Start reading *folder*'s cached library on a thread of its own, now: the app calls this
    first thing, so the read overlaps building the window (`async_show_cached` takes it)."""
    future: concurrent.futures.Future[Library | None] = concurrent.futures.Future()

    def read() -> None:
        try:
            future.set_result(LibraryCache(state_dir / CACHE_FILE, folder).load())
        except Exception as exc:
            future.set_exception(exc)

    threading.Thread(target=read, name="library cache", daemon=True).start()
    return future
