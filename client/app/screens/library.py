"""Library: search as you type, the albums or the artists as grids of covers, and the pages of
one album (its tracks) and one artist (their albums).

OK (or a click) on an album opens it; "Play" plays it, a track row plays the album from that
track, "Add to queue" adds the album, and a long OK on a track adds just that track (right
click: "Play next" or "Add to queue"). A track that cannot play on the device Play goes to
(client/app/playability.py) is marked and says why; choosing it says why again. The grids
build only the rows near the view (screens/lazy_grid.py), so a library of thousands of albums
shows at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app import views as v
from client.app.library import Artist, Library
from client.app.models import AlbumListModel, TrackListModel, format_ms
from client.app.playability import TargetDevice, album_words, mark_of
from client.app.screens.lazy_grid import LazyGrid
from client.app.screens.search_results import SearchResultsView
from client.app.search import LibrarySearch
from client.app.theme import Metrics
from client.app.widgets import (
    clear_layout,
    label,
    mark_track_row,
    page,
    scroll_page,
    text_button,
)

if TYPE_CHECKING:
    from client.app.library import Album, Track

BROWSE, ALBUM, ARTIST = 0, 1, 2  # the screen's pages
ALBUMS_VIEW, ARTISTS_VIEW, RESULTS_VIEW = 0, 1, 2  # what the browse page shows


class LibraryScreen(QStackedWidget):
    """The browse page (search, albums, artists) and, on top of it, an album's or artist's page."""

    play_requested = Signal(object, int)  # (tuple[Track, ...], start index)
    enqueue_requested = Signal(object)  # tuple[Track, ...]
    play_next_requested = Signal(object)  # tuple[Track, ...]: right after the current item
    shuffle_requested = Signal(object)  # tuple[Track, ...]: every track, shuffled
    refused = Signal(str)  # a track that cannot play was chosen: its mark, what to say

    def __init__(self, mx: Metrics, albums: AlbumListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mx = mx
        self.albums = albums
        self.tracks = TrackListModel(self)
        self.library: Library | None = None
        self.index: LibrarySearch | None = None
        self.artists: tuple[Artist, ...] = ()
        self._album: Album | None = None
        self._artist: Artist | None = None
        self._album_from = BROWSE  # the page Back returns to from an album
        self._columns = 0
        self.target: TargetDevice | None = None  # where Play goes: its codecs mark the tracks
        # Moves focus on behalf of the program; the window routes it through the navigator.
        self.move_focus: Callable[[QWidget], None] = lambda w: w.setFocus()

        self.track_rows: list[QPushButton] = []
        self.addWidget(self._build_browse())
        self.album_page = self._build_album_page()
        self.addWidget(self.album_page)
        self.artist_page = self._build_artist_page()
        self.addWidget(self.artist_page)
        albums.modelReset.connect(self._rebuild_grid)
        self.tracks.modelReset.connect(self._rebuild_tracks)

    # ------------------------------------------------------------------ browse page
    def _build_browse(self) -> QWidget:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(self.mx.margin, self.mx.margin, self.mx.margin, 0)
        layout.setSpacing(self.mx.margin // 2 + 4)
        header = QHBoxLayout()
        heading = label("Library", "title")
        heading.setObjectName("screen-title")
        header.addWidget(heading)
        header.addStretch(1)
        self.search = QLineEdit()
        self.search.setObjectName("library-search")
        self.search.setPlaceholderText("Search titles, artists, albums")
        self.search.setAccessibleName("Search your library")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(
            theme.icon("search", self.mx.icon, theme.MUTED),
            QLineEdit.ActionPosition.LeadingPosition,
        )
        self.search.setMinimumWidth(self.mx.cover * 2)
        self.search.textChanged.connect(self.run_search)
        header.addWidget(self.search)
        layout.addLayout(header)
        tabs = QHBoxLayout()
        tabs.setSpacing(self.mx.margin // 2)
        self.albums_tab = text_button("Albums", role="tab")
        self.albums_tab.setObjectName("tab-albums")
        self.artists_tab = text_button("Artists", role="tab")
        self.artists_tab.setObjectName("tab-artists")
        for n, tab in enumerate((self.albums_tab, self.artists_tab)):
            tab.setCheckable(True)
            tab.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            tab.clicked.connect(lambda _=False, view=n: self.show_view(view))
            tabs.addWidget(tab)
        # "Play all" and "Shuffle all": a queue as long as the library (client/app/queue_play.py).
        self.play_all = text_button("Play all", icon="play", mx=self.mx)
        self.play_all.setObjectName("play-all")
        self.play_all.clicked.connect(lambda: self._every_track(self.play_requested.emit, 0))
        self.shuffle_all = text_button("Shuffle all", icon="shuffle", mx=self.mx)
        self.shuffle_all.setObjectName("shuffle-all")
        self.shuffle_all.clicked.connect(lambda: self._every_track(self.shuffle_requested.emit))
        for button in (self.play_all, self.shuffle_all):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            tabs.addWidget(button)
        tabs.addSpacing(self.mx.margin)
        self.status = label("Reading your music folder…", "muted")
        self.status.setObjectName("library-status")
        tabs.addWidget(self.status, 1)
        self.progress = QProgressBar()
        self.progress.setObjectName("library-progress")
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(self.mx.cover)
        self.progress.hide()
        tabs.addWidget(self.progress)
        tabs.addStretch(1)
        layout.addLayout(tabs)
        self.views = QStackedWidget()
        self.album_grid = LazyGrid(self._album_button, self.mx.margin, "album-grid")
        self.artist_grid = LazyGrid(self._artist_button, self.mx.margin, "artist-grid")
        self.results = SearchResultsView(self.mx)
        self.results.track_chosen.connect(self._play_track)
        self.results.album_chosen.connect(lambda album: self.open_album(album))
        self.results.artist_chosen.connect(self.open_artist)
        self.results.enqueue_track.connect(lambda t: self.enqueue_requested.emit((t,)))
        self.results.play_next_track.connect(lambda t: self.play_next_requested.emit((t,)))
        results_area = scroll_page(self.results)
        for view in (self.album_grid, self.artist_grid, results_area):
            self.views.addWidget(view)
        layout.addWidget(self.views, 1)
        self._style_tabs()
        self.show_view(ALBUMS_VIEW)
        return content

    def _style_tabs(self) -> None:
        pad = 10 if self.mx.tv else 6
        self.setStyleSheet(
            f'QPushButton[role="tab"] {{ border-radius: 16px; padding: {pad}px {pad * 2}px; }}'
            f'QPushButton[role="tab"]:checked {{ background: {theme.TEXT}; color: '
            f"{theme.BACKGROUND}; }}"
        )

    def show_view(self, view: int) -> None:
        """Show the albums (0) or the artists (1) of the browse page."""
        self.albums_tab.setChecked(view == ALBUMS_VIEW)
        self.artists_tab.setChecked(view == ARTISTS_VIEW)
        if not self.search.text().strip() or view == RESULTS_VIEW:
            self.views.setCurrentIndex(view)
        else:
            self.search.clear()  # a tab chosen while searching ends the search
            self.views.setCurrentIndex(view)
        self.setCurrentIndex(BROWSE)

    def set_library(self, library: Library) -> None:
        """Index *library* for search and show its artists (the albums come from the model)."""
        self.library = library
        self.index = LibrarySearch(library)
        self.artists = library.artists
        self.artist_grid.reset(len(self.artists))
        self.results.warm_up()
        if self.search.text().strip():
            self.run_search(self.search.text())

    def set_progress(self, progress: v.LibraryProgress) -> None:
        """Show how far the scan got (hidden once it is over)."""
        scanning = progress.done < progress.total
        self.progress.setVisible(scanning)
        if scanning:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
            what = "Checking" if self.albums.rowCount() else "Reading"
            self.status.setText(
                f"{what} your music folder… {progress.done:,} of {progress.total:,} files"
            )
            self.status.show()
        else:
            self._show_status()

    def run_search(self, text: str) -> None:
        """Search as the listener types: results replace the grid; an empty field brings it back."""
        if not text.strip():
            self.views.setCurrentIndex(ARTISTS_VIEW if self.artists_tab.isChecked() else 0)
            return
        if self.index is None:
            return
        self.results.show_results(self.index.search(text))
        self.views.setCurrentIndex(RESULTS_VIEW)
        self.setCurrentIndex(BROWSE)

    def _every_track(self, request: Callable[..., None], *args: object) -> None:
        tracks = self.library.tracks if self.library is not None else ()
        if tracks:
            request(tracks, *args)

    def set_target(self, device: TargetDevice | None) -> None:
        """Mark the tracks shown for *device* (the one Play goes to; None: not known)."""
        if device == self.target:
            return
        self.target = device
        self.results.target = device
        for n, (row, track) in enumerate(zip(self.track_rows, self.tracks.tracks(), strict=False)):
            self._mark(row, n, track)
        if self._album is not None:
            self.album_artist.setText(album_words(self._album.artist, self._album.tracks, device))
        if self.search.text().strip():
            self.run_search(self.search.text())

    def _play_track(self, track: Track) -> None:
        """A track found by search plays with its album around it, from that track."""
        mark = mark_of(track, self.target)
        if mark:
            self.refused.emit(mark)
            return
        album = next((a for a in self.albums.albums() if track in a.tracks), None)
        tracks = album.tracks if album is not None else (track,)
        self.play_requested.emit(tracks, tracks.index(track))

    # ------------------------------------------------------------------ grids
    @property
    def album_buttons(self) -> list[QToolButton]:
        """The album grid's buttons built so far, in album order."""
        return self.album_grid.buttons()

    def _rebuild_grid(self) -> None:
        self.album_grid.reset(self.albums.rowCount())
        self._show_status()

    def _show_status(self) -> None:
        empty = self.albums.rowCount() == 0
        self.status.setText(
            "No music found in the music folder (Settings sets it)." if empty else ""
        )
        self.status.setVisible(empty)

    def _album_button(self, n: int) -> QToolButton:
        album = self.albums.albums()[n]
        button = self._cover_button(f"album-{n}", album.title, album.artist, album.artwork)
        button.setAccessibleName(f"{album.title} by {album.artist}")
        button.clicked.connect(lambda _=False, a=album: self.open_album(a))
        return button

    def _artist_button(self, n: int) -> QToolButton:
        artist = self.artists[n]
        albums = len(artist.albums)
        button = self._cover_button(
            f"artist-{n}",
            artist.name,
            f"{albums} album{'s' if albums != 1 else ''}",
            artist.artwork,
        )
        button.setAccessibleName(artist.name)
        button.clicked.connect(lambda _=False, a=artist: self.open_artist(a))
        return button

    def _cover_button(self, name: str, title: str, subtitle: str, art: bytes | None) -> QToolButton:
        button = QToolButton()
        button.setProperty("role", "album")
        button.setObjectName(name)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setIcon(theme.cover(art, title, self.mx.cover * 2, 20))
        button.setIconSize(QSize(self.mx.cover, self.mx.cover))
        button.setText(f"{_elide(title, 22)}\n{_elide(subtitle, 24)}")
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        return button

    def set_columns(self, columns: int) -> None:
        """Lay the grids out in *columns* columns."""
        if columns != self._columns:
            self._columns = columns
            self.album_grid.set_columns(columns)
            self.artist_grid.set_columns(columns)

    # ------------------------------------------------------------------ album page
    def _build_album_page(self) -> QWidget:
        content, layout = page(self.mx, "")
        heading = content.findChild(QLabel, "screen-title")
        if heading is not None:
            heading.hide()  # the album's own title heads this page
        header = QHBoxLayout()
        header.setSpacing(self.mx.margin)
        self.art = QLabel()
        self.art.setFixedSize(self.mx.cover + 40, self.mx.cover + 40)
        header.addWidget(self.art)
        info = QVBoxLayout()
        info.addStretch(1)
        self.album_title = label("", "title")
        self.album_artist = label("", "muted")
        info.addWidget(self.album_title)
        info.addWidget(self.album_artist)
        buttons = QHBoxLayout()
        self.play_button = text_button("Play", role="primary", icon="play", mx=self.mx)
        self.play_button.setObjectName("play-album")
        self.play_button.clicked.connect(lambda: self.play_requested.emit(self.tracks.tracks(), 0))
        self.queue_button = text_button("Add to queue", icon="queue", mx=self.mx)
        self.queue_button.setObjectName("enqueue-album")
        self.queue_button.clicked.connect(lambda: self.enqueue_requested.emit(self.tracks.tracks()))
        self.back_button = text_button("All albums")
        self.back_button.setObjectName("all-albums")
        self.back_button.clicked.connect(self.close_album)
        for b in (self.play_button, self.queue_button, self.back_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        info.addLayout(buttons)
        info.addStretch(1)
        header.addLayout(info, 1)
        layout.addLayout(header)
        self.track_list = QVBoxLayout()
        self.track_list.setSpacing(2)
        layout.addLayout(self.track_list)
        layout.addStretch(1)
        return scroll_page(content)

    def open_album(self, album: Album) -> None:
        """Show *album*'s page and focus its Play button."""
        if self.currentIndex() != ALBUM:
            self._album_from = self.currentIndex()
        self._album = album
        self.album_title.setText(album.title)
        self.album_artist.setText(album_words(album.artist, album.tracks, self.target))
        self.art.setPixmap(theme.cover(album.artwork, album.title, self.mx.cover + 40, 14))
        self.back_button.setText("Back" if self._album_from == ARTIST else "All albums")
        self.tracks.set_tracks(album.tracks)
        self.setCurrentWidget(self.album_page)
        self.move_focus(self.play_button)

    def close_album(self) -> bool:
        """Back from an album or artist page to where it was opened (focusing what opened it);
        False when the browse page already shows."""
        current = self.currentIndex()
        if current == BROWSE:
            return False
        if current == ALBUM and self._album_from == ARTIST and self._artist is not None:
            self.setCurrentIndex(ARTIST)
            self._focus_in_artist(self._album)
            return True
        self.setCurrentIndex(BROWSE)
        if self.views.currentIndex() == RESULTS_VIEW:
            row = self.results.first_row()
            self.move_focus(row if row is not None else self.search)
        elif current == ARTIST and self._artist in self.artists:
            button = self.artist_grid.button(self.artists.index(self._artist))
            if button is not None:
                self.move_focus(button)
        elif self._album in self.albums.albums():
            button = self.album_grid.button(self.albums.albums().index(self._album))
            if button is not None:
                self.move_focus(button)
        return True

    def _rebuild_tracks(self) -> None:
        clear_layout(self.track_list)
        self.track_rows = []
        tracks = self.tracks.tracks()
        for n, track in enumerate(tracks):
            row = text_button("", role="row")
            self._mark(row, n, track)
            row.setObjectName(f"track-{n}")
            row.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            row.setProperty("track", n)
            for text, signal in (
                ("Play next", self.play_next_requested),
                ("Add to queue", self.enqueue_requested),
            ):  # right-click, for the mouse
                action = QAction(text, row)
                action.triggered.connect(lambda _=False, t=track, s=signal: s.emit((t,)))
                row.addAction(action)
            row.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            row.clicked.connect(lambda _=False, i=n: self._row_chosen(i))
            self.track_list.addWidget(row)
            self.track_rows.append(row)

    def _mark(self, row: QPushButton, n: int, track: Track) -> None:
        text = f"{track.number or n + 1:>2}    {track.title}    ·    {format_ms(track.duration_ms)}"
        mark = mark_of(track, self.target)
        mark_track_row(row, text, track.title, mark, round(self.mx.icon * 0.8))

    def _row_chosen(self, index: int) -> None:
        """A track row plays the album from that track; one that cannot play says why."""
        tracks = self.tracks.tracks()
        mark = mark_of(tracks[index], self.target)
        if mark:
            self.refused.emit(mark)
        else:
            self.play_requested.emit(tracks, index)

    def track_for(self, widget: QWidget) -> Track | None:
        """Return the track of a track row or a search result (a long OK adds just that one)."""
        found = self.results.track_of(widget)
        if found is not None:
            return found
        index = widget.property("track")
        tracks = self.tracks.tracks()
        return tracks[index] if isinstance(index, int) and 0 <= index < len(tracks) else None

    # ------------------------------------------------------------------ artist page
    def _build_artist_page(self) -> QWidget:
        content, layout = page(self.mx, "")
        heading = content.findChild(QLabel, "screen-title")
        if heading is not None:
            heading.hide()
        self.artist_name = label("", "title")
        self.artist_name.setObjectName("artist-name")
        self.artist_counts = label("", "muted")
        layout.addWidget(self.artist_name)
        layout.addWidget(self.artist_counts)
        buttons = QHBoxLayout()
        self.play_artist = text_button("Play", role="primary", icon="play", mx=self.mx)
        self.play_artist.setObjectName("play-artist")
        self.play_artist.clicked.connect(self._play_artist)
        self.enqueue_artist = text_button("Add to queue", icon="queue", mx=self.mx)
        self.enqueue_artist.setObjectName("enqueue-artist")
        self.enqueue_artist.clicked.connect(self._enqueue_artist)
        self.all_artists = text_button("All artists")
        self.all_artists.setObjectName("all-artists")
        self.all_artists.clicked.connect(self.close_album)
        for b in (self.play_artist, self.enqueue_artist, self.all_artists):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.artist_albums = QGridLayout()
        self.artist_albums.setSpacing(self.mx.margin)
        self.artist_albums.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(self.artist_albums)
        layout.addStretch(1)
        return scroll_page(content)

    def open_artist(self, artist: Artist) -> None:
        """Show *artist*'s page (their albums) and focus its Play button."""
        self._artist = artist
        self.artist_name.setText(artist.name)
        albums, tracks = len(artist.albums), len(artist.tracks)
        self.artist_counts.setText(f"{_count(albums, 'album')} · {_count(tracks, 'track')}")
        clear_layout(self.artist_albums)
        self.artist_album_buttons: list[QToolButton] = []
        columns = max(1, self._columns or 4)
        for n, album in enumerate(artist.albums):
            button = self._cover_button(
                f"artist-album-{n}", album.title, album.artist, album.artwork
            )
            button.clicked.connect(lambda _=False, a=album: self.open_album(a))
            self.artist_albums.addWidget(button, n // columns, n % columns)
            self.artist_album_buttons.append(button)
        self.setCurrentWidget(self.artist_page)
        self.move_focus(self.play_artist)

    def _focus_in_artist(self, album: Album | None) -> None:
        if self._artist is not None and album in self._artist.albums:
            self.move_focus(self.artist_album_buttons[self._artist.albums.index(album)])
        else:
            self.move_focus(self.play_artist)

    def _enqueue_artist(self) -> None:
        if self._artist is not None:
            self.enqueue_requested.emit(self._artist.tracks)

    def _play_artist(self) -> None:
        if self._artist is not None:
            self.play_requested.emit(self._artist.tracks, 0)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _elide(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
