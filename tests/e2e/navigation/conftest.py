"""Fixtures for driving real widgets with remote keys: a fake clock and absolute-layout screens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from client.navigation import RepeatSettings, SpatialNavigator


class FakeClock:
    """A monotonic clock the test advances by hand (no sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def screen(qtbot) -> QWidget:
    """An empty 1280x720 window, shown and active."""
    window = QWidget()
    window.resize(1280, 720)
    qtbot.addWidget(window)
    return window


def show(qtbot, window: QWidget) -> None:
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)


@pytest.fixture
def navigator(screen: QWidget, clock: FakeClock) -> Iterator[SpatialNavigator]:
    nav = SpatialNavigator(screen, clock=clock, repeat=RepeatSettings())
    yield nav
    nav.close()
    nav.close()  # idempotent


def button(parent: QWidget, name: str, x: int, y: int, w: int = 100, h: int = 60) -> QPushButton:
    b = QPushButton(name, parent)
    b.setObjectName(name)
    b.setGeometry(x, y, w, h)
    b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return b


def press(qtbot, key: Qt.Key, *, autorepeat: bool = False, release: bool = True) -> None:
    """Send one remote key to whatever has focus (the window when nothing does)."""
    target = QApplication.focusWidget() or QApplication.activeWindow()
    assert target is not None
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent

    QApplication.sendEvent(
        target, QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier, "", autorepeat)
    )
    if release:
        # After Back closed a dialog nothing may be active: release where the press went.
        target = QApplication.focusWidget() or QApplication.activeWindow() or target
        QApplication.sendEvent(
            target,
            QKeyEvent(QEvent.Type.KeyRelease, key, Qt.KeyboardModifier.NoModifier, "", autorepeat),
        )


def release(key: Qt.Key) -> None:
    """Send only the final (non-repeated) release of `key`."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent

    target = QApplication.focusWidget() or QApplication.activeWindow()
    assert target is not None
    QApplication.sendEvent(
        target, QKeyEvent(QEvent.Type.KeyRelease, key, Qt.KeyboardModifier.NoModifier, "", False)
    )


def focused_name() -> str | None:
    w = QApplication.focusWidget()
    return None if w is None else w.objectName()
