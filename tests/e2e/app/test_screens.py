"""Every screen renders without Qt warnings, on the desktop and the TV layout, and the
navigation linter finds no unreachable item and no trap on any of them."""

from __future__ import annotations

import pytest

from client.app.window import SCREENS
from client.spatial import FindingKind
from tests.e2e.app.conftest import open_app


def _render_and_lint(qtbot, window) -> dict[str, list[str]]:
    qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
    qtbot.waitUntil(lambda: len(window.devices.views()) >= 1, timeout=10_000)
    problems: dict[str, list[str]] = {}
    for name in SCREENS:
        window.show_screen(name)
        qtbot.waitUntil(lambda n=name: window.current_screen() == n)
        assert not window.grab().isNull()
        findings = window.navigator.lint()
        problems[name] = [
            f.message for f in findings if f.kind in (FindingKind.UNREACHABLE, FindingKind.TRAP)
        ]
    # The album page of the library too.
    window.show_screen("library")
    window.library.open_album(window.albums.albums()[0])
    findings = window.navigator.lint()
    problems["album"] = [
        f.message for f in findings if f.kind in (FindingKind.UNREACHABLE, FindingKind.TRAP)
    ]
    return problems


@pytest.mark.parametrize("tv", [False, True], ids=["desktop", "tv"])
def test_screens_render_and_pass_the_navigation_linter(qtbot, tmp_path, library_dir, tv):
    window = open_app(qtbot, tmp_path, library_dir, tv=tv)
    try:
        problems = _render_and_lint(qtbot, window)
    finally:
        window.close()
        window.bridge.close()
    assert problems == {name: [] for name in (*SCREENS, "album")}
