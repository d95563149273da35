"""Where the music is, in a strip of fixed height at the top of Devices, and a transfer's
figures behind "Details".

The strip never changes height, so the device list under it never moves while a remote user
looks at it (a banner that appeared pushed the list under the focus). It says "Playing on
Car", "Moving to Car…", why a move failed, or that nothing plays; the engineering figures
(request to audible, gap or overlap, position error) are in the details panel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QProgressBar, QVBoxLayout, QWidget

from client.app import views as v
from client.app.screens.overlay import Overlay
from client.app.theme import Metrics
from client.app.widgets import label, restyle, text_button
from connect.wire import messages as m

LINES = 2  # the strip holds two lines of text; a longer reason is whole in the details


def where_words(session: v.SessionView | None) -> str:
    """Return where the music is, in the listener's words ("" when nothing plays)."""
    if session is None or session.state.current_item is None:
        return ""
    status = session.state.status
    if status is m.PlaybackStatus.PLAYING or session.state.clock.playing:
        return f"Playing on {session.device_name}"
    if status is m.PlaybackStatus.PAUSED:
        return f"Paused on {session.device_name}"
    return ""


def transfer_figures(transfer: v.TransferView) -> list[str]:
    """Return a finished transfer's measurements, one line each (for the details panel)."""
    lines = [f"Took {transfer.elapsed_ms} ms from the request to the answer"]
    t = transfer.timings
    if t is None:
        return lines
    gap = t.gap_us / 1000
    lines += [
        f"Audible on {transfer.target_name} {t.request_to_audible_ms} ms after the request "
        f"(ready after {t.request_to_ready_ms} ms)",
        f"Gap between the two devices: {gap:.1f} ms"
        if gap >= 0
        else f"Both devices played together for {-gap:.1f} ms (overlap)",
        f"Position off by {t.position_error_ms} ms",
    ]
    return lines


class TransferDetails(Overlay):
    """The figures of the last transfer, over the screen; Back or Close closes it."""

    def __init__(self, mx: Metrics, parent: QWidget) -> None:
        super().__init__(mx, parent, width=mx.icon * 26)
        self.setObjectName("transfer-details")
        self.title = label("", "")
        self.title.setObjectName("details-title")
        self.lines = label("", "muted", wrap=True)
        self.lines.setObjectName("details-lines")
        self.close_button = text_button("Close")
        self.close_button.setObjectName("details-close")
        self.close_button.clicked.connect(self.close_overlay)
        for widget in (self.title, self.lines):
            self.body.addWidget(widget)
        self.body.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignRight)

    def show_transfer(self, transfer: v.TransferView) -> None:
        """Open the panel on *transfer*'s figures."""
        self.title.setText(f"Moving to {transfer.target_name}")
        lines = transfer_figures(transfer)
        if transfer.phase is v.TransferPhase.FAILED:
            lines.insert(0, transfer.message)
        self.lines.setText("\n".join(lines))
        self.open()
        self.move_focus(self.close_button)


class TransferStatus(QFrame):
    """The strip: one message, a busy bar while a move runs, "Details" once one finished."""

    def __init__(self, mx: Metrics) -> None:
        super().__init__()
        self.setObjectName("transfer-strip")
        self.setProperty("role", "card")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(mx.margin, mx.margin // 3, mx.margin, mx.margin // 3)
        text = QVBoxLayout()
        text.setSpacing(2)
        self.text = label("", "", wrap=True)
        self.text.setObjectName("transfer-status")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: the coordinator reports no steps
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the strip keeps its height either way
        self.progress.setSizePolicy(policy)
        text.addWidget(self.text)
        text.addWidget(self.progress)
        layout.addLayout(text, 1)
        self.details = text_button("Details")
        self.details.setObjectName("transfer-details-button")
        self.details.setAccessibleName("Details of the last move")
        details_policy = self.details.sizePolicy()
        details_policy.setRetainSizeWhenHidden(True)
        self.details.setSizePolicy(details_policy)
        self.details.hide()
        layout.addWidget(self.details, 0, Qt.AlignmentFlag.AlignVCenter)
        line = self.text.fontMetrics().lineSpacing()
        margins = layout.contentsMargins()
        self.setFixedHeight(
            max(LINES * line + 8 + mx.margin // 2, self.details.sizeHint().height())
            + margins.top()
            + margins.bottom()
        )
        self.transfer: v.TransferView | None = None
        self._session: v.SessionView | None = None
        self._show()

    def show_transfer(self, transfer: v.TransferView) -> None:
        """Follow a transfer: running, then done or failed."""
        self.transfer = transfer
        self._show()

    def forget_failure(self) -> None:
        """Drop a failed move's message (the listener has seen it and left the page)."""
        if self.transfer is not None and self.transfer.phase is v.TransferPhase.FAILED:
            self.transfer = None
            self._show()

    def set_session(self, session: v.SessionView | None) -> None:
        """Follow where the music is (a transfer's result gives way to what plays now)."""
        self._session = session
        self._show()

    def _show(self) -> None:
        transfer, where = self.transfer, where_words(self._session)
        running = transfer is not None and transfer.phase is v.TransferPhase.RUNNING
        failed = transfer is not None and transfer.phase is v.TransferPhase.FAILED
        if running and transfer is not None:
            text, role = f"Moving to {transfer.target_name}…", ""
        elif failed and transfer is not None:
            text, role = f"Could not move to {transfer.target_name}: {transfer.message}", "error"
        else:
            text, role = where or "Nothing is playing", "ok" if where else "muted"
        self.progress.setVisible(running)
        restyle(self.text, "role", role)
        self.text.setText(text)
        # The figures belong to the last move while its music plays on (or it failed).
        self.details.setVisible(transfer is not None and not running and (failed or bool(where)))
