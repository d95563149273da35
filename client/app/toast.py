"""A short message floating over the top of the content: it never moves what is under focus.

In the layout, a message line pushes every card down as it appears, so the item a remote
user is looking at slides away from the focus ring's old place; a toast covers the screen's
title corner instead. Confirmations go when the listener changes page; errors stay their time.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from client.app import views as v
from client.app.widgets import restyle

SHOW_MS = 6000


class Toast(QLabel):
    """One message at a time, at the top right of `area()` (the content, in the parent)."""

    def __init__(self, parent: QWidget, margin: int, area: Callable[[], QRect]) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        self.setWordWrap(True)
        self._margin = margin
        self._area = area
        self._error = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_notice(self, notice: v.Notice) -> None:
        """Show *notice* for a few seconds, above everything in the window."""
        self._error = notice.error
        restyle(self, "role", "error" if notice.error else "ok")
        self.setText(notice.text)
        self.show()
        self.raise_()
        self._place()
        self._timer.start(SHOW_MS)

    def page_changed(self) -> None:
        """The listener left the page: a confirmation is done; an error stays its time."""
        if not self._error:
            self._timer.stop()
            self.hide()

    def _place(self) -> None:
        content = self._area()
        width = max(200, content.width() * 6 // 10)
        self.setFixedWidth(width)
        self.setFixedHeight(self.heightForWidth(width))
        self.move(content.right() - self._margin - width, content.top() + self._margin // 2)

    def follow(self) -> None:
        """Re-place after the window changed size."""
        if self.isVisible():
            self._place()
