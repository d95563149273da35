"""The search results under the Library's search field: tracks, artists and albums.

Rows are pooled: a keystroke changes the texts of the rows already there and shows or hides
the rest, so typing stays well within a frame even when every row changes (bench/app.py
measures it on 10 000 tracks).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton, QSizePolicy, QVBoxLayout, QWidget

from client.app.library import Album, Artist, Track
from client.app.models import format_ms
from client.app.playability import TargetDevice, mark_of
from client.app.search import OTHER_LIMIT, TRACK_LIMIT, SearchResults
from client.app.theme import Metrics
from client.app.widgets import label, mark_track_row, text_button

WARM_STEP = 6  # rows made per event-loop turn while warming up

Marks = list[tuple[str, str, int]]  # per track row: its title, its mark ("": none), icon size


class _RowPool:
    """Rows of one section, made on first need and reused for every later query."""

    def __init__(self, layout: QVBoxLayout, prefix: str, on_click: object) -> None:
        self.layout = layout
        self.prefix = prefix
        self.rows: list[QPushButton] = []
        self.values: list[object] = []
        self._on_click = on_click

    def grow(self, size: int) -> None:
        """Have at least *size* rows (new ones hidden)."""
        while len(self.rows) < size:
            n = len(self.rows)
            row = text_button("", role="row")
            row.setObjectName(f"{self.prefix}-{n}")
            row.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            row.clicked.connect(lambda _=False, i=n: self._clicked(i))
            row.setVisible(False)
            self.layout.addWidget(row)
            row.ensurePolished()  # the style sheet's cost, paid now rather than on a keystroke
            self.rows.append(row)

    def show(self, texts: list[str], values: list[object], marks: Marks | None = None) -> None:
        self.values = values
        self.grow(len(texts))
        for n, text in enumerate(texts):
            row = self.rows[n]
            if marks is not None:
                title, mark, icon_px = marks[n]
                mark_track_row(row, text, title, mark, icon_px)
            elif row.text() != text:
                row.setText(text)
            row.setVisible(True)
        for row in self.rows[len(texts) :]:
            row.setVisible(False)

    def _clicked(self, index: int) -> None:
        if index < len(self.values):
            self._on_click(self.values[index])  # type: ignore[operator]


class SearchResultsView(QWidget):
    """Sections of rows; emits what the listener chose."""

    track_chosen = Signal(object)  # Track: play it
    album_chosen = Signal(object)  # Album: open it
    artist_chosen = Signal(object)  # Artist: open it
    enqueue_track = Signal(object)  # Track: add to the queue
    play_next_track = Signal(object)  # Track: play after the current one

    def __init__(self, mx: Metrics) -> None:
        super().__init__()
        self.mx = mx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.summary = label("", "muted")
        self.summary.setObjectName("search-summary")
        layout.addWidget(self.summary)
        self.track_heading = label("Tracks", "muted")
        layout.addWidget(self.track_heading)
        tracks = QVBoxLayout()
        layout.addLayout(tracks)
        self.artist_heading = label("Artists", "muted")
        layout.addWidget(self.artist_heading)
        artists = QVBoxLayout()
        layout.addLayout(artists)
        self.album_heading = label("Albums", "muted")
        layout.addWidget(self.album_heading)
        albums = QVBoxLayout()
        layout.addLayout(albums)
        layout.addStretch(1)
        self.tracks = _RowPool(tracks, "result-track", self.track_chosen.emit)
        self.artists = _RowPool(artists, "result-artist", self.artist_chosen.emit)
        self.albums = _RowPool(albums, "result-album", self.album_chosen.emit)
        self._actions_on = 0  # track rows that already have their context actions
        self.target: TargetDevice | None = None  # the device whose codecs mark the tracks
        self._warming = False

    def warm_up(self) -> None:
        """Make the rows ahead of the first keystroke, a few per event-loop turn."""
        if self._warming:
            return
        self._warming = True
        pools = (
            (self.tracks, TRACK_LIMIT),
            (self.artists, OTHER_LIMIT),
            (self.albums, OTHER_LIMIT),
        )

        def step() -> None:
            for pool, limit in pools:
                if len(pool.rows) < limit:
                    pool.grow(min(limit, len(pool.rows) + WARM_STEP))
                    self._add_track_actions()
                    QTimer.singleShot(0, self, step)  # dropped if the view is deleted
                    return
            self._warming = False

        QTimer.singleShot(0, self, step)  # dropped if the view is deleted

    def show_results(self, results: SearchResults) -> None:
        """Show *results* (reusing the rows)."""
        tracks: list[Track] = list(results.tracks)
        artists: list[Artist] = list(results.artists)
        albums: list[Album] = list(results.albums)
        self.tracks.show(
            [
                f"{t.title}    ·    {t.artist} · {t.album}    ·    {format_ms(t.duration_ms)}"
                for t in tracks
            ],
            list(tracks),
            [(t.title, mark_of(t, self.target), round(self.mx.icon * 0.8)) for t in tracks],
        )
        self._add_track_actions()
        self.artists.show([a.name for a in artists], list(artists))
        self.albums.show([f"{a.title}    ·    {a.artist}" for a in albums], list(albums))
        self.track_heading.setVisible(bool(tracks))
        shown = len(tracks)
        self.track_heading.setText(
            f"Tracks ({shown} of {results.track_count})"
            if results.track_count > shown
            else "Tracks"
        )
        self.artist_heading.setVisible(bool(artists))
        self.album_heading.setVisible(bool(albums))
        if results.empty:
            self.summary.setText(f"Nothing in your library matches “{results.query}”.")
        else:
            verb = "matches" if results.track_count == 1 else "match"
            self.summary.setText(f"{_tracks(results.track_count)} {verb} “{results.query}”.")

    def track_of(self, widget: QWidget) -> Track | None:
        """Return the track of a result row (for a long OK: add it to the queue)."""
        if widget in self.tracks.rows:
            index = self.tracks.rows.index(widget)
            value = self.tracks.values[index] if index < len(self.tracks.values) else None
            return value if isinstance(value, Track) else None
        return None

    def first_row(self) -> QPushButton | None:
        """Return the first visible row (Down from the search field lands there)."""
        for pool in (self.tracks, self.artists, self.albums):
            for row in pool.rows:
                if row.isVisibleTo(self):
                    return row
        return None

    def _add_track_actions(self) -> None:
        """Right-click "Play next" and "Add to queue" on track rows (once per row)."""
        for n in range(self._actions_on, len(self.tracks.rows)):
            row = self.tracks.rows[n]
            for text, signal in (
                ("Play next", self.play_next_track),
                ("Add to queue", self.enqueue_track),
            ):
                action = QAction(text, row)
                action.triggered.connect(lambda _=False, i=n, s=signal: self._emit_track(i, s))
                row.addAction(action)
            row.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._actions_on = len(self.tracks.rows)

    def _emit_track(self, index: int, signal: object) -> None:
        values = self.tracks.values
        if index < len(values):
            signal.emit(values[index])  # type: ignore[attr-defined]


def _tracks(n: int) -> str:
    return "1 track" if n == 1 else f"{n:,} tracks".replace(",", "\u2009")
