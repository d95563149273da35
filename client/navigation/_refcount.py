"""Guard against PySide6 6.12's lost references to None/True/False on CPython < 3.12.

Measured in this venv (PySide6 6.12.0, CPython 3.11.7): every call of a void Qt method
(setFocus, update, show, ...) and every `QApplication.focusWidget()` that returns None drops
one reference to None, and every `Signal.emit()` drops one to True. CPython 3.11 does not make
these singletons immortal (3.12 does), so a process aborts with "none_dealloc" after a few
thousand such calls, i.e. within minutes of holding an arrow key. Until the runtime is fixed
(CPython ≥ 3.12 or a PySide that supports 3.11 correctly), the adapter raises their reference
counts far out of reach once. This only postpones a deallocation CPython never performs for
these objects anyway.
"""

from __future__ import annotations

import ctypes
import sys

_PINNED = False
_HEADROOM = 1 << 40


def pin_singletons() -> None:
    """Make None, True and False impossible to deallocate by lost references (idempotent)."""
    global _PINNED
    if _PINNED or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object header.
        ctypes.c_ssize_t.from_address(id(singleton)).value += _HEADROOM
    _PINNED = True
