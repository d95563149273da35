"""Render the real app offscreen into docs/screenshots/*.png (the README's pictures).

`python -m client.screenshots [OUT_DIR]` starts the demo's three receivers on loopback
(audio to nowhere, pin mode), pairs the app with Living Room and Car as the windowed demo does,
opens the real window on the demo library, plays an album on Living Room, moves it to Car, and
grabs every screen on the desktop layout (with the Library's search and Artists view and the
player bar's device picker), the pairing keypad on Bedroom TV (left unpaired) and Living
Room's Access panel, and the TV layout's pages: home, an album, Now playing, the device
picker, pairing over it, and Settings. Run it where mDNS on loopback
works (`./dev` runs it inside a network namespace with only `lo` up).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication

from client.app.bridge import Bridge, CoreThread
from client.app.main import LaunchOptions, app_settings
from client.app.settings_store import StoredSettings
from client.app.tv.window import TvWindow
from client.app.window import MainWindow
from client.demo import _Clock, _pair_for_the_app
from client.demo_library import write_demo_library
from client.demo_receivers import DemoReceiver, start_receivers, stop_receivers
from connect.access import CredentialStore
from connect.controller import Controller
from connect.wire import messages as m

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def wait(app: QApplication, condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Run the event loop until *condition* holds; raise TimeoutError naming *what*."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float) -> None:
    """Let the window run (progress moves, layouts settle) for *seconds*."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def open_window(work: Path, *, tv: bool) -> MainWindow:
    """Open the real window and its core, browsing loopback only."""
    settings = app_settings(
        LaunchOptions(
            music_folder=work / "library",
            device_name="This computer",
            interfaces=("127.0.0.1",),
            local_audio="none",
            state_dir=work / ("tv-state" if tv else "app-state"),
            tv=tv,
        ),
        StoredSettings(music_folder=str(work / "library"), device_name="This computer", tv=tv),
    )
    stored = StoredSettings(str(work / "library"), "This computer", tv=tv)
    window = MainWindow(Bridge(settings), stored, tv=tv)
    window.resize(1920 if tv else 1280, 1080 if tv else 800)
    window.show()
    window.bridge.start()
    return window


def open_tv(work: Path) -> TvWindow:
    """Open the real TV window and its core, browsing loopback only, 1920×1080."""
    settings = app_settings(
        LaunchOptions(
            music_folder=work / "library",
            device_name="Sofa TV",
            interfaces=("127.0.0.1",),
            local_audio="none",
            state_dir=work / "tv-state",
            tv=True,
        ),
        StoredSettings(music_folder=str(work / "library"), device_name="Sofa TV", tv=True),
    )
    stored = StoredSettings(str(work / "library"), "Sofa TV", tv=True)
    window = TvWindow(Bridge(settings), stored, cec=False)
    window.resize(1920, 1080)
    window.show()
    window.bridge.start()
    return window


