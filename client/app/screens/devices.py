"""Devices: every device found, its type and state, "Transfer here", adding one by address,
and the "Can't see your device?" panel.

A device that needs pairing shows a lock and says so; choosing it opens the keypad
(screens/keypad.py). A device this app owns has an "Access" button (screens/access.py). On a
TV the screen shows This computer's own pairing code, for phones and laptops to pair with it.

A card's button never becomes disabled (a disabled widget cannot hold focus, and the remote's
focus would jump to another device's "Transfer here", where a second OK moves the music
again): while it plays there, or a move to it runs, or it cannot take the track, the button
is *inert*, greyed and ignoring OK, and focus stays on the device just chosen.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app import views as v
from client.app.groups import GroupShown, Together, arranged, groups_shown, together
from client.app.models import DeviceListModel, type_words
from client.app.screens.access import AccessPanel
from client.app.screens.device_help import HelpPanel
from client.app.screens.device_picker import VolumeSlider
from client.app.screens.group_controls import GroupButtons, GroupedList
from client.app.screens.keypad import PinKeypad
from client.app.screens.overlay import Layers
from client.app.screens.transfer_status import TransferDetails, TransferStatus
from client.app.theme import Metrics
from client.app.widgets import label, page, restyle, scroll_page, text_button
from connect.wire import messages as m

IDLE = "Nothing is playing yet"
FRAME_MS = 16  # device cards repaint at most once a frame
SEEN_REFRESH_MS = 1000  # "last seen … ago" counts on while the help panel is shown


class DeviceCard(QFrame):
    """One device: icon, name, state, why it is greyed, and its "Transfer here" button."""

    def __init__(self, mx: Metrics, view: v.DeviceView) -> None:
        super().__init__()
        self.mx = mx
        self.setProperty("role", "card")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(mx.margin, mx.margin // 2, mx.margin, mx.margin // 2)
        layout.setSpacing(mx.margin)
        self.icon = QLabel()
        self.icon.setFixedSize(mx.icon * 2, mx.icon * 2)
        layout.addWidget(self.icon)
        text = QVBoxLayout()
        self.name = label("", "")
        self.name.setFont(theme.font(mx, 1.15, bold=True))
        self.state = label("", "muted")
        self.reason = label("", "error", wrap=True)
        text.addWidget(self.name)
        text.addWidget(self.state)
        text.addWidget(self.reason)
        layout.addLayout(text, 1)
        self.button = text_button("Transfer here", role="primary", icon="transfer", mx=mx)
        self._button_icons = {
            locked: theme.icon(name, round(mx.icon * 0.8), "#06120a")
            for locked, name in ((False, "transfer"), (True, "lock"))
        }
        self._button_locked = False
        self.inert = False  # OK does nothing (see the module docstring)
        layout.addWidget(self.button)
        self.group = GroupButtons(mx, layout, layout.count(), "")  # screens/group_controls.py
        self.access = text_button("Access", mx=mx)
        self.access.hide()
        layout.addWidget(self.access)
        # The volume ends the row: a slider keeps Right until its maximum, so before Access
        # it would hide Access from the arrows.
        self.volume = VolumeSlider(mx, view.name)  # this device's own volume
        layout.addWidget(self.volume)
        self.view = view
        self._look: tuple[str, str] = ("", "")

    def show_view(
        self,
        view: v.DeviceView,
        followed: bool,
        why_not: str,
        moving_here: bool = False,
        grouping: tuple[Together | None, GroupShown | None] = (None, None),
    ) -> None:
        """Show *view*; *followed* marks the device playing for the listener (or a member of
        its group); *moving_here* that a move to it runs; *grouping* its "Play here too" and
        the group it plays in."""
        self.view = view
        offer, group = grouping
        member = group.member(view.id) if group is not None else None
        self.group.show_for(view, offer if not view.locked else None, member)
        self.setObjectName(f"device-{view.name}")
        self.access.setObjectName(f"access-{view.name}")
        self.access.setAccessibleName(f"Who may control {view.name}")
        self.access.setVisible(view.owned)
        self.volume.setObjectName(f"volume-{view.name}")
        volume = member.volume if member is not None else view.volume
        self.volume.keep_asked = member is not None
        self.volume.show_volume(volume if view.online and not view.locked else None)
        color = theme.ACCENT if followed else (theme.TEXT if view.online else theme.MUTED)
        icon = "lock" if view.locked else theme.device_icon_name(view.type)
        self.icon.setPixmap(theme.pixmap(icon, self.mx.icon * 2, color, 2.0))
        if self._button_locked != view.locked:
            self._button_locked = view.locked
            self.button.setIcon(self._button_icons[view.locked])
        if view.locked:
            self._show_locked(view)
            return
        self.button.setObjectName(f"transfer-{view.name}")
        self.button.setAccessibleName(f"Transfer to {view.name}")
        self.name.setText(view.name)
        self.state.setText(device_state(view, followed) + (f" · {member.words}" if member else ""))
        restyle(self, "active", followed)
        reason = "" if followed else (why_not or ("" if view.online else "Not reachable right now"))
        role = "muted" if reason == IDLE else "error"
        restyle(self.reason, "role", role)
        self.reason.setText(reason)
        self.reason.setVisible(bool(reason))
        self.button.setText(
            "Playing here" if followed else "Moving here…" if moving_here else "Transfer here"
        )
        self._set_inert(followed or moving_here or bool(reason))
        self.setEnabled(True)

    def _set_inert(self, inert: bool) -> None:
        self.inert = inert
        restyle(self.button, "inert", inert)
        if not self.button.isEnabled():
            self.button.setEnabled(True)

    def _show_locked(self, view: v.DeviceView) -> None:
        """A device we may not use yet: the lock, the state in words, and "Pair"."""
        kind = type_words(view.type)
        self.name.setText(view.name)
        self.state.setText(f"{kind} · {view.access.value}")
        self.reason.setText(
            "Its owner took this app's access back: pair again with its code"
            if view.access is v.Access.REVOKED
            else "Pair with its code to play here"
        )
        restyle(self.reason, "role", "muted")
        self.reason.show()
        self.button.setObjectName(f"pair-{view.name}")
        self.button.setAccessibleName(f"Pair with {view.name}")
        self.button.setText("Pair…")
        self._set_inert(False)
        restyle(self, "active", False)


def device_state(view: v.DeviceView, followed: bool) -> str:
    """Return a card's second line: what the device is, and what it does, in words."""
    kind = type_words(view.type)
    if view.is_local:
        kind = "This TV" if view.type is m.DeviceType.TV else "This computer"
    if not view.online:
        return f"{kind} · offline" + (f" ({view.offline_reason})" if view.offline_reason else "")
    playing = view.status is m.PlaybackStatus.PLAYING
    if followed:
        return f"{kind} · " + ("playing now" if playing else "paused" if view.active else "ready")
    if view.active and playing:
        return f"{kind} · playing something else"
    return f"{kind} · ready"


