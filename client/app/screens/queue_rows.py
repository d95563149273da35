"""The rows of Now playing's queue, and how a listener edits it: OK plays an item, Delete
removes it, Ctrl+Up and Ctrl+Down move it, a drag drops it elsewhere, Clear keeps only what
plays. Every edit names items by uid (the protocol's RemoveFromQueue, MoveInQueue, ClearQueue)."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import (
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
)
from PySide6.QtWidgets import QApplication, QPushButton, QSizePolicy

from connect.wire import messages as m

QUEUE_MIME = "application/x-baton-queue-uid"


def move_up(order: list[str], uid: str) -> m.MoveInQueue | None:
    """The edit that moves *uid* one place up (None: it is first already)."""
    at = order.index(uid)
    if at == 0:
        return None
    return m.MoveInQueue(uid, order[at - 2] if at >= 2 else "")


def move_down(order: list[str], uid: str) -> m.MoveInQueue | None:
    """The edit that moves *uid* one place down (None: it is last already)."""
    at = order.index(uid)
    if at == len(order) - 1:
        return None
    return m.MoveInQueue(uid, order[at + 1])


def drop_edit(order: list[str], dragged: str, onto: str, below: bool) -> m.MoveInQueue | None:
    """The edit that puts *dragged* above (or *below*) the row *onto* (None: no change)."""
    if dragged == onto or dragged not in order or onto not in order:
        return None
    rest = [uid for uid in order if uid != dragged]
    at = rest.index(onto) + (1 if below else 0)
    after = rest[at - 1] if at else ""
    return None if order.index(dragged) == at else m.MoveInQueue(dragged, after)


class QueueRow(QPushButton):
    """One queue item (a button: OK plays it) that edits the queue by keys and by drag."""

    edit = Signal(object)  # an m.Action: RemoveFromQueue or MoveInQueue

    def __init__(self, text: str, uid: str, order: list[str], current: bool) -> None:
        super().__init__(text)
        self.uid = uid
        self.order = order  # the queue's uids as shown, shared by all rows
        self.current = current
        self.setProperty("role", "row")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAutoDefault(False)
        self.setAcceptDrops(True)
        hint = "Delete removes it, Ctrl+Up and Ctrl+Down move it"
        self.setToolTip(hint if not current else "Playing now; Ctrl+Up and Ctrl+Down move it")
        self._press: QPoint | None = None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Delete removes the item (not the one playing); Ctrl+Up/Down move it."""
        key = event.key()
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        action: m.Action | None = None
        if key == Qt.Key.Key_Delete and not self.current:
            action = m.RemoveFromQueue((self.uid,))
        elif ctrl and key == Qt.Key.Key_Up:
            action = move_up(self.order, self.uid)
        elif ctrl and key == Qt.Key.Key_Down:
            action = move_down(self.order, self.uid)
        else:
            super().keyPressEvent(event)
            return
        event.accept()
        if action is not None:
            self.edit.emit(action)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Remember where a drag may start."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Past the platform's drag distance, carry this item's uid to another row."""
        start = self._press
        if start is None or not event.buttons() & Qt.MouseButton.LeftButton:
            super().mouseMoveEvent(event)
            return
        if (event.position().toPoint() - start).manhattanLength() < (
            QApplication.startDragDistance()
        ):
            return
        self._press = None
        self.setDown(False)  # a drag is not a click: the item does not start playing
        mime = QMimeData()
        mime.setData(QUEUE_MIME, self.uid.encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(self.grab())
        drag.exec(Qt.DropAction.MoveAction)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        """Take only a queue item's uid."""
        if event.mimeData().hasFormat(QUEUE_MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        """Keep taking it while it moves over the row."""
        if event.mimeData().hasFormat(QUEUE_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        """Drop above this row (upper half) or below it (lower half)."""
        if not event.mimeData().hasFormat(QUEUE_MIME):
            return
        dragged = bytes(event.mimeData().data(QUEUE_MIME).data()).decode()
        below = event.position().y() >= self.height() / 2
        action = drop_edit(self.order, dragged, self.uid, below)
        event.acceptProposedAction()
        if action is not None:
            self.edit.emit(action)
