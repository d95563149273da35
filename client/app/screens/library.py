"""Library: the music folder's albums as a grid of covers; an album's tracks as a list.

OK (or a click) on an album opens it; "Play" plays it, a track row plays the album from that
track, "Add to queue" adds the album, and a long OK on a track adds just that track.
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
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app.models import AlbumListModel, Role, TrackListModel, format_ms
from client.app.theme import Metrics
from client.app.widgets import clear_layout, label, page, scroll_page, text_button

if TYPE_CHECKING:
    from client.app.library import Album, Track


class LibraryScreen(QStackedWidget):
    """The album grid and, on top of it, one album's page."""

    play_requested = Signal(object, int)  # (tuple[Track, ...], start index)
    enqueue_requested = Signal(object)  # tuple[Track, ...]

    def __init__(self, mx: Metrics, albums: AlbumListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mx = mx
        self.albums = albums
        self.tracks = TrackListModel(self)
        self._album: Album | None = None
        self._columns = 0
        # Moves focus on behalf of the program; the window routes it through the navigator.
        self.move_focus: Callable[[QWidget], None] = lambda w: w.setFocus()

        grid_page, grid_layout = page(mx, "Library")
        self.status = label("Reading your music folder…", "muted")
        grid_layout.addWidget(self.status)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(mx.margin)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        grid_layout.addWidget(self.grid_host, 1)
        self.addWidget(scroll_page(grid_page))

        self.album_page = self._build_album_page()
        self.addWidget(self.album_page)

        albums.modelReset.connect(self._rebuild_grid)
        self.tracks.modelReset.connect(self._rebuild_tracks)

    # ------------------------------------------------------------------ grid
    def _rebuild_grid(self) -> None:
        clear_layout(self.grid)
        self.album_buttons: list[QToolButton] = []
        rows = self.albums.rowCount()
        self.status.setVisible(rows == 0)
        self.status.setText(
            "No music found in the music folder (Settings sets it)." if not rows else ""
        )
        columns = max(1, self._columns or 4)
        for n in range(rows):
            album = self.albums.data(self.albums.index(n), Role.VALUE)
            button = QToolButton()
            button.setProperty("role", "album")
            button.setObjectName(f"album-{n}")
            button.setAccessibleName(f"{album.title} by {album.artist}")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setIcon(theme.cover(album.artwork, album.title, self.mx.cover * 2, 20))
            button.setIconSize(QSize(self.mx.cover, self.mx.cover))
            button.setText(f"{_elide(album.title, 22)}\n{_elide(album.artist, 24)}")
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, a=album: self.open_album(a))
            self.grid.addWidget(button, n // columns, n % columns)
            self.album_buttons.append(button)

    def set_columns(self, columns: int) -> None:
        """Lay the grid out in *columns* columns."""
        if columns != self._columns:
            self._columns = columns
            if self.albums.rowCount():
                self._rebuild_grid()

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
        self._album = album
        self.album_title.setText(album.title)
        self.album_artist.setText(f"{album.artist} · {len(album.tracks)} tracks")
        self.art.setPixmap(theme.cover(album.artwork, album.title, self.mx.cover + 40, 14))
        self.tracks.set_tracks(album.tracks)
        self.setCurrentWidget(self.album_page)
        self.move_focus(self.play_button)

    def close_album(self) -> bool:
        """Go back to the grid (focusing the album that was open); False if already there."""
        if self.currentWidget() is not self.album_page:
            return False
        self.setCurrentIndex(0)
        index = (
            self.albums.albums().index(self._album) if self._album in self.albums.albums() else 0
        )
        if getattr(self, "album_buttons", None):
            self.move_focus(self.album_buttons[min(index, len(self.album_buttons) - 1)])
        return True

    def _rebuild_tracks(self) -> None:
        clear_layout(self.track_list)
        self.track_rows: list[QPushButton] = []
        tracks = self.tracks.tracks()
        for n, track in enumerate(tracks):
            length = format_ms(track.duration_ms)
            row = text_button(
                f"{track.number or n + 1:>2}    {track.title}    ·    {length}", role="row"
            )
            row.setObjectName(f"track-{n}")
            row.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            row.setProperty("track", n)
            add = QAction("Add to queue", row)  # right-click, for the mouse
            add.triggered.connect(lambda _=False, t=track: self.enqueue_requested.emit((t,)))
            row.addAction(add)
            row.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            row.clicked.connect(
                lambda _=False, i=n: self.play_requested.emit(self.tracks.tracks(), i)
            )
            self.track_list.addWidget(row)
            self.track_rows.append(row)

    def track_for(self, widget: QWidget) -> Track | None:
        """Return the track of a track row (for a long OK: add just that track)."""
        index = widget.property("track")
        tracks = self.tracks.tracks()
        return tracks[index] if isinstance(index, int) and 0 <= index < len(tracks) else None


def _elide(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
