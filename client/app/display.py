"""Whether a window can be shown here (Qt-free, cheap: `baton` asks before importing Qt)."""

from __future__ import annotations

import os


def has_display() -> bool:
    """Return True when a window can be shown (a display, and Qt not forced offscreen)."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
