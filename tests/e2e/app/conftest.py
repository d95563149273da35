"""Fixtures for the app's end-to-end tests: real receivers on loopback, the real window.

Receivers are `baton-receiver` processes (tests/receivers.py) driven from a helper asyncio
thread; the app runs its own core thread exactly as `baton` does. Any Qt warning or critical
message fails the test that caused it (pytest-qt's qt_log_level_fail, pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from client.app.bridge import Bridge, CoreThread
from client.app.main import LaunchOptions, app_settings
from client.app.settings_store import StoredSettings
from client.app.tv.window import TvWindow
from client.app.window import MainWindow
from client.demo_library import write_demo_library
from tests.receivers import RunningReceiver, start_receiver


@pytest.fixture(autouse=True)
def credentials_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the app's (and the CLI's) credentials in the test's own directory."""
    folder = tmp_path / "config"
    monkeypatch.setenv("BATON_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def helper_loop() -> Iterator[CoreThread]:
    """An asyncio thread for the test's own async work (starting receivers)."""
    thread = CoreThread("test-helper")
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library")
    write_demo_library(folder, seconds=8.0)
    return folder


@pytest.fixture(scope="module")
def receivers(
    helper_loop: CoreThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, RunningReceiver]]:
    """ "Car" (car) and "Bedroom TV" (tv), recording what they play with afile."""
    work = tmp_path_factory.mktemp("receivers")
    started: dict[str, RunningReceiver] = {}
    try:
        for name, kind in (("Car", "car"), ("Bedroom TV", "tv")):
            started[name] = helper_loop.submit(
                start_receiver(work, name, interface="lo", extra=["--type", kind])
            ).result(30)
        yield started
    finally:
        for receiver in started.values():
            helper_loop.submit(receiver.stop()).result(30)


def open_app(qtbot, tmp_path: Path, library: Path, *, tv: bool = False):
    """Start the real bridge and window on the demo library, browsing loopback only."""
    settings = app_settings(
        LaunchOptions(
            music_folder=library,
            device_name="This computer",
            interfaces=("127.0.0.1",),
            local_audio=f"afile:{tmp_path / 'this-computer.wav'}",
            state_dir=tmp_path / "app-state",
            tv=tv,
        ),
        StoredSettings(),
    )
    bridge = Bridge(settings)
    window: MainWindow | TvWindow = (
        TvWindow(bridge, StoredSettings(), cec=False)
        if tv
        else MainWindow(bridge, StoredSettings())
    )
    qtbot.addWidget(window)
    window.resize(1920 if tv else 1280, 1080 if tv else 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    bridge.start()
    return window


@pytest.fixture
def app_window(qtbot, tmp_path: Path, library_dir: Path) -> Iterator[MainWindow]:
    window = open_app(qtbot, tmp_path, library_dir)
    yield window
    window.close()
    window.bridge.close()
