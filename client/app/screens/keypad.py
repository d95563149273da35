"""The pairing keypad: a 3×4 grid of digits, backspace and OK, for a TV remote or a keyboard.

Arrows move between keys (spatial navigation, focus trapped in the pad), OK presses the
focused key, Back or Cancel closes it. On a keyboard the digit keys type and Backspace erases
wherever focus is in the pad: an application event filter, installed while the pad is shown
and so consulted before the navigator's (Qt asks the newest filter first), takes them.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QHideEvent, QKeyEvent, QShowEvent
from PySide6.QtWidgets import QApplication, QGridLayout, QProgressBar, QPushButton, QWidget

from client.app import theme
from client.app import views as v
from client.app.screens.overlay import Overlay
from client.app.theme import Metrics
from client.app.widgets import label, restyle, text_button

CODE_LENGTH = 6
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "back", "0", "ok")
_DIGIT_KEYS = {getattr(Qt.Key, f"Key_{n}"): str(n) for n in range(10)}
_ERASE_KEYS = (Qt.Key.Key_Backspace, Qt.Key.Key_Delete, Qt.Key.Key_Clear)  # Clear: a remote's


class PinKeypad(Overlay):
    """Asks for a device's code; `submitted` carries (device id, code) when OK is pressed."""

    submitted = Signal(str, str)

    def __init__(self, mx: Metrics, parent: QWidget) -> None:
        super().__init__(mx, parent, width=mx.icon * 16)
        self.setObjectName("pin-keypad")
        self.device_id = ""
        self.code = ""
        self.busy = False
        self.title = label("", "")
        self.title.setFont(theme.font(mx, 1.3, bold=True))
        self.title.setObjectName("pin-title")
        self.hint = label("", "muted", wrap=True)
        self.display = label("", "")
        self.display.setObjectName("pin-display")
        self.display.setFont(theme.font(mx, 2.2, bold=True))
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status = label("", "muted", wrap=True)
        self.status.setObjectName("pin-status")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: pairing is one request, with no steps to show
        self.progress.setTextVisible(False)
        self.progress.hide()
        for widget in (self.title, self.hint, self.display, self.status, self.progress):
            self.body.addWidget(widget)
        grid = QGridLayout()
        grid.setSpacing(mx.margin // 2)
        self.keys: dict[str, QPushButton] = {}
        for n, key in enumerate(KEYS):
            button = text_button(
                {"back": "⌫", "ok": "OK"}.get(key, key), role="primary" if key == "ok" else "key"
            )
            button.setObjectName(f"pin-{key}")
            button.setAccessibleName({"back": "Erase", "ok": "Pair"}.get(key, key))
            button.setMinimumHeight(mx.row)
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            grid.addWidget(button, n // 3, n % 3)
            self.keys[key] = button
        self.body.addLayout(grid)
        self.cancel = text_button("Cancel")
        self.cancel.setObjectName("pin-cancel")
        self.cancel.clicked.connect(self.close_overlay)
        self.body.addWidget(self.cancel)

    # ------------------------------------------------------------------ use
    def ask(self, view: v.DeviceView) -> None:
        """Open the pad for *view*, empty, focused on the 1 key."""
        self.device_id = view.id
        self.code = ""
        self.busy = False
        self.title.setText(f"Pair with {view.name}")
        self.hint.setText(
            f"Enter the {CODE_LENGTH}-digit code {view.name} shows on its screen."
            if view.type.name == "TV"
            else f"Enter {view.name}'s {CODE_LENGTH}-digit code: its owner sees it under "
            "Access, and `baton-receiver pairing-code` prints it on the device."
        )
        self._say("", "muted")
        self.progress.hide()
        self._show_code()
        self.open()

    def press(self, key: str) -> None:
        """Press one key of the pad: a digit, "back" or "ok" (ignored while pairing)."""
        if self.busy:
            return
        if key == "back":
            self.code = self.code[:-1]
        elif key == "ok":
            if len(self.code) == CODE_LENGTH:
                self.busy = True
                self.progress.show()
                self._say("Pairing…", "muted")
                self.submitted.emit(self.device_id, self.code)
                return
            self._say(f"Enter all {CODE_LENGTH} digits first", "error")
            return
        elif key.isdigit() and len(self.code) < CODE_LENGTH:
            self.code += key
            if len(self.code) == CODE_LENGTH:  # the next OK (remote or Enter) pairs
                self.move_focus(self.keys["ok"])
        self._show_code()

    def show_pairing(self, pairing: v.PairingView) -> None:
        """Show a pairing's progress or outcome; success closes the pad."""
        if pairing.device_id != self.device_id or not self.isVisible():
            return
        if pairing.phase is v.PairingPhase.RUNNING:
            return
        self.busy = False
        self.progress.hide()
        if pairing.phase is v.PairingPhase.DONE:
            self.close_overlay()
            return
        self.code = ""  # a wrong code is typed again from scratch, as on a phone's lock screen
        self._show_code()
        self._say(pairing.message, "error")
        self.move_focus(self.keys["1"])

    # ------------------------------------------------------------------ keyboard
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Digits type and Backspace erases while focus is in the pad (see the module doc)."""
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            focus = QApplication.focusWidget()
            if watched is focus and focus is not None and self.isAncestorOf(focus):
                key = Qt.Key(event.key())
                if key in _DIGIT_KEYS:
                    self.press(_DIGIT_KEYS[key])
                    return True
                if key in _ERASE_KEYS:
                    self.press("back")
                    return True
        return super().eventFilter(watched, event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """Take keyboard digits while shown."""
        super().showEvent(event)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        """Give the keyboard back; a pad closed by Back forgets what was typed."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.code = ""
        super().hideEvent(event)

    # ------------------------------------------------------------------ helpers
    def _show_code(self) -> None:
        typed = " ".join(self.code)
        blanks = " ".join("–" * (CODE_LENGTH - len(self.code)))
        self.display.setText(f"{typed} {blanks}".strip())

    def _say(self, text: str, role: str) -> None:
        self.status.setText(text)
        restyle(self.status, "role", role)
        self.status.setVisible(bool(text))
