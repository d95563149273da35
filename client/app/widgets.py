"""Small building blocks shared by the screens: labels with a role, icon buttons, scroll pages."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QLabel,
    QLayout,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app.theme import Metrics


def label(
    text: str, role: str = "", *, wrap: bool = False, parent: QWidget | None = None
) -> QLabel:
    """Return a QLabel styled by *role* (title, muted, error, ok or plain)."""
    widget = QLabel(text, parent)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return widget


def icon_button(
    name: str,
    tip: str,
    mx: Metrics,
    *,
    role: str = "round",
    color: str = theme.TEXT,
    scale: float = 1.0,
) -> QToolButton:
    """Return a focusable round button showing icon *name*; *tip* is its accessible name."""
    button = QToolButton()
    size = round(mx.icon * scale)
    button.setIcon(theme.icon(name, size, color))
    button.setIconSize(QSize(size, size))
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setObjectName(tip.lower().replace(" ", "-"))
    button.setProperty("role", role)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def text_button(
    text: str, *, role: str = "", icon: str = "", mx: Metrics | None = None
) -> QPushButton:
    """Return a focusable push button, optionally with a leading icon."""
    button = QPushButton(text)
    if role:
        button.setProperty("role", role)
    if icon and mx is not None:
        color = "#06120a" if role == "primary" else theme.TEXT
        button.setIcon(theme.icon(icon, round(mx.icon * 0.8), color))
        button.setIconSize(QSize(round(mx.icon * 0.8), round(mx.icon * 0.8)))
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setAutoDefault(False)
    return button


def scroll_page(content: QWidget) -> QScrollArea:
    """Wrap *content* in a frameless vertical scroll area that the navigator scrolls."""
    area = QScrollArea()
    area.setWidget(content)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return area


def restyle(widget: QWidget, name: str, value: object) -> None:
    """Set the style-sheet property *name* of *widget* to *value*; re-polish only on a change.

    Qt applies property selectors (`[role="error"]`) at polish time, so a changed property
    shows only once the widget is polished again.
    """
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def clear_layout(layout: QLayout) -> None:
    """Remove and delete every widget of *layout* (and of its nested layouts)."""
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            break
        widget = item.widget()
        if widget is not None:
            widget.hide()
            widget.deleteLater()
        elif item.layout() is not None:
            nested = item.layout()
            if nested is not None:
                clear_layout(nested)


def page(mx: Metrics, title: str) -> tuple[QWidget, QVBoxLayout]:
    """Return a screen page with its title; add content to the returned layout."""
    widget = QWidget()
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(mx.margin, mx.margin, mx.margin, mx.margin)
    layout.setSpacing(mx.margin // 2 + 4)
    heading = label(title, "title")
    heading.setObjectName("screen-title")
    layout.addWidget(heading)
    return widget, layout


def mark_track_row(row: QPushButton, text: str, title: str, mark: str, icon_px: int) -> None:
    """Show a track row as *text*; with *mark* ("Cannot be played: damaged file"), as a track
    that is not offered: an alert icon, the mark after the text, said and shown as a tip."""
    shown = f"{text}    ·    {mark}" if mark else text
    if row.text() != shown:
        row.setText(shown)
    if bool(row.property("unplayable")) != bool(mark):
        row.setProperty("unplayable", bool(mark))
        row.setIcon(theme.icon("alert", icon_px, theme.DANGER) if mark else QIcon())
        row.setIconSize(QSize(icon_px, icon_px))
        row.style().unpolish(row)  # the style sheet's [unplayable="true"] rule
        row.style().polish(row)
    row.setToolTip(mark)
    row.setAccessibleName(f"{title}. {mark}" if mark else "")
    row.setAccessibleDescription(mark)
