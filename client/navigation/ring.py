"""The focus ring: a two-tone band around the focused widget, visible from across the room."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

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
        t = self.thickness
        inner = widget_rect(widget, self._window)
        # The ring sits outside the widget so it never covers its content, and is kept
        # inside the window (the TV safe area is the window's business).
        self.ring_rect = inner.adjusted(-t - t // 2, -t - t // 2, t + t // 2, t + t // 2)
        self.ring_rect = self.ring_rect.intersected(self._window.rect())
        self.setGeometry(self._window.rect())
        self.raise_()
        self.show()
        self.update()

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
