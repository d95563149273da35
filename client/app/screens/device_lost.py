"""When the playing device goes away: say so at once and offer to play the music elsewhere.

A panel over the whole window (the remote's focus is trapped in it until a choice or Back):
which device left and why, what stopped and where, a button per device that can take it,
and "Not now". It closes by itself when music plays again somewhere.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from client.app import theme
from client.app import views as v
from client.app.models import DeviceListModel, format_ms
from client.app.rescue import why_words
from client.app.screens.overlay import Overlay
from client.app.theme import Metrics
from client.app.widgets import clear_layout, label, text_button


class DeviceLostPanel(Overlay):
    """Shows a `PlaybackLost`; `resume_requested` carries the device chosen to take over."""

    resume_requested = Signal(str)  # device id

    def __init__(self, mx: Metrics, parent: QWidget, devices: DeviceListModel) -> None:
        super().__init__(mx, parent, width=mx.icon * 24)
        self.setObjectName("device-lost")
        self.devices = devices
        self.lost: v.PlaybackLost | None = None
        self.title = label("", "")
        self.title.setObjectName("lost-title")
        self.title.setFont(theme.font(mx, 1.3, bold=True))
        self.what = label("", "muted", wrap=True)
        self.what.setObjectName("lost-what")
        self.ask = label("Play it on:", "")
        self.body.addWidget(self.title)
        self.body.addWidget(self.what)
        self.body.addWidget(self.ask)
        self.choices = QVBoxLayout()
        self.choices.setSpacing(mx.margin // 3)
        self.body.addLayout(self.choices)
        self.none = label("No other device can play it right now.", "muted", wrap=True)
        self.body.addWidget(self.none)
        self.dismiss = text_button("Not now")
        self.dismiss.setObjectName("lost-dismiss")
        self.dismiss.clicked.connect(self.close_overlay)
        self.body.addWidget(self.dismiss, 0, Qt.AlignmentFlag.AlignRight)
        self.buttons: dict[str, QPushButton] = {}
        for signal in (devices.rowsInserted, devices.rowsRemoved, devices.dataChanged):
            signal.connect(self._devices_changed)

    def show_lost(self, lost: v.PlaybackLost) -> None:
        """Open the panel for *lost*, focused on the first device that can take over."""
        self.lost = lost
        self.title.setText(f"{lost.device_name} went away")
        item = lost.state.current_item
        track = f"“{item.title}”" if item is not None and item.title else "The music"
        self.what.setText(
            f"{why_words(lost.reason).capitalize()}. "
            f"{track} stopped there at {format_ms(lost.position_ms)}."
        )
        self._fill()
        self.open()
        first = next(iter(self.buttons.values()), self.dismiss)
        self.move_focus(first)

    def music_plays(self, session: v.SessionView) -> None:
        """Close once music plays again (moved, or the device came back)."""
        if self.isVisible() and session.state.clock.playing:
            self.close_overlay()

    def _candidates(self) -> list[v.DeviceView]:
        lost_id = self.lost.device_id if self.lost else ""
        return [
            d
            for d in self.devices.views()
            if d.id != lost_id and d.online and not d.locked and not d.why_not
        ]

    def _fill(self) -> None:
        clear_layout(self.choices)
        for button in self.buttons.values():
            button.setObjectName("")  # deleted later: keep names unique meanwhile
        self.buttons = {}
        for view in self._candidates():
            button = text_button(
                view.name, role="primary", icon=theme.device_icon_name(view.type), mx=self.mx
            )
            button.setObjectName(f"resume-{view.name}")
            button.setAccessibleName(f"Play it on {view.name}")
            button.clicked.connect(lambda _=False, d=view.id: self._choose(d))
            self.choices.addWidget(button)
            self.buttons[view.id] = button
        self.none.setVisible(not self.buttons)
        self.ask.setVisible(bool(self.buttons))

    def _devices_changed(self) -> None:
        if self.isVisible() and [d.id for d in self._candidates()] != list(self.buttons):
            focus_on_choice = any(b.hasFocus() for b in self.buttons.values())
            self._fill()
            if focus_on_choice or self.dismiss.hasFocus():
                self.move_focus(next(iter(self.buttons.values()), self.dismiss))

    def _choose(self, device_id: str) -> None:
        self.close_overlay()
        self.resume_requested.emit(device_id)
