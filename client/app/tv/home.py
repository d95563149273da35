"""The TV home: rows of cards (recently played, albums, artists, devices, all the music),
scrolled by focus.

OK on an album opens it, on an artist shows their albums, on a device moves the music there
(or asks for its code when it needs pairing; a member of the group that plays says so and
moves nothing: the device picker groups and ungroups), on "Play all" or "Shuffle all" plays
every track of the library (any number: client/app/queue_play.py). Rows remember the card
last focused in them, so Up and Down between rows come back where they left (Leanback's rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from client.app import theme
from client.app import views as v
from client.app.groups import group_of, groups_shown
from client.app.screens.devices import device_state
from client.app.tv.cards import Card, CardRow, device_art
from client.app.tv.theme import TvSizes
from client.app.words import count

if TYPE_CHECKING:
    from client.app.library import Album, Library, Track


def album_card(px: TvSizes, album: Album, name: str) -> Card:
    """Return the card of *album*."""
    art = theme.cover(album.artwork, album.title, round(px.art * 1.2), 16)
    return Card(px, album.title, album.artist, art, name=name)


def device_words(view: v.DeviceView, followed: bool, moving: bool) -> str:
    """Return a device card's subtitle: what it is and what OK on it does."""
    if view.locked:
        return f"{view.access.value}: OK to pair"
    if moving:
        return "Moving here…"
    if followed:
        return device_state(view, True)
    if view.why_not:
        return view.why_not
    return device_state(view, False)


class TvHome(QScrollArea):
    """The home page: its rows in a vertical scroll area."""

    album_chosen = Signal(object)  # Album
    artist_chosen = Signal(str)  # artist name
    device_chosen = Signal(str)  # device id
    play_all = Signal(object)  # tuple[Track, ...]: every track of the library
    shuffle_all = Signal(object)  # tuple[Track, ...]: every track, shuffled

    def __init__(self, px: TvSizes) -> None:
        super().__init__()
        self.px = px
        self.setObjectName("tv-home")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, px.gap)
        layout.setSpacing(px.gap)
        self.recent = CardRow(px, "Recently played", "row-recent")
        self.albums = CardRow(px, "Albums", "row-albums")
        self.artists = CardRow(px, "Artists", "row-artists")
        self.devices = CardRow(px, "Devices", "row-devices")
        self.everything = CardRow(px, "All your music", "row-all")
        for row in (self.recent, self.albums, self.artists, self.devices, self.everything):
            row.hide()
            layout.addWidget(row)
        self._tracks: tuple[Track, ...] = ()
        layout.addStretch(1)
        self.setWidget(page)
        self.device_cards: dict[str, Card] = {}
        self._device_order: list[str] = []

    # ------------------------------------------------------------------ music
    def set_library(self, library: Library) -> None:
        """Fill the album and artist rows from *library*."""
        self.albums.set_cards([self._album(a, f"album-{n}") for n, a in enumerate(library.albums)])
        by_artist: dict[str, list[Album]] = {}
        for album in library.albums:
            by_artist.setdefault(album.artist or "Unknown artist", []).append(album)
        cards = []
        for n, (artist, albums) in enumerate(
            sorted(by_artist.items(), key=lambda kv: kv[0].casefold())
        ):
            art = theme.cover(albums[0].artwork, artist, round(self.px.art * 1.2), 16)
            card = Card(self.px, artist, count(len(albums), "album"), art, name=f"artist-{n}")
            card.clicked.connect(lambda _=False, a=artist: self.artist_chosen.emit(a))
            cards.append(card)
        self.artists.set_cards(cards)
        self._tracks = library.tracks
        words = count(len(self._tracks), "track")
        side = round(self.px.art * 1.2)
        every = []
        for icon, title, signal in (
            ("play", "Play all", self.play_all),
            ("shuffle", "Shuffle all", self.shuffle_all),
        ):
            art = device_art(icon, side, theme.TEXT)
            card = Card(self.px, title, words, art, name=f"{icon}-all")
            card.clicked.connect(lambda _=False, s=signal: s.emit(self._tracks))
            every.append(card)
        self.everything.set_cards(every if self._tracks else [])

    def set_recent(self, albums: Sequence[Album]) -> None:
        """Show the albums played last, newest first (the row hides when there are none)."""
        self.recent.set_cards([self._album(a, f"recent-{n}") for n, a in enumerate(albums)])

    def _album(self, album: Album, name: str) -> Card:
        card = album_card(self.px, album, name)
        card.clicked.connect(lambda _=False, a=album: self.album_chosen.emit(a))
        return card

    # ------------------------------------------------------------------ devices
    def set_devices(self, views: Sequence[v.DeviceView], followed: str, moving: str) -> None:
        """Show every device; rebuild the row only when devices come or go (focus stays)."""
        order = [view.id for view in views]
        if order != self._device_order:
            self._device_order = order
            self.device_cards = {}
            cards = []
            for view in views:
                card = Card(self.px, view.name, "", device_art("speaker", self.px.art, theme.TEXT))
                card.clicked.connect(lambda _=False, d=view.id: self.device_chosen.emit(d))
                self.device_cards[view.id] = card
                cards.append(card)
            self.devices.set_cards(cards)
        groups = groups_shown(views)
        for view in views:
            group = group_of(groups, view.id)
            with_followed = view.id == followed or (group is not None and followed in group.ids)
            card = self.device_cards[view.id]
            self._show_device(card, view, with_followed, view.id == moving)
            member = group.member(view.id) if group is not None else None
            if member is not None and group is not None:  # "In sync · Car + Kitchen"
                card.set_text(view.name, f"{member.words.capitalize()} · {group.name}")

    def _show_device(self, card: Card, view: v.DeviceView, followed: bool, moving: bool) -> None:
        card.setObjectName(f"device-{view.name}")
        color = theme.ACCENT if followed else theme.TEXT if view.online else theme.MUTED
        icon = "lock" if view.locked else theme.device_icon_name(view.type)
        card.set_art(device_art(icon, round(self.px.art * 1.2), color))
        card.set_text(view.name, device_words(view, followed, moving))
