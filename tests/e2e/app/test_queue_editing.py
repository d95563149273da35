"""Editing the queue from Now playing's list: Delete, Ctrl+Up/Down, a drop, Clear; the
current row follows the edited item."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from client.app.screens.queue_rows import QUEUE_MIME, drop_edit, move_down, move_up, uids_of
from connect.wire import messages as m
from tests.e2e.app.idle import idle_window, item, session
from tests.e2e.app.keys import focused, press

CTRL = Qt.KeyboardModifier.ControlModifier
ORDER = ["a", "b", "c", "d"]


def test_moves_name_the_new_neighbour_by_uid() -> None:
    order = uids_of(ORDER)
    assert move_up(order, 2) == m.MoveInQueue("c", "a")
    assert move_up(order, 1) == m.MoveInQueue("b", "")
    assert move_up(order, 0) is None
    assert move_down(order, 1, 4) == m.MoveInQueue("b", "c")
    assert move_down(order, 3, 4) is None
    assert drop_edit(order, 3, 1, below=False) == m.MoveInQueue("d", "a")
    assert drop_edit(order, 0, 2, below=True) == m.MoveInQueue("a", "c")
    assert drop_edit(order, 0, 1, below=False) is None  # already there
    assert drop_edit(order, 0, 0, below=True) is None
    unknown = uids_of(["a", "b"])  # row 2 and on not fetched: no edit names a guess
    assert move_down(unknown, 1, 5) is None


def _now_playing(qtbot, tmp_path, queue=ORDER, current="b"):
    window = idle_window(qtbot, tmp_path)
    items = tuple(item(uid, uid.upper(), "Band") for uid in queue)
    window.bridge.session_changed.emit(session("dev1", "Car", items, current))
    window.show_screen("now-playing")
    screen = window.now_playing
    qtbot.waitUntil(lambda: screen.queue.rowCount() == len(queue))
    return window, screen


def _uids(screen) -> list[str]:
    return [screen.queue.uid(row) for row in range(screen.queue.rowCount())]


def _focus_row(window, screen, row: int) -> None:
    window.move_focus(screen.queue_list)
    screen.queue_list.go_to(row)


def edits(window) -> list[m.Action]:
    return [action for action, _device in window.bridge.named("command")]


def test_delete_ctrl_arrows_and_clear_send_edits_by_uid(qtbot, tmp_path):
    window, screen = _now_playing(qtbot, tmp_path)
    _focus_row(window, screen, 2)  # "c"
    press(Qt.Key.Key_Up, CTRL)
    press(Qt.Key.Key_Down, CTRL)
    press(Qt.Key.Key_Delete)
    screen.queue_list.go_to(1)  # "b" plays: Delete does not remove it
    press(Qt.Key.Key_Delete)
    screen.clear_queue.click()
    assert edits(window) == [
        m.MoveInQueue("c", "a"),
        m.MoveInQueue("c", "d"),
        m.RemoveFromQueue(("c",)),
        m.ClearQueue(),
    ]
    assert focused() == "queue-list"
    assert screen.queue_list.current_row() == 1  # nothing played, nothing moved here


def test_focus_follows_the_moved_item_and_goes_on_after_a_removal(qtbot, tmp_path):
    window, screen = _now_playing(qtbot, tmp_path)
    _focus_row(window, screen, 2)
    press(Qt.Key.Key_Up, CTRL)
    moved = tuple(item(uid, uid.upper(), "Band") for uid in "acbd")  # as the device answers
    window.bridge.session_changed.emit(session("dev1", "Car", moved, "b"))
    qtbot.waitUntil(lambda: _uids(screen) == list("acbd"))
    assert QApplication.focusWidget() is screen.queue_list
    assert screen.queue_list.current_row() == 1  # "c", one place up
    press(Qt.Key.Key_Delete)
    gone = tuple(item(uid, uid.upper(), "Band") for uid in "abd")
    window.bridge.session_changed.emit(session("dev1", "Car", gone, "b"))
    qtbot.waitUntil(lambda: _uids(screen) == list("abd"))
    assert screen.queue_list.current_row() == 1  # "b", the next one


def test_a_drop_on_a_row_moves_the_dragged_item_there(qtbot, tmp_path):
    window, screen = _now_playing(qtbot, tmp_path)
    first = screen.queue_list.visualRect(screen.queue.index(0))  # "a"
    mime = QMimeData()
    mime.setData(QUEUE_MIME, b"d")
    upper = QPointF(first.center().x(), first.top() + 2)
    drop = QDropEvent(
        upper, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier(0)
    )
    screen.queue_list.dropEvent(drop)
    assert edits(window) == [m.MoveInQueue("d", "")]  # to the front


def test_clear_shows_only_when_there_is_something_to_clear(qtbot, tmp_path):
    _window, screen = _now_playing(qtbot, tmp_path, queue=["a"], current="a")
    assert not screen.clear_queue.isVisible()


def test_a_real_device_applies_the_edits_made_by_keys(qtbot, app_window):
    # "This computer" is a real receiver (libVLC to a WAV file) behind the app's own core.
    window = app_window
    qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
    here = None

    def local_online() -> bool:
        nonlocal here
        here = next((d for d in window.devices.views() if d.is_local and d.online), None)
        return here is not None

    qtbot.waitUntil(local_online, timeout=10_000)
    album = window.albums.albums()[0]
    window.bridge.play(album.tracks, 0, device_id=here.id)
    qtbot.waitUntil(
        lambda: window.session is not None and len(window.session.state.queue) == 3,
        timeout=10_000,
    )
    # Paused, so that the current item stays the first one however slow the machine is.
    window.bridge.command(m.Pause())
    qtbot.waitUntil(lambda: not window.session.state.clock.playing, timeout=5_000)
    window.show_screen("now-playing")
    screen = window.now_playing
    qtbot.waitUntil(lambda: screen.queue.rowCount() == 3)
    first, second, third = _uids(screen)

    def queue() -> list[str]:
        return [i.uid for i in window.session.state.queue] if window.session else []

    _focus_row(window, screen, 2)
    press(Qt.Key.Key_Up, CTRL)
    qtbot.waitUntil(lambda: queue() == [first, third, second], timeout=5_000)
    qtbot.waitUntil(lambda: screen.queue_list.current_row() == 1)  # the moved item, there
    assert focused() == "queue-list"
    press(Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: queue() == [first, second], timeout=5_000)
    screen.clear_queue.click()
    qtbot.waitUntil(lambda: queue() == [first], timeout=5_000)  # the current item stays
    assert window.session.state.current_uid == first
