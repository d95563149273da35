"""Scroll areas follow focus: the next item scrolls into view with a margin, only when needed."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QScrollArea, QWidget

from client.spatial import scroll_delta


def ensure_visible(widget: QWidget, margin: int) -> None:
    """Scroll every QScrollArea around `widget`, innermost first, until it is fully shown."""
    parent = widget.parentWidget()
    while parent is not None:
        area = parent.parentWidget()
        if isinstance(area, QScrollArea) and parent is area.viewport():
            _reveal(area, widget, margin)
        parent = parent.parentWidget()


def _reveal(area: QScrollArea, widget: QWidget, margin: int) -> None:
    viewport = area.viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    dx = scroll_delta(0, viewport.width(), top_left.x(), top_left.x() + widget.width(), margin)
    dy = scroll_delta(0, viewport.height(), top_left.y(), top_left.y() + widget.height(), margin)
    if dx:
        bar = area.horizontalScrollBar()
        bar.setValue(bar.value() + round(dx))
    if dy:
        bar = area.verticalScrollBar()
        bar.setValue(bar.value() + round(dy))
