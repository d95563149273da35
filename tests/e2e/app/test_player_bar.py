"""The player bar: its two lines aligned, a transport that never moves, words without a stray
"·", shuffle and repeat as the device has them, and the device picker ("Playing on Car ▾")."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from connect.wire import messages as m
from tests.e2e.app.idle import device, idle_window, item, session
from tests.e2e.app.keys import focused, press


def _x(window, widget) -> int:
    return widget.mapTo(window, QPoint(0, 0)).x()


def _left_text_edge(widget) -> int:
    """Where a widget's text starts, from its left edge (a button's padding counts)."""
    return widget.contentsRect().x() + widget.style().pixelMetric(
        widget.style().PixelMetric.PM_ButtonMargin
    ) * (0 if widget.property("role") == "barlink" else 1)


def test_title_and_subtitle_start_at_the_same_x(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    window.bridge.session_changed.emit(session("dev1", "Car", (item("a", "Song", "Artist"),)))
    bar = window.bar
    qtbot.waitUntil(lambda: "Song" in bar.title.text())
    title_x = _x(window, bar.title) + _left_text_edge(bar.title)
    subtitle_x = _x(window, bar.where) + bar.where.contentsRect().x()
    assert title_x == subtitle_x


def test_the_transport_does_not_move_when_the_texts_change(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    bar = window.bar
    short = item("a", "A", "B")
    long = item("b", "A much longer title, as classical music has " * 3, "An artist " * 12)
    window.bridge.session_changed.emit(session("dev1", "Car", (short, long)))
    qtbot.waitUntil(lambda: bar.title.text() == "A")
    qtbot.wait(50)
    before = _x(window, bar.transport.play)
    window.bridge.session_changed.emit(session("dev1", "Living Room", (short, long), "b"))
    qtbot.waitUntil(lambda: bar.title.text() != "A")
    qtbot.wait(50)
    assert _x(window, bar.transport.play) == before


def test_an_empty_artist_leaves_no_stray_dot(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    window.bridge.session_changed.emit(
        session("dev1", "Living Room", (item("a", "Song", artist="", album=""),))
    )
    qtbot.waitUntil(lambda: "Song" in window.bar.title.text())
    assert "·" not in window.bar.where.text()
    assert not window.bar.where.text().startswith(" ")


def test_shuffle_and_repeat_show_the_device_state_and_ask_it_to_change(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    bar = window.bar
    items = (item("a", "Song"),)
    window.bridge.session_changed.emit(
        session("dev1", "Car", items, shuffle=True, repeat=m.RepeatMode.ONE)
    )
    qtbot.waitUntil(lambda: bar.shuffle.isChecked())
    assert bar.repeat.accessibleName() == "Repeat: this track"
    bar.shuffle.click()
    bar.repeat.click()
    commands = [args[0] for args in window.bridge.named("command")]
    assert m.SetOptions(shuffle=False) in commands
    assert m.SetOptions(repeat=m.RepeatMode.OFF) in commands
    # Nothing changes until the device says so: the button still shows shuffle on.
    assert bar.shuffle.isChecked()
    window.bridge.session_changed.emit(session("dev1", "Car", items, shuffle=False))
    qtbot.waitUntil(lambda: not bar.shuffle.isChecked())
    assert bar.repeat.accessibleName() == "Repeat: off"


def test_the_device_picker_moves_the_music_and_sets_each_volume(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    for n, (name, kind) in enumerate(
        (("Car", m.DeviceType.CAR), ("Living Room", m.DeviceType.SPEAKER))
    ):
        window.bridge.device_changed.emit(device(n, name, kind, volume=30 + n * 20))
    window.bridge.session_changed.emit(session("dev0", "Car", (item("a", "Song"),)))
    bar = window.bar
    qtbot.waitUntil(lambda: bar.device_button.text().startswith("Playing on Car"))
    picker = window.desktop.picker
    bar.device_button.setFocus()
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(picker.isVisible)
    assert window.bridge.named("prepare_transfer")  # the targets pre-open the stream
    assert focused() == "pick-button-Car"  # focus starts on where the music is
    assert picker.rows["dev1"].volume.value() == 50
    press(Qt.Key.Key_Down)
    assert focused() == "pick-button-Living Room"
    press(Qt.Key.Key_Right)  # to its volume slider
    assert focused() == "pick-volume-Living Room"
    press(Qt.Key.Key_Right)  # one step up
    assert ("command", (m.SetVolume(55), "dev1")) in window.bridge.requests
    press(Qt.Key.Key_Left)
    press(Qt.Key.Key_Left)  # back down ... and past the row's start: to its button
    picker.rows["dev1"].button.click()
    assert window.bridge.named("transfer") == [("dev1",)]
    assert not picker.isVisible()
    assert bar.device_button.text().startswith("Playing on Car")  # until the device says


def test_with_nothing_playing_the_picker_chooses_the_device_to_play_on(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    window.bridge.device_changed.emit(device(0, "Car", m.DeviceType.CAR))
    qtbot.waitUntil(lambda: window.devices.find("dev0") is not None)
    assert window.bar.device_button.text().startswith("Pick a device")
    window.desktop.open_picker()  # a hidden picker does not follow the list: opening syncs it
    assert "dev0" in window.desktop.picker.rows
    window.desktop.picker.rows["dev0"].button.click()
    assert window.bridge.named("follow") == [("dev0",)]
    assert window.bridge.named("transfer") == []


def test_the_devices_screen_sets_a_device_volume(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    window.bridge.device_changed.emit(device(3, "Kitchen", volume=20))
    window.show_screen("devices")
    screen = window.devices_screen
    qtbot.waitUntil(lambda: "dev3" in screen.cards)
    slider = screen.cards["dev3"].volume
    qtbot.waitUntil(slider.isVisible)
    assert slider.value() == 20
    slider.setValue(35)
    assert ("command", (m.SetVolume(35), "dev3")) in window.bridge.requests
    window.bridge.device_changed.emit(device(3, "Kitchen", volume=35, online=False))
    qtbot.waitUntil(lambda: not slider.isVisible())  # an offline device has no volume to set


def test_right_from_transfer_reaches_access_before_the_volume(qtbot, tmp_path):
    # A slider keeps Right until its maximum: between "Transfer here" and "Access" it hid Access.
    window = idle_window(qtbot, tmp_path)
    window.bridge.device_changed.emit(device(3, "Kitchen", volume=20, role=m.Role.OWNER))
    window.show_screen("devices")
    screen = window.devices_screen
    qtbot.waitUntil(lambda: "dev3" in screen.cards)
    card = screen.cards["dev3"]
    qtbot.waitUntil(lambda: card.volume.isVisible() and card.access.isVisible())
    window.move_focus(card.button)
    press(Qt.Key.Key_Right)
    assert focused() == "access-Kitchen"
    press(Qt.Key.Key_Right)
    assert focused() == "volume-Kitchen"


def test_a_narrow_column_keeps_the_device_name_whole_before_eliding_it(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path, width=1280)
    window.bridge.session_changed.emit(session("dev1", "Living Room", (item("a", "Song"),)))
    bar = window.bar
    qtbot.waitUntil(lambda: "Living" in bar.device_button.text())
    # At 1280 px "Playing on Living Room" does not fit beside the volume: the name does.
    assert bar.device_button.text() == "Living Room  ▾"
    assert bar.device_button.toolTip() == "Playing on Living Room"
    window.resize(1920, 800)
    qtbot.waitUntil(lambda: bar.device_button.text() == "Playing on Living Room  ▾")


def test_a_live_station_shows_what_is_on_and_no_length(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    radio = item("r", "stream", artist="", album="")
    on = m.NowPlaying(title="Night Show", station="Radio Loop")
    window.bridge.session_changed.emit(session("dev1", "Car", (radio,), live=True, now_playing=on))
    bar = window.bar
    qtbot.waitUntil(lambda: bar.title.full_text() == "Night Show")
    assert bar.where.full_text() == "Radio Loop · Live"
    assert bar.total.text() == "LIVE"
    assert window.now_playing.title.text() == "Night Show"
    assert window.now_playing.total.text() == "LIVE"
