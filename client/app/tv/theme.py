"""The TV layout's sizes and style: pixel sizes for a 1080p panel seen from about 3 m.

Every text is at least 24 px tall at 1080p (Android TV's 10-foot guidance puts body text
around 24-28 sp at 1080p); sizes are in pixels, not points, so they do not depend on the
screen's DPI, and they scale with the screen's height (a 4K panel gets twice as much).
"""

from __future__ import annotations

from dataclasses import dataclass

from client.app import theme

MIN_TEXT_PX = 24  # the smallest text allowed anywhere in the TV layout, at 1080p
SAFE_AREA = 0.05  # overscan: 5% on every side stays empty (Android TV, "Layouts")
ZOOM = 1.12  # a focused card grows this much (Android TV: 1.05-1.15)


@dataclass(frozen=True)
class TvSizes:
    """Pixel sizes at 1080p; `scaled` gives them for another screen height."""

    body: int = 28
    small: int = MIN_TEXT_PX
    card: int = 26
    heading: int = 34
    title: int = 48
    hero: int = 60
    art: int = 240  # a card's cover at rest
    small_art: int = 150  # a queue card's cover at rest
    big_art: int = 440  # Now playing's cover
    icon: int = 44
    gap: int = 28
    button: int = 96  # transport buttons

    def scaled(self, screen_height: int) -> TvSizes:
        """Return the sizes for a screen *screen_height* px tall (1080p: unchanged)."""
        k = max(1.0, screen_height / 1080)
        return TvSizes(*(round(v * k) for v in self.__dict__.values()))


def stylesheet(px: TvSizes) -> str:
    """Return the TV style sheet: the app's look with pixel text sizes for 3 m."""
    base = theme.stylesheet(theme.TV)
    return (
        base
        + f"""
    QWidget {{ font-size: {px.body}px; }}
    QLabel[role="title"] {{ font-size: {px.title}px; font-weight: 700; }}
    QLabel[role="heading"] {{ font-size: {px.heading}px; font-weight: 700; }}
    QLabel[role="hero"] {{ font-size: {px.hero}px; font-weight: 800; }}
    QLabel[role="subhero"] {{ font-size: {px.heading}px; color: {theme.MUTED}; }}
    QLabel[role="muted"], QLabel[role="small"] {{ font-size: {px.small}px; }}
    QLabel#brand {{ font-size: {px.heading}px; font-weight: 800; }}
    QAbstractButton[role="card"] {{ font-size: {px.card}px; background: transparent; }}
    QPushButton[role="key"] {{ font-size: {round(px.body * 1.5)}px; font-weight: 700; }}
    QLabel#pin-display {{ font-size: {px.hero}px; font-weight: 800; }}
    QLabel#pin-title, QLabel#lost-title, QLabel#details-title {{
        font-size: {px.heading}px; font-weight: 700;
    }}
    QPushButton[role="tab"] {{
        background: transparent; color: {theme.MUTED}; font-weight: 700;
        padding: 10px 22px; border-radius: 24px;
    }}
    QPushButton[role="tab"]:checked {{ background: {theme.RAISED}; color: {theme.TEXT}; }}
    QPushButton[role="tab"]:focus {{ background: {theme.TEXT}; color: {theme.BACKGROUND}; }}
    QPushButton[role="chip"] {{
        background: {theme.RAISED}; border-radius: 24px; padding: 10px 22px; text-align: left;
    }}
    QPushButton[role="chip"]:focus {{ background: {theme.TEXT}; color: {theme.BACKGROUND}; }}
    QPushButton[role="device"] {{
        background: {theme.SURFACE}; border-radius: 14px; padding: 16px 24px; text-align: left;
    }}
    QPushButton[role="device"]:focus {{ background: #3a4152; }}
    QPushButton[role="device"][inert="true"] {{ color: {theme.ACCENT}; }}
    QPushButton[role="device"][inert="true"]:focus {{ background: {theme.RAISED}; }}
    QProgressBar#tv-progress {{ max-height: 14px; min-height: 14px; border-radius: 7px; }}
    QProgressBar#tv-progress::chunk {{ border-radius: 7px; }}
    QScrollBar:vertical, QScrollBar:horizontal {{ width: 0; height: 0; }}
    """
    )
