"""The playing device leaves (shut down, or its power cut): the app says so at once and
offers to play the music elsewhere; one OK moves it, from near where it stopped.

The device is a real `baton-receiver` on loopback; "This computer" takes over.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from client.app.bridge import CoreThread
from tests.e2e.app.keys import focused, press
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def garage(helper_loop: CoreThread, tmp_path: Path) -> Iterator[RunningReceiver]:
    """ "Garage", a speaker of its own: the test stops it."""
    receiver = helper_loop.submit(start_receiver(tmp_path, "Garage", interface="lo")).result(30)
    yield receiver
    helper_loop.submit(receiver.stop()).result(30)


@pytest.mark.warning_logs(r"offline: ")  # the registry's word for the device leaving
@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("shut down", "switched off or restarted"),  # SIGTERM: it says goodbye
        ("killed", "connection closed"),  # SIGKILL: its sockets close with it
        ("silent", "stopped answering"),  # SIGSTOP: no goodbye, no close, no heartbeat
    ],
)
def test_the_playing_device_leaving_is_said_at_once_and_the_music_moves_with_one_ok(
    qtbot, app_window, garage, helper_loop, how, words
):
    window = app_window
    views = window.devices.views
    qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
    qtbot.waitUntil(
        lambda: (
            any(d.is_local and d.online for d in views())
            and any(d.id == garage.device_id and d.online and d.info for d in views())
        ),
        timeout=10_000,
    )
    album = window.albums.albums()[0]
    window.bridge.play(album.tracks, 1, device_id=garage.device_id)
    qtbot.waitUntil(
        lambda: (
            window.session is not None
            and window.session.device_id == garage.device_id
            and window.session.position_ms() > 300
        ),
        timeout=10_000,
    )
    playing_uid = window.session.state.current_uid

    with qtbot.waitSignal(window.bridge.playback_lost, timeout=10_000) as lost:
        if how == "shut down":
            helper_loop.submit(garage.stop()).result(30)
        elif how == "killed":
            helper_loop.submit(garage.kill()).result(30)
        else:  # a power cut as the network sees it: the heartbeat goes unanswered (3 s)
            os.kill(garage.process.pid, signal.SIGSTOP)
    if how == "silent":
        os.kill(garage.process.pid, signal.SIGCONT)
        helper_loop.submit(garage.kill()).result(30)
    stopped = lost.args[0]
    assert stopped.device_name == "Garage"
    assert stopped.state.current_uid == playing_uid

    panel = window.device_lost
    qtbot.waitUntil(panel.isVisible)
    assert panel.title.text() == "Garage went away"
    assert words in panel.what.text()
    assert garage.device_id not in panel.what.text()  # the listener's words, not the log's
    # The progress bar stops with the music: the stopped session follows the signal, queued.
    qtbot.waitUntil(lambda: not window.session.state.clock.playing, timeout=2000)
    assert focused() == "resume-This computer"  # one OK from moving the music here
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: (
            window.session is not None
            and window.session.device_name == "This computer"
            and window.session.state.clock.playing
        ),
        timeout=10_000,
    )
    assert window.session.state.current_uid == playing_uid
    assert window.session.position_ms() >= stopped.position_ms - 100
    assert not panel.isVisible()
