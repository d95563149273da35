"""The desktop app's own parts, wired into the main window: the device picker of the player
bar, per-device volume, groups (play here too, leave, a member's volume: both device lists),
what the bar says about where the music plays, the library's search, artists, scan progress
and "Play next".

Kept apart from window.py, which the desktop and the TV layouts share: the window builds
`DesktopParts(self)` once, and everything here talks to the window's public pieces (its
bridge, models, bar and screens) and to the bridge's signals.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from client.app import theme
from client.app import views as v
from client.app.bridge import Bridge
from client.app.models import DeviceListModel
from client.app.playability import offer, skipped_notice
from client.app.screens.device_picker import DevicePicker
from client.app.screens.devices import DevicesScreen
from client.app.screens.library import LibraryScreen
from client.app.screens.overlay import Layers
from client.app.screens.player_bar import PlayerBar
from client.app.screens.settings import SettingsScreen
from client.app.settings_store import StoredSettings
from client.app.theme import Metrics
from connect.wire import messages as m


class MainWindow(Protocol):
    """What the desktop's parts use of the main window (client/app/window.py)."""

    bridge: Bridge
    mx: Metrics
    devices: DeviceListModel
    bar: PlayerBar
    library: LibraryScreen
    devices_screen: DevicesScreen
    settings: SettingsScreen

    @property
    def navigator(self) -> Layers:
        """The window's spatial navigator."""
        ...

    def move_focus(self, widget: QWidget) -> None:
        """Focus *widget* through the navigator."""

    def show_screen(self, name: str, *, remember: bool = True) -> None:
        """Show one of the window's screens."""

    def show_notice(self, notice: v.Notice) -> None:
        """Show a one-line message."""

    def host(self) -> QWidget:
        """The widget that overlays cover (the window itself)."""
        ...


class DesktopParts:
    """The picker and its wiring; built by the window after its own bridge connections."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        bridge = window.bridge
        self.picker = DevicePicker(window.mx, window.host(), window.devices)
        self.picker.layers = window.navigator
        self.picker.move_focus = window.move_focus
        self._session: v.SessionView | None = None
        bar = window.bar
        bar.open_devices.connect(self.open_picker)
        self.picker.transfer_requested.connect(bridge.transfer)
        self.picker.follow_requested.connect(bridge.follow)
        self.picker.volume_requested.connect(self._set_volume)
        screen = window.devices_screen
        for lister in (self.picker, screen):  # groups (issue 17): screens/group_controls.py
            lister.group_requested.connect(bridge.group)
            lister.ungroup_requested.connect(bridge.ungroup)
            lister.member_volume_requested.connect(bridge.member_volume)
        bridge.grouping_changed.connect(self._on_grouping)
        self.picker.pair_requested.connect(self._pair)
        self.picker.more.clicked.connect(self._all_devices)
        window.devices_screen.volume_requested.connect(self._set_volume)
        bridge.session_changed.connect(self._on_session)
        window.settings.saved.connect(self._settings_saved)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):  # notifications only when the window is not active
            app.applicationStateChanged.connect(self._application_state)
        library = window.library
        bridge.library_loaded.connect(lambda loaded: library.set_library(loaded.library))
        bridge.library_progress.connect(library.set_progress)
        library.play_next_requested.connect(self._play_next)
        bridge.transfer_changed.connect(self._on_transfer)

    def open_picker(self) -> None:
        """Open the device picker (the bar's "Playing on … ▾"); the targets pre-open the stream."""
        self.window.bridge.prepare_transfer()
        self.picker.open_picker()

    def _play_next(self, tracks: object) -> None:
        assert isinstance(tracks, tuple)
        chosen = offer(tracks, 0, self.window.library.target)
        said = skipped_notice(chosen)
        if said is not None:  # the track chosen (a row's "Play next") cannot play
            self.window.show_notice(said)
            return
        self.window.bridge.play_next(tracks)
        first = tracks[0].title if tracks else ""
        self.window.show_notice(
            v.Notice(
                f"“{first}” plays next" if len(tracks) == 1 else f"{len(tracks)} tracks play next"
            )
        )

    def _application_state(self, state: Qt.ApplicationState) -> None:
        self.window.bridge.window_active = state == Qt.ApplicationState.ApplicationActive

    def _settings_saved(self, values: StoredSettings) -> None:
        controls = self.window.bridge.media_controls
        if controls is not None:
            # A bool the core's loop reads: written whole under the GIL, no lock needed.
            controls.notify = values.notify_tracks

    def _set_volume(self, device_id: str, volume: int) -> None:
        self.window.bridge.command(m.SetVolume(volume), device_id)

    def _pair(self, view: v.DeviceView) -> None:
        self.window.show_screen("devices")
        self.window.devices_screen.keypad.ask(view)

    def _all_devices(self) -> None:
        self.picker.close_overlay()
        self.window.show_screen("devices")

    def _on_session(self, session: v.SessionView) -> None:
        self._session = session
        state = session.state
        self.picker.set_followed(session.device_id, state.clock.playing, bool(state.queue))
        self._show_device()

    def _show_device(self) -> None:
        session = self._session
        if session is None:
            self.window.bar.set_device("")
            return
        device = self.window.devices.find(session.device_id)
        icon = theme.device_icon_name(device.type) if device else ""
        self.window.bar.set_device(session.device_name, icon)  # a group's name, in a group

    def _on_grouping(self, grouping: v.GroupingView) -> None:
        """Say a group change's progress where the bar says moves; its outcome in a toast
        (a failure's toast comes from the core)."""
        if grouping.phase is v.TransferPhase.RUNNING:
            self.window.bar.say_device(grouping.message)
            return
        self._show_device()
        if grouping.phase is v.TransferPhase.DONE:
            self.window.show_notice(v.Notice(grouping.message))

    def _on_transfer(self, transfer: v.TransferView) -> None:
        if transfer.phase is v.TransferPhase.RUNNING:
            self.window.bar.say_device(f"Moving to {transfer.target_name}…")
        elif transfer.phase is v.TransferPhase.FAILED:
            self._show_device()
