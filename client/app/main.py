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
from client.app.views import AppSettings
from client.app.window import MainWindow


@dataclass(frozen=True)
class LaunchOptions:
    """What `baton` (or `baton demo`) asks of the app; None: from the settings file."""

    tv: bool | None = None
    music_folder: Path | None = None
    device_name: str | None = None
    interfaces: tuple[str, ...] | None = None
    local_audio: str = "default"
    media_host: str | None = None
    state_dir: Path | None = None
    trace_collector: str | None = None
    trace_user: str | None = None
    exit_after_first_frame: bool = False  # the start-up benchmark
    settings_file: Path | None = None


def app_settings(options: LaunchOptions, stored: StoredSettings) -> AppSettings:
    """Merge the launch options over the stored settings."""
    folder = options.music_folder or (
        Path(stored.music_folder) if stored.music_folder else settings_store.default_music_folder()
    )
    interfaces = options.interfaces if options.interfaces is not None else stored.interfaces
    loopback_only = bool(interfaces) and all(i in ("lo", "127.0.0.1") for i in interfaces)
    return AppSettings(
        music_folder=folder if folder.is_dir() else None,
        device_name=options.device_name
        or stored.device_name
        or settings_store.default_device_name(),
        state_dir=options.state_dir or settings_store.state_dir(),
        interfaces=interfaces,
        local_audio=options.local_audio,
        media_host=options.media_host or ("127.0.0.1" if loopback_only else "0.0.0.0"),  # noqa: S104
        trace_collector=(
            options.trace_collector
            if options.trace_collector is not None
            else stored.trace_collector
        ),
        trace_user=options.trace_user if options.trace_user is not None else stored.trace_user,
        tv=options.tv if options.tv is not None else stored.tv,
    )


def run_app(options: LaunchOptions) -> int:
    """Open the window (or the TV screen) and run until it is closed or Ctrl-C; return the code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Baton")
    app.setDesktopFileName("baton")
    stored = settings_store.load(options.settings_file)
    settings = app_settings(options, stored)
    bridge = Bridge(settings)
    shown = replace(  # the Settings screen shows what this run uses
        stored,
        music_folder=str(settings.music_folder or stored.music_folder),
        device_name=settings.device_name,
        interfaces=settings.interfaces,
        trace_collector=settings.trace_collector,
        trace_user=settings.trace_user,
        tv=settings.tv,
    )
    window = MainWindow(bridge, shown, tv=settings.tv)

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
    # Ctrl-C: Python runs signal handlers only between bytecodes, so wake it now and then.
    previous = signal.signal(signal.SIGINT, lambda *_: app.quit())
    waker = QTimer()
    waker.start(200)
    waker.timeout.connect(lambda: None)
    app.aboutToQuit.connect(bridge.close)
    bridge.start()  # its core imports and starts on its own thread while the window paints
    if settings.tv:
        window.showFullScreen()
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
