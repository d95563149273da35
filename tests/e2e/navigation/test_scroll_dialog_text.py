"""A list in a scroll area, dialogs (an in-window layer and a QDialog) and text fields."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QWidget,
)

from client.navigation import FocusRing
from client.spatial import FindingKind
from tests.e2e.navigation.conftest import button, focused_name, press, show


@pytest.fixture
def scrolled(qtbot, screen, navigator) -> tuple[QScrollArea, list[QPushButton]]:
    header = button(screen, "header", 20, 20, 200, 60)
    area = QScrollArea(screen)
    area.setGeometry(20, 100, 400, 300)
    content = QWidget()
    content.resize(380, 20 * 70)
    items = [button(content, f"item{i}", 10, 10 + 70 * i, 300, 60) for i in range(20)]
    area.setWidget(content)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    show(qtbot, screen)
    header.setFocus()
    return area, items


def _visible_in(area: QScrollArea, widget: QWidget) -> tuple[int, int]:
    top = widget.mapTo(area.viewport(), widget.rect().topLeft()).y()
    return top, top + widget.height()


def test_down_into_the_list_then_scrolls_only_when_needed_with_a_margin(qtbot, scrolled, navigator):
    area, items = scrolled
    bar = area.verticalScrollBar()
    press(qtbot, Qt.Key.Key_Down)
    assert focused_name() == "item0"
    scrolls = []
    for i in range(1, 8):
        before = bar.value()
        press(qtbot, Qt.Key.Key_Down)
        assert focused_name() == f"item{i}"
        top, bottom = _visible_in(area, items[i])
        assert top >= 0
        assert bottom <= area.viewport().height()
        scrolls.append(bar.value() != before)
    # item1..item3 are already fully visible in a 300 px viewport: no scroll for them.
    assert scrolls[:3] == [False, False, False]
    assert all(scrolls[3:])
    # When it scrolls, the new item sits `scroll_margin` px above the bottom edge.
    top, bottom = _visible_in(area, items[7])
    assert area.viewport().height() - bottom == navigator.scroll_margin


def test_up_out_of_the_list_returns_to_the_header_even_when_scrolled(qtbot, scrolled):
    area, items = scrolled
    for _ in range(10):
        press(qtbot, Qt.Key.Key_Down)
    assert focused_name() == "item9"
    for _ in range(9):
        press(qtbot, Qt.Key.Key_Up)
    assert focused_name() == "item0"
    assert _visible_in(area, items[0])[0] >= 0
    press(qtbot, Qt.Key.Key_Up)
    assert focused_name() == "header"


def test_an_in_window_dialog_traps_focus_and_back_restores_the_opener(qtbot, screen, navigator):
    menu = button(screen, "menu", 100, 500, 200, 60)
    button(screen, "card", 1000, 500, 200, 60)
    dialog = QFrame(screen)
    dialog.setGeometry(440, 440, 420, 200)
    button(dialog, "confirm", 20, 60, 150, 60)
    button(dialog, "cancel", 230, 60, 150, 60)
    dialog.hide()
    show(qtbot, screen)
    menu.setFocus()
    navigator.open_layer(dialog)
    assert focused_name() == "confirm"
    for key, expected in [
        (Qt.Key.Key_Left, "confirm"),
        (Qt.Key.Key_Right, "cancel"),
        (Qt.Key.Key_Right, "cancel"),
        (Qt.Key.Key_Up, "cancel"),
        (Qt.Key.Key_Down, "cancel"),
    ]:
        press(qtbot, key)
        assert focused_name() == expected
    findings = navigator.lint()
    # While the dialog is open the screen is the dialog: what lies behind it is out of reach on
    # purpose (not reported), and the dialog's own trap is declared (a layer).
    assert [f for f in findings if f.kind is FindingKind.UNREACHABLE] == []
    assert [f for f in findings if f.kind is FindingKind.TRAP] == []
    press(qtbot, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert focused_name() == "menu"
    with qtbot.waitSignal(navigator.back_requested, timeout=1000):
        press(qtbot, Qt.Key.Key_Escape)  # nothing left to close: the screen goes back


def test_a_qdialog_keeps_arrows_inside_and_back_closes_it(qtbot, screen, navigator):
    opener = button(screen, "opener", 100, 100)
    button(screen, "other", 300, 100)
    show(qtbot, screen)
    opener.setFocus()
    dialog = QDialog(screen)
    dialog.resize(400, 200)
    ok = button(dialog, "ok", 20, 100)
    button(dialog, "no", 200, 100)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=2000)
    ok.setFocus()
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "no"
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "no"  # never escapes to the window behind
    dialog_rings = [r for r in dialog.findChildren(FocusRing) if r.isVisible()]
    assert len(dialog_rings) == 1  # the ring is drawn in the dialog's own window
    assert not navigator.ring.isVisible()
    with qtbot.waitSignal(dialog.rejected, timeout=1000):
        press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: focused_name() == "opener", timeout=2000)


@pytest.fixture
def form(qtbot, screen, navigator) -> QLineEdit:
    button(screen, "left", 20, 100)
    edit = QLineEdit("abc", screen)
    edit.setObjectName("edit")
    edit.setGeometry(140, 100, 200, 60)
    button(screen, "right", 360, 100)
    spin = QSpinBox(screen)
    spin.setObjectName("spin")
    spin.setGeometry(140, 200, 200, 60)
    button(screen, "below", 140, 300)
    show(qtbot, screen)
    edit.setFocus()
    return edit


def test_arrows_move_the_caret_until_the_edge_then_leave(qtbot, form):
    form.setCursorPosition(1)
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "edit"
    assert form.cursorPosition() == 2
    press(qtbot, Qt.Key.Key_Right)
    assert form.cursorPosition() == 3
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "right"
    press(qtbot, Qt.Key.Key_Left)
    assert focused_name() == "edit"
    form.setCursorPosition(0)
    press(qtbot, Qt.Key.Key_Left)
    assert focused_name() == "left"


def test_a_selection_keeps_the_arrow_in_the_field(qtbot, form):
    form.setCursorPosition(3)
    form.setSelection(0, 3)
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "edit"


def test_a_spin_box_keeps_up_and_down(qtbot, form, screen):
    spin = screen.findChild(QSpinBox, "spin")
    spin.setFocus()
    press(qtbot, Qt.Key.Key_Up)
    assert spin.value() == 1
    assert QApplication.focusWidget() is spin or spin.isAncestorOf(QApplication.focusWidget())


def test_enter_in_a_text_field_submits_it(qtbot, form):
    with qtbot.waitSignal(form.returnPressed, timeout=1000):
        press(qtbot, Qt.Key.Key_Return)
    assert focused_name() == "edit"


def test_a_multi_line_field_leaves_from_its_first_and_last_lines(qtbot, screen, navigator):
    from PySide6.QtGui import QTextCursor
    from PySide6.QtWidgets import QPlainTextEdit

    button(screen, "above", 20, 20)
    notes = QPlainTextEdit("one\ntwo\nthree", screen)
    notes.setObjectName("notes")
    notes.setGeometry(20, 100, 300, 200)
    button(screen, "under", 20, 320)
    show(qtbot, screen)
    notes.setFocus()
    notes.moveCursor(QTextCursor.MoveOperation.Start)
    press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Down)
    assert focused_name() == "notes"
    assert notes.textCursor().blockNumber() == 2
    press(qtbot, Qt.Key.Key_Down)
    assert focused_name() == "under"


def test_a_list_view_moves_its_row_then_hands_focus_on_at_the_edge(qtbot, screen, navigator):
    from PySide6.QtWidgets import QListWidget

    button(screen, "above", 20, 20)
    songs = QListWidget(screen)
    songs.setObjectName("songs")
    songs.addItems(["a", "b", "c"])
    songs.setGeometry(20, 100, 300, 200)
    button(screen, "under", 20, 320)
    show(qtbot, screen)
    songs.setFocus()
    songs.setCurrentRow(0)
    press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Down)
    assert (focused_name(), songs.currentRow()) == ("songs", 2)
    press(qtbot, Qt.Key.Key_Down)
    assert focused_name() == "under"
    press(qtbot, Qt.Key.Key_Up)
    assert focused_name() == "songs"
    songs.setCurrentRow(0)
    press(qtbot, Qt.Key.Key_Up)
    assert focused_name() == "above"


def test_right_to_left_windows_start_at_the_top_right(qtbot, screen, navigator):
    screen.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
    for i in range(3):
        button(screen, f"b{i}", 100 + 200 * i, 100)
    show(qtbot, screen)
    screen.setFocus()
    press(qtbot, Qt.Key.Key_Left)
    assert focused_name() == "b2"
    press(qtbot, Qt.Key.Key_Left)  # arrows stay physical
    assert focused_name() == "b1"


def test_b7_a_row_of_cards_scrolls_only_for_the_card_that_does_not_fit(qtbot, screen, clock):
    from client.navigation import SpatialNavigator

    nav = SpatialNavigator(screen, clock=clock, scroll_margin=60)
    area = QScrollArea(screen)
    area.setGeometry(0, 0, 1000, 300)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    row = QWidget()
    row.resize(220 * 10, 300)
    cards = [button(row, f"card{i}", 220 * i, 50, 200, 200) for i in range(10)]
    area.setWidget(row)
    show(qtbot, screen)
    try:
        cards[2].setFocus()
        bar = area.horizontalScrollBar()
        press(qtbot, Qt.Key.Key_Right)
        assert (focused_name(), bar.value()) == ("card3", 0)  # 660..860 fits in 0..1000
        press(qtbot, Qt.Key.Key_Right)
        assert (focused_name(), bar.value()) == ("card4", 140)  # 880..1080 + 60 px margin
        press(qtbot, Qt.Key.Key_Right)
        assert (focused_name(), bar.value()) == ("card5", 360)
        press(qtbot, Qt.Key.Key_Left)
        assert (focused_name(), bar.value()) == ("card4", 360)  # fully visible: no scroll
    finally:
        nav.close()


def test_a_combo_opens_on_ok_and_its_popup_keeps_the_keys(qtbot, screen, navigator):
    from PySide6.QtWidgets import QComboBox

    combo = QComboBox(screen)
    combo.setObjectName("combo")
    combo.addItems(["Kitchen", "Car", "TV"])
    combo.setGeometry(100, 100, 200, 60)
    button(screen, "next", 400, 100)
    show(qtbot, screen)
    combo.setFocus()
    press(qtbot, Qt.Key.Key_Return)
    popup = combo.view().window()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    press(qtbot, Qt.Key.Key_Down)  # moves inside the list, not to "next"
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not popup.isVisible(), timeout=2000)
    assert combo.currentText() == "Car"


def test_back_in_a_combo_popup_closes_only_the_popup(qtbot, screen, navigator):
    from PySide6.QtWidgets import QComboBox

    combo = QComboBox(screen)
    combo.setObjectName("combo")
    combo.addItems(["Kitchen", "Car"])
    combo.setGeometry(100, 100, 200, 60)
    show(qtbot, screen)
    combo.setFocus()
    backs: list[bool] = []
    navigator.back_requested.connect(lambda: backs.append(True))
    press(qtbot, Qt.Key.Key_Return)
    popup = combo.view().window()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not popup.isVisible(), timeout=2000)
    assert backs == []
    assert combo.currentText() == "Kitchen"
