"""The TV's group actions wired: the device picker's to the bridge, OK to a member's row, and
what the home row's OK must not do to a device that plays in the group already."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtWidgets import QWidget

from client.app import views as v
from client.app.bridge import Bridge
from client.app.groups import group_of, groups_shown
from client.app.tv.group_rows import MemberRow
from client.app.tv.picker import DevicePicker
from client.navigation import SpatialNavigator


class TvLike(Protocol):
    """What the wiring uses of the TV window (client/app/tv/window.py)."""

    bridge: Bridge
    navigator: SpatialNavigator

    @property
    def picker(self) -> DevicePicker:
        """The device picker."""
        ...


def wire_groups(window: TvLike) -> None:
    """Connect the picker's group actions to the bridge, and OK on a member row to the row."""
    bridge, picker = window.bridge, window.picker
    picker.group_requested.connect(bridge.group)
    picker.ungroup_requested.connect(bridge.ungroup)
    picker.member_volume_requested.connect(bridge.member_volume)
    bridge.grouping_changed.connect(picker.show_grouping)
    window.navigator.activated.connect(activate)


def in_followed_group(views: Sequence[v.DeviceView], followed: str, device_id: str) -> bool:
    """Return True when *device_id* plays in the group of *followed* (OK there moves nothing)."""
    group = group_of(groups_shown(views), followed) if followed else None
    return group is not None and device_id in group.ids


def activate(widget: QWidget) -> None:
    """OK on a widget that is not a button (the navigator's `activated`): a member row's."""
    if isinstance(widget, MemberRow):
        widget.ok()
