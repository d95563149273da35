"""Settings: music folder, this computer's name, interfaces, trace collector and user, TV mode."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QWidget

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
        self.interfaces.setPlaceholderText("all suitable interfaces (or e.g. eth0, wlan0)")
        form.addRow(label("Network interfaces"), self.interfaces)
        self.collector = self._edit("settings-collector", current.trace_collector)
        self.collector.setPlaceholderText("e.g. http://192.168.1.5:4318 (none: no tracing)")
        form.addRow(label("Trace collector"), self.collector)
        self.trace_user = self._edit("settings-trace-user", current.trace_user)
        self.trace_user.setPlaceholderText("the trace viewer's user who sees this computer")
        form.addRow(label("Trace user"), self.trace_user)
        self.tv = QCheckBox("Open in TV mode (full screen, for a remote)")
        self.tv.setObjectName("settings-tv")
        self.tv.setChecked(current.tv)
        self.tv.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        form.addRow(label("TV mode"), self.tv)
        layout.addLayout(form)
        self.save_button = text_button("Save", role="primary")
        self.save_button.setObjectName("settings-save")
        self.save_button.clicked.connect(self._save)
        layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.status = label(
            "The music folder applies at once; the name, interfaces, trace collector and user, "
            "and TV mode apply the next time Baton starts.",
            "muted",
            wrap=True,
        )
        layout.addWidget(self.status)
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
            tv=self.tv.isChecked(),
        )

    def _save(self) -> None:
        self.saved.emit(self.values())

    def show_status(self, text: str, error: bool = False) -> None:
        """Say whether saving worked."""
        restyle(self.status, "role", "error" if error else "ok")
        self.status.setText(text)
