"""What a new user hit on a first tour, by keys: the rail, Left, Back, words, messages, panels.

Each test fails on the app as it was before the fix (see the commit that added it).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from client.app import theme
from client.app import views as v
from client.app.models import DeviceListModel
from client.app.screens.devices import DevicesScreen
from client.app.window import MainWindow
from client.navigation import ensure_visible
from connect.wire import messages as m
from tests.e2e.app.keys import focused, press

LEFT, BACK = Qt.Key.Key_Left, Qt.Key.Key_Escape


def _ready(qtbot, window: MainWindow) -> None:
    """Wait for the album grid, laid out and shown (a rebuilt grid's buttons show a turn late)."""
    qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
    qtbot.waitUntil(
        lambda: (
            (buttons := getattr(window.library, "album_buttons", []))
            and all(b.isVisibleTo(window) for b in buttons)
        ),
        timeout=10_000,
    )


def _local_card(qtbot, window: MainWindow):
    """Return This computer's card once it is listed, online and shown."""
    cards = window.devices_screen.cards

    def shown():
        return next(
            (c for c in cards.values() if c.view.is_local and c.view.online and c.isVisible()),
            None,
        )

    qtbot.waitUntil(lambda: shown() is not None, timeout=10_000)
    return shown()


def test_entering_the_rail_focuses_the_page_shown_not_the_last_used(qtbot, app_window):
    window = app_window
    _ready(qtbot, window)
    window.open_from_rail("settings")
    window.move_focus(window.settings.save_button)
    press(LEFT)
    assert focused() == "nav-settings"
    # The pointer (or a program) opens the Library; Left from an album enters the rail at
    # "Library", the page shown, not at "Settings", the rail button used last.
    window.open_from_rail("library")
    window.move_focus(window.library.album_buttons[0])
    press(LEFT)
    assert focused() == "nav-library"


def test_left_from_a_devices_button_goes_to_the_rail_not_the_address_field(qtbot, app_window):
    window = app_window
    window.open_from_rail("devices")
    window.move_focus(_local_card(qtbot, window).button)
    press(LEFT)
    assert focused() == "nav-devices"


def test_back_from_the_library_grid_goes_to_the_rail_not_to_settings(qtbot, app_window):
    window = app_window
    _ready(qtbot, window)
    window.open_from_rail("settings")
    window.open_from_rail("library")
    window.move_focus(window.library.album_buttons[1])
    press(BACK)
    assert window.current_screen() == "library"
    assert focused() == "nav-library"
    press(BACK)  # Back at home, on the rail: nothing else to go back to
    assert window.current_screen() == "library"
    # A page opened from content goes back to it, with its focus: the album's page, then Now
    # playing (as Play opens it), then Back.
    window.move_focus(window.library.album_buttons[1])
    press(Qt.Key.Key_Return)
    assert focused() == "play-album"
    window.show_screen("now-playing")
    press(BACK)
    assert window.current_screen() == "library"
    assert focused() == "play-album"


def test_a_confirmation_says_tracks_and_goes_when_the_page_changes(qtbot, app_window):
    window = app_window
    _ready(qtbot, window)
    album = window.albums.albums()[0]
    toast = window.notice_label
    window._enqueue(album.tracks[:1])
    assert toast.text() == f"Added “{album.tracks[0].title}” to the queue"
    assert toast.isVisible()
    window._enqueue(album.tracks[:3])
    assert toast.text() == "Added 3 tracks to the queue"
    window.open_from_rail("devices")
    assert not toast.isVisible()
    # An error stays its time: it is still news on the next page.
    window.show_notice(v.Notice("Car: device refused", error=True))
    window.open_from_rail("settings")
    assert toast.isVisible()
    # The toast floats: the page under it does not move.
    assert window.notice_label.parentWidget() is window
    assert window.stack.geometry().top() == 0


def test_the_keypad_dims_the_whole_window_sidebar_included(qtbot, app_window):
    window = app_window
    window.open_from_rail("devices")
    locked = v.DeviceView(
        "k", "Kitchen", m.DeviceType.SPEAKER, True, "127.0.0.1:1", 0.0,
        access=v.Access.NEEDS_PAIRING,
    )  # fmt: skip
    keypad = window.devices_screen.keypad
    keypad.ask(locked)
    qtbot.waitUntil(keypad.isVisible)
    assert keypad.parentWidget() is window
    assert keypad.geometry() == window.rect()
    assert keypad.geometry().contains(window.rail.geometry())
    press(BACK)
    assert not keypad.isVisible()


def _card_screen(qtbot) -> tuple[DevicesScreen, DeviceListModel]:
    model = DeviceListModel()
    screen = DevicesScreen(theme.DESKTOP, model)
    qtbot.addWidget(screen)
    screen.resize(1000, 900)
    screen.show()
    return screen, model


def test_cards_say_what_a_device_is_and_does_in_words(qtbot):
    screen, model = _card_screen(qtbot)
    sofa = v.DeviceView("sofa", "Sofa TV", m.DeviceType.TV, True, "127.0.0.1:1", 0.0, True)
    study = v.DeviceView("me", "Study", m.DeviceType.COMPUTER, True, "127.0.0.1:2", 0.0, True)
    car = v.DeviceView(
        "car", "Car", m.DeviceType.CAR, True, "127.0.0.1:3", 0.0,
        active=True, status=m.PlaybackStatus.PAUSED,
    )  # fmt: skip
    tv = v.DeviceView(
        "tv", "Bedroom TV", m.DeviceType.TV, True, "127.0.0.1:4", 0.0,
        active=True, status=m.PlaybackStatus.PLAYING,
    )  # fmt: skip
    for view in (sofa, study, car, tv):
        model.put(view)
    screen.set_followed("car", m.QueueItem("a", "http://h/a.mp3"))
    qtbot.waitUntil(lambda: len(screen.cards) == 4)
    cards = screen.cards
    assert cards["sofa"].name.text() == "Sofa TV"  # no "  (this computer)" appended
    assert cards["sofa"].state.text() == "This TV · ready"
    assert cards["me"].state.text() == "This computer · ready"
    assert cards["car"].state.text() == "Car · paused"  # not "active"
    assert cards["tv"].state.text() == "TV · playing something else"


def test_the_help_panel_says_connected_and_counts_last_seen_on(qtbot):
    screen, model = _card_screen(qtbot)
    now = [1_000_000.0]
    screen.wall_clock = lambda: now[0]
    info = m.DeviceInfo(
        "car", "Car", m.DeviceType.CAR, m.VersionRange(m.ProtocolVersion(1), m.ProtocolVersion(1))
    )
    model.put(
        v.DeviceView("car", "Car", m.DeviceType.CAR, True, "127.0.0.1:3", 999_000.0, info=info)
    )
    model.put(v.DeviceView("tv", "Bedroom TV", m.DeviceType.TV, False, "127.0.0.1:4", now[0] - 43))
    qtbot.waitUntil(lambda: "Bedroom TV: last seen 43 s ago" in screen.help_seen.text())
    assert "Car: connected, at 127.0.0.1:3" in screen.help_seen.text()
    now[0] += 120  # the panel counts on by itself while it is shown
    qtbot.waitUntil(lambda: "Bedroom TV: last seen 2 min ago" in screen.help_seen.text())


def test_the_status_strip_never_moves_the_device_list(qtbot):
    screen, model = _card_screen(qtbot)
    model.put(v.DeviceView("car", "Car", m.DeviceType.CAR, True, "127.0.0.1:3", 0.0))
    qtbot.waitUntil(lambda: "car" in screen.cards)
    QApplication.processEvents()
    card = screen.cards["car"]
    where = card.mapTo(screen, card.rect().topLeft())
    timings = m.TransferTimings(150, 60, 210, -37_600, 3)
    for transfer in (
        v.TransferView("me", "car", "Car", v.TransferPhase.RUNNING, "Moving to Car…"),
        v.TransferView("me", "car", "Car", v.TransferPhase.DONE, "Playing on Car", timings, 240),
        v.TransferView("me", "car", "Car", v.TransferPhase.FAILED, "Car did not answer in time; "
                       "the music stays on This computer, which keeps playing as before"),
    ):  # fmt: skip
        screen.show_transfer(transfer)
        QApplication.processEvents()
        assert card.mapTo(screen, card.rect().topLeft()) == where, transfer.phase
    assert screen.banner_text.text().startswith("Could not move to Car")
    # What plays now, in words; a finished move's figures are behind Details.
    state = m.PlaybackState(
        "s", 1, "car", (m.QueueItem("a", "http://h/a.mp3", "A"),), "a",
        m.PlaybackClock(0, 0, playing=True), m.PlaybackStatus.PLAYING,
    )  # fmt: skip
    screen.show_transfer(
        v.TransferView("me", "car", "Car", v.TransferPhase.DONE, "Playing on Car", timings, 240)
    )
    screen.set_session(v.SessionView("car", "Car", state, None))
    assert screen.banner_text.text() == "Playing on Car"
    assert screen.banner.details.isVisibleTo(screen)
    stopped = m.PlaybackState("s", 2, "car", state.queue, "a")
    screen.set_session(v.SessionView("car", "Car", stopped, None))
    assert screen.banner_text.text() == "Nothing is playing"  # not "Playing on Car" still
    assert not screen.banner.details.isVisibleTo(screen)
    assert card.mapTo(screen, card.rect().topLeft()) == where


@pytest.mark.parametrize("width", [700, 1000])
def test_the_firewall_hint_wraps_and_is_shown_with_the_last_button(qtbot, width):
    screen, model = _card_screen(qtbot)
    screen.resize(width, 500)
    for n in range(6):
        model.put(v.DeviceView(f"d{n}", f"Speaker {n}", m.DeviceType.SPEAKER, True, f"h:{n}", 0.0))
    ports = tuple(f"TCP {43210 + n} on Speaker {n} (its session)" for n in range(6))
    screen.show_diagnostics(v.Diagnostics(("wlan0 (192.168.1.5)",), None, "not run", ports))
    qtbot.waitUntil(lambda: len(screen.cards) == 6)
    qtbot.waitUntil(lambda: all(c.isVisible() for c in screen.cards.values()))
    QApplication.processEvents()  # the list's new layout
    ensure_visible(screen.test_button, 48)  # as the navigator does when focus gets there
    QApplication.processEvents()
    hint = screen.help_ports
    assert hint.wordWrap()
    viewport = hint.parentWidget()
    while viewport is not None and viewport.objectName() != "qt_scrollarea_viewport":
        viewport = viewport.parentWidget()
    assert viewport is not None
    shown = viewport.rect()
    top_left = hint.mapTo(viewport, hint.rect().topLeft())
    bottom_right = hint.mapTo(viewport, hint.rect().bottomRight())
    assert shown.contains(top_left)
    assert shown.contains(bottom_right)
    assert hint.height() >= hint.heightForWidth(hint.width())


def test_now_playing_never_says_playing_once_the_queue_ended(qtbot):
    from client.app.queue_model import QueueModel
    from client.app.screens.now_playing import NowPlayingScreen

    screen = NowPlayingScreen(theme.DESKTOP, QueueModel())
    qtbot.addWidget(screen)
    item = m.QueueItem("a", "http://h/a.mp3", "A")
    playing = m.PlaybackState(
        "s", 1, "tv", (item,), "a", m.PlaybackClock(0, 0, playing=True), m.PlaybackStatus.PLAYING
    )
    screen.set_session(v.SessionView("tv", "Bedroom TV", playing, None), None, "tv")
    assert screen.device.text() == "Playing on Bedroom TV"
    ended = m.PlaybackState("s", 2, "tv", (item,), "", status=m.PlaybackStatus.STOPPED)
    screen.set_session(v.SessionView("tv", "Bedroom TV", ended, None), None, "tv")
    assert screen.device.text() == "On Bedroom TV"
