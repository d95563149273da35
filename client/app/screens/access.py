"""Access: who may control a device this app owns, a Revoke button each, and pairing another.

Revoking this app's own token asks first (it cannot be undone without pairing again);
afterwards the panel closes and the Devices screen shows the device as needing pairing.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from client.app import theme
from client.app import views as v
from client.app.screens.overlay import Overlay
from client.app.theme import Metrics
from client.app.widgets import clear_layout, label, restyle, text_button
from connect.wire import messages as m

CODE_REFRESH_MS = 5000  # the code changes when someone pairs: re-read it while it is shown


class AccessPanel(Overlay):
    """The Access panel of one device; asks the app through its signals, shows AccessViews."""

    revoke_requested = Signal(str, str)  # device id, token id
    reload_requested = Signal(str, bool)  # device id, with the pairing code

    def __init__(self, mx: Metrics, parent: QWidget) -> None:
        super().__init__(mx, parent, width=mx.icon * 30)
        self.setObjectName("access-panel")
        self.device_id = ""
        self.view: v.AccessView | None = None
        self.revoke_buttons: dict[str, QPushButton] = {}
        self._confirming = ""  # our own token id while its confirmation is shown
        self.title = label("", "")
        self.title.setFont(theme.font(mx, 1.3, bold=True))
        self.status = label("", "muted", wrap=True)
        self.status.setObjectName("access-status")
        self.body.addWidget(self.title)
        self.body.addWidget(self.status)
        self.rows = QVBoxLayout()
        self.rows.setSpacing(mx.margin // 3)
        self.body.addLayout(self.rows)

        self.confirm = QFrame()
        confirm = QVBoxLayout(self.confirm)
        confirm.setContentsMargins(0, 0, 0, 0)
        self.confirm_text = label("", "error", wrap=True)
        buttons = QHBoxLayout()
        self.confirm_yes = text_button("Revoke my access")
        self.confirm_yes.setObjectName("confirm-revoke")
        self.confirm_yes.clicked.connect(self._confirmed)
        self.confirm_no = text_button("Keep it")
        self.confirm_no.setObjectName("keep-access")
        self.confirm_no.clicked.connect(self._unconfirm)
        buttons.addWidget(self.confirm_yes)
        buttons.addWidget(self.confirm_no)
        confirm.addWidget(self.confirm_text)
        confirm.addLayout(buttons)
        self.confirm.hide()
        self.body.addWidget(self.confirm)

        self.code = label("", "ok", wrap=True)
        self.code.setObjectName("access-code")
        self.code.setFont(theme.font(mx, 1.15, bold=True))
        self.code.hide()
        self.body.addWidget(self.code)
        # While the code is shown, re-read it and the list: the controller being paired
        # appears, and the code shown is never one the device has already replaced.
        self._refresh = QTimer(self)
        self._refresh.setInterval(CODE_REFRESH_MS)
        self._refresh.timeout.connect(self._reload_with_code)
        row = QHBoxLayout()
        self.pair_other = text_button("Pair another controller", icon="add", mx=mx)
        self.pair_other.setObjectName("pair-another")
        self.pair_other.clicked.connect(self._reload_with_code)
        self.done = text_button("Close")
        self.done.setObjectName("access-close")
        self.done.clicked.connect(self.close_overlay)
        row.addWidget(self.pair_other)
        row.addStretch(1)
        row.addWidget(self.done)
        self.body.addLayout(row)

    def open_for(self, view: v.DeviceView) -> None:
        """Open the panel for *view* and ask for its list."""
        self.device_id = view.id
        self.view = None
        self.title.setText(f"Access to {view.name}")
        self._say("Loading who has access…", "muted")
        self._unconfirm()
        self.code.hide()
        self._refresh.stop()
        clear_layout(self.rows)
        self.revoke_buttons.clear()
        self.open()
        self.move_focus(self.done)
        self.reload_requested.emit(view.id, False)

    def show_access(self, access: v.AccessView) -> None:
        """Show *access* (for the device the panel is open for)."""
        if access.device_id != self.device_id or not self.isVisible():
            return
        if access.error:
            self._say(access.error, "error")  # the last list stays: the error says why
            return
        before, self.view = self.view, access
        count = len(access.tokens)
        self._say(f"{count} controller{'s' if count != 1 else ''} may control it", "muted")
        if access.code:
            self.code.setText(
                f"To pair another controller, enter {access.code} on it "
                "(the code changes after each pairing)"
            )
            self.code.show()
            self._refresh.start()
        if self._confirming not in {token.id for token in access.tokens}:
            self._unconfirm()  # what was to be confirmed is gone (revoked elsewhere)
        if before is None or before.tokens != access.tokens:
            self._fill(access)  # a refresh that changed nothing keeps the rows (and focus)

    # ------------------------------------------------------------------ helpers
    def _reload_with_code(self) -> None:
        if not self.isVisible():  # closed by Close or Back: stop re-reading
            self._refresh.stop()
            return
        self.reload_requested.emit(self.device_id, True)

    def _fill(self, access: v.AccessView) -> None:
        focus_was = next(
            (tid for tid, b in self.revoke_buttons.items() if b.hasFocus()), None
        )  # a rebuilt row gets focus back; a revoked one's moves to Close, never lost
        for old in self.revoke_buttons.values():
            old.setObjectName("")  # it lingers until deleteLater runs: keep names unique
        clear_layout(self.rows)
        self.revoke_buttons.clear()
        now_ms = time.time() * 1000
        for token in access.tokens:
            row = QHBoxLayout()
            own = token.id == access.own_token_id
            who = token.client.name or token.client.id
            text = label(
                f"{who}{' (this app)' if own else ''}\n"
                f"{token.role.name.lower()} · {last_used(token, now_ms)}",
                "",
                wrap=True,
            )
            button = text_button("Revoke")
            button.setObjectName(f"revoke-{token.id}")
            button.setAccessibleName(f"Revoke {who}")
            button.clicked.connect(lambda _=False, t=token.id: self._revoke(t))
            row.addWidget(text, 1)
            row.addWidget(button)
            self.rows.addLayout(row)
            self.revoke_buttons[token.id] = button
        if focus_was is not None:
            self.move_focus(self.revoke_buttons.get(focus_was, self.done))

    def _revoke(self, token_id: str) -> None:
        if self.view is not None and token_id == self.view.own_token_id:
            self._confirming = token_id
            self.confirm_text.setText(
                "Revoke this app's own access? It will need the device's code to pair again."
            )
            self.confirm.show()
            self.move_focus(self.confirm_no)
            return
        self.revoke_requested.emit(self.device_id, token_id)

    def _confirmed(self) -> None:
        token_id, self._confirming = self._confirming, ""
        self.confirm.hide()
        if token_id:
            self.revoke_requested.emit(self.device_id, token_id)
            self.close_overlay()

    def _unconfirm(self) -> None:
        had = bool(self._confirming)
        self._confirming = ""
        self.confirm.hide()
        if had and self.isVisible():
            self.move_focus(self.done)

    def _say(self, text: str, role: str) -> None:
        self.status.setText(text)
        restyle(self.status, "role", role)


def last_used(token: m.TokenInfo, now_ms: float) -> str:
    """Return when *token* was last used, in words ("never used" when it was not)."""
    if not token.last_used_unix_ms:
        return "never used"
    seconds = max(0.0, (now_ms - token.last_used_unix_ms) / 1000)
    if seconds < 90:
        return "used just now"
    if seconds < 90 * 60:
        return f"used {seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"used {seconds / 3600:.0f} h ago"
    return f"used {seconds / 86400:.0f} days ago"
