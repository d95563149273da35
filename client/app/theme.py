"""The app's look: a dark palette, type sizes for desktop and TV, the style sheet, icons, art.

Icons are the SVGs in `icons/` (drawn for this app), tinted by replacing `currentColor` and
rendered at the screen's pixel ratio, so they stay crisp at every size.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QIcon,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).with_name("icons")

BACKGROUND = "#0f1115"
SURFACE = "#181b22"
RAISED = "#222632"
TEXT = "#f2f3f5"
MUTED = "#9aa0ad"
ACCENT = "#1ed760"  # the playing state, progress, active device
DANGER = "#ff6b6b"


@dataclass(frozen=True)
class Metrics:
    """Sizes for one layout: the desktop window or the 10-foot TV screen."""

    tv: bool
    base_pt: int  # body text
    title_pt: int  # screen titles
    cover: int  # album cover side in the grid, px
    big_cover: int  # now-playing art, px
    icon: int  # button icons, px
    row: int  # list row height, px
    margin: int  # outer margin, px (TV: the 5% safe area is added on top)
    sidebar: int  # width of the navigation rail


DESKTOP = Metrics(False, 11, 22, 168, 320, 22, 44, 20, 200)
TV = Metrics(True, 20, 40, 260, 460, 40, 76, 24, 340)


def metrics(tv: bool) -> Metrics:
    """Return the sizes of the desktop or the TV layout."""
    return TV if tv else DESKTOP


def stylesheet(mx: Metrics) -> str:
    """Return the application style sheet for *mx*."""
    pad = 14 if mx.tv else 8
    return f"""
    QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: {mx.base_pt}pt; }}
    QLabel {{ background: transparent; }}
    QLabel[role="title"] {{ font-size: {mx.title_pt}pt; font-weight: 700; }}
    QLabel[role="muted"] {{ color: {MUTED}; }}
    QLabel[role="error"] {{ color: {DANGER}; }}
    QLabel[role="ok"] {{ color: {ACCENT}; }}
    QLabel#notice {{
        background: {RAISED}; border: 1px solid #343a4c; border-radius: 10px; padding: {pad}px;
    }}
    QFrame[role="card"] {{ background: {SURFACE}; border-radius: 12px; }}
    QFrame[role="card"][active="true"] {{ border: 2px solid {ACCENT}; }}
    QFrame[role="scrim"] {{ background: rgba(0, 0, 0, 170); }}
    QFrame[role="dialog"] {{
        background: {SURFACE}; border: 1px solid {RAISED}; border-radius: 16px;
    }}
    QPushButton[role="key"] {{ font-size: {round(mx.base_pt * 1.6)}pt; font-weight: 700; }}
    QLabel#pin-display {{ font-size: {round(mx.base_pt * 2.2)}pt; font-weight: 700; }}
    QFrame[role="sidebar"] {{ background: #0b0c10; }}
    QFrame[role="playerbar"] {{ background: {SURFACE}; border-top: 1px solid {RAISED}; }}
    QPushButton, QToolButton {{
        background: {RAISED}; border: none; border-radius: 8px; padding: {pad}px {pad + 6}px;
    }}
    QPushButton:hover, QToolButton:hover {{ background: #2e3342; }}
    QPushButton:focus, QToolButton:focus {{ background: #343a4c; }}
    QPushButton:disabled, QToolButton:disabled {{ color: #5b606c; background: #1b1e26; }}
    QPushButton[role="primary"] {{ background: {ACCENT}; color: #06120a; font-weight: 700; }}
    QPushButton[role="primary"]:disabled {{ background: #1b1e26; color: #5b606c; }}
    QPushButton[inert="true"] {{ background: #1b1e26; color: #8a909c; }}
    QPushButton[inert="true"]:focus {{ background: #2a2f3d; color: {TEXT}; }}
    QToolButton[role="nav"] {{
        background: transparent; text-align: left; padding: {pad}px; border-radius: 10px;
        color: {MUTED}; font-weight: 600;
    }}
    QToolButton[role="nav"]:checked {{ background: {RAISED}; color: {TEXT}; }}
    QToolButton[role="nav"]:focus {{ background: #343a4c; color: {TEXT}; }}
    QToolButton[role="album"] {{ background: transparent; padding: 6px; border-radius: 12px; }}
    QToolButton[role="album"]:hover, QToolButton[role="album"]:focus {{ background: {RAISED}; }}
    QToolButton[role="round"] {{ border-radius: {mx.icon}px; padding: {pad}px; }}
    QToolButton[role="play"] {{ background: {TEXT}; border-radius: {mx.icon}px; padding: {pad}px; }}
    QToolButton[role="play"]:focus {{ background: {ACCENT}; }}
    QPushButton[role="row"] {{
        background: transparent; text-align: left; border-radius: 8px; padding: {pad}px;
    }}
    QPushButton[role="row"]:hover, QPushButton[role="row"]:focus {{ background: {RAISED}; }}
    QPushButton[role="row"][current="true"] {{ color: {ACCENT}; }}
    QPushButton[role="row"][unplayable="true"] {{ color: {MUTED}; }}
    QProgressBar {{ background: {RAISED}; border: none; border-radius: 3px; max-height: 6px; }}
    QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
    QSlider {{ background: transparent; min-height: {mx.icon}px; }}
    QSlider::groove:horizontal {{ height: 6px; background: {RAISED}; border-radius: 3px; }}
    QSlider::sub-page:horizontal {{ height: 6px; background: {TEXT}; border-radius: 3px; }}
    QSlider::add-page:horizontal {{ height: 6px; background: {RAISED}; border-radius: 3px; }}
    QSlider::handle:horizontal {{
        background: {TEXT}; width: 16px; height: 16px; margin: -5px 0; border-radius: 8px;
    }}
    QSlider::handle:horizontal:focus {{ background: {ACCENT}; }}
    QLineEdit {{
        background: {RAISED}; border: 1px solid #343a4c; border-radius: 8px; padding: {pad}px;
    }}
    QLineEdit:focus {{ border: 1px solid {ACCENT}; }}
    QCheckBox {{ background: transparent; spacing: 10px; }}
    QCheckBox::indicator {{
        width: {mx.icon - 4}px; height: {mx.icon - 4}px; border: 2px solid {MUTED};
        border-radius: 5px; background: {RAISED};
    }}
    QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
    QCheckBox::indicator:focus {{ border-color: {TEXT}; }}
    QScrollArea {{ border: none; }}
    QScrollBar:vertical {{ background: transparent; width: 10px; }}
    QScrollBar::handle:vertical {{ background: {RAISED}; border-radius: 5px; min-height: 30px; }}
    QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; }}
    """


def font(mx: Metrics, scale: float = 1.0, bold: bool = False) -> QFont:
    """Return the app font at *scale* times the body size."""
    f = QFont()
    f.setPointSizeF(mx.base_pt * scale)
    f.setBold(bold)
    return f


@functools.cache
def _svg(name: str) -> str:
    return (ICONS / f"{name}.svg").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=256)
def pixmap(name: str, size: int, color: str = TEXT, ratio: float = 1.0) -> QPixmap:
    """Render icon *name* at *size* logical px in *color* (cached: call on the UI thread)."""
    data = _svg(name).replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(data.encode()))
    side = max(1, round(size * ratio))
    image = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, side, side))
    painter.end()
    result = QPixmap.fromImage(image)
    result.setDevicePixelRatio(ratio)
    return result


def icon(name: str, size: int, color: str = TEXT, ratio: float = 2.0) -> QIcon:
    """Return icon *name* as a QIcon (rendered at 2x so it is crisp on HiDPI screens)."""
    return QIcon(pixmap(name, size, color, ratio))


def device_icon_name(device_type: object) -> str:
    """Return the icon name for a DeviceType."""
    name = getattr(device_type, "name", "speaker").lower()
    return name if name in ("speaker", "car", "tv", "computer", "avr") else "speaker"


@functools.lru_cache(maxsize=128)
def cover(art: bytes | None, title: str, size: int, radius: int = 10) -> QPixmap:
    """Return album art at *size*, rounded; painted from *title* when missing (cached)."""
    image = QImage()
    if art:
        image.loadFromData(art)
    result = QPixmap(size, size)
    result.fill(Qt.GlobalColor.transparent)
    painter = QPainter(result)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    clip = QPainterPath()
    clip.addRoundedRect(QRectF(0, 0, size, size), radius, radius)
    painter.setClipPath(clip)
    if not image.isNull():
        painter.drawImage(QRectF(0, 0, size, size), image)
    else:
        digest = hashlib.sha1(title.encode(), usedforsecurity=False).digest()
        gradient = QLinearGradient(0, 0, size, size)
        gradient.setColorAt(0, QColor.fromHsv(digest[0] * 360 // 256, 160, 200))
        gradient.setColorAt(1, QColor.fromHsv(digest[1] * 360 // 256, 200, 90))
        painter.fillRect(0, 0, size, size, QBrush(gradient))
        painter.setPen(QColor(255, 255, 255, 220))
        f = QFont()
        f.setPixelSize(max(8, size // 3))
        f.setBold(True)
        painter.setFont(f)
        initials = "".join(w[0] for w in title.split()[:2]).upper() or "♪"
        painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, initials)
    painter.end()
    return result
