"""The focus ring: a two-tone band around the focused widget, visible from across the room."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QAbstractItemView, QWidget

from client.navigation.appearance import RING_DARK, RING_LIGHT, ring_thickness
from client.navigation.scan import widget_rect


class FocusRing(QWidget):
    """Draws the ring over `window`; mouse events pass through; follow() moves it."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._window = window
        self._target: QWidget | None = None
        self.ring_rect = QRect()  # the outer edge of the ring, in window coordinates
        self._watched: set[QAbstractItemView] = set()  # item views whose cells it follows
        self.hide()

    @property
    def thickness(self) -> int:
        """Return the light band's width for the current window height."""
        return ring_thickness(self._window.height())

    def follow(self, widget: QWidget | None) -> None:
        """Surround `widget` (hide when None or in another window)."""
        if widget is None or widget.window() is not self._window or widget is self._window:
            self._target = None
            self.hide()
            return
        self._target = widget
        if isinstance(widget, QAbstractItemView):
            self._watch_cells(widget)
        t = self.thickness
        inner = cell_rect(widget, self._window) or widget_rect(widget, self._window)
        # The ring sits outside the widget so it never covers its content, and is kept
        # inside the window (the TV safe area is the window's business).
        self.ring_rect = inner.adjusted(-t - t // 2, -t - t // 2, t + t // 2, t + t // 2)
        self.ring_rect = self.ring_rect.intersected(self._window.rect())
        self.setGeometry(self._window.rect())
        self.raise_()
        self.show()
        self.update()

    def _watch_cells(self, view: QAbstractItemView) -> None:
        """Follow the view's current cell as keys move it and as the view scrolls."""
        if view in self._watched:
            return
        self._watched.add(view)
        again = self._follow_view
        view.selectionModel().currentChanged.connect(again)
        view.verticalScrollBar().valueChanged.connect(again)
        view.horizontalScrollBar().valueChanged.connect(again)
        view.destroyed.connect(lambda: self._watched.discard(view))

    def _follow_view(self, *_: object) -> None:
        if isinstance(self._target, QAbstractItemView) and self._target.hasFocus():
            self.follow(self._target)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Paint a light outer band and a dark inner band."""
        if self._target is None:
            return
        t = self.thickness
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        outer = QPen(QColor(*RING_LIGHT), t)
        outer.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(outer)
        painter.drawRect(self.ring_rect.adjusted(t // 2, t // 2, -(t - t // 2), -(t - t // 2)))
        inner_w = max(2, t // 2)
        dark = QPen(QColor(*RING_DARK), inner_w)
        dark.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(dark)
        band = self.ring_rect.adjusted(t, t, -t, -t)
        painter.drawRect(
            band.adjusted(
                inner_w // 2, inner_w // 2, -(inner_w - inner_w // 2), -(inner_w - inner_w // 2)
            )
        )
        painter.end()


def cell_rect(widget: QWidget, window: QWidget) -> QRect | None:
    """Return the current cell of an item view in *window* coordinates, as far as it shows.

    An item view is one focus item with virtual rows inside (spatnav.md §8.1.2): the ring
    goes around the row the keys move, not the whole list. None: not an item view, or its
    current cell is scrolled out of sight (the ring then goes around the view).
    """
    if not isinstance(widget, QAbstractItemView) or not widget.currentIndex().isValid():
        return None
    viewport = widget.viewport()
    cell = widget.visualRect(widget.currentIndex()).intersected(viewport.rect())
    if cell.isEmpty():
        return None
    return QRect(viewport.mapTo(window, cell.topLeft()), cell.size())
