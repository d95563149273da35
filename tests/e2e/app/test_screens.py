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


def test_a_device_that_cannot_take_the_track_is_greyed_with_the_reason(qtbot):
    from client.app import theme
    from client.app import views as v
    from client.app.models import DeviceListModel
    from client.app.screens.devices import DevicesScreen
    from connect import messages as m

    model = DeviceListModel()
    screen = DevicesScreen(theme.DESKTOP, model)
    qtbot.addWidget(screen)
    item = m.QueueItem(uid="a", url="http://h/a.flac", content_type="audio/flac")
    car = v.DeviceView(
        "car", "Car", m.DeviceType.CAR, True, "127.0.0.1:1", 0.0,
        why_not="Car cannot play flac audio",
    )  # fmt: skip
    model.put(v.DeviceView("tv", "TV", m.DeviceType.TV, True, "127.0.0.1:2", 0.0))
    model.put(car)
    screen.set_followed("tv", item)
    screen.show()
    qtbot.waitUntil(lambda: "car" in screen.cards and "tv" in screen.cards)
    card = screen.cards["car"]
    assert not card.button.isEnabled()
    assert card.reason.text() == "Car cannot play flac audio"
    assert screen.cards["tv"].button.text() == "Playing here"


def test_adding_a_device_that_is_not_there_says_why(qtbot, app_window):
    from client.app import views as v

    with qtbot.waitSignal(
        app_window.bridge.notice, timeout=10_000, check_params_cb=lambda n: n.error
    ) as notice:
        app_window.devices_screen.address.setText("127.0.0.1:9")
        app_window.devices_screen.add_button.click()
    assert isinstance(notice.args[0], v.Notice)
    assert notice.args[0].text.startswith("Cannot add '127.0.0.1:9'")
    assert app_window.notice_label.text() == notice.args[0].text
