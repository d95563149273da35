"""The Devices screen's "Can't see your device?" panel: where the app looks, what it last saw of
each device, the ports to open, and the multicast self-test."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QVBoxLayout

from client.app import theme
from client.app import views as v
from client.app.theme import Metrics
from client.app.widgets import label, restyle, text_button
from client.app.words import ago


class HelpPanel(QFrame):
    """The panel; the screen fills it (`show_diagnostics`, `show_seen`)."""

    def __init__(self, mx: Metrics) -> None:
        super().__init__()
        self.setProperty("role", "card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(mx.margin, mx.margin // 2, mx.margin, mx.margin // 2)
        heading = label("Can't see your device?", "")
        heading.setFont(theme.font(mx, 1.15, bold=True))
        layout.addWidget(heading)
        self.interfaces = label("Looking for devices on: …", "muted", wrap=True)
        self.multicast = label("Multicast self-test: not run yet", "muted", wrap=True)
        self.seen = label("", "muted", wrap=True)
        self.ports = label("", "muted", wrap=True)
        # The button comes last: a remote scrolls only as far as the focus goes, so text
        # under the screen's last button would stay cut off below the screen's edge.
        for w in (self.interfaces, self.seen, self.ports, self.multicast):
            layout.addWidget(w)
        self.test_button = text_button("Test multicast", icon="help", mx=mx)
        self.test_button.setObjectName("self-test")
        layout.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignLeft)

    def show_diagnostics(self, diag: v.Diagnostics) -> None:
        """Say where the app looks, the self-test's result and the ports to open."""
        self.interfaces.setText(
            "Looking for devices on: " + (", ".join(diag.interfaces) or "no network")
        )
        self.multicast.setText(f"Multicast self-test: {diag.multicast_detail}")
        role = {True: "ok", False: "error", None: "muted"}[diag.multicast_ok]
        restyle(self.multicast, "role", role)
        self.ports.setText("Ports to open on your firewall: " + "; ".join(diag.ports))

    def show_seen(self, views: Iterable[v.DeviceView], now: float) -> None:
        """Say, for each device but this one, whether it is connected or when it was seen."""
        lines = []
        for view in views:
            if view.is_local:
                continue
            where = view.address or "no address"
            if view.online and view.info is not None:
                lines.append(f"{view.name}: connected, at {where}")
                continue
            seen = (
                f"last seen {ago(max(0.0, now - view.last_seen))}"
                if view.last_seen
                else "never seen"
            )
            lines.append(f"{view.name}: {seen}, at {where}")
        self.seen.setText("\n".join(lines) or "No device seen yet.")
