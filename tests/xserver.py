"""A private X server for tests (Xvfb), optionally with a window manager, and what it shows.

`xvfb()` starts Xvfb on a display number the server picks itself (`-displayfd`), with no TCP
listener, and stops it (and the window manager) when the test ends. `window_geometry` asks
the X server, not Qt, where a window is and how big.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class XServer:
    """A running X server: its DISPLAY and size."""

    display: str
    width: int
    height: int

    def env(self) -> dict[str, str]:
        """Return this process's environment pointed at the server (Qt on xcb)."""
        env = dict(os.environ)
        env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb")
        env.pop("WAYLAND_DISPLAY", None)
        return env


def have_xvfb() -> bool:
    """Return True when Xvfb and xwininfo are installed."""
    return shutil.which("Xvfb") is not None and shutil.which("xwininfo") is not None


@contextlib.contextmanager
def xvfb(width: int = 1920, height: int = 1080, *, window_manager: str = "") -> Iterator[XServer]:
    """Run Xvfb (and *window_manager*, if named) for the duration of the block."""
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
         "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    manager: subprocess.Popen[bytes] | None = None
    try:
        with os.fdopen(read, "rb") as pipe:
            number = pipe.readline().strip().decode()  # written once the server accepts
        if not number.isdigit():
            raise RuntimeError("Xvfb did not start")
        x = XServer(f":{number}", width, height)
        if window_manager:
            manager = subprocess.Popen(
                [window_manager], env=x.env(), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        yield x
    finally:
        for process in (manager, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def window_geometry(x: XServer, title: str) -> tuple[int, int, int, int] | None:
    """Return (x, y, width, height) on the screen of the application window named *title*.

    Only windows with a class (an application's, not Qt's 1×1 helper of the same name) count;
    the position is the absolute one (a window manager's frame makes the relative one differ).
    """
    listing = subprocess.run(
        ["xwininfo", "-root", "-tree"], env=x.env(), capture_output=True, text=True, check=True
    ).stdout
    pattern = re.compile(
        r'"' + re.escape(title) + r'": \("[^"]*" "[^"]*"\)\s+(\d+)x(\d+)[+-]-?\d+[+-]-?\d+'
        r"\s+\+(-?\d+)\+(-?\d+)"
    )
    for line in listing.splitlines():
        found = pattern.search(line)
        if found:
            w, h, left, top = (int(g) for g in found.groups())
            return left, top, w, h
    return None
