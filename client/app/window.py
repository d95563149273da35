"""The main window: navigation rail, the four screens, the player bar; desktop or TV layout."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app import views as v
from client.app.bridge import Bridge
from client.app.models import AlbumListModel, DeviceListModel, QueueModel
from client.app.position import SmoothPosition
from client.app.screens.devices import DevicesScreen
from client.app.screens.library import LibraryScreen
from client.app.screens.now_playing import NowPlayingScreen, PlayerBar
from client.app.screens.settings import SettingsScreen
from client.app.settings_store import StoredSettings
from client.app.theme import Metrics
from client.app.views import LibraryLoaded
from client.app.widgets import label, restyle
from client.navigation import MediaAction, SpatialNavigator, layout_rect
from client.spatial import EntryRule, FocusGroup, Policy
from connect import messages as m

if TYPE_CHECKING:
    from client.app.library import Album, Library

FRAME_INTERVAL_MS = 33  # ~30 Hz progress updates
NOTICE_MS = 6000
SAFE_AREA = 0.05  # TV: 5% on every side (overscan)

SCREENS = ("library", "now-playing", "devices", "settings")
_TITLES = {
    "library": "Library",
    "now-playing": "Now playing",
    "devices": "Devices",
    "settings": "Settings",
}
_ICONS = {
    "library": "library",
    "now-playing": "nowplaying",
    "devices": "devices",
    "settings": "settings",
}


class MainWindow(QWidget):
    """The app window; everything it shows comes from the bridge's signals."""

    first_frame = Signal()
    settings_saved = Signal(object)  # StoredSettings

    def __init__(self, bridge: Bridge, stored: StoredSettings, *, tv: bool = False) -> None:
        super().__init__()
        self.bridge = bridge
        self.tv = tv
        self.mx: Metrics = theme.metrics(tv)
        self.setObjectName("baton-window")
        self.setWindowTitle("Baton")
        self.setStyleSheet(theme.stylesheet(self.mx))
        self._painted = False
        self.devices = DeviceListModel(self)
        self.albums = AlbumListModel(self)
        self.queue = QueueModel(self)
        self.session: v.SessionView | None = None
        self.position = SmoothPosition()
        self._art_by_path: dict[str, Album] = {}
        self._history: list[str] = []

        root = QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.root_layout = root
        root.addWidget(self._build_rail())
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
        self.notice_label = label("", "muted", wrap=True)
        self.notice_label.setObjectName("notice")
        self.notice_label.setContentsMargins(self.mx.margin, self.mx.margin // 2, self.mx.margin, 0)
        self.notice_label.hide()
        right.addWidget(self.notice_label)
        self.stack = QStackedWidget()
        self.library = LibraryScreen(self.mx, self.albums)
        self.now_playing = NowPlayingScreen(self.mx, self.queue)
        self.devices_screen = DevicesScreen(self.mx, self.devices)
        self.settings = SettingsScreen(self.mx, stored)
        for screen in (self.library, self.now_playing, self.devices_screen, self.settings):
            self.stack.addWidget(screen)
        right.addWidget(self.stack, 1)
        self.bar = PlayerBar(self.mx)
        right.addWidget(self.bar)
        root.addLayout(right, 1)

        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice_label.hide)
        self._frame_timer = QTimer(self)
        self._frame_timer.setInterval(FRAME_INTERVAL_MS)
        self._frame_timer.timeout.connect(self._tick)

        self.navigator = SpatialNavigator(self, policy=Policy.TV, hover_focus=tv)
        self._declare_rail()
        self.navigator.back_requested.connect(self.back)
        self.navigator.media_key.connect(self._media_key)
        self.navigator.long_pressed.connect(self._long_press)
        self.library.move_focus = self.move_focus
        self.devices_screen.use_navigator(self.navigator, self.move_focus)
        self._connect_bridge()
        self.show_screen("library", remember=False)

    # ------------------------------------------------------------------ building
    def _build_rail(self) -> QFrame:
        self.rail = QFrame()
        self.rail.setProperty("role", "sidebar")
        self.rail.setFixedWidth(self.mx.sidebar)
        layout = QVBoxLayout(self.rail)
        layout.setContentsMargins(
            self.mx.margin // 2, self.mx.margin, self.mx.margin // 2, self.mx.margin
        )
        layout.setSpacing(6)
        brand = QLabel("Baton")
        brand.setFont(theme.font(self.mx, 1.6, bold=True))
        brand.setContentsMargins(self.mx.margin // 2, 0, 0, self.mx.margin)
        layout.addWidget(brand)
        self.nav_buttons: dict[str, QToolButton] = {}
        for name in SCREENS:
            button = QToolButton()
            button.setObjectName(f"nav-{name}")
            button.setProperty("role", "nav")
            button.setText(f"  {_TITLES[name]}")
            button.setIcon(theme.icon(_ICONS[name], self.mx.icon, theme.TEXT))
            button.setIconSize(QSize(self.mx.icon, self.mx.icon))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setSizePolicy(
                button.sizePolicy().horizontalPolicy().Expanding,
                button.sizePolicy().verticalPolicy(),
            )
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, n=name: self.show_screen(n))
            self.nav_buttons[name] = button
            layout.addWidget(button)
        layout.addStretch(1)
        return self.rail

    def _declare_rail(self) -> None:
        # The rail's group spans its whole height, so Left from anywhere on a screen enters
        # it (at the screen's own button) instead of sliding down to the player bar.
        bounds = layout_rect(self.rail, self)
        self.navigator.declare_group(
            self.rail, FocusGroup(entry=EntryRule.REMEMBER_LAST, bounds=bounds)
        )

    def _connect_bridge(self) -> None:
        b = self.bridge
        b.device_changed.connect(self.devices.put)
        b.device_gone.connect(self.devices.remove)
        b.session_changed.connect(self._on_session)
        b.transfer_changed.connect(self._on_transfer)
        b.library_loaded.connect(self._on_library)
        b.diagnostics_changed.connect(self.devices_screen.show_diagnostics)
        b.notice.connect(self.show_notice)
        self.library.play_requested.connect(self._play)
        self.library.enqueue_requested.connect(self._enqueue)
        self.now_playing.action.connect(b.command)
        self.now_playing.play_item.connect(lambda uid: b.command(m.Play(item_uid=uid)))
        self.now_playing.show_devices.connect(lambda: self.show_screen("devices"))
        self.bar.action.connect(b.command)
        self.bar.open_now_playing.connect(lambda: self.show_screen("now-playing"))
        self.devices_screen.transfer_requested.connect(b.transfer)
        self.devices_screen.add_requested.connect(b.add_address)
        self.devices_screen.self_test_requested.connect(b.self_test)
        self.devices_screen.pair_requested.connect(b.pair)
        self.devices_screen.access_requested.connect(
            lambda device_id, code: b.load_access(device_id, with_code=code)
        )
        self.devices_screen.revoke_requested.connect(b.revoke)
        b.pairing_changed.connect(self.devices_screen.show_pairing)
        b.access_changed.connect(self.devices_screen.show_access)
        if self.tv:  # a desktop's own code is in its Access panel; a TV shows it up front
            b.local_code_changed.connect(self.devices_screen.show_local_code)
        self.settings.saved.connect(self.settings_saved.emit)

    # ------------------------------------------------------------------ screens
    def show_screen(self, name: str, *, remember: bool = True) -> None:
        """Show screen *name* (one of SCREENS) and check its rail button."""
        current = self.current_screen()
        if remember and current != name:
            self._history.append(current)
        self.stack.setCurrentIndex(SCREENS.index(name))
        # Not a QButtonGroup: an exclusive group takes Tab focus (and so arrow focus) away
        # from every button but the checked one.
        for other, button in self.nav_buttons.items():
            button.setChecked(other == name)

    def move_focus(self, widget: QWidget) -> None:
        """Focus *widget* for the program, and tell the navigator, so it moves on from there.

        (The navigator otherwise recovers focus from the item it last moved to when that one
        is hidden in the same turn, undoing this focus.)
        """
        widget.setFocus(Qt.FocusReason.OtherFocusReason)
        self.navigator.invalidate()
        tree = self.navigator.tree()
        if widget in tree and tree.is_navigable(widget):
            tree.focus(widget)

    def current_screen(self) -> str:
        """Return the name of the screen shown."""
        return SCREENS[self.stack.currentIndex()]

    def back(self) -> None:
        """Back: close an open album, else return to the previous screen."""
        if self.current_screen() == "library" and self.library.close_album():
            return
        if self._history:
            name = self._history.pop()
            self.show_screen(name, remember=False)
            self.move_focus(self.nav_buttons[name])

    def show_notice(self, notice: v.Notice) -> None:
        """Show a one-line message for a few seconds."""
        restyle(self.notice_label, "role", "error" if notice.error else "ok")
        self.notice_label.setText(notice.text)
        self.notice_label.show()
        self._notice_timer.start(NOTICE_MS)

    # ------------------------------------------------------------------ from the bridge
    def _on_library(self, loaded: LibraryLoaded) -> None:
        library: Library = loaded.library
        self._art_by_path = {
            t.path.resolve().relative_to(library.root).as_posix(): a
            for a in library.albums
            for t in a.tracks
        }
        self.albums.set_library(library)
        if loaded.error:
            self.show_notice(v.Notice(loaded.error, error=True))

    def _album_of(self, item: m.QueueItem | None) -> Album | None:
        if item is None:
            return None
        path = unquote(urlsplit(item.url).path)
        parts = PurePosixPath(path).parts
        relative = "/".join(parts[2:]) if len(parts) > 2 else ""
        return self._art_by_path.get(relative)

    def _on_session(self, session: v.SessionView) -> None:
        self.session = session
        self.position.follow(session)
        item = session.state.current_item
        album = self._album_of(item)
        art = album.artwork if album else None
        device = self.devices.find(session.device_id)
        icon = theme.device_icon_name(device.type if device else m.DeviceType.SPEAKER)
        self.now_playing.set_session(session, art, icon)
        self.bar.set_session(session, art)
        self.devices_screen.set_followed(session.device_id, item)
        self._tick()
        if session.state.clock.playing:
            self._frame_timer.start()
        else:
            self._frame_timer.stop()

    def _on_transfer(self, transfer: v.TransferView) -> None:
        self.devices_screen.show_transfer(transfer)

    def _tick(self) -> None:
        position = self.position.position_ms()
        self.now_playing.set_position(position)
        self.bar.set_position(position)

    # ------------------------------------------------------------------ actions
    def _play(self, tracks: object, start: int) -> None:
        assert isinstance(tracks, tuple)
        self.bridge.play(tracks, start)
        self.show_screen("now-playing")
        self.move_focus(self.now_playing.transport.play)

    def _enqueue(self, tracks: object) -> None:
        assert isinstance(tracks, tuple)
        self.bridge.enqueue(tracks)
        self.show_notice(v.Notice(f"Added {len(tracks)} track(s) to the queue"))

    def _long_press(self, widget: object) -> None:
        if isinstance(widget, QWidget):
            track = self.library.track_for(widget)
            if track is not None:
                self._enqueue((track,))

    def _media_key(self, key: MediaAction) -> None:
        state = self.session.state if self.session else None
        playing = bool(state and state.clock.playing)
        volume = state.volume if state else 50
        actions: dict[MediaAction, m.Action] = {
            MediaAction.PLAY_PAUSE: m.Pause() if playing else m.Resume(),
            MediaAction.PLAY: m.Resume(),
            MediaAction.PAUSE: m.Pause(),
            MediaAction.NEXT: m.SkipNext(),
            MediaAction.PREVIOUS: m.SkipPrevious(),
            MediaAction.VOLUME_UP: m.SetVolume(min(100, volume + 5)),
            MediaAction.VOLUME_DOWN: m.SetVolume(max(0, volume - 5)),
            MediaAction.STOP: m.Pause(),
        }
        action = actions.get(key)
        if action is not None:
            self.bridge.command(action)

    # ------------------------------------------------------------------ Qt
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Keep the TV safe area and the album grid's columns in step with the size."""
        size = event.size()
        if self.tv:
            mx, my = round(size.width() * SAFE_AREA), round(size.height() * SAFE_AREA)
            self.root_layout.setContentsMargins(mx, my, mx, my)
            usable = size.width() - 2 * mx - self.mx.sidebar
        else:
            usable = size.width() - self.mx.sidebar
        self._declare_rail()
        self.library.set_columns(
            max(1, (usable - 2 * self.mx.margin) // (self.mx.cover + self.mx.margin + 12))
        )
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Report the first frame once (the start-up benchmark waits for it)."""
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self.first_frame.emit)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Stop the progress timer and the navigator; the app closes the bridge."""
        self._frame_timer.stop()
        self.navigator.close()
        super().closeEvent(event)
