"""The TV window: a top bar over pages (home, an album, an artist, settings), a full-screen
Now playing, and the device picker over everything; keys only, inside the overscan margin.

Remote keys beyond arrows, OK and Back (`TV_KEYS`): Menu or the green key opens the device
picker, Home or red goes home, Info or yellow shows Now playing, Settings or blue opens
Settings, channel up/down skip tracks. Back closes the picker, then goes to the page this one
was opened from, then home, then to the top bar.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeyEvent, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QApplication, QStackedWidget, QVBoxLayout, QWidget

from client.app import theme
from client.app import views as v
from client.app.bridge import Bridge
from client.app.models import AlbumListModel, DeviceListModel
from client.app.playability import added_notice, offer, target_of
from client.app.playing import AlbumIndex, media_action, play_playable
from client.app.position import SmoothPosition
from client.app.queue_model import QueueModel
from client.app.screens.device_lost import DeviceLostPanel
from client.app.screens.keypad import PinKeypad
from client.app.settings_store import StoredSettings
from client.app.toast import Toast
from client.app.tv import theme as tv_theme
from client.app.tv.album import TvAlbumPage, TvArtistPage
from client.app.tv.grouping import in_followed_group, wire_groups
from client.app.tv.home import TvHome
from client.app.tv.now_playing import TvNowPlaying
from client.app.tv.picker import DevicePicker
from client.app.tv.recent import RecentAlbums
from client.app.tv.remote import RemoteInput, RemoteInputError, find_cec_input
from client.app.tv.settings import TvSettings
from client.app.tv.topbar import TvTopBar
from client.app.views import LibraryLoaded
from client.navigation import MediaAction, SpatialNavigator
from client.navigation.textfields import is_text_entry
from client.spatial import Axis, Direction, EntryRule, FocusGroup, Policy
from connect.wire import messages as m

if TYPE_CHECKING:
    from client.app.library import Album, Library, Track

_LOG = logging.getLogger(__name__)

FRAME_INTERVAL_MS = 33  # ~30 Hz progress updates
PAGES = ("home", "album", "artist", "now-playing", "settings")
TOP_LEVEL = ("home", "settings")  # the top bar's tabs; the others open from content
K = Qt.Key
TV_KEYS: dict[K, str] = {
    K.Key_Menu: "picker", K.Key_Green: "picker",
    K.Key_Home: "home", K.Key_TopMenu: "home", K.Key_Red: "home",
    K.Key_Info: "now-playing", K.Key_Yellow: "now-playing",
    K.Key_Settings: "settings", K.Key_Blue: "settings",
    K.Key_ChannelUp: "next", K.Key_ChannelDown: "previous",
}  # fmt: skip


class TvWindow(QWidget):
    """The 10-foot app; everything it shows comes from the bridge's signals."""

    first_frame = Signal()
    settings_saved = Signal(object)  # StoredSettings

    def __init__(self, bridge: Bridge, stored: StoredSettings, *, cec: bool = True) -> None:
        super().__init__()
        self.bridge = bridge
        self.tv = True
        screen = self.screen() or QGuiApplication.primaryScreen()
        self.px = tv_theme.TvSizes().scaled(screen.geometry().height())
        self.setObjectName("baton-tv")
        self.setWindowTitle("Baton")
        self.setStyleSheet(tv_theme.stylesheet(self.px))
        self._painted = False
        self.devices = DeviceListModel(self)
        self.albums = AlbumListModel(self)
        self.index = AlbumIndex()
        self.library: Library | None = None
        self.session: v.SessionView | None = None
        self.position = SmoothPosition()
        self.recent = RecentAlbums(bridge.settings.state_dir / "tv-recently-played.json")
        self._history: list[str] = []
        self._focus_memory: dict[str, QWidget] = {}
        self._moving = ""

        self.root = QVBoxLayout(self)
        self.root.setSpacing(self.px.gap)
        self.topbar = TvTopBar(self.px)
        self.root.addWidget(self.topbar)
        self.stack = QStackedWidget()
        self.home = TvHome(self.px)
        self.album = TvAlbumPage(self.px)
        self.artist = TvArtistPage(self.px)
        self.queue = QueueModel(self)  # the followed device's whole queue, fetched as shown
        self.queue.fetch = bridge.fetch_queue
        self.now_playing = TvNowPlaying(self.px, self._art_for, self.queue)
        self.settings = TvSettings(theme.TV, stored)
        for page in (self.home, self.album, self.artist, self.now_playing, self.settings):
            self.stack.addWidget(page)
        self.root.addWidget(self.stack, 1)

        self.navigator = SpatialNavigator(self, policy=Policy.TV, hover_focus=False)
        self.picker = DevicePicker(self.px, self)
        self.keypad = PinKeypad(theme.TV, self)
        self.device_lost = DeviceLostPanel(theme.TV, self, self.devices)
        for overlay in (self.picker, self.keypad, self.device_lost):
            overlay.layers = self.navigator
            overlay.move_focus = self.move_focus
        self.toast = Toast(self, self.px.gap, self._content_rect)
        self._declare_groups()
        self._frame_timer = QTimer(self)
        self._frame_timer.setInterval(FRAME_INTERVAL_MS)
        self._frame_timer.timeout.connect(self._tick)
        self._devices_timer = QTimer(self)
        self._devices_timer.setSingleShot(True)
        self._devices_timer.setInterval(16)  # device changes repaint at most once a frame
        self._devices_timer.timeout.connect(self._show_devices)
        self._connect()
        self.remote = self._open_remote() if cec else None
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self)  # installed after the navigator's: asked first
        self.show_page("home", remember=False)

    # ------------------------------------------------------------------ building
    def _declare_groups(self) -> None:
        nav = self.navigator
        # Between the main areas Left and Right go sideways only; a page's rows keep
        # their own Left and Right (the end of a row is the end).
        sideways = frozenset({Axis.HORIZONTAL})
        nav.declare_group(self, FocusGroup(straight=sideways))
        for area in (self.home, self.album.area, self.artist.area, self.settings.area):
            nav.declare_group(area, FocusGroup(entry=EntryRule.REMEMBER_LAST, straight=sideways))
        nav.declare_group(
            self.now_playing,
            FocusGroup(
                entry=EntryRule.PREFERRED, preferred=self.now_playing.play, straight=sideways
            ),
        )
        self._declare_topbar()

    def _declare_topbar(self) -> None:
        # Entered from a page, the bar focuses the tab of the page shown (or Home's).
        page = self.current_page()
        tab = self.topbar.tabs.get(page if page in TOP_LEVEL else "home")
        self.navigator.declare_group(
            self.topbar,
            FocusGroup(
                entry=EntryRule.PREFERRED,
                preferred=tab,
                boundaries=frozenset({Direction.UP}),
                straight=frozenset({Axis.VERTICAL}),
            ),
        )

    def _connect(self) -> None:
        b = self.bridge
        b.device_changed.connect(self.devices.put)
        b.device_gone.connect(self.devices.remove)
        b.session_changed.connect(self._on_session)
        b.queue_changed.connect(self.queue.set_rows)
        b.transfer_changed.connect(self._on_transfer)
        b.library_loaded.connect(self._on_library)
        b.notice.connect(self.show_notice)
        b.pairing_changed.connect(self.keypad.show_pairing)
        b.local_code_changed.connect(self.settings.show_local_code)
        b.playback_lost.connect(self.device_lost.show_lost)
        self.device_lost.resume_requested.connect(b.resume_elsewhere)
        for signal in (
            self.devices.rowsInserted,
            self.devices.rowsRemoved,
            self.devices.dataChanged,
        ):
            signal.connect(lambda *_: self._devices_timer.start())
        self.topbar.tab_chosen.connect(self.open_tab)
        self.topbar.open_now_playing.connect(lambda: self.show_page("now-playing"))
        self.topbar.open_picker.connect(self.open_picker)
        self.home.album_chosen.connect(self.open_album)
        self.home.artist_chosen.connect(self.open_artist)
        self.home.device_chosen.connect(self._device_chosen)
        self.home.play_all.connect(lambda tracks: self._play(tracks, 0))
        self.home.shuffle_all.connect(self._shuffle)
        self.artist.album_chosen.connect(self.open_album)
        self.album.play_requested.connect(self._play)
        self.album.enqueue_requested.connect(self._enqueue)
        self.album.refused.connect(lambda mark: self.show_notice(v.Notice(mark, error=True)))
        self.now_playing.action.connect(b.command)
        self.now_playing.play_item.connect(lambda uid: b.command(m.Play(item_uid=uid)))
        self.now_playing.open_picker.connect(self.open_picker)
        self.picker.transfer_requested.connect(b.transfer)
        self.picker.pair_requested.connect(self.keypad.ask)
        wire_groups(self)  # play here too, leave, a member's volume (tv/grouping.py)
        self.keypad.submitted.connect(b.pair)
        self.settings.saved.connect(self.settings_saved.emit)
        self.settings.add_requested.connect(b.add_address)
        self.navigator.back_requested.connect(self.back)
        self.navigator.media_key.connect(self._media_key)

    def _open_remote(self) -> RemoteInput | None:
        path = find_cec_input()
        if path is None:
            return None
        try:
            remote = RemoteInput.open(path, self)
        except RemoteInputError as exc:
            _LOG.warning("%s", exc)
            said = v.Notice(str(exc), error=True)
            QTimer.singleShot(0, lambda: self.show_notice(said))
            return None
        remote.problem.connect(lambda text: self.show_notice(v.Notice(text, error=True)))
        _LOG.info("reading the TV remote at %s", path)
        return remote

    # ------------------------------------------------------------------ pages
    def current_page(self) -> str:
        """Return the name of the page shown."""
        return PAGES[self.stack.currentIndex()]

    def show_page(self, name: str, *, remember: bool = True) -> None:
        """Show page *name*; with *remember*, Back returns to the page shown now."""
        current = self.current_page()
        focus = QApplication.focusWidget()
        page = self.stack.currentWidget()
        if focus is not None and page is not None and page.isAncestorOf(focus):
            self._focus_memory[current] = focus
        if remember and current != name:
            self._history.append(current)
        self.stack.setCurrentIndex(PAGES.index(name))
        self.topbar.setVisible(name != "now-playing")  # Now playing is full screen
        self.topbar.set_page(name if name in TOP_LEVEL else "")
        self._declare_topbar()
        if current != name:
            self.toast.page_changed()
        if name == "now-playing":
            self.move_focus(self.now_playing.play)

    def open_tab(self, name: str) -> None:
        """Show a top-level page from the top bar: Back from it goes home."""
        self._history.clear()
        self.show_page(name, remember=False)

    def open_album(self, album: Album) -> None:
        """Show *album*'s page, focused on Play."""
        self.album.show_album(album)
        self.show_page("album")
        self.move_focus(self.album.play)

    def open_artist(self, artist: str) -> None:
        """Show *artist*'s albums."""
        albums = tuple(a for a in self.albums.albums() if (a.artist or "Unknown artist") == artist)
        self.artist.show_artist(artist, albums)
        self.show_page("artist")
        if self.artist.row.cards:
            self.move_focus(self.artist.row.cards[0])

    def open_picker(self) -> None:
        """Open the device picker over whatever is shown (one key from anywhere)."""
        if self.picker.isVisible():
            return
        self.bridge.prepare_transfer()  # the targets pre-open the stream meanwhile
        playing = bool(self.session and self.session.state.current_item)
        self.picker.open_picker(self.devices.views(), self._followed(), playing, self._moving)

    def back(self) -> None:
        """Back: the page this one came from, else home, else the top bar."""
        current = self.current_page()
        if self._history or current != "home":
            name = self._history.pop() if self._history else "home"
            self.show_page(name, remember=False)
            remembered = self._focus_memory.get(name)
            if remembered is not None and remembered.isVisibleTo(self):
                self.move_focus(remembered)
            else:
                self.move_focus(self.topbar.tabs.get(name) or self.topbar.tabs["home"])
            return
        self.move_focus(self.topbar.tabs["home"])

    def move_focus(self, widget: QWidget) -> None:
        """Focus *widget* for the program, and tell the navigator (see MainWindow.move_focus)."""
        widget.setFocus(Qt.FocusReason.OtherFocusReason)
        self.navigator.invalidate()
        tree = self.navigator.tree()
        if widget in tree and tree.is_navigable(widget):
            tree.focus(widget)

    def show_notice(self, notice: v.Notice) -> None:
        """Show a message for a few seconds, over the content (nothing moves)."""
        self.toast.show_notice(notice)

    # ------------------------------------------------------------------ from the bridge
    def _on_library(self, loaded: LibraryLoaded) -> None:
        self.library = loaded.library
        self.index.load(loaded.library)
        self.albums.set_library(loaded.library)
        self.home.set_library(loaded.library)
        self.home.set_recent(self.recent.albums(loaded.library.albums))
        if loaded.error:
            self.show_notice(v.Notice(loaded.error, error=True))

    def _on_session(self, session: v.SessionView) -> None:
        self.session = session
        self.position.follow(session)
        item = session.state.current_item
        album = self.index.album_of(item)
        device = self.devices.find(session.device_id)
        icon = theme.device_icon_name(device.type if device else m.DeviceType.SPEAKER)
        self.now_playing.set_session(session, album.artwork if album else None, icon)
        self.topbar.set_session(session, icon)
        self.device_lost.music_plays(session)
        self._show_devices()
        self._tick()
        if session.state.clock.playing:
            self._frame_timer.start()
        else:
            self._frame_timer.stop()

    def _on_transfer(self, transfer: v.TransferView) -> None:
        self._moving = transfer.target_id if transfer.phase is v.TransferPhase.RUNNING else ""
        self.picker.show_transfer(transfer)
        self._show_devices()
        if transfer.phase is v.TransferPhase.FAILED and not self.picker.isVisible():
            text = f"Could not move to {transfer.target_name}: {transfer.message}"
            self.show_notice(v.Notice(text, error=True))

    def _show_devices(self) -> None:
        followed = self._followed()
        views = self.devices.views()
        self.album.set_target(target_of(views, followed))  # marks what it cannot play
        self.home.set_devices(views, followed, self._moving)
        if self.picker.isVisible():
            playing = bool(self.session and self.session.state.current_item)
            self.picker.show_devices(views, followed, playing, self._moving)

    def _followed(self) -> str:
        return self.session.device_id if self.session is not None else ""

    def _tick(self) -> None:
        self.now_playing.set_position(self.position.position_ms())

    # ------------------------------------------------------------------ actions
    def _play(self, tracks: tuple[Track, ...], start: int, *, shuffle: bool = False) -> None:
        """Play *tracks* from *start* (or shuffled), leaving out those that cannot play."""
        sent, said = play_playable(self.bridge, tracks, start, self.album.target, shuffle=shuffle)
        if sent:
            if self.album.album is not None and self.current_page() == "album":
                self.recent.played(self.album.album)
                self.home.set_recent(self.recent.albums(self.albums.albums()))
            self.show_page("now-playing")
        if said is not None:
            self.show_notice(said)

    def _shuffle(self, tracks: tuple[Track, ...]) -> None:
        self._play(tracks, 0, shuffle=True)

    def _enqueue(self, tracks: tuple[Track, ...]) -> None:
        chosen = offer(tracks, 0, self.album.target)
        if chosen.tracks:
            self.bridge.enqueue(chosen.tracks)
        self.show_notice(added_notice(chosen))

    def _device_chosen(self, device_id: str) -> None:
        view = self.devices.find(device_id)
        if view is None:
            return
        if view.locked:
            self.keypad.ask(view)
            return
        playing = self.session is not None and self.session.state.current_item is not None
        if device_id in (self._followed(), self._moving) or view.why_not or not playing:
            return  # inert: it plays there already, a move runs, or it cannot take it
        if in_followed_group(self.devices.views(), self._followed(), device_id):
            return  # it plays the music already, in the group
        self.bridge.transfer(device_id)

    def _media_key(self, key: MediaAction) -> None:
        action = media_action(key, self.session.state if self.session else None)
        if action is not None:
            self.bridge.command(action)

    def _art_for(self, item: m.QueueItem) -> bytes | None:
        album = self.index.album_of(item)
        return album.artwork if album else None

    def _content_rect(self) -> QRect:
        return QRect(self.stack.mapTo(self, self.stack.rect().topLeft()), self.stack.size())

    # ------------------------------------------------------------------ Qt
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """The TV's own keys (TV_KEYS), for our window, unless a text field takes them."""
        if not isinstance(event, QKeyEvent) or event.type() != QEvent.Type.KeyPress:
            return False
        command = TV_KEYS.get(Qt.Key(event.key()))
        focus = QApplication.focusWidget()
        if command is None or focus is None or focus.window() is not self or watched is not focus:
            return False
        if is_text_entry(focus) and command == "home":
            return False  # Home moves a text field's caret
        if event.isAutoRepeat():
            return True
        if command == "picker":
            self.open_picker()
        elif command in ("next", "previous"):
            self.bridge.command(m.SkipNext() if command == "next" else m.SkipPrevious())
        elif command == "now-playing":
            self.show_page("now-playing")
        else:
            while self.navigator.close_layer():
                pass
            self.open_tab(command)
            self.move_focus(self.topbar.tabs[command])
        return True

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Keep everything inside the overscan-safe area."""
        size = event.size()
        mx = round(size.width() * tv_theme.SAFE_AREA)
        my = round(size.height() * tv_theme.SAFE_AREA)
        self.root.setContentsMargins(mx, my, mx, my)
        self.toast.follow()
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Report the first frame once (the start-up benchmark waits for it)."""
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self.first_frame.emit)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Stop timers, the remote and the navigator; the app closes the bridge."""
        self._frame_timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        if self.remote is not None:
            self.remote.close()
        self.navigator.close()
        super().closeEvent(event)
