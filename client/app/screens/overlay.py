"""A panel shown over a screen: a dimmed backdrop covering it and a centred card on top.

The spatial navigator opens it as a layer (focus stays inside until it closes, Back closes
it); without a navigator (a widget test) it simply shows and hides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from client.app.theme import Metrics


class Layers(Protocol):
    """What an overlay needs from the navigator (client.navigation.SpatialNavigator)."""

    def open_layer(self, widget: QWidget) -> None:
        """Show *widget* and keep focus inside it."""
        ...

    def close_layer(self) -> bool:
        """Close the innermost layer and refocus its opener."""
        ...


class Overlay(QFrame):
    """A backdrop over its parent with a card in the middle; put content in `body`."""

    def __init__(self, mx: Metrics, parent: QWidget, width: int) -> None:
        super().__init__(parent)
        self.mx = mx
        self.layers: Layers | None = None
        # Moving focus for the program must go through the navigator (MainWindow.move_focus).
        self.move_focus: Callable[[QWidget], None] = lambda widget: widget.setFocus()
        self.setProperty("role", "scrim")
        outer = QHBoxLayout(self)
        self.card = QFrame()
        self.card.setProperty("role", "dialog")
        self.card.setFixedWidth(width)
        outer.addStretch(1)
        outer.addWidget(self.card, 0, Qt.AlignmentFlag.AlignVCenter)
        outer.addStretch(1)
        self.body = QVBoxLayout(self.card)
        self.body.setContentsMargins(mx.margin, mx.margin, mx.margin, mx.margin)
        self.body.setSpacing(mx.margin // 2)
        self.hide()
        parent.installEventFilter(self)

    def open(self) -> None:
        """Cover the parent and show the card, as a navigator layer when there is one."""
        self._cover()
        if self.isVisible():
            return
        if self.layers is not None:
            self.layers.open_layer(self)
        else:
            self.show()
        self.raise_()

    def close_overlay(self) -> None:
        """Hide it; focus returns to what opened it."""
        if not self.isVisible():
            return
        if self.layers is None or not self.layers.close_layer():
            self.hide()

    def cover(self, host: QWidget) -> None:
        """Dim all of *host* (the window: its sidebar and player bar too), not just the
        screen that owns the panel."""
        old = self.parentWidget()
        if old is host:
            return
        if old is not None:
            old.removeEventFilter(self)
        self.setParent(host)
        host.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Follow the parent's size, so the backdrop always covers it."""
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._cover()
        return False

    def _cover(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
