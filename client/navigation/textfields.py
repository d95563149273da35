"""Which arrow presses an editing widget keeps: the caret moves until it reaches the edge."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

_BACKWARD = (Qt.Key.Key_Left, Qt.Key.Key_Up)


def keeps_arrow(widget: QWidget, key: Qt.Key) -> bool:
    """Return True if `widget` should handle the arrow `key` itself instead of moving focus.

    Like the WICG polyfill's `handlingEditableElement`: a field is left only from the caret's
    start (Left/Up) or end (Right/Down) with nothing selected; spin boxes keep Up/Down.
    """
    if isinstance(widget, QAbstractSpinBox):
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            return True
        edit = widget.findChild(QLineEdit)
        return edit is not None and _line_keeps(edit, key)
    if isinstance(widget, QLineEdit):
        return _line_keeps(widget, key)
    if isinstance(widget, (QPlainTextEdit, QTextEdit)):
        if widget.isReadOnly():
            return False
        cursor = widget.textCursor()
        if cursor.hasSelection():
            return True
        probe = QTextCursor(cursor)
        move = {
            Qt.Key.Key_Left: QTextCursor.MoveOperation.Left,
            Qt.Key.Key_Right: QTextCursor.MoveOperation.Right,
            Qt.Key.Key_Up: QTextCursor.MoveOperation.Up,
            Qt.Key.Key_Down: QTextCursor.MoveOperation.Down,
        }[key]
        return probe.movePosition(move)
    if isinstance(widget, QAbstractItemView):
        return _view_keeps(widget, key)
    if isinstance(widget, QAbstractSlider):
        along = (
            (Qt.Key.Key_Left, Qt.Key.Key_Right)
            if widget.orientation() == Qt.Orientation.Horizontal
            else (Qt.Key.Key_Up, Qt.Key.Key_Down)
        )
        if key not in along:
            return False
        # A slider changes its value until it reaches the end it is pushed towards.
        lowering = key in (Qt.Key.Key_Left, Qt.Key.Key_Down)
        return widget.value() > widget.minimum() if lowering else widget.value() < widget.maximum()
    return False


def is_text_entry(widget: QWidget) -> bool:
    """Return True for widgets where Enter belongs to the widget (submit, new line, activate)."""
    return isinstance(
        widget, (QLineEdit, QAbstractSpinBox, QPlainTextEdit, QTextEdit, QAbstractItemView)
    )


def _view_keeps(view: QAbstractItemView, key: Qt.Key) -> bool:
    """An item view moves its current cell until the model's edge, then focus leaves it.

    Item views are one focus item with virtual rows inside (spatnav.md §8.1.2); this is the
    hand-off at their edges that Qt does not do.
    """
    model = view.model()
    current = view.currentIndex()
    if model is None or not current.isValid():
        return False
    row, column, parent = current.row(), current.column(), current.parent()
    if isinstance(view, QListView) and view.flow() == QListView.Flow.LeftToRight:
        step = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0)}.get(key)
    else:
        step = {
            Qt.Key.Key_Up: (-1, 0),
            Qt.Key.Key_Down: (1, 0),
            Qt.Key.Key_Left: (0, -1),
            Qt.Key.Key_Right: (0, 1),
        }.get(key)
    if step is None:
        return False
    # A neighbour cell exists: the view moves to it (model.index works for every model,
    # rowCount/columnCount are private in some).
    return model.index(row + step[0], column + step[1], parent).isValid()


def _line_keeps(edit: QLineEdit, key: Qt.Key) -> bool:
    if edit.hasSelectedText():
        return True
    position = edit.cursorPosition()
    if key in _BACKWARD:
        return position > 0
    return position < len(edit.text())
