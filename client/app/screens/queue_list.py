"""The queue as one virtualised list, desktop and TV: rows of a `QueueModel` of any length.

Qt paints only the rows on screen and the model fetches the rows it lacks as they show. It is
a one-column QTableView, not a QListView: a list view lays out every row again at each change
(asking the model for each row's index, 50 000 calls into Python: 150 ms a change), while a
table's rows are sections of fixed height in its header, laid out by no call at all.

Keys: Up/Down, Page Up/Page Down, Home/End move the current row (the navigator leaves the
list only past its ends, and its focus ring follows the current row); OK (Enter) or a double
click plays the item; Delete removes it (not the one playing); Ctrl+Up and Ctrl+Down move it;
a drag drops it elsewhere. After an edit the current row follows the moved item, or goes on
to the next one.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QKeyEvent,
    QMouseEvent,
    QPainter,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from client.app import theme
from client.app.queue_model import QueueModel
from client.app.screens.queue_rows import QUEUE_MIME, drop_edit, move_down, move_up
from connect.wire import messages as m

Index = QModelIndex | QPersistentModelIndex
FOLLOW_REACH = 1_000  # how far from the current row an edited item is looked for


class QueueList(QTableView):
    """The followed device's queue (see the module docstring)."""

    play_item = Signal(str)  # a queue item's uid
    queue_edit = Signal(object)  # an m.Action: RemoveFromQueue or MoveInQueue

    def __init__(self, model: QueueModel, row_height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = model
        self.setObjectName("queue-list")
        self.setAccessibleName("Queue")
        self.setModel(model)
        self.setItemDelegate(_QueueRowPainter(row_height, self))
        rows, columns = self.verticalHeader(), self.horizontalHeader()
        rows.hide()
        columns.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(row_height)
        columns.setStretchLastSection(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.setToolTip("Enter plays it, Delete removes it, Ctrl+Up and Ctrl+Down move it")
        self._follow_uid = ""  # the item the current row stays on when the rows change
        self._seen_uid = ""
        self._kept = (-1, 0)  # (current row, scroll value) across a reset
        self._press: QPoint | None = None
        self.activated.connect(self._play)
        model.modelAboutToBeReset.connect(self._keep_place)
        model.modelReset.connect(self._restore_place)
        model.rows_replaced.connect(self._find_followed)
        self._ensure_current()

    # ------------------------------------------------------------------ reading
    def current_row(self) -> int:
        """Return the current row (-1: none)."""
        return self.currentIndex().row()

    def go_to(self, row: int) -> None:
        """Make *row* current and show it."""
        if 0 <= row < self.queue.rowCount():
            index = self.queue.index(row)
            self.setCurrentIndex(index)
            self.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    def follow(self, uid: str) -> None:
        """Keep the current row on *uid* when the rows next change (after an edit sent)."""
        self._follow_uid = uid

    # ------------------------------------------------------------------ keys
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Delete removes the item (not the one playing); Ctrl+Up/Down move it; Select (a
        remote's OK) plays it."""
        key = event.key()
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        row = self.current_row()
        action: m.Action | None = None
        if key == Qt.Key.Key_Delete:
            uid = self.queue.uid(row)
            if uid is not None and uid != self.queue.current_uid:
                action = m.RemoveFromQueue((uid,))
                following = self.queue.uid(row + 1) or self.queue.uid(row - 1)
                self._follow_uid = following or ""
        elif key == Qt.Key.Key_Select:  # a remote's OK: Qt activates on Enter only
            event.accept()
            self._play(self.currentIndex())
            return
        elif ctrl and key == Qt.Key.Key_Up:
            action = move_up(self.queue.uid, row)
        elif ctrl and key == Qt.Key.Key_Down:
            action = move_down(self.queue.uid, row, self.queue.rowCount())
        else:
            super().keyPressEvent(event)
            return
        event.accept()
        if isinstance(action, m.MoveInQueue):
            self._follow_uid = action.uid
        if action is not None:
            self.queue_edit.emit(action)

    def moveCursor(  # noqa: N802 - Qt override
        self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        """Home and End go to the first and last rows (a table's go to its row's ends)."""
        rows = self.queue.rowCount()
        if action == QAbstractItemView.CursorAction.MoveHome and rows:
            return self.queue.index(0)
        if action == QAbstractItemView.CursorAction.MoveEnd and rows:
            return self.queue.index(rows - 1)
        return super().moveCursor(action, modifiers)

    def focusInEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        """Entering the list lands on a row (the one that plays when none was current)."""
        self._ensure_current()
        super().focusInEvent(event)  # type: ignore[arg-type]

    def currentChanged(self, current: Index, previous: Index) -> None:  # noqa: N802 - Qt override
        """Remember the item the current row shows, to find it again after an edit."""
        super().currentChanged(current, previous)
        self._seen_uid = self.queue.uid(current.row()) or "" if current.isValid() else ""

    # ------------------------------------------------------------------ drag and drop
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Remember where a drag may start."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Past the platform's drag distance, carry the row's uid to another row."""
        start = self._press
        if start is None or not event.buttons() & Qt.MouseButton.LeftButton:
            super().mouseMoveEvent(event)
            return
        if (event.position().toPoint() - start).manhattanLength() < (
            QApplication.startDragDistance()
        ):
            return
        self._press = None
        uid = self.queue.uid(self.indexAt(start).row())
        if uid is None:
            return
        mime = QMimeData()
        mime.setData(QUEUE_MIME, uid.encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.MoveAction)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        """Take only a queue item's uid."""
        if event.mimeData().hasFormat(QUEUE_MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        """Keep taking it while it moves over the rows."""
        if event.mimeData().hasFormat(QUEUE_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        """Drop above the row under the pointer (its upper half) or below it (lower half)."""
        if not event.mimeData().hasFormat(QUEUE_MIME):
            return
        event.acceptProposedAction()
        point = event.position().toPoint()
        onto = self.indexAt(point)
        if not onto.isValid():
            return
        uid = bytes(event.mimeData().data(QUEUE_MIME).data()).decode()
        dragged = self.queue.row_of(uid, onto.row())
        if dragged is None:
            return
        below = point.y() >= self.visualRect(onto).center().y()
        action = drop_edit(self.queue.uid, dragged, onto.row(), below)
        if action is not None:
            self._follow_uid = uid
            self.queue_edit.emit(action)

    # ------------------------------------------------------------------ following rows
    def _play(self, index: QModelIndex) -> None:
        uid = self.queue.uid(index.row())
        if uid is not None:
            self.play_item.emit(uid)

    def _ensure_current(self) -> None:
        if not self.currentIndex().isValid() and self.queue.rowCount():
            row = self.queue.current_row
            self.setCurrentIndex(self.queue.index(row if row is not None else 0))

    def _keep_place(self) -> None:
        self._kept = (self.current_row(), self.verticalScrollBar().value())

    def _restore_place(self) -> None:
        row, scrolled = self._kept
        rows = self.queue.rowCount()
        self.updateGeometries()  # the scroll range of the new rows, before scrolling back
        self.verticalScrollBar().setValue(scrolled)
        if rows and row >= 0:
            self.setCurrentIndex(self.queue.index(min(row, rows - 1)))

    def _find_followed(self) -> None:
        """The rows changed: the current row goes where the followed item went."""
        uid = self._follow_uid or self._seen_uid
        here = self.current_row()
        if not uid:
            self._ensure_current()
            return
        # An edit moves an item a few rows at most: no scan of 50 000 rows for one gone.
        row = self.queue.row_of(uid, max(here, 0), FOLLOW_REACH)
        if row is None:
            return  # not among the rows fetched (or gone): the row stays
        self._follow_uid = ""
        if row != here:
            self.go_to(row)


class _QueueRowPainter(QStyledItemDelegate):
    """One row: the title, the artist in muted text; the playing item in the accent colour;
    the current row raised (with focus, the navigator's ring goes around it).

    It reads the model's item directly (one Python call a row, not one per role through Qt)
    and keeps its pens and fonts: a row is painted in well under a millisecond.
    """

    def __init__(self, row_height: int, view: QueueList) -> None:
        super().__init__(view)
        self._height = row_height
        self._view = view
        self._pad = row_height // 3
        self._pens = {name: QColor(color) for name, color in _COLORS.items()}
        self._fonts: tuple[QFont, QFont] | None = None  # plain, bold: made on the first paint

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        """Every row is as tall as the others (the list relies on it)."""
        return QSize(option.rect.width(), self._height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        """Paint the row's text over its background."""
        rect: QRect = option.rect
        row = index.row()
        model = self._view.queue
        item = model.item(row)
        if self._fonts is None:
            bold = QFont(option.font)
            bold.setBold(True)
            self._fonts = (QFont(option.font), bold)
        playing = item is not None and item.uid == model.current_uid
        painter.save()
        if row == self._view.current_row():
            painter.fillRect(rect, self._pens["raised"])
        text_rect = rect.adjusted(self._pad, 0, -self._pad, 0)
        painter.setFont(self._fonts[playing])
        painter.setPen(self._pens["playing" if playing else "text" if item else "muted"])
        metrics = painter.fontMetrics()
        title = model.title(item)
        title = metrics.elidedText(title, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, _FLAGS, title)
        if item is not None and item.artist:
            rest = text_rect.adjusted(metrics.horizontalAdvance(title), 0, 0, 0)
            painter.setPen(self._pens["muted"])
            credit = f"   ·   {item.artist}"
            credit = metrics.elidedText(credit, Qt.TextElideMode.ElideRight, rest.width())
            painter.drawText(rest, _FLAGS, credit)
        painter.restore()


_COLORS = {
    "raised": theme.RAISED,
    "playing": theme.ACCENT,
    "text": theme.TEXT,
    "muted": theme.MUTED,
}
_FLAGS = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