class DevicesScreen(QWidget):
    """The device list, transfer progress and results, adding by address, and help."""

    transfer_requested = Signal(str)  # device id
    pair_requested = Signal(str, str)  # device id, code
    access_requested = Signal(str, bool)  # device id, with its pairing code
    revoke_requested = Signal(str, str)  # device id, token id
    volume_requested = Signal(str, int)  # device id, volume
    group_requested = Signal(object)  # tuple of device ids: the leader (or playing one) first
    ungroup_requested = Signal(str)  # device id: out of its group
    member_volume_requested = Signal(str, int)  # device id, its volume in its group
    add_requested = Signal(str)  # host:port
    self_test_requested = Signal()

    def __init__(
        self, mx: Metrics, devices: DeviceListModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.mx = mx
        self.devices = devices
        self.cards: dict[str, DeviceCard] = {}
        self._followed = ""
        self._current_item: m.QueueItem | None = None
        self._moving_to = ""  # the target of a move that runs
        self.wall_clock: Callable[[], float] = time.time  # for "last seen … ago"
        self._dirty: set[str] = set()
        self._resync = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FRAME_MS)
        self._flush_timer.timeout.connect(self._flush)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        content, layout = page(mx, "Devices")
        outer.addWidget(scroll_page(content))

        self.banner = TransferStatus(mx)
        self.banner_text = self.banner.text
        layout.addWidget(self.banner)
        self.local_code = label("", "ok", wrap=True)
        self.local_code.setObjectName("local-code")
        self.local_code.setFont(theme.font(mx, 1.15, bold=True))
        self.local_code.hide()
        layout.addWidget(self.local_code)

        self.list = QVBoxLayout()
        self.list.setSpacing(mx.margin // 2)
        layout.addLayout(self.list)
        self.grouped = GroupedList(mx, self.list, indent=False)  # members under the group's name
        self._order: list[tuple[str, str]] = []  # (device id, group id) as placed
        self.empty = label("Looking for devices…", "muted")
        layout.addWidget(self.empty)

        add_row = QHBoxLayout()
        self.address = QLineEdit()
        self.address.setObjectName("add-address")
        self.address.setPlaceholderText("Add a device by address, e.g. 192.168.1.20:43210")
        self.address.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.address.returnPressed.connect(self._add)
        self.add_button = text_button("Add device", icon="add", mx=mx)
        self.add_button.setObjectName("add-device")
        self.add_button.clicked.connect(self._add)
        add_row.addWidget(self.address, 1)
        add_row.addWidget(self.add_button)
        layout.addLayout(add_row)

        self.help = HelpPanel(mx)  # screens/device_help.py
        self.help.test_button.clicked.connect(self.self_test_requested.emit)
        self.help_interfaces, self.help_multicast = self.help.interfaces, self.help.multicast
        self.help_seen, self.help_ports = self.help.seen, self.help.ports
        self.test_button = self.help.test_button
        layout.addWidget(self.help)
        layout.addStretch(1)
        devices.rowsInserted.connect(self._schedule_sync)
        devices.rowsRemoved.connect(self._schedule_sync)
        devices.dataChanged.connect(self._rows_changed)
        devices.modelReset.connect(self._sync)
        self.keypad = PinKeypad(mx, self)
        self.keypad.submitted.connect(self.pair_requested.emit)
        self.access_panel = AccessPanel(mx, self)
        self.access_panel.reload_requested.connect(self.access_requested.emit)
        self.access_panel.revoke_requested.connect(self.revoke_requested.emit)
        self.details = TransferDetails(mx, self)
        self.banner.details.clicked.connect(self._open_details)
        self._seen_timer = QTimer(self)
        self._seen_timer.setInterval(SEEN_REFRESH_MS)
        self._seen_timer.timeout.connect(self._refresh_seen)

    def use_navigator(
        self,
        layers: Layers,
        move_focus: Callable[[QWidget], None],
        host: QWidget | None = None,
    ) -> None:
        """Open the keypad, Access and details panels as navigator layers (focus trapped,
        Back), each dimming all of *host* (the window: sidebar and player bar too)."""
        for overlay in (self.keypad, self.access_panel, self.details):
            overlay.layers = layers
            overlay.move_focus = move_focus
            if host is not None:
                overlay.cover(host)

    def _open_details(self) -> None:
        if self.banner.transfer is not None:
            self.details.show_transfer(self.banner.transfer)

    # ------------------------------------------------------------------ access
    def show_pairing(self, pairing: v.PairingView) -> None:
        """Show a pairing's progress or outcome in the keypad."""
        self.keypad.show_pairing(pairing)

    def show_access(self, access: v.AccessView) -> None:
        """Show who may control a device in the Access panel."""
        self.access_panel.show_access(access)

    def show_local_code(self, code: str) -> None:
        """Show This computer's pairing code (a TV, for phones to pair with it)."""
        self.local_code.setText(
            f"To pair a phone or laptop with this TV, enter {code}" if code else ""
        )
        self.local_code.setVisible(bool(code))

    def _choose(self, card: DeviceCard) -> None:
        view = card.view
        if card.inert:
            return
        if view.locked:
            self.keypad.ask(view)
        else:
            self.transfer_requested.emit(view.id)

    # ------------------------------------------------------------------ help panel
    def show_diagnostics(self, diag: v.Diagnostics) -> None:
        """Fill the help panel."""
        self.help.show_diagnostics(diag)
        self._refresh_seen()

    def _refresh_seen(self) -> None:
        self.help.show_seen(self.devices.views(), self.wall_clock())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """Count "last seen … ago" on while the screen is shown."""
        super().showEvent(event)
        self._refresh_seen()
        self._seen_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        """Stop counting; a failed move is not news once the listener left the page."""
        self._seen_timer.stop()
        self.banner.forget_failure()
        super().hideEvent(event)

    # ------------------------------------------------------------------ devices
    def set_followed(self, device_id: str, item: m.QueueItem | None) -> None:
        """Mark the device the listener follows and what it plays (for greying out)."""
        if (device_id, item) != (self._followed, self._current_item):
            self._followed, self._current_item = device_id, item
            self._sync()

    def _rows_changed(self, top: QModelIndex, bottom: QModelIndex) -> None:
        """Note changed rows; their cards update once per frame, however many changes came."""
        views = self.devices.views()
        self._dirty.update(views[row].id for row in range(top.row(), bottom.row() + 1))
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _schedule_sync(self) -> None:
        self._resync = True
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush(self) -> None:
        if self._resync or self._arrangement() != self._order:
            self._resync = False
            self._dirty.clear()
            self._sync()
            return
        dirty, self._dirty = self._dirty, set()
        for view in self.devices.views():
            if view.id in dirty:
                card = self.cards.get(view.id)
                if card is None:
                    self._sync()
                    return
                self._show(card, view)

    def _arrangement(self) -> list[tuple[str, str]]:
        views = self.devices.views()
        return [(w.id, g.group_id if g else "") for w, g in arranged(views, groups_shown(views))]

    def _show(self, card: DeviceCard, view: v.DeviceView) -> None:
        why = view.why_not  # the core's verdict for the current item (why_not_target)
        if not self._followed:
            why = why or IDLE
        groups = groups_shown(self.devices.views())
        group = next((g for g in groups if g.member(view.id)), None)
        followed = view.id == self._followed or (group is not None and self._followed in group.ids)
        playing = self.devices.find(self._followed) if self._current_item is not None else None
        offer = together(view, playing, groups)
        card.show_view(view, followed, why, view.id == self._moving_to, (offer, group))

    def _sync(self) -> None:
        views = self.devices.views()
        ids = {view.id for view in views}
        for gone in set(self.cards) - ids:
            card = self.cards.pop(gone)
            self.list.removeWidget(card)
            card.hide()
            card.deleteLater()
        for n, view in enumerate(views):
            existing = self.cards.get(view.id)
            if existing is None:
                card = DeviceCard(self.mx, view)
                card.button.clicked.connect(lambda _=False, c=card: self._choose(c))
                card.volume.moved.connect(lambda value, c=card: self._volume(c, value))
                card.group.together.clicked.connect(lambda _=False, c=card: self._together(c))
                card.group.leave.clicked.connect(
                    lambda _=False, c=card: self.ungroup_requested.emit(c.view.id)
                )
                card.access.clicked.connect(
                    lambda _=False, c=card: self.access_panel.open_for(c.view)
                )
                self.cards[view.id] = card
                self.list.insertWidget(n, card)
            else:
                card = existing
                if self.list.indexOf(card) != n:
                    self.list.removeWidget(card)
                    self.list.insertWidget(n, card)
            self._show(card, view)
        views_now = self.devices.views()
        self.grouped.place(dict(self.cards), arranged(views_now, groups_shown(views_now)))
        self._order = self._arrangement()
        self.empty.setVisible(not views)
        self._refresh_seen()

    def _volume(self, card: DeviceCard, value: int) -> None:
        if card.group.member is not None:
            self.member_volume_requested.emit(card.view.id, value)
        else:
            self.volume_requested.emit(card.view.id, value)

    def _together(self, card: DeviceCard) -> None:
        if card.group.offer is not None:
            self.group_requested.emit(card.group.offer.device_ids)

    def show_transfer(self, transfer: v.TransferView) -> None:
        """Show a transfer's progress, then its result (figures behind "Details")."""
        self.banner.show_transfer(transfer)
        moving = transfer.target_id if transfer.phase is v.TransferPhase.RUNNING else ""
        if moving != self._moving_to:
            previous, self._moving_to = self._moving_to, moving
            for device_id in {previous, moving} - {""}:
                view = self.devices.find(device_id)
                card = self.cards.get(device_id)
                if view is not None and card is not None:
                    self._show(card, view)

    def set_session(self, session: v.SessionView | None) -> None:
        """Follow where the music is (the strip at the top says it)."""
        self.banner.set_session(session)

    def _add(self) -> None:
        text = self.address.text().strip()
        if text:
            self.add_requested.emit(text)
            self.address.clear()


def button_of(card: DeviceCard) -> QPushButton:
    """Return a card's transfer button."""
    return card.button
