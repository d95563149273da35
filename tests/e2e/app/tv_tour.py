"""A keys-only tour of the TV app on a real X server, run as its own process (Qt on xcb).

`python -m tests.e2e.app.tv_tour LIBRARY STATE_DIR` opens the TV window full screen as
`baton --tv` does, then presses keys through the X server (xdotool, as a remote's keys
arrive) and checks focus after each: Down to the first album, OK (its page, on Play), OK
(it plays here, on Now playing), Menu (the device picker, on a device that can take the
music), OK (the music moves there; the picker closes, focus back on play/pause), Back (the
album, on Play), Back (home, on the album). It prints one JSON line: what it saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication

from client.app.bridge import Bridge
from client.app.main import LaunchOptions, app_settings
from client.app.settings_store import StoredSettings
from client.app.tv.screen import ScreenFiller
from client.app.tv.window import TvWindow

STEP_TIMEOUT_S = 20.0


class TourError(AssertionError):
    """A step did not end where a remote user expects."""


def until(app: QApplication, condition: Callable[[], bool], what: str) -> None:
    """Run the event loop until *condition* holds; raise TourError naming *what*."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TourError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)  # polling X for a condition, with the deadline above


def focused() -> str:
    """Return the object name of the focus widget."""
    widget = QApplication.focusWidget()
    return widget.objectName() if widget is not None else ""


def key(name: str) -> None:
    """Press and release *name* (an X keysym) through the X server, as a keyboard would."""
    subprocess.run(["xdotool", "key", name], check=True)


def main(argv: list[str]) -> int:
    """Run the tour; print what it saw as JSON; 0 when every step ended as expected."""
    library, state = Path(argv[0]), Path(argv[1])
    app = QApplication(sys.argv[:1])
    settings = app_settings(
        LaunchOptions(
            tv=True, music_folder=library, device_name="Sofa TV", interfaces=("127.0.0.1",),
            local_audio=f"afile:{state / 'sofa-tv.wav'}", state_dir=state,
        ),
        StoredSettings(),
    )  # fmt: skip
    window = TvWindow(Bridge(settings), StoredSettings(), cec=False)
    ScreenFiller(window).show()
    window.bridge.start()
    seen: dict[str, object] = {"path": []}
    path: list[str] = seen["path"]  # type: ignore[assignment]

    def step(keysym: str, expect: str, also: Callable[[], bool] = lambda: True) -> None:
        key(keysym)
        until(app, lambda: focused() == expect and also(), f"{keysym} -> {expect}")
        for _ in range(3):  # a lost focus is recovered on the next turn: it must not move
            app.processEvents()
        if focused() != expect:
            raise TourError(f"after {keysym}, focus moved on to {focused()!r}")
        path.append(f"{keysym}:{focused()}")

    try:
        until(app, lambda: window.isActiveWindow(), "the window to be active")
        screen = window.screen().geometry()
        seen["geometry"] = [window.x(), window.y(), window.width(), window.height()]
        seen["screen"] = [screen.x(), screen.y(), screen.width(), screen.height()]
        until(app, lambda: bool(window.home.albums.cards), "the albums")
        names = {"Sofa TV", "Car", "Bedroom TV"}
        until(
            app,
            lambda: names <= {d.name for d in window.devices.views() if d.online and d.info},
            "Sofa TV, Car and Bedroom TV online",
        )
        step("Down", "album-0")
        step("Return", "play-album", lambda: window.current_page() == "album")
        step(
            "Return", "tv-np-play",
            lambda: window.session is not None and window.session.state.clock.playing,
        )  # fmt: skip
        assert window.session is not None
        seen["played_on"] = window.session.device_name
        key("Menu")
        until(app, window.picker.isVisible, "the device picker")
        chosen = focused()
        path.append(f"Menu:{chosen}")
        if not chosen.startswith("pick-") or chosen == f"pick-{seen['played_on']}":
            raise TourError(f"the picker opened on {chosen!r}, not on another device")
        target = chosen.removeprefix("pick-")
        step(
            "Return", "tv-np-play",
            lambda: window.session is not None and window.session.device_name == target
            and window.session.state.clock.playing and not window.picker.isVisible(),
        )  # fmt: skip
        seen["moved_to"] = target
        step("Escape", "play-album", lambda: window.current_page() == "album")
        step("Escape", "album-0", lambda: window.current_page() == "home")
        seen["ok"] = True
    except (TourError, AssertionError) as exc:
        seen["ok"] = False
        seen["error"] = str(exc)
        seen["focus"] = focused()
    finally:
        window.close()
        window.bridge.close()
    print(json.dumps(seen), flush=True)
    return 0 if seen["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
