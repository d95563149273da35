"""The device picker: one key opens it from anywhere, one more moves the music.

It opens on the first device that can take the music (not on the one playing it), so the
second press of OK moves it there, as Spotify Connect's and Cast's pickers do. While the
move runs the row says so; when it is done the picker closes and focus returns to where it
was opened; a failure stays on screen, in words. A device that needs pairing opens the keypad.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from client.app import theme
from client.app import views as v
from client.app.screens.overlay import Overlay
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
        # Always something to focus, even with no device yet (and Back's twin on screen).
        self.close_button = text_button("Close")
        self.close_button.setObjectName("picker-close")
        self.close_button.clicked.connect(self.close_overlay)
        self.body.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignRight)
        self.rows: dict[str, DeviceRow] = {}
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
                if not self._inert(d) and not d.locked and d.id != followed
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
        if [d.id for d in self._views] != list(self.rows):
            focused = next((i for i, b in self.rows.items() if b.hasFocus()), "")
            for button in self.rows.values():
                button.setObjectName("")
                button.hide()
                button.deleteLater()
            self.rows = {}
            for view in self._views:
                row = DeviceRow(self.px)
                row.clicked.connect(lambda _=False, d=view.id: self._choose(d))
                self.rows_layout.addWidget(row)
                self.rows[view.id] = row
            if focused in self.rows and self.isVisible():
                self.move_focus(self.rows[focused])
        for view in self._views:
            self._show_row(self.rows[view.id], view)

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
