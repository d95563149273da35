"""Start the app: QApplication, the bridge and its core thread, the window; stop it all cleanly."""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from client.app import settings_store
from client.app.bridge import Bridge
from client.app.settings_store import StoredSettings
from client.app.tv.screen import ScreenFiller
from client.app.tv.window import TvWindow
from client.app.views import AppSettings, LibraryLoaded, LibraryProgress, Notice
from client.app.window import MainWindow


@dataclass(frozen=True)
class LaunchOptions:
    """What `baton` (or `baton demo`) asks of the app; None: from the settings file."""

    tv: bool | None = None
    music_folder: Path | None = None
    device_name: str | None = None
    interfaces: tuple[str, ...] | None = None
    local_audio: str = "default"
    state_dir: Path | None = None
    trace_collector: str | None = None
    trace_user: str | None = None
    trace_token: str | None = None
    exit_after_first_frame: bool = False  # the start-up benchmark
    exit_after_library: bool = False  # the 10 000-track benchmark
    settings_file: Path | None = None


def app_settings(options: LaunchOptions, stored: StoredSettings) -> AppSettings:
    """Merge the launch options over the stored settings."""
    folder = options.music_folder or (
        Path(stored.music_folder) if stored.music_folder else settings_store.default_music_folder()
    )
    interfaces = options.interfaces if options.interfaces is not None else stored.interfaces
    return AppSettings(
        music_folder=folder if folder.is_dir() else None,
        device_name=options.device_name
        or stored.device_name
        or settings_store.default_device_name(),
        state_dir=options.state_dir or settings_store.state_dir(),
        interfaces=interfaces,
        local_audio=options.local_audio,
        trace_collector=(
            options.trace_collector
            if options.trace_collector is not None
            else stored.trace_collector
        ),
        trace_user=options.trace_user if options.trace_user is not None else stored.trace_user,
        trace_token=options.trace_token if options.trace_token is not None else stored.trace_token,
        tv=options.tv if options.tv is not None else stored.tv,
        notify_tracks=stored.notify_tracks,
    )


def run_app(options: LaunchOptions) -> int:
    """Open the window (or the TV screen) and run until it is closed or Ctrl-C; return the code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Baton")
    app.setDesktopFileName("baton")
    stored = settings_store.load(options.settings_file)
    settings = app_settings(options, stored)
    cached = None
    if settings.music_folder is not None:
        from client.app.library_loader import read_cache_early

        cached = read_cache_early(settings.state_dir, settings.music_folder)
    bridge = Bridge(settings, cached_library=cached)
    shown = replace(  # the Settings screen shows what this run uses
        stored,
        music_folder=str(settings.music_folder or stored.music_folder),
        device_name=settings.device_name,
        interfaces=settings.interfaces,
        trace_collector=settings.trace_collector,
        trace_user=settings.trace_user,
        trace_token=settings.trace_token,
        tv=settings.tv,
    )
    window: MainWindow | TvWindow
    window = TvWindow(bridge, shown) if settings.tv else MainWindow(bridge, shown)
    if stored.problem:  # the app runs on the defaults; the file is left for the user to fix
        window.settings.show_status(stored.problem, error=True)
        window.show_notice(Notice(stored.problem, error=True))

    def save(values: StoredSettings) -> None:
        try:
            path = settings_store.save(values, options.settings_file)
        except OSError as exc:
            window.settings.show_status(f"Could not save: {exc}", error=True)
            return
        window.settings.show_status(f"Saved to {path}")
        if values.music_folder and Path(values.music_folder) != settings.music_folder:
            bridge.set_music_folder(Path(values.music_folder))

    window.settings_saved.connect(save)
    if options.exit_after_first_frame:
        window.first_frame.connect(lambda: print("first frame", flush=True))
        window.first_frame.connect(app.quit)
    if options.exit_after_library:
        report_library(app, window, bridge)
    # Ctrl-C: Python runs signal handlers only between bytecodes, so wake it now and then.
    previous = signal.signal(signal.SIGINT, lambda *_: app.quit())
    waker = QTimer()
    waker.start(200)
    waker.timeout.connect(lambda: None)
    app.aboutToQuit.connect(bridge.close)
    bridge.start()  # its core imports and starts on its own thread while the window paints
    if settings.tv:
        ScreenFiller(window).show()  # the whole screen, even with no window manager
    else:
        window.resize(1280, 800)
        window.show()
    try:
        code = app.exec()
    finally:
        bridge.close()
        signal.signal(signal.SIGINT, previous)
        window.close()
    return int(code)


def report_library(app: QApplication, window: MainWindow | TvWindow, bridge: Bridge) -> None:
    """For the benchmark: print "library shown N" once a library of N tracks is painted, and
    "library scanned" when the background scan is over (the cache written); quit after both."""
    done = {"shown": False, "scanned": False}

    def finish(what: str) -> None:
        done[what] = True
        if all(done.values()):
            QTimer.singleShot(0, app.quit)

    def loaded(event: LibraryLoaded) -> None:
        tracks = len(event.library.tracks)
        if tracks:
            window.repaint()  # painted, not only handed over
            print(f"library shown {tracks}", flush=True)
            finish("shown")

    def progress(event: LibraryProgress) -> None:
        if event.done == event.total:
            print("library scanned", flush=True)
            finish("scanned")

    bridge.library_loaded.connect(loaded)
    bridge.library_progress.connect(progress)
