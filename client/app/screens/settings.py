"""Settings: music folder, this computer's name, interfaces, trace collector and user, TV mode."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSizePolicy,
    QWidget,
)

from client.app.settings_store import StoredSettings
from client.app.theme import Metrics
from client.app.widgets import label, page, restyle, scroll_page, text_button


class SettingsScreen(QWidget):
    """Edits StoredSettings; `saved` carries the new values."""

    saved = Signal(object)  # StoredSettings

    def __init__(self, mx: Metrics, current: StoredSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mx = mx
        from PySide6.QtWidgets import QVBoxLayout

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        content, layout = page(mx, "Settings")
        outer.addWidget(scroll_page(content))
        form = QFormLayout()
        self.form = form
        form.setVerticalSpacing(mx.margin // 2 + 4)
        form.setHorizontalSpacing(mx.margin)
        self.folder = self._edit("settings-folder", current.music_folder)
        self.browse = text_button("Choose…")
        self.browse.setObjectName("settings-browse")
        self.browse.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        form.addRow(label("Music folder"), folder_row)
        self.name = self._edit("settings-name", current.device_name)
        form.addRow(label("This computer's name"), self.name)
        self.interfaces = self._edit("settings-interfaces", ", ".join(current.interfaces))
        self.interfaces.setPlaceholderText(
            "every suitable network (or name interfaces: wlan0, eth0)"
        )
        form.addRow(label("Find devices on"), self.interfaces)
        self.collector = self._edit("settings-collector", current.trace_collector)
        self.collector.setPlaceholderText("e.g. http://192.168.1.5:4318 (none: no tracing)")
        form.addRow(label("Trace collector"), self.collector)
        self.trace_user = self._edit("settings-trace-user", current.trace_user)
        self.trace_user.setPlaceholderText("the trace viewer's user who sees this computer")
        form.addRow(label("Trace user"), self.trace_user)
        self.trace_token = self._edit("settings-trace-token", current.trace_token)
        self.trace_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.trace_token.setPlaceholderText(
            "the collector's ingest token (baton-traces ingest add)"
        )
        form.addRow(label("Trace token"), self.trace_token)
        self.tv = QCheckBox("Open in TV mode (full screen, for a remote)")
        self.tv.setObjectName("settings-tv")
        self.tv.setChecked(current.tv)
        self.tv.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        form.addRow(label("TV mode"), self.tv)
        self.notify_tracks = QCheckBox("Say which track starts when Baton is in the background")
        self.notify_tracks.setObjectName("settings-notify")
        self.notify_tracks.setChecked(current.notify_tracks)
        self.notify_tracks.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        form.addRow(label("Notifications"), self.notify_tracks)
        self.status = label(
            "The music folder applies at once; the name, interfaces, trace collector, user and "
            "token, and TV mode apply the next time Baton starts.",
            "muted",
            wrap=True,
        )
        form.addRow("", self.status)
        # Save spans the fields' column: Down from any field or checkbox reaches it, and Up
        # from anywhere on the player bar lands on it, so each way has its way back.
        self.save_button = text_button("Save", role="primary")
        self.save_button.setObjectName("settings-save")
        self.save_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.save_button.clicked.connect(self._save)
        form.addRow("", self.save_button)
        layout.addLayout(form)
        layout.addStretch(1)

    def _edit(self, name: str, text: str) -> QLineEdit:
        edit = QLineEdit(text)
        edit.setObjectName(name)
        edit.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return edit

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Music folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def values(self) -> StoredSettings:
        """Return what the form holds."""
        return StoredSettings(
            music_folder=str(Path(self.folder.text().strip()).expanduser())
            if self.folder.text().strip()
            else "",
            device_name=self.name.text().strip(),
            interfaces=tuple(i.strip() for i in self.interfaces.text().split(",") if i.strip()),
            trace_collector=self.collector.text().strip(),
            trace_user=self.trace_user.text().strip(),
            trace_token=self.trace_token.text().strip(),
            tv=self.tv.isChecked(),
            notify_tracks=self.notify_tracks.isChecked(),
        )

    def _save(self) -> None:
        self.saved.emit(self.values())

    def show_status(self, text: str, error: bool = False) -> None:
        """Say whether saving worked."""
        restyle(self.status, "role", "error" if error else "ok")
        self.status.setText(text)
