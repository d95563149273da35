"""A group member's row in the TV's device picker (client/app/tv/picker.py).

A member of a group is one row the remote's arrows reach like any device, but Left and Right
on it set its volume in the group (it is a slider: the navigator leaves arrows to a slider
until its end) and OK, pressed twice, takes it out of the group: the first OK says what the
second will do, and moving away forgets it. A remote has no undo and OK is pressed often, so
one press never silences a room.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFocusEvent, QFont, QFontMetrics, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QSizePolicy

from client.app import theme
from client.app.groups import MemberShown
from client.app.screens.device_picker import VolumeSlider
from client.app.tv.theme import TvSizes

WIDEST = 16_777_215  # QWIDGETSIZE_MAX


class MemberRow(VolumeSlider):
    """A group member: its icon, name, what it does and its volume, drawn as a device row."""

    leave_requested = Signal(str)  # device id: the second OK

    def __init__(self, px: TvSizes, device_id: str) -> None:
        super().__init__(theme.TV, "")
        self.px = px
        self.device_id = device_id
        self.setMinimumWidth(0)
        self.setMaximumWidth(WIDEST)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.name = ""
        self.words = ""
        self.armed = False  # OK once: the next OK takes it out of the group
        self._glyph = QPixmap()
        pad = px.gap // 2
        lines = QFontMetrics(self._font(px.heading, True)).lineSpacing()
        lines += QFontMetrics(self._font(px.small, False)).lineSpacing()
        height = max(px.icon, lines) + 2 * pad
        # Its size, not the style sheet's slider height (a "min-height" for sliders).
        self.setStyleSheet(f"min-height: {height}px; max-height: {height}px;")
        self.keep_asked = True  # a step of the remote's stays until the roster has it
        self.valueChanged.connect(lambda _: self._say())

    def show_member(self, name: str, member: MemberShown, icon: str, color: str) -> None:
        """Show *member* (named *name*) with its icon in *color*."""
        self.name = name
        self.words = member.words.capitalize()
        self._glyph = theme.pixmap(icon, self.px.icon, color, 2.0)
        self.show_volume(member.volume)
        self._say()

    def ok(self) -> None:
        """OK on the row: the first says what the second does; the second asks to leave."""
        if self.armed:
            self.armed = False
            self.leave_requested.emit(self.device_id)
        else:
            self.armed = True
        self._say()

    def subtitle(self) -> str:
        """Return the row's second line, as drawn."""
        if self.armed:
            return f"OK again to take {self.name} out of the group"
        return f"{self.words} · ◀ ▶ volume · OK to leave"

    def _say(self) -> None:
        said = f"{self.words}, volume {self.value()}" if not self.armed else self.subtitle()
        self.setAccessibleName(f"{self.name} in the group: {said}")
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        """Moving away forgets a first OK."""
        super().focusOutEvent(event)
        if self.armed:
            self.armed = False
            self._say()

    def _font(self, size: int, bold: bool) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(size)
        font.setBold(bold)
        return font

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """The row as the picker's device rows look, with the volume as a bar at its right."""
        px, r = self.px, self.rect()
        pad = px.gap // 2
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#3a4152" if self.hasFocus() else theme.SURFACE))
        painter.drawRoundedRect(QRectF(r), 14, 14)
        painter.drawPixmap(pad, (r.height() - px.icon) // 2, px.icon, px.icon, self._glyph)
        left = pad * 2 + px.icon
        bar = px.art * 2 // 3  # the volume bar's width, its number before it
        small = self._font(px.small, False)
        number = QFontMetrics(small).horizontalAdvance("100") + pad // 2
        text_width = r.width() - left - bar - number - pad * 3
        name = self._font(px.heading, True)
        top = pad
        for font, text, color in (
            (name, self.name, theme.TEXT),
            (small, self.subtitle(), theme.ACCENT if self.armed else theme.MUTED),
        ):
            metrics = QFontMetrics(font)
            painter.setFont(font)
            painter.setPen(QColor(color))
            elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, text_width)
            painter.drawText(QRectF(left, top, text_width, metrics.lineSpacing()), 0, elided)
            top += metrics.lineSpacing()
        track = QRectF(r.width() - pad * 2 - bar, r.height() / 2 - 6, bar, 12)
        painter.setFont(small)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(
            QRectF(track.x() - number, 0, number - pad // 2, r.height()),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            str(self.value()),
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.RAISED))
        painter.drawRoundedRect(track, 6, 6)
        filled = QRectF(track.x(), track.y(), track.width() * self.value() / 100, track.height())
        painter.setBrush(QColor(theme.ACCENT))
        painter.drawRoundedRect(filled, 6, 6)
        painter.end()
