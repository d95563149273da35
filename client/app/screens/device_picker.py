"""The device picker ("Playing on Car ▾"): every device, its volume, and a transfer on click.

Opened from the player bar, as Spotify Connect's and Cast's pickers are: a panel over the
window's bottom right with one row per device. Choosing a row moves the music there (or, when
nothing plays yet, makes it the device the next Play uses); a locked device asks for pairing
instead. Each device with a session has its own volume slider, which changes that device's
volume whether or not it is the one playing. The rows follow the device list live and keep
their widgets (and so the focus) when a device's state changes.

Groups (issue 17; screens/group_controls.py): while music plays, a device that can join gets
"Play here too" ("Add to group" when the music plays in a group); a group is one entry, its
members under its name, the leader first, each with its volume in the group and "Leave group".
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app import views as v
from client.app.groups import GroupShown, Together, arranged, groups_shown, together
from client.app.models import DeviceListModel, type_words
from client.app.screens.group_controls import GroupButtons, GroupedList
from client.app.screens.overlay import Overlay
from client.app.theme import Metrics
from client.app.widgets import label, restyle, text_button


def device_state_words(view: v.DeviceView, followed: bool, playing: bool) -> str:
    """Return a device's second line in the picker ("Playing", "Needs pairing", ...)."""
    if view.locked:
        return view.access.value
    if not view.online:
        return f"Offline ({view.offline_reason})" if view.offline_reason else "Offline"
    if followed:
        return "Playing" if playing else "Paused"
    if view.why_not:
        return view.why_not
    return type_words(view.type)


FRAME_MS = 16


class VolumeSlider(QSlider):
    """A device's volume (0-100); `moved` only for the listener's moves, not for updates."""

    moved = Signal(int)

    def __init__(self, mx: Metrics, name: str) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.setRange(0, 100)
        self.setSingleStep(5)
        self.setPageStep(10)
        self.setFixedWidth(mx.icon * 5)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(f"Volume of {name}")
        self._updating = False
        # A group member's volume goes through the keeper and comes back in the leader's
        # roster, and rosters from before a step may come first: while focused, the slider
        # keeps the listener's last step until a roster has it (screens/group_controls.py).
        self.keep_asked = False
        self._asked: int | None = None
        self.valueChanged.connect(self._changed)

    def show_volume(self, volume: int | None) -> None:
        """Show the device's volume (None: unknown, the slider hides)."""
        self.setVisible(volume is not None)
        if volume is not None and self.keep_asked and self._asked is not None and self.hasFocus():
            if volume == self._asked:
                self._asked = None  # arrived: later changes (another controller's) show
            return
        if volume is not None and not self.isSliderDown() and volume != self.value():
            self._updating = True
            self.setValue(volume)
            self._updating = False

    def _changed(self, value: int) -> None:
        if not self._updating:
            self._asked = value
            self.moved.emit(value)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        """Away from the slider, the volume shown is the device's again."""
        super().focusOutEvent(event)
        self._asked = None


class PickerRow(QFrame):
    """One device in the picker: a button (icon, name, state) and its volume slider."""

    def __init__(self, mx: Metrics, view: v.DeviceView) -> None:
        super().__init__()
        self.mx = mx
        self.view = view
        self.setProperty("role", "pickrow")
        self.setStyleSheet('QFrame[role="pickrow"] { background: transparent; }')
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(mx.margin // 2)
        self.button = QPushButton()
        self.button.setProperty("role", "row")
        self.button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.button.setAutoDefault(False)
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.setIconSize(QSize(mx.icon, mx.icon))
        self.button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.button, 1)
        self.group = GroupButtons(mx, layout, layout.count(), "pick-")
        self.volume = VolumeSlider(mx, view.name)
        layout.addWidget(self.volume)

    def show_view(
        self,
        view: v.DeviceView,
        followed: bool,
        playing: bool,
        offer: Together | None = None,
        group: GroupShown | None = None,
    ) -> None:
        """Show *view*; *followed* marks the device the music is on (or a member of its
        group); *offer* is its "Play here too", *group* the group it plays in."""
        self.view = view
        self.setObjectName(f"pick-{view.name}")
        self.button.setObjectName(f"pick-button-{view.name}")
        self.volume.setObjectName(f"pick-volume-{view.name}")
        member = group.member(view.id) if group is not None else None
        words = device_state_words(view, followed, playing)
        if member is not None and view.online and not view.locked:
            words = f"{words} · {member.words}" if member.leads else member.words.capitalize()
        self.button.setText(f"{view.name}\n{words}")
        if view.locked:
            self.button.setAccessibleName(f"Pair with {view.name}")
        elif followed:
            self.button.setAccessibleName(f"{view.name}: the music plays here")
        else:
            self.button.setAccessibleName(f"Play on {view.name}")
        icon = "lock" if view.locked else theme.device_icon_name(view.type)
        color = theme.ACCENT if followed else (theme.TEXT if view.online else theme.MUTED)
        self.button.setIcon(theme.icon(icon, self.mx.icon, color))
        restyle(self.button, "current", followed)
        usable = view.online and not view.locked
        self.volume.keep_asked = member is not None
        self.volume.show_volume((member.volume if member else view.volume) if usable else None)
        self.volume.setAccessibleName(
            f"Volume of {view.name} in the group" if member else f"Volume of {view.name}"
        )
        self.group.show_for(view, offer, member)


