"""The TV's Settings page: the app's settings, this TV's pairing code, and adding a device.

The same form as the desktop's (the values are saved to the same file), without "Choose…"
(a file dialog needs a pointer); the TV shows its own code for phones to pair with it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from client.app.screens.settings import SettingsScreen
from client.app.settings_store import StoredSettings
from client.app.theme import Metrics
from client.app.widgets import label, text_button


class TvSettings(SettingsScreen):
    """Settings, plus the pairing code and "Add a device by address"."""

    add_requested = Signal(str)  # host:port

    def __init__(self, mx: Metrics, current: StoredSettings, parent: QWidget | None = None) -> None:
        super().__init__(mx, current, parent)
        self.browse.hide()
        area = self.findChild(QScrollArea)
        assert area is not None
        self.area = area
        content = area.widget()
        layout = content.layout() if content is not None else None
        assert isinstance(layout, QVBoxLayout)
        self.local_code = label("", "ok", wrap=True)
        self.local_code.setObjectName("local-code")
        self.local_code.hide()
        layout.insertWidget(1, self.local_code)
        row = QHBoxLayout()
        self.address = QLineEdit()
        self.address.setObjectName("add-address")
        self.address.setPlaceholderText("Add a device by address, e.g. 192.168.1.20:43210")
        self.address.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.address.returnPressed.connect(self._add)
        self.add_button = text_button("Add device")
        self.add_button.setObjectName("add-device")
        self.add_button.clicked.connect(self._add)
        row.addWidget(self.address, 1)
        row.addWidget(self.add_button)
        layout.insertLayout(2, row)
        for text in self.findChildren(QLabel):
            if text.text() == "This computer's name":
                text.setText("This TV's name")
        # Desktop notifications are the desktop's: a TV shows what plays full screen.
        self.form.setRowVisible(self.notify_tracks, False)

    def show_local_code(self, code: str) -> None:
        """Show this TV's pairing code, for phones and laptops to pair with it."""
        self.local_code.setText(
            f"To pair a phone or laptop with this TV, enter {code}" if code else ""
        )
        self.local_code.setVisible(bool(code))

    def _add(self) -> None:
        text = self.address.text().strip()
        if text:
            self.add_requested.emit(text)
            self.address.clear()
