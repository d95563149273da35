"""Suite-wide settings: Qt runs offscreen, and every test is isolated from real networks."""

from __future__ import annotations

import os

# pytest-qt aborts without a platform plugin; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