class DevicePicker(Overlay):
    """The picker panel; asks through its signals, follows the device list model."""

    transfer_requested = Signal(str)  # device id: move the music there
    follow_requested = Signal(str)  # device id: nothing plays; use it for the next Play
    pair_requested = Signal(object)  # views.DeviceView of a locked device
    volume_requested = Signal(str, int)  # device id, volume
    group_requested = Signal(object)  # tuple of device ids: the leader (or playing one) first
    ungroup_requested = Signal(str)  # device id: out of its group
    member_volume_requested = Signal(str, int)  # device id, its volume in its group

    def __init__(self, mx: Metrics, parent: QWidget, devices: DeviceListModel) -> None:
        super().__init__(mx, parent, width=mx.icon * 22)
        self.setObjectName("device-picker")
        self.devices = devices
        self.rows: dict[str, PickerRow] = {}
        self._followed = ""
        self._playing = False
        self._has_music = False
        self._groups: dict[str, str] = {}  # device id -> the group it plays in, as shown
        # Anchored at the bottom right, above the bar's button, as Connect pickers are.
        outer = self.layout()
        assert isinstance(outer, QHBoxLayout)
        outer.takeAt(outer.count() - 1)  # the stretch after the card
        outer.setAlignment(self.card, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight)
        outer.setContentsMargins(mx.margin, mx.margin, mx.margin, mx.row * 2 + mx.margin)
        self.title = label("Choose a device", "")
        self.title.setFont(theme.font(mx, 1.3, bold=True))
        self.title.setObjectName("picker-title")
        self.body.addWidget(self.title)
        self.hint = label("", "muted", wrap=True)
        self.body.addWidget(self.hint)
        self.list = QVBoxLayout()
        self.list.setSpacing(4)
        self.body.addLayout(self.list)
        self.grouped = GroupedList(mx, self.list, "pick-")
        self.empty = label("Looking for devices…", "muted")
        self.body.addWidget(self.empty)
        self.more = text_button("All devices…")
        self.more.setObjectName("picker-all-devices")
        self.body.addWidget(self.more)
        # Devices push their state many times a second: while shown, the rows follow at most
        # once a frame; while hidden, not at all (opening the picker brings them up to date).
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._sync)
        for change in (devices.rowsInserted, devices.rowsRemoved, devices.modelReset):
            change.connect(self._changed)
        devices.dataChanged.connect(self._changed)
        self._sync()

    def _changed(self, *_: object) -> None:
        if self.isVisible() and not self._frame.isActive():
            self._frame.start()

    def set_followed(self, device_id: str, playing: bool, has_music: bool) -> None:
        """Mark the device the music is on, whether it plays, and whether there is music."""
        if (device_id, playing, has_music) != (self._followed, self._playing, self._has_music):
            self._followed, self._playing, self._has_music = device_id, playing, has_music
            self._changed()

    def open_picker(self) -> None:
        """Open the panel focused on the device the music is on (else the first)."""
        self._sync()
        self.open()
        row = self.rows.get(self._followed) or next(iter(self.rows.values()), None)
        self.move_focus(row.button if row is not None else self.more)

    def _choose(self, row: PickerRow) -> None:
        view = row.view
        if view.locked:
            self.close_overlay()
            self.pair_requested.emit(view)
            return
        if view.id == self._followed or self._with_followed(view.id):
            self.close_overlay()  # the music plays there already
            return
        self.close_overlay()
        if self._has_music:
            self.transfer_requested.emit(view.id)
        else:
            self.follow_requested.emit(view.id)

    def _with_followed(self, device_id: str) -> bool:
        """Return True when *device_id* plays in the followed device's group."""
        group = self._groups.get(self._followed, "")
        return bool(group) and self._groups.get(device_id) == group

    def _sync(self) -> None:
        views = self.devices.views()
        groups = groups_shown(views)
        self._groups = {m.device_id: g.group_id for g in groups for m in g.members}
        order = arranged(views, groups)
        followed_group = self._groups.get(self._followed, "")
        playing = self.devices.find(self._followed) if self._has_music else None
        ids = {view.id for view in views}
        for gone in set(self.rows) - ids:
            old = self.rows.pop(gone)
            self.list.removeWidget(old)
            old.hide()
            old.deleteLater()
        for view, group in order:
            row = self.rows.get(view.id)
            if row is None:
                row = PickerRow(self.mx, view)
                row.button.clicked.connect(lambda _=False, r=row: self._choose(r))
                row.volume.moved.connect(lambda value, r=row: self._volume(r, value))
                row.group.together.clicked.connect(lambda _=False, r=row: self._together(r))
                row.group.leave.clicked.connect(lambda _=False, r=row: self._leave(r))
                self.rows[view.id] = row
                self.list.addWidget(row)
            with_followed = view.id == self._followed or self._with_followed(view.id)
            offer = together(view, playing, groups)
            row.show_view(view, with_followed, self._playing, offer, group)
        self.grouped.place(dict(self.rows), order)
        self.empty.setVisible(not views)
        followed = self.devices.find(self._followed)
        title = followed.name if followed else ""
        if followed is not None and followed_group:
            title = next(g.name for g in groups if g.group_id == followed_group)
        self.title.setText(f"Playing on {title}" if title else "Choose a device")
        self.hint.setText(
            "Choose a device to move the music there, or “Play here too” to add it."
            if self._has_music
            else "Choose the device your music plays on."
        )

    def _volume(self, row: PickerRow, value: int) -> None:
        if row.group.member is not None:
            self.member_volume_requested.emit(row.view.id, value)
        else:
            self.volume_requested.emit(row.view.id, value)

    def _together(self, row: PickerRow) -> None:
        if row.group.offer is not None:
            self.group_requested.emit(row.group.offer.device_ids)

    def _leave(self, row: PickerRow) -> None:
        self.ungroup_requested.emit(row.view.id)
