"""Every desktop screen renders without Qt warnings, and the navigation linter finds no
unreachable item, no trap and no one-way move between main areas on any of them."""

from __future__ import annotations

from client.app.window import SCREENS
from client.spatial import FindingKind
from tests.e2e.app.conftest import open_app

# No item without an arrow path, no trap, no move between main areas that does not come back.
SERIOUS = (FindingKind.UNREACHABLE, FindingKind.TRAP, FindingKind.ONE_WAY_AREA)


def _render_and_lint(qtbot, window) -> dict[str, list[str]]:
    qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
    qtbot.waitUntil(lambda: len(window.devices.views()) >= 1, timeout=10_000)
    problems: dict[str, list[str]] = {}
    for name in SCREENS:
        window.show_screen(name)
        qtbot.waitUntil(lambda n=name: window.current_screen() == n)
        assert not window.grab().isNull()
        findings = window.navigator.lint()
        problems[name] = [f.message for f in findings if f.kind in SERIOUS]
    # The album page of the library too.
    window.show_screen("library")
    window.library.open_album(window.albums.albums()[0])
    findings = window.navigator.lint()
    problems["album"] = [f.message for f in findings if f.kind in SERIOUS]
    return problems


def test_screens_render_and_pass_the_navigation_linter(qtbot, tmp_path, library_dir):
    # The TV layout's pages are linted in test_tv.py.
    window = open_app(qtbot, tmp_path, library_dir)
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
    from connect.wire import messages as m

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
    # Greyed and deaf to OK, but still focusable: focus never jumps off a device it is on.
    assert card.inert
    assert card.button.isEnabled()
    assert card.button.property("inert") is True
    with qtbot.assertNotEmitted(screen.transfer_requested):
        card.button.click()
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
