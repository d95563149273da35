"""Whether a window can be shown here (Qt-free, cheap: `baton` asks before importing Qt)."""

from __future__ import annotations

import os


def has_display() -> bool:
    """Return True when a window can be shown (a display, and Qt not forced offscreen)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal")):
        return False
    if platform.startswith(("eglfs", "linuxfb", "vkkhrdisplay")):
        return True  # straight to the screen, no window system (a Pi on a TV: the kiosk unit)
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
