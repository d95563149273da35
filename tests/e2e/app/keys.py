"""Remote keys for the app tests: send a key to what has focus, walk focus to a widget.

`walk_to` presses arrows only: at each step the arrow pointing from the focused item towards
the target (the longer axis first), as a person with a remote would.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from client.app.window import MainWindow
from client.spatial import Direction

ARROW = {
    Direction.LEFT: Qt.Key.Key_Left,
    Direction.RIGHT: Qt.Key.Key_Right,
    Direction.UP: Qt.Key.Key_Up,
    Direction.DOWN: Qt.Key.Key_Down,
}


def press(key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Press and release *key* on the focus widget (the active window when none)."""
    target = QApplication.focusWidget() or QApplication.activeWindow()
    assert target is not None
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(target, QKeyEvent(kind, key, modifiers))
        target = QApplication.focusWidget() or QApplication.activeWindow() or target
    QApplication.processEvents()


def focused() -> str:
    """Return the object name of the focus widget ("" when none)."""
    widget = QApplication.focusWidget()
    return widget.objectName() if widget is not None else ""


def walk_to(window: MainWindow, name: str, limit: int = 20) -> list[str]:
    """Press arrows until the widget named *name* has focus; return the names passed."""
    target = window.findChild(QWidget, name)
    assert target is not None, f"no widget named {name!r}"
    path = [focused()]
    for _ in range(limit):
        if focused() == name:
            return path
        tree = window.navigator.tree()
        here = QApplication.focusWidget()
        if here is None or here not in tree:
            press(Qt.Key.Key_Down)  # nothing focused: the first press focuses the first item
            path.append(focused())
            continue
        a, b = tree.rect(here), tree.rect(target)
        dx = (b.x + b.width / 2) - (a.x + a.width / 2)
        dy = (b.y + b.height / 2) - (a.y + a.height / 2)
        horizontal = Direction.RIGHT if dx > 0 else Direction.LEFT
        vertical = Direction.DOWN if dy > 0 else Direction.UP
        order = (horizontal, vertical) if abs(dx) > abs(dy) else (vertical, horizontal)
        for direction in order:
            before = focused()
            press(ARROW[direction])
            if focused() != before and focused() not in path:
                path.append(focused())
                break
            if focused() != before:  # been there: step back and try the other arrow
                press(ARROW[direction.opposite])
        else:
            break
    assert focused() == name, f"could not reach {name!r} by keys; path: {path}"
    return path
