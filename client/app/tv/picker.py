"""The device picker: one key opens it from anywhere, one more moves the music.

It opens on the first device that can take the music (not on the one playing it), so the
second press of OK moves it there, as Spotify Connect's and Cast's pickers do. While the
move runs the row says so; when it is done the picker closes and focus returns to where it
was opened; a failure stays on screen, in words. A device that needs pairing opens the keypad.

Groups (issue 17): while music plays, Right from a device that can join reaches "Play here
too" ("Add to group" when the music plays in a group); a group is one entry, its name over its
members, the leader first, each a row whose Left and Right set its volume in the group and
whose OK, twice, takes it out (client/app/tv/group_rows.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from client.app import theme
from client.app import views as v
from client.app.groups import GroupShown, arranged, groups_shown, together
from client.app.screens.group_controls import GroupedList
from client.app.screens.overlay import Overlay
from client.app.tv.group_rows import MemberRow
from client.app.tv.home import device_words
from client.app.tv.theme import TvSizes
from client.app.widgets import label, restyle, text_button

IDLE = "Nothing is playing yet"


class DeviceRow(QPushButton):
    """One device: its icon, its name, and under it what it does (or why OK does nothing)."""

    def __init__(self, px: TvSizes) -> None:
        super().__init__()
        self.px = px
        self.setProperty("role", "device")
        layout = self.row_layout = QHBoxLayout(self)
        layout.setContentsMargins(px.gap, px.gap // 3, px.gap, px.gap // 3)
        layout.setSpacing(px.gap)
        self.glyph = QLabel()
        self.glyph.setFixedSize(px.icon, px.icon)
        text = QVBoxLayout()
        text.setSpacing(0)
        self.name = label("", "heading")
        self.state = label("", "muted")
        for child in (self.glyph, self.name, self.state):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        text.addWidget(self.name)
        text.addWidget(self.state)
        layout.addWidget(self.glyph)
        layout.addLayout(text, 1)

    def show_device(self, name: str, words: str, icon: str, color: str) -> None:
        """Show a device's name, its state in words, and its icon in *color*."""
        self.name.setText(name)
        self.state.setText(words)
        self.setAccessibleName(f"{name}: {words}")
        self.glyph.setPixmap(theme.pixmap(icon, self.px.icon, color, 2.0))
        self.setMinimumHeight(self.row_layout.sizeHint().height())


