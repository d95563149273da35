"""A grid of cover buttons that builds only the rows near the view: a thousand albums open at once.

Every cell has the same size, so the grid's full height is known without building it; the
buttons of the rows in view, plus a few rows on each side, are made when the view scrolls
there (the spatial navigator scrolls to the item it moves to, so Down from the last built row
always finds the next one). Built buttons are kept: focus and the navigator's memory stay valid.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QScrollArea, QToolButton, QWidget

AHEAD_ROWS = 2  # rows built beyond each edge of the view


class LazyGrid(QScrollArea):
    """Cells 0..count-1 in `columns` columns; `make(index)` builds the button of a cell."""

    def __init__(self, make: Callable[[int], QToolButton], spacing: int, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.make = make
        self.spacing = spacing
        self.count = 0
        self.columns = 4
        self.cell = QSize(0, 0)
        self.built: dict[int, QToolButton] = {}
        self.host = QWidget()
        self.host.setObjectName(f"{name}-cells")
        self.setWidget(self.host)
        self.setWidgetResizable(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.verticalScrollBar().valueChanged.connect(self._build_visible)

    def reset(self, count: int) -> None:
        """Drop every button and show *count* cells (built as they come into view)."""
        for button in self.built.values():
            button.hide()
            button.deleteLater()
        self.built.clear()
        self.count = count
        self.verticalScrollBar().setValue(0)
        self._layout()

    def set_columns(self, columns: int) -> None:
        """Lay the cells out in *columns* columns."""
        columns = max(1, columns)
        if columns != self.columns:
            self.columns = columns
            self._layout()

    def button(self, index: int) -> QToolButton | None:
        """Return cell *index*'s button, building it if needed (None: no such cell)."""
        if not 0 <= index < self.count:
            return None
        self._build_rows(index // self.columns, index // self.columns)
        return self.built.get(index)

    def buttons(self) -> list[QToolButton]:
        """Return the buttons built so far, in cell order."""
        return [self.built[i] for i in sorted(self.built)]

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Build what the new size shows."""
        super().resizeEvent(event)
        self._layout()

    # ------------------------------------------------------------------ helpers
    def _layout(self) -> None:
        if self.count and self.cell.isEmpty():
            first = self.make(0)  # the size of one cell, from a real button
            self._adopt(0, first)
        rows = -(-self.count // self.columns) if self.count else 0
        step = self.cell.height() + self.spacing
        width = max(self.viewport().width(), self.columns * (self.cell.width() + self.spacing))
        self.host.resize(width, max(0, rows * step - self.spacing))
        for index, button in self.built.items():
            button.move(self._origin(index))
        self._build_visible()

    def _build_visible(self) -> None:
        if not self.count or self.cell.isEmpty():
            return
        step = self.cell.height() + self.spacing
        top = self.verticalScrollBar().value()
        bottom = top + max(self.viewport().height(), step)
        self._build_rows(top // step - AHEAD_ROWS, bottom // step + AHEAD_ROWS)

    def _build_rows(self, first: int, last: int) -> None:
        rows = -(-self.count // self.columns)
        for row in range(max(0, first), min(rows - 1, last) + 1):
            for index in range(row * self.columns, min(self.count, (row + 1) * self.columns)):
                if index not in self.built:
                    self._adopt(index, self.make(index))

    def _adopt(self, index: int, button: QToolButton) -> None:
        button.setParent(self.host)
        if self.cell.isEmpty():
            self.cell = button.sizeHint()
        button.setFixedSize(self.cell)
        button.move(self._origin(index))
        button.show()
        self.built[index] = button

    def _origin(self, index: int) -> QPoint:
        row, column = divmod(index, self.columns)
        return QPoint(
            column * (self.cell.width() + self.spacing), row * (self.cell.height() + self.spacing)
        )
