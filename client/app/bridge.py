"""The one bridge between the widgets (UI thread) and the asyncio core (its own thread).

DESIGN.md, "Asyncio and Qt": the core runs on a plain asyncio loop in a `CoreThread`; widgets
call the bridge's methods, which submit coroutines with `run_coroutine_threadsafe` and return
at once (never waiting on the future); what the core emits comes back as Qt signals carrying
frozen dataclasses, delivered on the UI thread by a queued connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import importlib
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from client.app import views as v
from client.app.views import AppSettings, DeviceGone, LibraryLoaded
from connect.wire import messages as m

if TYPE_CHECKING:
    from client.app.core import AppCore
    from client.app.library import Library, Track
    from client.app.library_loader import LibraryLoader
    from client.app.media_controls import MediaControls
    from tracing.setup import Tracing

_LOG = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0


class CoreThread:
    """An asyncio event loop on a daemon thread: `submit` coroutines, `stop` it once."""

    def __init__(self, name: str = "baton-core") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if not self._started:
            self._started = True
            self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Schedule *coro* on the loop; the returned future must not be waited on by the UI."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        future.add_done_callback(_log_failure)
        return future

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Cancel what is left, stop the loop and join the thread (idempotent, bounded)."""
        if not self._started or self.loop.is_closed():
            return
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        # Whatever the owner did not close: cancel it so nothing runs after stop.
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())


def _import_the_core() -> None:
    """Import what the core runs on (the imports in `Bridge.start`'s build)."""
    importlib.import_module("client.app.core")
    importlib.import_module("client.app.access")
    importlib.import_module("client.app.media_controls")  # dbus-fast: off the loop too


