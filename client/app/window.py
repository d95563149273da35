"""The main window: navigation rail, the four screens, the player bar; desktop or TV layout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app import views as v
from client.app.bridge import Bridge
from client.app.desktop import DesktopParts
from client.app.models import AlbumListModel, DeviceListModel
from client.app.playability import added_notice, offer, target_of
from client.app.playing import AlbumIndex, media_action, play_playable
from client.app.position import SmoothPosition
from client.app.queue_model import QueueModel
from client.app.screens.device_lost import DeviceLostPanel
from client.app.screens.devices import DevicesScreen
from client.app.screens.library import LibraryScreen
from client.app.screens.now_playing import NowPlayingScreen
from client.app.screens.player_bar import PlayerBar
from client.app.screens.settings import SettingsScreen
from client.app.settings_store import StoredSettings
from client.app.theme import Metrics
from client.app.toast import Toast
from client.app.views import LibraryLoaded
from client.navigation import MediaAction, SpatialNavigator, layout_rect
from client.spatial import Axis, Direction, EntryRule, FocusGroup, Policy
from connect.wire import messages as m

if TYPE_CHECKING:
    from client.app.library import Library

FRAME_INTERVAL_MS = 33  # ~30 Hz progress updates
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
        self.queue.fetch = bridge.fetch_queue
        self.session: v.SessionView | None = None
        self.position = SmoothPosition()
        self._albums = AlbumIndex()
        self._history: list[str] = []  # screens opened from a screen's content, for Back
        self._focus_memory: dict[str, QWidget] = {}  # what had focus on each screen

        root = QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.root_layout = root
        root.addWidget(self._build_rail())
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
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
        self.notice_label = Toast(self, self.mx.margin, self._content_rect)

        self._frame_timer = QTimer(self)
        self._frame_timer.setInterval(FRAME_INTERVAL_MS)
        self._frame_timer.timeout.connect(self._tick)

        self.navigator = SpatialNavigator(self, policy=Policy.TV, hover_focus=tv)
        self._declare_rail()
        # Left and Right stay on a screen's row or leave for the rail, never slide down to a
        # field further left (a card's "Transfer here" went to the address field).
        for area in self.stack.findChildren(QScrollArea):
            self.navigator.declare_group(
                area,
                FocusGroup(entry=EntryRule.REMEMBER_LAST, straight=frozenset({Axis.HORIZONTAL})),
            )
        # The Library's tabs and search lie outside its grids' scroll areas: the whole screen is
        # one area, so Right from the rail, after Left from a grid, comes back into it.
        self.navigator.declare_group(self.library, FocusGroup())
        # Left from the bar would enter the rail, whose Right goes to the content, not back;
        # Up from the bar's buttons goes to the screen, not to the bar's own title above them.
        self.navigator.declare_group(
            self.bar,
            FocusGroup(boundaries=frozenset({Direction.LEFT}), straight=frozenset({Axis.VERTICAL})),
        )
        # Between the main areas too, Left and Right go sideways only: Right from the end of
        # a screen's row must not drop into the player bar, which has no way back.
        self.navigator.declare_group(self, FocusGroup(straight=frozenset({Axis.HORIZONTAL})))
        self.navigator.back_requested.connect(self.back)
        self.navigator.media_key.connect(self._media_key)
        self.navigator.long_pressed.connect(self._long_press)
        self.library.move_focus = self.move_focus
        self.now_playing.move_focus = self.move_focus
        self.devices_screen.use_navigator(self.navigator, self.move_focus, host=self)
        self.device_lost = DeviceLostPanel(self.mx, self, self.devices)
        self.device_lost.layers = self.navigator
        self.device_lost.move_focus = self.move_focus
        self._connect_bridge()
        self.desktop = DesktopParts(self)  # the device picker, search, queue editing
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
            button.clicked.connect(lambda _=False, n=name: self.open_from_rail(n))
            self.nav_buttons[name] = button
            layout.addWidget(button)
        layout.addStretch(1)
        return self.rail

    def _declare_rail(self) -> None:
        # The rail's group spans its whole height, so Left from anywhere on a screen enters
        # it, at the button of the screen shown (not the one used last), instead of sliding
        # down to the player bar; Up and Down stop at its ends (below is the player bar,
        # whose Up would not come back).
        bounds = layout_rect(self.rail, self)
        self.navigator.declare_group(
            self.rail,
            FocusGroup(
                entry=EntryRule.PREFERRED,
                preferred=self.nav_buttons[self.current_screen()],
                boundaries=frozenset({Direction.UP, Direction.DOWN}),
                bounds=bounds,
            ),
        )

    def _content_rect(self) -> QRect:
        """Return the screens' area in window coordinates (for the toast)."""
        return QRect(self.stack.mapTo(self, self.stack.rect().topLeft()), self.stack.size())

    def _connect_bridge(self) -> None:
        b = self.bridge
        b.device_changed.connect(self.devices.put)
        b.device_gone.connect(self.devices.remove)
        b.session_changed.connect(self._on_session)
        b.queue_changed.connect(self.queue.set_rows)
        b.transfer_changed.connect(self._on_transfer)
        b.library_loaded.connect(self._on_library)
        b.diagnostics_changed.connect(self.devices_screen.show_diagnostics)
        b.notice.connect(self.show_notice)
        b.playback_lost.connect(self.device_lost.show_lost)
        self.device_lost.resume_requested.connect(b.resume_elsewhere)
        self.library.play_requested.connect(self._play)
        self.library.enqueue_requested.connect(self._enqueue)
        self.library.shuffle_requested.connect(self._shuffle)
        self.library.refused.connect(lambda mark: self.show_notice(v.Notice(mark, error=True)))
        for signal in (
            self.devices.rowsInserted,
            self.devices.rowsRemoved,
            self.devices.dataChanged,
        ):
            signal.connect(self._retarget)
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
        """Show screen *name* (one of SCREENS), opened from the current screen's content.

        With *remember*, Back returns to the screen shown now (Play on an album opens Now
        playing; Back returns to the album).
        """
        current = self.current_screen()
        focus, page = QApplication.focusWidget(), self.stack.currentWidget()
        if focus is not None and page is not None and page.isAncestorOf(focus):
            self._focus_memory[current] = focus
        if remember and current != name:
            self._history.append(current)
        self.stack.setCurrentIndex(SCREENS.index(name))
        if name == "devices" and current != name:
            self.bridge.prepare_transfer()  # the picker shows: targets pre-open the stream
        # Not a QButtonGroup: an exclusive group takes Tab focus (and so arrow focus) away
        # from every button but the checked one.
        for other, button in self.nav_buttons.items():
            button.setChecked(other == name)
        self._declare_rail()
        if current != name:
            self.notice_label.page_changed()

    def open_from_rail(self, name: str) -> None:
        """Show a top-level screen chosen in the rail: Back from it leads home, not through
        every screen visited (Android's top-level destinations)."""
        self._history.clear()
        self.show_screen(name, remember=False)

    def host(self) -> QWidget:
        """Return the widget that panels over the whole window cover (the window)."""
        return self

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
        """Back: close an open album, else return to the screen this one was opened from,
        else to the Library (home); on the Library's grid, go to the rail."""
        current = self.current_screen()
        if current == "library" and self.library.close_album():
            return
        if self._history or current != "library":
            name = self._history.pop() if self._history else "library"
            self.show_screen(name, remember=False)
            remembered = self._focus_memory.get(name)
            shown = remembered is not None and remembered.isVisibleTo(self)
            self.move_focus(remembered if shown and remembered else self.nav_buttons[name])
            return
        self.move_focus(self.nav_buttons["library"])

    def show_notice(self, notice: v.Notice) -> None:
        """Show a one-line message for a few seconds, over the content (nothing moves)."""
        self.notice_label.show_notice(notice)

    # ------------------------------------------------------------------ from the bridge
    def _on_library(self, loaded: LibraryLoaded) -> None:
        library: Library = loaded.library
        self._albums.load(library)
        self.albums.set_library(library)
        if loaded.error:
            self.show_notice(v.Notice(loaded.error, error=True))

    def _on_session(self, session: v.SessionView) -> None:
        self.session = session
        self._retarget()
        self.position.follow(session)
        item = session.state.current_item
        album = self._albums.album_of(item)
        art = album.artwork if album else None
        device = self.devices.find(session.device_id)
        icon = theme.device_icon_name(device.type if device else m.DeviceType.SPEAKER)
        self.now_playing.set_session(session, art, icon)
        self.bar.set_session(session, art)
        self.devices_screen.set_followed(session.device_id, item)
        self.devices_screen.set_session(session)
        self.device_lost.music_plays(session)
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

    def _retarget(self) -> None:
        """Mark the library's tracks for the device a Play goes to now."""
        followed = self.session.device_id if self.session is not None else ""
        self.library.set_target(target_of(self.devices.views(), followed))

    # ------------------------------------------------------------------ actions
    def _play(self, tracks: object, start: int, *, shuffle: bool = False) -> None:
        """Play *tracks* from *start* (or shuffled), leaving out those that cannot play."""
        assert isinstance(tracks, tuple)
        sent, said = play_playable(self.bridge, tracks, start, self.library.target, shuffle=shuffle)
        if sent:
            self.show_screen("now-playing")
            self.move_focus(self.now_playing.transport.play)
        if said is not None:
            self.show_notice(said)

    def _shuffle(self, tracks: object) -> None:
        self._play(tracks, 0, shuffle=True)

    def _enqueue(self, tracks: object) -> None:
        assert isinstance(tracks, tuple)
        chosen = offer(tracks, 0, self.library.target)
        if chosen.tracks:
            self.bridge.enqueue(chosen.tracks)
        self.show_notice(added_notice(chosen))

    def _long_press(self, widget: object) -> None:
        if isinstance(widget, QWidget):
            track = self.library.track_for(widget)
            if track is not None:
                self._enqueue((track,))

    def _media_key(self, key: MediaAction) -> None:
        action = media_action(key, self.session.state if self.session else None)
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
        self.notice_label.follow()
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
