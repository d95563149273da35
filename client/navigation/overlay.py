"""The debug overlay: every candidate of the last move, its origin and the one chosen."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from client.spatial import Direction, Rect


@dataclass(frozen=True)
class Decision:
    """What one arrow press considered: origin, direction, all candidates, the chosen rect."""

    direction: Direction
    origin: Rect
    candidates: tuple[Rect, ...]
    chosen: Rect | None
    reason: str


class DebugOverlay(QWidget):
    """Draws the last Decision over the window; transparent to the mouse; toggled by a key."""

    CANDIDATE = QColor(255, 200, 0)
    ORIGIN = QColor(0, 160, 255)
    CHOSEN = QColor(0, 230, 90)

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.decision: Decision | None = None
        self.hide()

    def toggle(self) -> None:
        """Show the overlay if hidden, hide it if shown."""
        if self.isVisible():
            self.hide()
            return
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()

    def show_decision(self, decision: Decision) -> None:
        """Remember `decision` and repaint if visible."""
        self.decision = decision
        if self.isVisible():
            self.raise_()
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Outline the candidates thinly, the origin in blue, the chosen one thick in green."""
        decision = self.decision
        if decision is None:
            return
        painter = QPainter(self)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(self.CANDIDATE, 1, Qt.PenStyle.DashLine))
        for rect in decision.candidates:
            painter.drawRect(_qrect(rect))
        painter.setPen(QPen(self.ORIGIN, 2))
        painter.drawRect(_qrect(decision.origin))
        if decision.chosen is not None:
            painter.setPen(QPen(self.CHOSEN, 4))
            painter.drawRect(_qrect(decision.chosen))
            painter.drawLine(_qrect(decision.origin).center(), _qrect(decision.chosen).center())
        painter.setPen(QPen(QColor(255, 255, 255), 1))
        painter.drawText(8, 20, f"{decision.direction.value}: {decision.reason}")
        painter.end()


def _qrect(rect: Rect) -> QRectF:
    return QRectF(rect.x, rect.y, rect.width, rect.height)
