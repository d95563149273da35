"""Filling the whole screen, with or without a window manager.

`showFullScreen` only asks the window manager (_NET_WM_STATE_FULLSCREEN); on a bare X server
(a Pi kiosk started with xinit, no window manager) nobody answers and the window keeps its
default size: 1533×720 on a 1920×1080 screen. So the window is also given the screen's
geometry itself, and follows it when the screen changes size (a new mode, another TV). Under
a window manager the two agree; on eglfs and linuxfb the window is the screen already.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRect
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget


class ScreenFiller(QObject):
    """Keeps one window covering its screen: shown full screen, sized to the screen."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self._screen: QScreen | None = None

    def show(self) -> None:
        """Show the window full screen on its screen (the primary one by default)."""
        screen = self.window.screen() or QGuiApplication.primaryScreen()
        self.window.setGeometry(screen.geometry())
        self.window.showFullScreen()
        self._follow(screen)
        handle = self.window.windowHandle()
        if handle is not None:
            handle.screenChanged.connect(self._follow)

    def _follow(self, screen: QScreen | None) -> None:
        if screen is None or screen is self._screen:
            return
        if self._screen is not None:
            self._screen.geometryChanged.disconnect(self._fit)
        self._screen = screen
        screen.geometryChanged.connect(self._fit)
        self._fit(screen.geometry())

    def _fit(self, geometry: QRect) -> None:
        if self.window.geometry() != geometry:
            self.window.setGeometry(geometry)