def main(argv: list[str]) -> int:
    """Render the screenshots; return the exit code."""
    out = Path(argv[0]) if argv else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # read when QApplication starts
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    work = Path(tempfile.mkdtemp(prefix="baton-shots-"))
    write_demo_library(work / "library")
    helper = CoreThread("screenshots")
    helper.start()
    clock = _Clock()
    receivers = helper.submit(start_receivers(clock.say, work, "none")).result(60)
    os.environ["BATON_CONFIG_DIR"] = str(work / "config")  # never the user's credentials
    windows: list[MainWindow | TvWindow] = []
    try:
        helper.submit(_pair_for_the_app(clock, receivers)).result(60)
        helper.submit(_pair_a_tablet(work, receivers[0])).result(60)
        window = open_window(work, tv=False)
        windows.append(window)
        views = window.devices.views
        wait(app, lambda: sum(d.online for d in views()) >= 3, 20, "three devices online")
        wait(app, lambda: sum(d.locked for d in views()) == 1, 20, "Bedroom TV to pair")
        living_room = next(d for d in window.devices.views() if d.name == "Living Room")
        album = window.albums.albums()[0]
        window.bridge.play(album.tracks, 1, device_id=living_room.id)
        wait(app, lambda: window.session is not None, 10, "playback on Living Room")
        settle(app, 4.0)
        window.show_screen("library")
        window.move_focus(window.library.album_buttons[0])
        shoot(app, window, None, out / "library.png")
        window.library.open_album(album)
        shoot(app, window, None, out / "album.png")
        window.library.close_album()
        shoot_library_views(app, window, out)
        window.show_screen("now-playing")
        window.move_focus(window.now_playing.transport.play)
        shoot(app, window, None, out / "now-playing.png")
        car = next(d for d in window.devices.views() if d.name == "Car")
        window.show_screen("devices")
        window.bridge.self_test()
        window.bridge.transfer(car.id)
        screen = window.devices_screen
        wait(
            app,
            lambda: screen.banner.transfer is not None and screen.banner.progress.isHidden(),
            15,
            "transfer",
        )
        settle(app, 1.0)
        window.move_focus(window.devices_screen.cards[living_room.id].button)
        shoot(app, window, None, out / "devices.png")
        shoot_access(app, window, living_room.id, out)
        window.desktop.open_picker()
        picker = window.desktop.picker
        wait(app, lambda: car.id in picker.rows, 10, "the device picker")
        window.move_focus(picker.rows[living_room.id].button)
        shoot(app, window, None, out / "device-picker.png")
        picker.close_overlay()
        window.show_screen("settings")
        window.move_focus(window.settings.folder)
        shoot(app, window, None, out / "settings.png")

        tv = open_tv(work)
        windows.append(tv)
        wait(app, lambda: tv.session is not None and tv.albums.rowCount() > 0, 20, "TV window")
        wait(app, lambda: bool(tv.home.albums.cards), 10, "the TV's rows")
        settle(app, 1.5)
        tv.recent.played(album)  # as Play on the TV would: the home's first row
        tv.home.set_recent(tv.recent.albums(tv.albums.albums()))
        settle(app, 0.3)
        tv.move_focus(tv.home.albums.cards[1])
        shoot(app, tv, None, out / "tv-home.png")
        tv.open_album(album)
        shoot(app, tv, None, out / "tv-album.png")
        tv.show_page("now-playing")
        shoot(app, tv, None, out / "tv-now-playing.png")
        tv.open_picker()
        shoot(app, tv, None, out / "tv-picker.png")
        locked = next(d for d in tv.devices.views() if d.locked)
        tv.keypad.ask(locked)
        for digit in "40":
            tv.keypad.press(digit)
        tv.move_focus(tv.keypad.keys["7"])
        shoot(app, tv, None, out / "tv-pairing.png")
        tv.keypad.close_overlay()
        tv.picker.close_overlay()
        tv.open_tab("settings")
        tv.move_focus(tv.settings.address)
        shoot(app, tv, None, out / "tv-settings.png")
    finally:
        for opened in windows:
            opened.close()
            opened.bridge.close()
        helper.submit(stop_receivers(clock.say, receivers)).result(30)
        helper.stop()
    print(f"screenshots in {out}")
    return 0


async def _pair_a_tablet(work: Path, receiver: DemoReceiver) -> None:
    """Pair a second controller ("Kitchen tablet") with *receiver*, for the Access picture."""
    store = CredentialStore(work / "tablet")
    tablet = m.ClientIdentity(store.client_id(), "Kitchen tablet", m.DeviceType.PHONE, "baton")
    controller = Controller(tablet, browse=False, credentials=store)
    await controller.async_start()
    try:
        await controller.async_add_address("127.0.0.1", receiver.port)
        await controller.async_pair(receiver.device_id, receiver.pairing_code())
    finally:
        await controller.async_close()


def shoot_library_views(app: QApplication, window: MainWindow, out: Path) -> None:
    """Grab the Library's search results (typed as a listener types) and its Artists view."""
    screen = window.library
    window.move_focus(screen.search)
    for n in range(1, len("night") + 1):
        screen.search.setText("night"[:n])
        app.processEvents()
    shoot(app, window, None, out / "search.png")
    screen.search.clear()
    screen.show_view(1)  # Artists
    wait(app, lambda: screen.artist_grid.button(0) is not None, 10, "the artists")
    button = screen.artist_grid.button(0)
    assert button is not None
    window.move_focus(button)
    shoot(app, window, None, out / "artists.png")
    screen.show_view(0)


def shoot_access(app: QApplication, window: MainWindow, owned_id: str, out: Path) -> None:
    """Grab the keypad on the locked device (three digits typed) and an owned one's Access."""
    screen = window.devices_screen
    locked = next(d for d in window.devices.views() if d.locked)
    screen.keypad.ask(locked)
    for digit in "407":
        screen.keypad.press(digit)
    window.move_focus(screen.keypad.keys["8"])
    shoot(app, window, None, out / "pairing-keypad.png")
    screen.keypad.close_overlay()
    panel = screen.access_panel
    screen.access_panel.open_for(window.devices.find(owned_id) or locked)
    wait(app, lambda: bool(panel.revoke_buttons), 10, "the Access list")
    panel.reload_requested.emit(owned_id, True)  # as "Pair another controller" does
    wait(app, panel.code.isVisible, 10, "the pairing code")
    window.move_focus(panel.pair_other)
    shoot(app, window, None, out / "access.png")
    panel.close_overlay()


def shoot(app: QApplication, window: MainWindow | TvWindow, screen: str | None, path: Path) -> None:
    """Show *screen* (None: as it is), let it paint, save the window's pixels to *path*."""
    if screen is not None and isinstance(window, MainWindow):
        window.show_screen(screen)
    settle(app, 0.3)
    if not window.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
