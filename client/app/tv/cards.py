"""Cards and rows of cards: the TV home's building blocks (Leanback's browse rows).

A card is a cover that grows when focused and only then shows its title and subtitle under
it, as Android TV and Spotify's TV app do. Its widget keeps one size whatever its state (the
room to grow is part of it), so navigation geometry and the row's layout never change when
focus moves: a focused card is drawn bigger, never laid out bigger (spatnav.md, D6).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app.tv.theme import ZOOM, TvSizes
from client.app.widgets import label


class Card(QAbstractButton):
    """A cover with a title; OK (or a click) emits `clicked`."""

    def __init__(
        self, px: TvSizes, title: str, subtitle: str, art: QPixmap, *, name: str = ""
    ) -> None:
        super().__init__()
        self.px = px
        self.title = title
        self.subtitle = subtitle
        self.setProperty("role", "card")
        self.setObjectName(name)
        self.setAccessibleName(f"{title}, {subtitle}" if subtitle else title)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Sized in pixels here (the style sheet says the same), so the card's size is known
        # before any style applies: rows are laid out from it.
        font = QFont(self.font())
        font.setPixelSize(px.card)
        self.setFont(font)
        self._art = art
        self._big = round(px.art * ZOOM)
        self.setFixedSize(self.sizeHint())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """The grown cover and two lines of text: the same whether focused or not."""
        line = QFontMetrics(self._title_font()).lineSpacing()
        return QSize(self._big, self._big + self.px.gap // 3 + 2 * line + 4)

    def set_art(self, art: QPixmap) -> None:
        """Show another cover (a device's state, a late album art)."""
        self._art = art
        self.update()

    def set_text(self, title: str, subtitle: str) -> None:
        """Change the title and subtitle (shown while focused)."""
        self.title, self.subtitle = title, subtitle
        self.setAccessibleName(f"{title}, {subtitle}" if subtitle else title)
        self.update()

    def _title_font(self) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(self.px.card)
        font.setBold(True)
        return font

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """The cover (grown when focused) and, when focused, the title and subtitle."""
        focused = self.hasFocus()
        side = self._big if focused else self.px.art
        inset = (self._big - side) / 2
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawPixmap(QRectF(inset, inset, side, side), self._art, QRectF(self._art.rect()))
        if not self.isEnabled():
            painter.fillRect(QRectF(inset, inset, side, side), QColor(15, 17, 21, 160))
        if focused:
            top = self._big + self.px.gap / 3
            width = self.width()
            title_font = self._title_font()
            metrics = QFontMetrics(title_font)
            painter.setFont(title_font)
            painter.setPen(theme.TEXT)
            line = metrics.lineSpacing()
            elided = metrics.elidedText(self.title, Qt.TextElideMode.ElideRight, width)
            painter.drawText(QRectF(0, top, width, line), Qt.AlignmentFlag.AlignLeft, elided)
            painter.setFont(self.font())
            painter.setPen(theme.MUTED)
            plain = QFontMetrics(self.font())
            sub = plain.elidedText(self.subtitle, Qt.TextElideMode.ElideRight, width)
            painter.drawText(QRectF(0, top + line, width, line), Qt.AlignmentFlag.AlignLeft, sub)
        painter.end()

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        """Grow and show the title."""
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        """Shrink back; the title hides."""
        super().focusOutEvent(event)
        self.update()


class CardRow(QFrame):
    """A heading over a horizontal strip of cards that scrolls to follow focus."""

    def __init__(self, px: TvSizes, heading: str, name: str) -> None:
        super().__init__()
        self.px = px
        self.setObjectName(name)
        layout = QVBoxLayout(self)
        # The focus ring is drawn just outside a card: room for it on every side.
        ring = px.gap // 2
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(px.gap // 3)
        self.heading = label(heading, "heading")
        self.heading.setObjectName(f"{name}-heading")
        layout.addWidget(self.heading)
        self.area = QScrollArea()
        self.area.setObjectName(f"{name}-strip")
        self.area.setWidgetResizable(True)
        self.area.setFrameShape(QFrame.Shape.NoFrame)
        self.area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        strip = QWidget()
        self.strip = QHBoxLayout(strip)
        self.strip.setContentsMargins(ring, ring, ring, ring)
        self.strip.setSpacing(px.gap)
        self.strip.addStretch(1)
        self.area.setWidget(strip)
        layout.addWidget(self.area)
        self.cards: list[Card] = []

    def set_cards(self, cards: Sequence[Card]) -> None:
        """Replace the row's cards (the row hides when it has none)."""
        for old in self.cards:
            old.setObjectName("")  # deleted later: keep names unique meanwhile
            old.hide()
            old.deleteLater()
        self.cards = list(cards)
        for n, card in enumerate(self.cards):
            self.strip.insertWidget(n, card)
        height = max((c.sizeHint().height() for c in self.cards), default=0)
        margins = self.strip.contentsMargins()
        self.area.setFixedHeight(height + margins.top() + margins.bottom())
        self.setVisible(bool(self.cards))


def device_art(icon: str, size: int, color: str) -> QPixmap:
    """Return a device card's cover: its icon on a rounded tile."""
    tile = QPixmap(size, size)
    tile.fill(Qt.GlobalColor.transparent)
    painter = QPainter(tile)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(theme.RAISED))
    painter.drawRoundedRect(QRectF(0, 0, size, size), size / 12, size / 12)
    glyph = size // 2
    painter.drawPixmap(
        (size - glyph) // 2, (size - glyph) // 2, theme.pixmap(icon, glyph, color, 1.0)
    )
    painter.end()
    return tile