class DevicePicker(Overlay):
    """A list of every device over the whole screen; a navigator layer (Back closes it)."""

    transfer_requested = Signal(str)  # device id
    pair_requested = Signal(object)  # DeviceView
    group_requested = Signal(object)  # tuple of device ids: the leader (or playing one) first
    ungroup_requested = Signal(str)  # device id
    member_volume_requested = Signal(str, int)  # device id, its volume in its group

    def __init__(self, px: TvSizes, parent: QWidget) -> None:
        super().__init__(theme.TV, parent, width=px.big_art * 2 + px.gap * 4)
        self.px = px
        self.setObjectName("device-picker")
        self.body.setContentsMargins(px.gap * 2, px.gap * 2, px.gap * 2, px.gap * 2)
        self.body.setSpacing(px.gap // 2)
        self.title = label("Play on", "title")
        self.title.setObjectName("picker-title")
        self.status = label("", "muted", wrap=True)
        self.status.setObjectName("picker-status")
        self.body.addWidget(self.title)
        self.body.addWidget(self.status)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(px.gap // 2)
        self.body.addLayout(self.rows_layout)
        self.grouped = GroupedList(theme.TV, self.rows_layout, "pick-")
        # Always something to focus, even with no device yet (and Back's twin on screen).
        self.close_button = text_button("Close")
        self.close_button.setObjectName("picker-close")
        self.close_button.clicked.connect(self.close_overlay)
        self.body.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignRight)
        self.rows: dict[str, DeviceRow | MemberRow] = {}  # a group's members: MemberRow
        self.lines: dict[str, QWidget] = {}  # a device's row with its "Play here too"
        self.together: dict[str, QPushButton] = {}  # by device id, for devices in no group
        self._groups: tuple[GroupShown, ...] = ()
        self._shape: list[tuple[str, str]] = []  # (device id, group id) the rows were built for
        self._views: list[v.DeviceView] = []
        self._followed = ""
        self._moving = ""
        self._playing = False

    # ------------------------------------------------------------------ use
    def open_picker(
        self, views: Sequence[v.DeviceView], followed: str, playing: bool, moving: str = ""
    ) -> None:
        """Open on the first device that can take the music."""
        self._say("", "muted")
        self.show_devices(views, followed, playing, moving)
        self.open()
        target = next(
            (
                self.rows[d.id]
                for d in self._views
                if not self._inert(d)
                and not d.locked
                and d.id != followed
                and isinstance(self.rows[d.id], DeviceRow)
            ),
            next(iter(self.rows.values()), self.close_button),
        )
        self.move_focus(target)

    def show_devices(
        self, views: Sequence[v.DeviceView], followed: str, playing: bool, moving: str = ""
    ) -> None:
        """Show the devices now (while open, rows keep their focus)."""
        self._views, self._followed, self._playing, self._moving = (
            list(views), followed, playing, moving,
        )  # fmt: skip
        self._groups = groups_shown(self._views)
        order = arranged(self._views, self._groups)
        shape = [(d.id, g.group_id if g else "") for d, g in order]
        if shape != self._shape:
            self._shape = shape
            self._build(order)
        for view, group in order:
            row = self.rows[view.id]
            if isinstance(row, MemberRow):
                member = group.member(view.id) if group else None
                assert member is not None
                followed_here = view.id == self._followed
                color = theme.ACCENT if followed_here else theme.TEXT
                row.setObjectName(f"pick-{view.name}")
                row.show_member(view.name, member, theme.device_icon_name(view.type), color)
            else:
                self._show_row(row, view)
        self.grouped.place(self.lines, order)

    def _build(self, order: list[tuple[v.DeviceView, GroupShown | None]]) -> None:
        """Make every row again (devices came, went, joined or left a group); focus stays on
        the device it was on."""
        focused = next((i for i, b in self.rows.items() if b.hasFocus()), "")
        for line in self.lines.values():
            for child in line.findChildren(QWidget):
                child.setObjectName("")  # deleted later: keep names unique meanwhile
            line.hide()
            line.deleteLater()
        self.rows, self.lines, self.together = {}, {}, {}
        for view, group in order:
            line = QFrame()  # a row and its "Play here too", on the picker's own background
            line.setProperty("role", "pickline")
            line.setStyleSheet('QFrame[role="pickline"] { background: transparent; }')
            layout = QHBoxLayout(line)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.setSpacing(self.px.gap // 2)
            row: DeviceRow | MemberRow
            if group is not None:
                row = MemberRow(self.px, view.id)
                row.moved.connect(
                    lambda value, d=view.id: self.member_volume_requested.emit(d, value)
                )
                row.leave_requested.connect(self.ungroup_requested.emit)
                layout.addWidget(row, 1)
            else:
                row = DeviceRow(self.px)
                row.clicked.connect(lambda _=False, d=view.id: self._choose(d))
                layout.addWidget(row, 1)
                button = text_button("Play here too")
                button.clicked.connect(lambda _=False, d=view.id: self._together(d))
                button.hide()
                layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
                self.together[view.id] = button
            self.rows_layout.addWidget(line)
            self.rows[view.id], self.lines[view.id] = row, line
        if focused in self.rows and self.isVisible():
            self.move_focus(self.rows[focused])

    def show_transfer(self, transfer: v.TransferView) -> None:
        """Follow a move chosen here: say it runs, close when done, say why it failed."""
        if not self.isVisible():
            return
        if transfer.phase is v.TransferPhase.RUNNING:
            self._moving = transfer.target_id
            self._say(f"Moving to {transfer.target_name}…", "muted")
        elif transfer.phase is v.TransferPhase.DONE:
            self._moving = ""
            self.close_overlay()
            return
        else:
            self._moving = ""
            self._say(f"Could not move to {transfer.target_name}: {transfer.message}", "error")
        self.show_devices(self._views, self._followed, self._playing, self._moving)

    # ------------------------------------------------------------------ helpers
    def _reason(self, view: v.DeviceView) -> str:
        if view.locked:
            return ""
        if not self._playing and view.id != self._followed:
            return IDLE
        return view.why_not or ("" if view.online else "Not reachable right now")

    def _inert(self, view: v.DeviceView) -> bool:
        """OK does nothing here: it plays already, a move to it runs, or it cannot."""
        return view.id in (self._followed, self._moving) or bool(self._reason(view))

    def _show_row(self, row: DeviceRow, view: v.DeviceView) -> None:
        followed = view.id == self._followed
        words = device_words(view, followed, view.id == self._moving)
        reason = self._reason(view)
        if reason and not followed and not view.locked:
            words = reason
        row.setObjectName(f"pick-{view.name}")
        color = theme.ACCENT if followed else theme.TEXT if view.online else theme.MUTED
        icon = "lock" if view.locked else theme.device_icon_name(view.type)
        row.show_device(view.name, words, icon, color)
        restyle(row, "inert", self._inert(view))
        button = self.together[view.id]
        playing = next((d for d in self._views if d.id == self._followed), None)
        offer = together(view, playing if self._playing else None, self._groups)
        button.setObjectName(f"pick-together-{view.name}")
        if offer is not None:
            button.setText(offer.text)
            button.setAccessibleName(offer.accessible)
        button.setVisible(offer is not None)

    def _together(self, device_id: str) -> None:
        view = next((d for d in self._views if d.id == device_id), None)
        playing = next((d for d in self._views if d.id == self._followed), None)
        offer = together(view, playing, self._groups) if view and self._playing else None
        if offer is not None:
            self.group_requested.emit(offer.device_ids)

    def show_grouping(self, grouping: v.GroupingView) -> None:
        """Say a group change's progress and outcome (the picker stays open for more)."""
        if self.isVisible():
            failed = grouping.phase is v.TransferPhase.FAILED
            self._say(grouping.message, "error" if failed else "muted")

    def _choose(self, device_id: str) -> None:
        view = next((d for d in self._views if d.id == device_id), None)
        if view is None:
            return
        if view.locked:
            self.pair_requested.emit(view)
        elif not self._inert(view):
            self.transfer_requested.emit(device_id)

    def _say(self, text: str, role: str) -> None:
        restyle(self.status, "role", role)
        self.status.setText(text)
        self.status.setVisible(bool(text))
