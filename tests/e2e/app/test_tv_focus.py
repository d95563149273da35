"""The TV layout by keys: cards grow in place, the top bar and the rows answer each other,
the remote's own keys (device picker, Now playing, home) work from any page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from client.app.tv.window import TvWindow
from tests.e2e.app.conftest import open_app
from tests.e2e.app.keys import focused, press

UP, DOWN, OK, BACK = Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Escape


@pytest.fixture
def tv(qtbot, tmp_path: Path, library_dir: Path) -> Iterator[TvWindow]:
    window = open_app(qtbot, tmp_path, library_dir, tv=True)
    assert isinstance(window, TvWindow)
    qtbot.waitUntil(lambda: len(window.home.albums.cards) == 3, timeout=10_000)
    qtbot.waitUntil(
        lambda: all(c.isVisibleTo(window) for c in window.home.albums.cards), timeout=10_000
    )
    qtbot.waitUntil(lambda: any(d.online for d in window.devices.views()), timeout=10_000)
    yield window
    window.close()
    window.bridge.close()


def test_a_focused_card_grows_in_place_and_shows_its_title(qtbot, tv):
    card = tv.home.albums.cards[1]
    size, where = card.size(), card.mapTo(tv, card.rect().topLeft())
    before = card.grab().toImage()
    tv.move_focus(card)
    qtbot.waitUntil(card.hasFocus)
    after = card.grab().toImage()
    # The widget (and so the row's layout and the navigation geometry) does not change...
    assert card.size() == size
    assert card.mapTo(tv, card.rect().topLeft()) == where
    # ...the cover is drawn bigger (its corner reaches the widget's corner) and titled.
    inset = (card.width() - card.px.art) // 2
    corner = (inset // 2, card.width() // 2)
    assert before.pixelColor(*corner) != after.pixelColor(*corner)
    title_row = card.width() + card.px.gap // 3 + 8
    assert any(
        after.pixelColor(x, title_row) != before.pixelColor(x, title_row)
        for x in range(0, card.width(), 4)
    )


def test_up_from_a_row_enters_the_top_bar_at_the_page_shown_and_down_comes_back(qtbot, tv):
    card = tv.home.albums.cards[2]
    tv.move_focus(card)
    press(UP)
    assert focused() == "tab-home"  # the page shown, not the device chip over the card
    press(DOWN)
    assert focused() == card.objectName()  # the row remembers where it was left
    press(BACK)  # Back on the home page goes to the top bar...
    assert focused() == "tab-home"
    press(BACK)  # ...and stays there (nothing behind home)
    assert tv.current_page() == "home"


def test_the_remotes_own_keys_work_from_any_page(qtbot, tv):
    tv.open_album(tv.albums.albums()[0])
    assert focused() == "play-album"
    press(Qt.Key.Key_Menu)  # the device picker, over the album page
    qtbot.waitUntil(tv.picker.isVisible)
    assert focused() == "pick-This computer"  # nothing plays yet: the first device
    press(BACK)
    assert not tv.picker.isVisible()
    assert focused() == "play-album"  # back where it was opened
    press(Qt.Key.Key_Info)
    assert tv.current_page() == "now-playing"
    assert not tv.topbar.isVisible()  # Now playing is full screen
    assert focused() == "tv-np-play"
    press(Qt.Key.Key_Green)  # the green key opens the picker too
    qtbot.waitUntil(tv.picker.isVisible)
    press(Qt.Key.Key_Red)  # home, closing the picker on the way
    assert not tv.picker.isVisible()
    assert tv.current_page() == "home"
    assert focused() == "tab-home"
    press(Qt.Key.Key_Blue)
    assert tv.current_page() == "settings"
    press(BACK)
    assert tv.current_page() == "home"


def test_settings_has_no_control_that_needs_a_pointer(tv):
    tv.open_tab("settings")
    QApplication.processEvents()
    assert not tv.settings.browse.isVisible()  # "Choose…" opens a file dialog: pointer only


def test_this_tv_is_a_tv_to_every_controller(qtbot, tv):
    from connect.wire import messages as m

    qtbot.waitUntil(
        lambda: any(d.is_local and d.info is not None for d in tv.devices.views()),
        timeout=10_000,
    )
    here = next(d for d in tv.devices.views() if d.is_local)
    assert here.type is m.DeviceType.TV  # its own receiver says "tv", not "computer"
    assert here.info is not None
    assert here.info.type is m.DeviceType.TV
    qtbot.waitUntil(lambda: here.id in tv.home.device_cards)  # the row follows the list
    card = tv.home.device_cards[here.id]
    qtbot.waitUntil(lambda: card.subtitle == "This TV · ready")
    assert card.title == "This computer"  # its name, with nothing appended


def test_a_tv_raises_no_desktop_notifications(qtbot, tv):
    # The TV shows what plays full screen; MPRIS stays (playerctl on a Pi still works).
    qtbot.waitUntil(lambda: tv.bridge.media_controls is not None, timeout=10_000)
    assert tv.bridge.settings.notify_tracks  # the stored setting is on...
    assert not tv.bridge.media_controls.notify  # ...but a TV never notifies
