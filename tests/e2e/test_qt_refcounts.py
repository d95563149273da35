"""The Qt binding keeps Python's reference counts right (PySide6 6.12.0 on CPython 3.11 did not:
every void call and emit() lost a reference to None/True, and a process aborted within minutes)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget


class _Emitter(QObject):
    fired = Signal()


def test_void_calls_and_emits_leave_none_and_true_refcounts_alone(qtbot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    emitter = _Emitter()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(500):
        widget.update()
        emitter.fired.emit()
    # Other code may take or drop a few references meanwhile; a broken binding drops 500.
    assert sys.getrefcount(None) - none_before > -50
    assert sys.getrefcount(True) - true_before > -50
