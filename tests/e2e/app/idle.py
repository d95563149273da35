"""A real main window whose bridge never starts: tests feed it what the core would emit.

`RecordingBridge` keeps every request the widgets make (instead of sending it to a core), so a
test sees exactly what a click or a key asked for; `feed_*` emit the bridge's signals as the
core's thread does.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QApplication

from client.app import views as v
from client.app.bridge import Bridge
from client.app.main import LaunchOptions, app_settings
from client.app.settings_store import StoredSettings
from client.app.window import MainWindow
from connect.clock import ClockEstimate, monotonic_us
from connect.wire import messages as m

if TYPE_CHECKING:
    from client.app.tv.window import TvWindow


class RecordingBridge(Bridge):
    """A bridge that records requests as (name, args) instead of running them."""

    def __init__(self, settings: v.AppSettings) -> None:
        super().__init__(settings)
        self.core_thread.loop.close()  # never started: nothing will run on it
        self.requests: list[tuple[str, tuple[Any, ...]]] = []

    def _record(self, name: str, *args: Any) -> None:
        self.requests.append((name, args))

    def play(self, tracks: Any, start: int = 0, device_id: str = "") -> None:
        self._record("play", tracks, start, device_id)

    def enqueue(self, tracks: Any) -> None:
        self._record("enqueue", tracks)

    def command(self, action: m.Action, device_id: str = "") -> None:
        self._record("command", action, device_id)

    def shuffle_all(self, tracks: Any) -> None:
        self._record("shuffle_all", tracks)

    def fetch_queue(self, device_id: str, start: int, stop: int) -> None:
        self._record("fetch_queue", device_id, start, stop)

    def play_next(self, tracks: Any) -> None:
        self._record("play_next", tracks)

    def transfer(self, target_id: str) -> None:
        self._record("transfer", target_id)

    def follow(self, device_id: str) -> None:
        self._record("follow", device_id)

    def prepare_transfer(self) -> None:
        self._record("prepare_transfer")

    def group(self, device_ids: tuple[str, ...]) -> None:
        self._record("group", tuple(device_ids))

    def ungroup(self, device_id: str) -> None:
        self._record("ungroup", device_id)

    def member_volume(self, device_id: str, volume: int) -> None:
        self._record("member_volume", device_id, volume)

    def named(self, name: str) -> list[tuple[Any, ...]]:
        """Return the arguments of every request called *name*, in order."""
        return [args for n, args in self.requests if n == name]


def idle_window(qtbot: Any, tmp_path: Path, *, width: int = 1280) -> MainWindow:
    """Open the real window over a RecordingBridge (no core, no network)."""
    settings = app_settings(
        LaunchOptions(music_folder=None, interfaces=("127.0.0.1",), state_dir=tmp_path),
        StoredSettings(),
    )
    window = MainWindow(RecordingBridge(settings), StoredSettings())
    qtbot.addWidget(window)
    window.resize(width, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return window


def idle_tv_window(qtbot: Any, tmp_path: Path) -> TvWindow:
    """Open the real TV window at 1080p over a RecordingBridge (no core, no CEC, no network)."""
    from client.app.tv.window import TvWindow

    settings = app_settings(
        LaunchOptions(music_folder=None, interfaces=("127.0.0.1",), state_dir=tmp_path, tv=True),
        StoredSettings(),
    )
    window = TvWindow(RecordingBridge(settings), StoredSettings(), cec=False)
    qtbot.addWidget(window)
    window.resize(1920, 1080)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return window


def device(n: int, name: str, kind: m.DeviceType = m.DeviceType.SPEAKER, **kw: Any) -> v.DeviceView:
    """Return an online device view named *name*, id "dev{n}"."""
    values: dict[str, Any] = {
        "id": f"dev{n}", "name": name, "type": kind, "online": True,
        "address": f"127.0.0.1:{40000 + n}", "last_seen": time.time(), "volume": 50,
    }  # fmt: skip
    values.update(kw)
    return v.DeviceView(**values)


def session(
    device_id: str,
    device_name: str,
    items: tuple[m.QueueItem, ...],
    current: str = "",
    **state: Any,
) -> v.SessionView:
    """Return a playing SessionView of *items* on *device_id*."""
    values: dict[str, Any] = {
        "device_id": device_id, "queue": items, "current_uid": current or items[0].uid,
        "clock": m.PlaybackClock(1000, monotonic_us(), 1.0, True),
        "status": m.PlaybackStatus.PLAYING, "active": True, "volume": 40,
    }  # fmt: skip
    values.update(state)
    return v.SessionView(
        device_id, device_name, m.PlaybackState("s", 1, **values), ClockEstimate(0, 100, 5)
    )


def item(uid: str, title: str, artist: str = "", album: str = "Album") -> m.QueueItem:
    """Return a queue item with a 3-minute duration."""
    return m.QueueItem(
        uid=uid, url=f"http://127.0.0.1/{uid}.wav", title=title, artist=artist, album=album,
        duration_ms=180_000,
    )  # fmt: skip
