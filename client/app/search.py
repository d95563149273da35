"""Search as you type over the library: tracks, albums and artists whose words contain the query's.

Qt-free and fast enough to run on every keystroke on the UI thread (a 10 000-track library
answers in a few ms): each track's title, artist and album are folded to lower case once, a
query matches an entry when every word of it occurs in the entry's text, and a query that
extends the previous one searches only the previous matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from client.app.library import Album, Artist, Library, Track

TRACK_LIMIT = 50  # rows shown; the count says how many matched
OTHER_LIMIT = 12

T = TypeVar("T")


@dataclass(frozen=True)
class SearchResults:
    """What a query found: the first matches of each kind and how many tracks matched."""

    query: str
    tracks: tuple[Track, ...] = ()
    track_count: int = 0
    albums: tuple[Album, ...] = ()
    artists: tuple[Artist, ...] = ()

    @property
    def empty(self) -> bool:
        """Return True when nothing matched."""
        return not (self.tracks or self.albums or self.artists)


class LibrarySearch:
    """An index of one library; `search(query)` returns SearchResults."""

    def __init__(self, library: Library) -> None:
        self.tracks = library.tracks
        self.albums = library.albums
        self.artists = library.artists
        self._track_text = [_fold(t.title, t.artist, t.album) for t in self.tracks]
        self._track_titles = [t.title.casefold() for t in self.tracks]
        self._album_text = [_fold(a.title, a.artist) for a in self.albums]
        self._artist_text = [a.name.casefold() for a in self.artists]
        self._last: tuple[str, list[int]] = ("", list(range(len(self.tracks))))

    def search(self, query: str) -> SearchResults:
        """Return what matches *query* (an empty query matches nothing)."""
        folded = " ".join(query.casefold().split())
        words = folded.split()
        if not words:
            self._last = ("", list(range(len(self.tracks))))
            return SearchResults(query)
        last_query, last_matches = self._last
        candidates = last_matches if last_query and folded.startswith(last_query) else None
        pool = candidates if candidates is not None else range(len(self._track_text))
        text = self._track_text
        matches = [i for i in pool if all(w in text[i] for w in words)]
        self._last = (folded, matches)
        # Titles that start with the query first, then the rest, each in library order.
        titles = self._track_titles
        first = [i for i in matches if titles[i].startswith(folded)]
        ranked = (
            first
            + [i for i in matches if not titles[i].startswith(folded)][
                : max(0, TRACK_LIMIT - len(first))
            ]
        )
        return SearchResults(
            query,
            tuple(self.tracks[i] for i in ranked[:TRACK_LIMIT]),
            len(matches),
            _matching(self.albums, self._album_text, words),
            _matching(self.artists, self._artist_text, words),
        )


def _fold(*parts: str) -> str:
    return "\n".join(parts).casefold()


def _matching(items: tuple[T, ...], texts: list[str], words: list[str]) -> tuple[T, ...]:
    found: list[T] = []
    for item, text in zip(items, texts, strict=True):
        if all(w in text for w in words):
            found.append(item)
            if len(found) == OTHER_LIMIT:
                break
    return tuple(found)
