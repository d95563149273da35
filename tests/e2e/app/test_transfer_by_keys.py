"""Keys only: play an album on this computer, walk to Car on the Devices screen, transfer.

The receivers are real `baton-receiver` processes on loopback; the Car's afile recording
proves the music moved there, and the app shows the transfer's result with its timings.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from client.app import views as v
from tests.audio import audible_duration_ms, read_wav
from tests.e2e.app.keys import focused, press, walk_to

pytestmark = pytest.mark.slow

OK = Qt.Key.Key_Return


def _online(window, name: str) -> bool:
    return any(d.name == name and d.online and d.info for d in window.devices.views())


def test_keys_only_play_here_then_transfer_to_car(qtbot, app_window, receivers):
    window = app_window
    car = receivers["Car"]
    qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
    qtbot.waitUntil(lambda: _online(window, "This computer"), timeout=10_000)
    qtbot.waitUntil(lambda: _online(window, "Car"), timeout=10_000)

    # Library: the first album, its Play button (focused when the album opens), OK.
    walk_to(window, "album-0")
    press(OK)
    assert focused() == "play-album"
    press(OK)
    qtbot.waitUntil(
        lambda: (
            window.session is not None
            and window.session.device_name == "This computer"
            and window.session.state.clock.playing
        ),
        timeout=10_000,
    )
    assert window.current_screen() == "now-playing"

    # The rail, down to Devices, OK; then right to Car's "Transfer here", OK.
    walk_to(window, "nav-devices")
    press(OK)
    assert window.current_screen() == "devices"
    qtbot.waitUntil(lambda: window.devices_screen.cards[car.device_id].button.isEnabled())
    walk_to(window, "transfer-Car")
    with qtbot.waitSignal(
        window.bridge.transfer_changed,
        timeout=15_000,
        check_params_cb=lambda t: t.phase is not v.TransferPhase.RUNNING,
    ) as outcome:
        press(OK)
    transfer = outcome.args[0]
    assert transfer.phase is v.TransferPhase.DONE, transfer.message
    assert transfer.timings is not None
    qtbot.waitUntil(lambda: window.session is not None and window.session.device_name == "Car")
    card = window.devices_screen.cards[car.device_id]
    qtbot.waitUntil(lambda: card.button.text() == "Playing here")
    QApplication.processEvents()  # a lost focus is recovered on the next turn: let it run

    # Focus stays on the device just chosen, and a second OK does not move the music again.
    assert focused() == "transfer-Car"
    with qtbot.assertNotEmitted(window.devices_screen.transfer_requested):
        press(OK)
    # Words for listeners; the figures are behind "Details".
    assert window.devices_screen.banner_text.text() == "Playing on Car"
    walk_to(window, "transfer-details-button")
    press(OK)
    details = window.devices_screen.details
    qtbot.waitUntil(details.isVisible)
    assert "audible" in details.lines.text().lower()
    assert focused() == "details-close"
    press(Qt.Key.Key_Escape)
    assert not details.isVisible()
    assert focused() == "transfer-details-button"

    # The Car really plays: its recording fills with the album's audio.
    qtbot.waitUntil(
        lambda: car.recording.exists() and audible_duration_ms(read_wav(car.recording)) >= 500,
        timeout=10_000,
    )

    # A remote's play/pause key pauses the Car; Back from a screen chosen in the rail goes
    # home (the Library), not through every screen visited.
    press(Qt.Key.Key_MediaTogglePlayPause)
    qtbot.waitUntil(lambda: not window.session.state.clock.playing, timeout=5_000)
    press(Qt.Key.Key_Escape)
    assert window.current_screen() == "library"


@pytest.mark.warning_logs(r"offline: .*closed by the device")
def test_a_failed_transfer_says_why_and_the_music_stays(qtbot, app_window, receivers, helper_loop):
    window = app_window
    tv = receivers["Bedroom TV"]
    qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
    qtbot.waitUntil(lambda: _online(window, "This computer"), timeout=10_000)
    qtbot.waitUntil(lambda: _online(window, "Bedroom TV"), timeout=10_000)
    here = next(d for d in window.devices.views() if d.is_local)
    window.bridge.play(window.albums.albums()[1].tracks, 0, device_id=here.id)
    qtbot.waitUntil(
        lambda: (
            window.session is not None
            and window.session.device_id == here.id
            and window.session.state.clock.playing
        ),
        timeout=10_000,
    )
    helper_loop.submit(tv.kill()).result(10)  # the TV loses power just as the listener asks
    with qtbot.waitSignal(
        window.bridge.transfer_changed,
        timeout=20_000,
        check_params_cb=lambda t: t.phase is not v.TransferPhase.RUNNING,
    ) as outcome:
        window.bridge.transfer(tv.device_id)
    assert outcome.args[0].phase is v.TransferPhase.FAILED
    text = window.devices_screen.banner_text.text()
    assert text.startswith("Could not move to Bedroom TV")
    assert "stays on This computer" in text
    session = window.session
    assert session is not None
    assert session.device_name == "This computer"
    assert session.state.clock.playing
