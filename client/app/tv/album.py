"""An album's page (big cover, Play, its tracks) and an artist's page (a row of albums).

A track that cannot play on the device Play goes to is marked and says why
(client/app/playability.py); OK on it says why again instead of playing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app.models import format_ms
from client.app.playability import TargetDevice, album_words, mark_of
from client.app.tv.cards import CardRow
from client.app.tv.home import album_card
from client.app.tv.theme import TvSizes
from client.app.widgets import clear_layout, label, mark_track_row, text_button

if TYPE_CHECKING:
    from client.app.library import Album, Track


def _page(name: str) -> tuple[QScrollArea, QVBoxLayout]:
    area = QScrollArea()
    area.setObjectName(name)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    content = QWidget()
    layout = QVBoxLayout(content)
    area.setWidget(content)
    return area, layout


class TvAlbumPage(QWidget):
    """One album: Play (focused when it opens), Add to queue, and a row per track."""

    play_requested = Signal(object, int)  # (tuple[Track, ...], start index)
    enqueue_requested = Signal(object)  # tuple[Track, ...]
    refused = Signal(str)  # a track that cannot play was chosen: its mark, what to say

    def __init__(self, px: TvSizes) -> None:
        super().__init__()
        self.px = px
        self.album: Album | None = None
        self.target: TargetDevice | None = None  # where Play goes: its codecs mark the tracks
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.area, layout = _page("tv-album")
        outer.addWidget(self.area)
        ring = px.gap // 2
        layout.setContentsMargins(ring, ring, ring, ring)
        layout.setSpacing(px.gap)
        header = QHBoxLayout()
        header.setSpacing(px.gap * 2)
        self.art = QLabel()
        side = round(px.big_art * 0.75)
        self.art.setFixedSize(side, side)
        header.addWidget(self.art, 0, Qt.AlignmentFlag.AlignTop)
        info = QVBoxLayout()
        info.setSpacing(px.gap // 2)
        self.title = label("", "title", wrap=True)
        self.title.setObjectName("album-title")
        self.artist = label("", "subhero", wrap=True)
        info.addWidget(self.title)
        info.addWidget(self.artist)
        buttons = QHBoxLayout()
        buttons.setSpacing(px.gap)
        self.play = text_button("Play", role="primary")
        self.play.setObjectName("play-album")
        self.play.clicked.connect(self._play_all)
        self.enqueue = text_button("Add to queue")
        self.enqueue.setObjectName("enqueue-album")
        self.enqueue.clicked.connect(self._enqueue_all)
        for button in (self.play, self.enqueue):
            button.setMinimumHeight(px.button * 3 // 4)
            buttons.addWidget(button)
        buttons.addStretch(1)
        info.addLayout(buttons)
        info.addStretch(1)
        header.addLayout(info, 1)
        layout.addLayout(header)
        self.tracks = QVBoxLayout()
        self.tracks.setSpacing(4)
        layout.addLayout(self.tracks)
        layout.addStretch(1)
        self.track_rows: list[QPushButton] = []

    def show_album(self, album: Album) -> None:
        """Show *album*."""
        self.album = album
        side = self.art.width()
        self.art.setPixmap(theme.cover(album.artwork, album.title, side, 18))
        self.title.setText(album.title)
        self.artist.setText(album_words(album.artist, album.tracks, self.target))
        clear_layout(self.tracks)
        self.track_rows = []
        for n, track in enumerate(album.tracks):
            row = text_button("", role="row")
            self._mark(row, n, track)
            row.setObjectName(f"track-{n}")
            row.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            row.clicked.connect(lambda _=False, i=n: self._play_from(i))
            self.tracks.addWidget(row)
            self.track_rows.append(row)

    def set_target(self, device: TargetDevice | None) -> None:
        """Mark the tracks shown for *device* (the one Play goes to; None: not known)."""
        if device != self.target:
            self.target = device
            for n, (row, track) in enumerate(zip(self.track_rows, self._tracks(), strict=False)):
                self._mark(row, n, track)
            if self.album is not None:
                self.artist.setText(album_words(self.album.artist, self.album.tracks, device))

    def _mark(self, row: QPushButton, n: int, track: Track) -> None:
        text = f"{track.number or n + 1:>2}     {track.title}     {format_ms(track.duration_ms)}"
        mark_track_row(row, text, track.title, mark_of(track, self.target), self.px.gap)

    def _tracks(self) -> tuple[Track, ...]:
        return self.album.tracks if self.album is not None else ()

    def _play_all(self) -> None:
        self.play_requested.emit(self._tracks(), 0)

    def _play_from(self, index: int) -> None:
        mark = mark_of(self._tracks()[index], self.target)
        if mark:
            self.refused.emit(mark)
        else:
            self.play_requested.emit(self._tracks(), index)

    def _enqueue_all(self) -> None:
        self.enqueue_requested.emit(self._tracks())


class TvArtistPage(QWidget):
    """One artist: their name over a row of their albums."""

    album_chosen = Signal(object)  # Album

    def __init__(self, px: TvSizes) -> None:
        super().__init__()
        self.px = px
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.area, layout = _page("tv-artist")
        outer.addWidget(self.area)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(px.gap)
        self.name = label("", "title")
        self.name.setObjectName("artist-name")
        layout.addWidget(self.name)
        self.row = CardRow(px, "Albums", "row-artist-albums")
        layout.addWidget(self.row)
        layout.addStretch(1)

    def show_artist(self, artist: str, albums: tuple[Album, ...]) -> None:
        """Show *artist* and their *albums*."""
        self.name.setText(artist)
        cards = []
        for n, album in enumerate(albums):
            card = album_card(self.px, album, f"artist-album-{n}")
            card.clicked.connect(lambda _=False, a=album: self.album_chosen.emit(a))
            cards.append(card)
        self.row.set_cards(cards)
