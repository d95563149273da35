"""A real grid of buttons driven by remote keys: moves, skips, OK, long press, media, repeat."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from client.navigation import MediaAction
from tests.e2e.navigation.conftest import button, focused_name, press, release, show


@pytest.fixture
def grid(qtbot, screen, navigator) -> dict[str, QPushButton]:
    buttons = {
        f"r{r}c{c}": button(screen, f"r{r}c{c}", 40 + 140 * c, 40 + 100 * r)
        for r in range(3)
        for c in range(4)
    }
    show(qtbot, screen)
    screen.setFocus()
    return buttons


def test_nothing_focused_then_any_arrow_focuses_the_top_left_item(qtbot, grid):
    assert focused_name() in (None, "")
    press(qtbot, Qt.Key.Key_Down)
    assert focused_name() == "r0c0"


def test_arrows_move_through_the_grid(qtbot, grid):
    grid["r0c0"].setFocus()
    for key, expected in [
        (Qt.Key.Key_Right, "r0c1"),
        (Qt.Key.Key_Down, "r1c1"),
        (Qt.Key.Key_Down, "r2c1"),
        (Qt.Key.Key_Right, "r2c2"),
        (Qt.Key.Key_Up, "r1c2"),
        (Qt.Key.Key_Left, "r1c1"),
    ]:
        press(qtbot, key)
        assert focused_name() == expected


def test_hidden_and_disabled_buttons_are_skipped(qtbot, grid):
    grid["r0c1"].hide()
    grid["r0c2"].setEnabled(False)
    grid["r0c0"].setFocus()
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "r0c3"


def test_at_the_edge_focus_stays_and_no_target_is_signalled(qtbot, grid, navigator):
    grid["r0c3"].setFocus()
    with qtbot.waitSignal(navigator.no_target, timeout=1000) as blocker:
        press(qtbot, Qt.Key.Key_Right)
    assert blocker.args[0].value == "right"
    assert focused_name() == "r0c3"


def test_ok_clicks_the_focused_button_on_release(qtbot, grid, navigator):
    grid["r1c1"].setFocus()
    with qtbot.waitSignal(grid["r1c1"].clicked, timeout=1000):
        press(qtbot, Qt.Key.Key_Return)


def test_long_press_fires_once_and_suppresses_the_click(qtbot, grid, navigator, clock):
    grid["r1c1"].setFocus()
    clicks: list[bool] = []
    grid["r1c1"].clicked.connect(lambda: clicks.append(True))
    long_presses: list[object] = []
    navigator.long_pressed.connect(long_presses.append)
    press(qtbot, Qt.Key.Key_Return, release=False)
    clock.advance(0.3)
    press(qtbot, Qt.Key.Key_Return, autorepeat=True, release=False)
    assert long_presses == []
    clock.advance(0.3)
    press(qtbot, Qt.Key.Key_Return, autorepeat=True, release=False)
    navigator.poll_long_press()  # the timer's call, made directly: must not fire twice
    assert long_presses == [grid["r1c1"]]
    release(Qt.Key.Key_Return)
    assert clicks == []
    assert long_presses == [grid["r1c1"]]


def test_media_keys_are_reported_not_navigated(qtbot, grid, navigator):
    grid["r1c1"].setFocus()
    with qtbot.waitSignal(navigator.media_key, timeout=1000) as blocker:
        press(qtbot, Qt.Key.Key_MediaTogglePlayPause)
    assert blocker.args == [MediaAction.PLAY_PAUSE]
    assert focused_name() == "r1c1"


def test_held_arrow_is_throttled_accelerates_and_stops_on_release(qtbot, screen, navigator, clock):
    row = [button(screen, f"i{i}", 10 + 20 * i, 300, 18, 40) for i in range(60)]
    show(qtbot, screen)
    row[0].setFocus()

    def index() -> int:
        name = focused_name()
        assert name is not None
        return int(name[1:])

    def hold(seconds: float) -> int:
        """Auto-repeat at 30 Hz for `seconds`; return how many items focus moved."""
        start = index()
        for _ in range(round(seconds * 30)):
            clock.advance(1 / 30)
            press(qtbot, Qt.Key.Key_Right, autorepeat=True, release=False)
        return index() - start

    press(qtbot, Qt.Key.Key_Right, release=False)
    assert index() == 1  # the first press moves at once
    early = hold(0.5)
    hold(1.0)
    late = hold(0.5)
    assert 1 <= early <= 5  # at most 10 moves per second while the hold is young
    assert late >= 2 * early  # held for 2 s: at least twice as fast
    release(Qt.Key.Key_Right)
    stopped = index()
    clock.advance(1.0)
    assert index() == stopped  # nothing was queued
    press(qtbot, Qt.Key.Key_Right, release=False)
    assert index() == stopped + 1  # a new press moves immediately again


def test_pointer_then_keys_continue_from_the_clicked_item(qtbot, grid):
    grid["r0c0"].setFocus()
    qtbot.mouseClick(grid["r2c2"], Qt.MouseButton.LeftButton)
    assert focused_name() == "r2c2"
    press(qtbot, Qt.Key.Key_Left)
    assert focused_name() == "r2c1"


def test_hovering_focuses_and_the_next_arrow_starts_there(qtbot, grid):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QEnterEvent

    grid["r0c0"].setFocus()
    QApplication.sendEvent(grid["r1c3"], QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert focused_name() == "r1c3"
    press(qtbot, Qt.Key.Key_Up)
    assert focused_name() == "r0c3"


def test_removing_the_focused_button_focuses_its_nearest_sibling(qtbot, grid):
    grid["r1c1"].setFocus()
    press(qtbot, Qt.Key.Key_Right)  # the navigator now tracks r1c2
    assert focused_name() == "r1c2"
    grid["r1c2"].hide()
    # Rows are 100 px apart, columns 140: r0c2 and r2c2 are nearest and tie; the tie goes
    # to the next one in reading order (Qt alone would pick r1c3, next in the tab chain).
    qtbot.waitUntil(lambda: focused_name() == "r2c2", timeout=2000)
    grid["r2c2"].deleteLater()
    qtbot.waitUntil(lambda: focused_name() == "r2c3", timeout=2000)
    press(qtbot, Qt.Key.Key_Left)
    assert focused_name() == "r2c1"


def test_widgets_added_moved_or_deleted_after_the_first_press_are_seen(qtbot, grid):
    grid["r0c0"].setFocus()
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "r0c1"
    late = button(grid["r0c0"].parentWidget(), "late", 40 + 140 * 4, 40)
    late.show()
    grid["r0c2"].move(40 + 140 * 5, 40)  # now right of "late"
    grid["r0c3"].deleteLater()
    qtbot.waitUntil(lambda: grid["r0c0"].parentWidget().findChild(QPushButton, "r0c3") is None)
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "late"
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "r0c2"


def test_from_a_widget_arrows_never_target_the_search_starts_where_it_is(qtbot, screen, navigator):
    from PySide6.QtWidgets import QLabel

    button(screen, "a", 100, 100)
    button(screen, "b", 100, 400)
    button(screen, "c", 700, 400)
    label = QLabel("click-focus only", screen)
    label.setObjectName("label")
    label.setGeometry(700, 100, 100, 60)
    label.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    show(qtbot, screen)
    label.setFocus()
    press(qtbot, Qt.Key.Key_Down)
    assert focused_name() == "c"  # not "a", the screen's first item
