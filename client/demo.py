"""`baton demo`: run what exists of Baton on loopback and say plainly what it started."""

from __future__ import annotations


def run_demo(*, headless: bool) -> int:
    """Run the demo; return the process exit code."""
    print("Baton demo: nothing to start yet (the receiver and the app are not built).")
    return 0
