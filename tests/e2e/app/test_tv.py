"""The TV layout, page by page: legible at 3 m, inside the overscan margin, and clean for the
navigation linter (no unreachable item, no trap, no one-way move between its main areas)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QLineEdit, QWidget

from client.app.tv.theme import MIN_TEXT_PX, SAFE_AREA
from client.app.tv.window import TvWindow
from client.spatial import FindingKind
from tests.e2e.app.conftest import open_app

SERIOUS = (FindingKind.UNREACHABLE, FindingKind.TRAP, FindingKind.ONE_WAY_AREA)


@pytest.fixture
def tv(qtbot, tmp_path: Path, library_dir: Path) -> Iterator[TvWindow]:
    window = open_app(qtbot, tmp_path, library_dir, tv=True)
    assert isinstance(window, TvWindow)
    qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
    qtbot.waitUntil(lambda: bool(window.home.devices.cards), timeout=10_000)
    yield window
    window.close()
    window.bridge.close()


def _pages(qtbot, window: TvWindow) -> Iterator[str]:
    """Show every page (and the picker over one), yielding its name once it is laid out."""
    album = window.albums.albums()[0]
    steps = [
        ("home", lambda: window.open_tab("home")),
        ("album", lambda: window.open_album(album)),
        ("artist", lambda: window.open_artist(album.artist)),
        ("now-playing", lambda: window.show_page("now-playing")),
        ("settings", lambda: window.open_tab("settings")),
        ("picker", window.open_picker),
    ]
    for name, show in steps:
        show()
        QApplication.processEvents()
        yield name
        if name == "picker":
            window.picker.close_overlay()


def _shown(window: TvWindow) -> list[QWidget]:
    return [w for w in window.findChildren(QWidget) if w.isVisible() and w.window() is window]


def test_every_tv_page_passes_the_navigation_linter(qtbot, tv):
    problems = {}
    for page in _pages(qtbot, tv):
        problems[page] = [f.message for f in tv.navigator.lint() if f.kind in SERIOUS]
    assert problems == {p: [] for p in problems}


def test_no_text_on_any_tv_page_is_under_24_px(qtbot, tv):
    small: dict[str, list[str]] = {}
    for page in _pages(qtbot, tv):
        for widget in _shown(tv):
            texty = isinstance(widget, QLabel | QAbstractButton | QLineEdit)
            if not texty or (isinstance(widget, QLabel) and not widget.text()):
                continue
            size = QFontInfo(widget.font()).pixelSize()
            if size < MIN_TEXT_PX:
                name = widget.objectName() or type(widget).__name__
                small.setdefault(page, []).append(f"{name}: {size} px")
    assert small == {}


def test_everything_shown_stays_inside_the_overscan_margin(qtbot, tv):
    tv.resize(1920, 1080)
    QApplication.processEvents()
    safe = tv.rect().adjusted(
        round(1920 * SAFE_AREA), round(1080 * SAFE_AREA),
        -round(1920 * SAFE_AREA), -round(1080 * SAFE_AREA),
    )  # fmt: skip
    outside: dict[str, list[str]] = {}
    for page in _pages(qtbot, tv):
        for widget in _shown(tv):
            if not isinstance(widget, QLabel | QAbstractButton | QLineEdit) or widget in (
                tv.navigator.ring,
            ):
                continue
            seen = widget.visibleRegion().boundingRect()  # clipped by scroll areas
            if seen.isEmpty():
                continue
            where = seen.translated(widget.mapTo(tv, seen.topLeft()) - seen.topLeft())
            if not safe.contains(where):
                outside.setdefault(page, []).append(widget.objectName() or type(widget).__name__)
    assert outside == {}


def test_the_tv_window_fits_a_1080p_screen(tv):
    hint = tv.minimumSizeHint()
    assert hint.width() <= 1920
    assert hint.height() <= 1080
