"""Groups in the desktop app (issue 17), with no device: the window's bridge records what the
picker and the Devices screen ask for, and the rosters come as the devices' states would bring
them (PlaybackState.group, in each DeviceView). Keys where a listener would use keys; the
TV's member rows (client/app/tv/group_rows.py) by the remote's arrows and OK only."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from client.app import views as v
from client.app.tv.group_rows import MemberRow
from client.spatial import FindingKind
from connect.wire import messages as m
from tests.e2e.app.idle import device, idle_tv_window, idle_window, item, session
from tests.e2e.app.keys import focused, press

P = m.GroupMemberPhase
# No unreachable item, no trap, no one-way move between main areas.
SERIOUS = (FindingKind.UNREACHABLE, FindingKind.TRAP, FindingKind.ONE_WAY_AREA)
# With four devices the Devices page scrolls at 800 px, and the linter then finds Up from the
# player bar entering the page one way: so it does without groups (on main too).
SERIOUS_ON_A_LONG_PAGE = (FindingKind.UNREACHABLE, FindingKind.TRAP)
CAN = m.DeviceInfo(
    "x", "x", m.DeviceType.SPEAKER, m.VersionRange(m.QUEUE_PAGES, m.GROUPS),
    m.Capabilities(group_member=True),
)  # fmt: skip
# Car leads; Kitchen joins at volume 30.
JOINING = m.Group(
    "g1",
    4,
    "dev0",
    (m.GroupMember("dev0", 0, P.PLAYING, 60), m.GroupMember("dev1", 1, P.JOINING, 30)),
)


def _devices(window: Any, roster: m.Group | None = None) -> None:
    """Car (dev0, plays), Kitchen (dev1), Bedroom (dev2, cannot group), Attic (dev3)."""
    for n, name, info in (
        (0, "Car", CAN),
        (1, "Kitchen", CAN),
        (2, "Bedroom", None),
        (3, "Attic", CAN),
    ):
        in_it = roster is not None and roster.member(f"dev{n}") is not None
        window.bridge.device_changed.emit(
            device(n, name, info=info, group=roster if in_it else None, volume=50)
        )


def _playing_on_car(qtbot: Any, tmp_path: Any) -> Any:
    window = idle_window(qtbot, tmp_path)
    _devices(window)
    window.bridge.session_changed.emit(session("dev0", "Car", (item("a", "Song"),)))
    qtbot.waitUntil(lambda: window.bar.device_button.text().startswith("Playing on Car"))
    return window


def test_play_here_too_from_the_picker_by_keys(qtbot, tmp_path):
    window = _playing_on_car(qtbot, tmp_path)
    picker = window.desktop.picker
    window.desktop.open_picker()
    kitchen = picker.rows["dev1"]
    assert kitchen.group.together.isVisible()
    assert kitchen.group.together.text() == "Play here too"
    assert kitchen.group.together.accessibleName() == "Play on Kitchen too, with Car"
    assert not picker.rows["dev2"].group.together.isVisible()  # Bedroom cannot play in a group
    assert not picker.rows["dev0"].group.together.isVisible()  # the music is there
    window.move_focus(kitchen.button)
    press(Qt.Key.Key_Right)
    assert focused() == "pick-together-Kitchen"
    press(Qt.Key.Key_Return)
    assert window.bridge.named("group") == [(("dev0", "dev1"),)]
    assert window.bridge.named("transfer") == []


def test_the_picker_shows_a_group_as_one_entry_with_each_member_s_volume(qtbot, tmp_path):
    window = _playing_on_car(qtbot, tmp_path)
    _devices(window, JOINING)
    # Named as the core names a group's session (groups.where_playing).
    window.bridge.session_changed.emit(
        session("dev0", "Car + Kitchen", (item("a", "Song"),), group=JOINING)
    )
    picker = window.desktop.picker
    window.desktop.open_picker()
    qtbot.waitUntil(
        lambda: "pick-group-Car" in {h.objectName() for h in picker.grouped.headings.values()}
    )
    (heading,) = picker.grouped.headings.values()
    assert heading.text() == "Group: Car + Kitchen · 1 of 2 in sync"
    assert picker.title.text() == "Playing on Car + Kitchen"
    assert window.bar.device_button.toolTip() == "Playing on Car + Kitchen"
    # One entry: the heading, then the leader, then Kitchen (Bedroom sorts first, alone).
    order = [picker.list.itemAt(n).widget() for n in range(picker.list.count())]
    assert order.index(heading) + 1 == order.index(picker.rows["dev0"])
    assert order.index(picker.rows["dev0"]) + 1 == order.index(picker.rows["dev1"])
    kitchen = picker.rows["dev1"]
    assert kitchen.button.text() == "Kitchen\nJoining…"
    assert kitchen.volume.value() == 30  # the roster's volume, not the device's own 50
    assert kitchen.volume.accessibleName() == "Volume of Kitchen in the group"
    window.move_focus(kitchen.button)
    press(Qt.Key.Key_Right)
    assert focused() == "pick-leave-Kitchen"
    press(Qt.Key.Key_Right)
    assert focused() == "pick-volume-Kitchen"
    press(Qt.Key.Key_Right)  # one step up, in the group
    assert window.bridge.named("member_volume") == [("dev1", 35)]
    assert ("command", (m.SetVolume(35), "dev1")) not in window.bridge.requests
    # A roster from before the step does not pull the slider back; the one that has it lands.
    _devices(window, JOINING)
    window.bridge.device_changed.emit(device(3, "Attic", info=CAN, volume=55))
    qtbot.waitUntil(lambda: picker.rows["dev3"].volume.value() == 55)
    assert kitchen.volume.value() == 35
    findings = [f.message for f in window.navigator.lint() if f.kind in SERIOUS]
    assert findings == []  # the picker with a group, a layer over the window
    picker.rows["dev1"].group.leave.click()
    assert window.bridge.named("ungroup") == [("dev1",)]
    # Another device joins the group that plays, named by it; a member's button moves nothing.
    attic = picker.rows["dev3"].group.together
    assert attic.text() == "Add to group"
    assert attic.accessibleName() == "Add Attic to the group Car + Kitchen"
    attic.click()
    assert window.bridge.named("group") == [(("dev0", "dev3"),)]
    window.desktop.open_picker()
    picker.rows["dev1"].button.click()
    assert window.bridge.named("transfer") == []


def test_the_devices_screen_groups_and_ungroups_and_passes_the_linter(qtbot, tmp_path):
    window = _playing_on_car(qtbot, tmp_path)
    window.show_screen("devices")
    screen = window.devices_screen
    qtbot.waitUntil(
        lambda: "dev1" in screen.cards and screen.cards["dev1"].group.together.isVisible()
    )
    screen.cards["dev1"].group.together.click()
    assert window.bridge.named("group") == [(("dev0", "dev1"),)]
    _devices(window, JOINING)
    kitchen = screen.cards["dev1"]
    qtbot.waitUntil(kitchen.group.leave.isVisible)
    assert not kitchen.group.together.isVisible()
    assert kitchen.button.text() == "Playing here"  # a member: the music plays there already
    assert kitchen.state.text().endswith("· joining…")
    assert kitchen.group.leave.accessibleName() == "Take Kitchen out of the group"
    assert [h.text() for h in screen.grouped.headings.values()] == [
        "Group: Car + Kitchen · 1 of 2 in sync"
    ]
    kitchen.volume.setValue(45)
    assert window.bridge.named("member_volume") == [("dev1", 45)]
    window.move_focus(kitchen.button)
    press(Qt.Key.Key_Right)
    assert focused() == "leave-Kitchen"
    press(Qt.Key.Key_Return)
    assert window.bridge.named("ungroup") == [("dev1",)]
    findings = [f.message for f in window.navigator.lint() if f.kind in SERIOUS_ON_A_LONG_PAGE]
    assert findings == []
    # The group ends (Kitchen left, its roster gone): the cards are back on their own.
    alone = m.Group("g1", 5, "dev0", (m.GroupMember("dev0", 0, P.PLAYING, 60),))
    window.bridge.device_changed.emit(device(0, "Car", info=CAN, group=alone))
    window.bridge.device_changed.emit(device(1, "Kitchen", info=CAN))
    qtbot.waitUntil(lambda: not screen.grouped.headings)
    assert screen.cards["dev1"].group.together.isVisible()


def test_a_group_change_says_its_progress_on_the_bar_and_its_outcome_in_a_toast(qtbot, tmp_path):
    window = _playing_on_car(qtbot, tmp_path)
    ids, phase = ("dev0", "dev1"), v.TransferPhase
    window.bridge.grouping_changed.emit(
        v.GroupingView(ids, phase.RUNNING, "Adding Kitchen to Car…")
    )
    qtbot.waitUntil(lambda: window.bar.device_button.text().startswith("Adding Kitchen"))
    window.bridge.grouping_changed.emit(
        v.GroupingView(ids, phase.DONE, "Kitchen plays with Car now")
    )
    qtbot.waitUntil(lambda: window.bar.device_button.text().startswith("Playing on Car"))
    qtbot.waitUntil(lambda: window.notice_label.text() == "Kitchen plays with Car now")


# ---------------------------------------------------------------------------------------- TV


def _tv_playing_on_car(qtbot: Any, tmp_path: Any, roster: m.Group | None = None) -> Any:
    window = idle_tv_window(qtbot, tmp_path)
    _devices(window, roster)
    where = "Car + Kitchen" if roster is not None else "Car"  # as the core names it
    window.bridge.session_changed.emit(session("dev0", where, (item("a", "Song"),), group=roster))
    qtbot.waitUntil(lambda: window.session is not None and len(window.devices.views()) == 4)
    press(Qt.Key.Key_Menu)  # the remote's key for the picker
    qtbot.waitUntil(window.picker.isVisible)
    return window


def test_tv_play_here_too_with_the_remote(qtbot, tmp_path):
    window = _tv_playing_on_car(qtbot, tmp_path)
    picker = window.picker
    # The picker opens on a device that can take the music; Right reaches "Play here too".
    assert focused() == "pick-Attic"
    press(Qt.Key.Key_Right)
    assert focused() == "pick-together-Attic"
    assert picker.together["dev3"].accessibleName() == "Play on Attic too, with Car"
    press(Qt.Key.Key_Return)
    assert window.bridge.named("group") == [(("dev0", "dev3"),)]
    assert not picker.together["dev2"].isVisible()  # Bedroom cannot play in a group
    window.bridge.grouping_changed.emit(
        v.GroupingView(("dev0", "dev3"), v.TransferPhase.FAILED, "Could not add Attic to Car: no")
    )
    qtbot.waitUntil(lambda: picker.status.text() == "Could not add Attic to Car: no")
    assert picker.isVisible()


def test_tv_a_group_member_s_volume_with_left_right_and_leaving_with_ok_twice(qtbot, tmp_path):
    window = _tv_playing_on_car(qtbot, tmp_path, JOINING)
    picker = window.picker
    kitchen = picker.rows["dev1"]
    assert isinstance(kitchen, MemberRow)
    assert "Playing on Car + Kitchen" in window.topbar.devices.text()
    (heading,) = picker.grouped.headings.values()
    assert heading.text() == "Group: Car + Kitchen · 1 of 2 in sync"
    order = [picker.rows_layout.itemAt(n).widget() for n in range(picker.rows_layout.count())]
    assert order.index(heading) + 1 == order.index(picker.lines["dev0"])
    assert order.index(picker.lines["dev0"]) + 1 == order.index(picker.lines["dev1"])
    assert kitchen.value() == 30
    assert kitchen.height() >= picker.rows["dev2"].height()  # a row, not a slider's strip
    assert kitchen.subtitle() == "Joining… · ◀ ▶ volume · OK to leave"
    assert kitchen.accessibleName() == "Kitchen in the group: Joining…, volume 30"
    window.move_focus(kitchen)
    press(Qt.Key.Key_Right)
    press(Qt.Key.Key_Right)
    press(Qt.Key.Key_Left)
    assert window.bridge.named("member_volume") == [("dev1", 35), ("dev1", 40), ("dev1", 35)]
    assert focused() == "pick-Kitchen"  # the arrows set the volume, focus stays
    press(Qt.Key.Key_Return)  # the first OK only says what the second does
    assert kitchen.subtitle() == "OK again to take Kitchen out of the group"
    assert window.bridge.named("ungroup") == []
    press(Qt.Key.Key_Up)  # moving away forgets it
    assert focused() == "pick-Car"
    assert not kitchen.armed
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Return)
    press(Qt.Key.Key_Return)
    assert window.bridge.named("ungroup") == [("dev1",)]
    # Attic joins the group that plays; the picker passes the navigation linter.
    assert picker.together["dev3"].text() == "Add to group"
    findings = [f.message for f in window.navigator.lint() if f.kind in SERIOUS]
    assert findings == []
    press(Qt.Key.Key_Escape)  # Back closes the picker
    qtbot.waitUntil(lambda: not picker.isVisible())
    # On the home row, a member of the group that plays says so, and OK there moves nothing.
    card = window.home.device_cards["dev1"]
    assert card.subtitle == "Joining… · Car + Kitchen"
    card.click()
    assert window.bridge.named("transfer") == []
