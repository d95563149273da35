"""The desktop's media controls: Debian's `playerctl` drives the real app over MPRIS 2 on a
private session bus (its own `dbus-daemon`, offscreen Qt), and a track change raises a desktop
notification on a fake notification service on that bus while the window is in the background.

The app plays the demo album on "This computer" (libVLC writing to a WAV file), so every
command goes through the real core, session and receiver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client.app.bridge import CoreThread
from connect.wire import messages as m
from tests.e2e.app.conftest import open_app
from tests.e2e.app.notifications import watch_seeked

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("dbus-daemon") and shutil.which("playerctl")),
        reason="needs dbus-daemon and playerctl (./dev installs them)",
    ),
]

PLAYER = ["playerctl", "--player=baton"]


@pytest.fixture
def session_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private session bus (dbus-daemon), its address in DBUS_SESSION_BUS_ADDRESS."""
    socket = tmp_path / "bus"
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1",
         f"--address=unix:path={socket}"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()  # printed once the bus listens
    assert address.startswith("unix:"), address
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    try:
        yield address
    finally:
        daemon.terminate()
        daemon.wait(10)
        daemon.stdout.close()


class FakeNotifications:
    """org.freedesktop.Notifications on the private bus, keeping every Notify call."""

    def __init__(self, address: str, loop: CoreThread) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._loop = loop
        self._bus = loop.submit(self._start(address)).result(10)

    async def _start(self, address: str) -> Any:
        from dbus_fast.aio import MessageBus

        from tests.e2e.app.notifications import NotificationService

        bus = await MessageBus(bus_address=address).connect()
        bus.export("/org/freedesktop/Notifications", NotificationService(self.calls))
        await bus.request_name("org.freedesktop.Notifications")
        return bus

    def close(self) -> None:
        self._bus.disconnect()


def ctl(*args: str) -> str:
    """Run playerctl against the app; return its output."""
    done = subprocess.run(
        [*PLAYER, *args], capture_output=True, text=True, timeout=10, env=os.environ.copy()
    )
    assert done.returncode == 0, f"playerctl {args}: {done.stderr}"
    return done.stdout.strip()


def wait_for(condition, timeout: float = 10.0, what: str = "") -> None:
    """Poll *condition* (playerctl is another process: no signal to wait on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_playerctl_controls_the_desktop_app(qtbot, tmp_path, library_dir, session_bus, helper_loop):
    notifications = FakeNotifications(session_bus, helper_loop)
    seeked: list[int] = []
    watcher = helper_loop.submit(watch_seeked(session_bus, seeked)).result(10)
    window = open_app(qtbot, tmp_path, library_dir)
    try:
        qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
        qtbot.waitUntil(lambda: window.bridge.media_controls is not None, timeout=10_000)
        qtbot.waitUntil(
            lambda: any(d.is_local and d.online and d.info for d in window.devices.views()),
            timeout=10_000,
        )
        window.bridge.window_active = False  # in the background: track changes notify
        album = window.albums.albums()[0]
        window.bridge.play(album.tracks, 0)

        def state() -> m.PlaybackState | None:
            return window.session.state if window.session else None

        qtbot.waitUntil(lambda: state() is not None and state().clock.playing, timeout=10_000)
        wait_for(lambda: ctl("status") == "Playing", what="Playing")
        assert ctl("metadata", "title") == album.tracks[0].title
        assert ctl("metadata", "artist") == album.artist
        assert ctl("metadata", "album") == album.title
        art = ctl("metadata", "mpris:artUrl")
        assert art.startswith("file://")
        assert Path(art.removeprefix("file://")).is_file()
        wait_for(lambda: len(notifications.calls) == 1, what="the first track's notification")
        assert notifications.calls[0][3] == album.tracks[0].title  # summary: the title

        ctl("pause")
        qtbot.waitUntil(lambda: not state().clock.playing, timeout=10_000)
        assert ctl("status") == "Paused"
        ctl("play")
        qtbot.waitUntil(lambda: state().clock.playing, timeout=10_000)

        ctl("volume", "0.3")
        qtbot.waitUntil(lambda: state().volume == 30, timeout=10_000)
        assert float(ctl("volume")) == pytest.approx(0.3)

        ctl("position", "5")  # seconds: a Seek, and MPRIS's Seeked
        qtbot.waitUntil(lambda: abs(window.position.position_ms() - 5000) < 1500, timeout=10_000)
        assert 4.0 <= float(ctl("position")) <= 7.0
        wait_for(lambda: any(4_000_000 <= p <= 6_000_000 for p in seeked), what="Seeked")

        ctl("shuffle", "On")
        qtbot.waitUntil(lambda: state().shuffle, timeout=10_000)
        ctl("loop", "Track")
        qtbot.waitUntil(lambda: state().repeat is m.RepeatMode.ONE, timeout=10_000)
        ctl("loop", "None")
        qtbot.waitUntil(lambda: state().repeat is m.RepeatMode.OFF, timeout=10_000)

        first = state().current_uid
        ctl("next")
        qtbot.waitUntil(lambda: state().current_uid != first, timeout=10_000)
        title = state().current_item.title
        wait_for(lambda: ctl("metadata", "title") == title, what="the next title")
        wait_for(lambda: len(notifications.calls) == 2, what="the next track's notification")
        assert notifications.calls[1][3] == title
        assert notifications.calls[1][1] != 0  # it replaces the first, never piles up

        window.bridge.media_controls.notify = False  # the setting, off
        second = state().current_uid
        ctl("previous")
        qtbot.waitUntil(lambda: state().current_uid != second, timeout=10_000)
        wait_for(lambda: ctl("metadata", "title") != title, what="the previous title")
        assert len(notifications.calls) == 2
    finally:
        window.close()
        window.bridge.close()
        notifications.close()
        watcher.disconnect()