def _log_failure(future: concurrent.futures.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        _LOG.error("core task failed", exc_info=future.exception())


class Bridge(QObject):
    """The widgets' handle on the core; every method returns at once."""

    device_changed = Signal(object)  # views.DeviceView
    device_gone = Signal(str)  # device id
    session_changed = Signal(object)  # views.SessionView of the followed device
    queue_changed = Signal(object)  # views.QueueRows: the followed device's queue as fetched
    transfer_changed = Signal(object)  # views.TransferView
    grouping_changed = Signal(object)  # views.GroupingView: a group change asked for
    library_loaded = Signal(object)  # core.LibraryLoaded
    diagnostics_changed = Signal(object)  # views.Diagnostics
    notice = Signal(object)  # views.Notice
    pairing_changed = Signal(object)  # views.PairingView
    access_changed = Signal(object)  # views.AccessView
    local_code_changed = Signal(str)  # "This computer"'s pairing code
    playback_lost = Signal(object)  # views.PlaybackLost: the playing device went away
    library_progress = Signal(object)  # views.LibraryProgress of the scan under way
    started = Signal()
    stopped = Signal()

    def __init__(
        self,
        settings: AppSettings,
        parent: QObject | None = None,
        cached_library: concurrent.futures.Future[Library | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self._cached_library = cached_library  # read_cache_early's, when the app started one
        self.core_thread = CoreThread()
        self.core: AppCore | None = None  # built on the core thread by start()
        self._core_ready: concurrent.futures.Future[AppCore] | None = None
        self._tracing: Tracing | None = None  # set up on the core thread, before the core
        self.media_controls: MediaControls | None = None  # MPRIS, built with the core
        self.window_active = False  # the UI thread keeps it (desktop notifications read it)
        self._closed = False

    # -------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the core thread and the core; `started` fires when it is up."""
        self.core_thread.start()

        async def show_cached_library() -> LibraryLoader | None:
            # The library as cached last time, shown before the core's imports run: a second
            # start shows 10 000 tracks within DESIGN.md's 1.5 s.
            if self.settings.music_folder is None:
                return None
            from client.app.library_loader import LibraryLoader

            loader = LibraryLoader(self.settings.state_dir, self._from_core, self._from_core)
            try:
                await loader.async_show_cached(self.settings.music_folder, self._cached_library)
            except (OSError, ValueError) as exc:  # only a head start: the core scans anyway
                _LOG.info("the cached library could not be shown early: %s", exc)
            return loader

        cached = self.core_thread.submit(show_cached_library())

        async def build() -> AppCore:
            # The cached library first: its few hundred ms of reading would otherwise share
            # the interpreter with the imports, and the library is what the listener waits for.
            loader = await asyncio.wrap_future(cached)
            # The core's imports (aiohttp, zeroconf, libVLC) take a few hundred ms: on a worker
            # thread, so neither the UI thread (painting its first frame) nor the core's loop
            # waits on them.
            await asyncio.to_thread(_import_the_core)
            from client.app.access import app_identity
            from client.app.core import AppCore
            from connect.access import CredentialStore

            store = CredentialStore()  # the CLI's file: pairings are shared both ways
            identity, problems = app_identity(store, f"Baton on {self.settings.device_name}")
            if self.settings.trace_collector:
                from client.app.app_tracing import start_tracing

                self._tracing, problem = start_tracing(self.settings)
                problems = "; ".join(p for p in (problems, problem) if p)
            emit: Callable[[object], None] = self._from_core
            if self.settings.media_controls:
                from client.app.media_controls import MediaControls

                self.media_controls = MediaControls(
                    self.settings.state_dir / "art",
                    # A TV shows what plays full screen: no desktop notifications there.
                    notify=self.settings.notify_tracks and not self.settings.tv,
                    window_active=lambda: self.window_active,
                )
                emit = self.media_controls.tap(emit)  # MPRIS sees the sessions shown
            self.core = AppCore(self.settings, emit, identity, store, loader)
            if self.media_controls is not None:
                self.media_controls.command = self.core.async_command
                core = self.core
                self.media_controls.library = lambda: core.library
            if problems:
                self._from_core(v.Notice(problems, error=True))
            return self.core

        async def start() -> None:
            core = await self._core()
            await core.async_start()
            if self.media_controls is not None:
                await self.media_controls.async_start()
            self.started.emit()

        self._core_ready = self.core_thread.submit(build())
        self.core_thread.submit(start())

    async def _core(self) -> AppCore:
        if self._core_ready is None:
            raise RuntimeError("the bridge is not started")
        return await asyncio.wrap_future(self._core_ready)

    def close(self) -> None:
        """Close the core and stop its thread (idempotent, bounded)."""
        if self._closed:
            return
        self._closed = True
        if self.core_thread.loop.is_running() and self._core_ready is not None:

            async def close() -> None:
                core = await self._core()
                if self.media_controls is not None:
                    await self.media_controls.async_close()
                await core.async_close()
                if self._tracing is not None:  # last: the close's own spans go out too
                    await asyncio.to_thread(self._tracing.shutdown)

            future = self.core_thread.submit(close())
            try:
                # The app is quitting: the only place the UI thread waits, and bounded.
                future.result(STOP_TIMEOUT_S)
            except (concurrent.futures.TimeoutError, Exception):
                _LOG.warning("the core did not close within %.0f s", STOP_TIMEOUT_S)
        self.core_thread.stop()
        self.stopped.emit()

    # -------------------------------------------------------------------------- requests

    def play(self, tracks: tuple[Track, ...], start: int = 0, device_id: str = "") -> None:
        """Play *tracks* from index *start*."""
        self._submit(lambda core: core.async_play(tracks, start, device_id=device_id))

    def shuffle_all(self, tracks: tuple[Track, ...]) -> None:
        """Play *tracks* in the followed device's shuffle order (a new seed)."""
        self._submit(lambda core: core.async_play(tracks, shuffle=True))

    def fetch_queue(self, device_id: str, start: int, stop: int) -> None:
        """Fetch rows *start* to *stop* of *device_id*'s queue; they come as `queue_changed`."""
        self._submit(lambda core: core.queue.async_fetch(device_id, start, stop))

    def enqueue(self, tracks: tuple[Track, ...]) -> None:
        """Add *tracks* to the followed device's queue."""
        self._submit(lambda core: core.async_play(tracks, append=True))

    def play_next(self, tracks: tuple[Track, ...]) -> None:
        """Queue *tracks* right after the followed device's current item."""
        self._submit(lambda core: core.async_play(tracks, append=True, next_up=True))

    def command(self, action: m.Action, device_id: str = "") -> None:
        """Send *action* to a device (the followed one by default)."""
        self._submit(lambda core: core.async_command(action, device_id))

    def transfer(self, target_id: str) -> None:
        """Move the music to *target_id*; progress comes as `transfer_changed`."""
        self._submit(lambda core: core.async_transfer(target_id))

    def group(self, device_ids: tuple[str, ...]) -> None:
        """Play on *device_ids* together (the first leads, or the others join its group);
        progress comes as `grouping_changed`, a failure also as `notice`."""
        self._submit(lambda core: core.groups.async_group(device_ids))

    def ungroup(self, device_id: str) -> None:
        """Take *device_id* out of its group; progress comes as `grouping_changed`."""
        self._submit(lambda core: core.groups.async_ungroup(device_id))

    def member_volume(self, device_id: str, volume: int) -> None:
        """Set group member *device_id*'s own volume (0-100)."""
        self._submit(lambda core: core.groups.async_member_volume(device_id, volume))

    def resume_elsewhere(self, target_id: str) -> None:
        """Start what stopped with the device that went away on *target_id*."""
        self._submit(lambda core: core.async_resume_elsewhere(target_id))

    def follow(self, device_id: str) -> None:
        """Follow *device_id*: the device the next Play and the transport keys use."""
        self._submit(lambda core: core.async_follow(device_id))

    def prepare_transfer(self) -> None:
        """The device picker shows: other devices pre-open the followed music's stream."""
        self._submit(lambda core: core.async_prepare_transfer())

    def add_address(self, text: str) -> None:
        """Add a device by `host:port`."""
        self._submit(lambda core: core.async_add_address(text))

    def self_test(self) -> None:
        """Run the multicast self-test; the result comes as `diagnostics_changed`."""
        self._submit(lambda core: core.async_self_test())

    def set_music_folder(self, folder: Path) -> None:
        """Serve and scan another music folder."""
        self._submit(lambda core: core.async_set_music_folder(folder))

    def pair(self, device_id: str, pin: str) -> None:
        """Pair with *device_id* using *pin*; progress comes as `pairing_changed`."""
        self._submit(lambda core: core.access.async_pair(device_id, pin))

    def load_access(self, device_id: str, *, with_code: bool = False) -> None:
        """Ask who may control *device_id* (and its code); the answer comes as `access_changed`."""
        self._submit(lambda core: core.access.async_load_access(device_id, with_code=with_code))

    def revoke(self, device_id: str, token_id: str) -> None:
        """Revoke *token_id* on *device_id*; the new list comes as `access_changed`."""
        self._submit(lambda core: core.access.async_revoke(device_id, token_id))

    def _submit(self, request: Callable[[AppCore], Coroutine[Any, Any, None]]) -> None:
        async def run() -> None:
            await request(await self._core())

        self.core_thread.submit(run())

    # -------------------------------------------------------------------------- from the core

    def _from_core(self, event: object) -> None:
        """Called on the core thread; each emit is queued to the UI thread."""
        if isinstance(event, v.DeviceView):
            self.device_changed.emit(event)
        elif isinstance(event, DeviceGone):
            self.device_gone.emit(event.device_id)
        elif isinstance(event, v.SessionView):
            self.session_changed.emit(event)
        elif isinstance(event, v.QueueRows):
            self.queue_changed.emit(event)
        elif isinstance(event, v.TransferView):
            self.transfer_changed.emit(event)
        elif isinstance(event, v.GroupingView):
            self.grouping_changed.emit(event)
        elif isinstance(event, LibraryLoaded):
            # A library of 50 000 tracks is a million long-lived objects: out of the garbage
            # collector's full passes from now on, which otherwise walk them all (300 ms
            # holding the interpreter, the UI frozen) whenever a Play all makes many objects.
            gc.freeze()
            self.library_loaded.emit(event)
        elif isinstance(event, v.LibraryProgress):
            self.library_progress.emit(event)
        elif isinstance(event, v.Diagnostics):
            self.diagnostics_changed.emit(event)
        elif isinstance(event, v.Notice):
            self.notice.emit(event)
        elif isinstance(event, v.PairingView):
            self.pairing_changed.emit(event)
        elif isinstance(event, v.AccessView):
            self.access_changed.emit(event)
        elif isinstance(event, v.LocalPairingCode):
            self.local_code_changed.emit(event.code)
        elif isinstance(event, v.PlaybackLost):
            self.playback_lost.emit(event)
