"""Search as you type: every word of the query, in titles, artists and albums, any case."""

from __future__ import annotations

from pathlib import Path

from client.app.library import Album, Library, Track
from client.app.search import TRACK_LIMIT, LibrarySearch


def _library(rows: list[tuple[str, str, str]]) -> Library:
    albums: dict[tuple[str, str], list[Track]] = {}
    for n, (title, artist, album) in enumerate(rows):
        track = Track(Path(f"/m/{n}.wav"), title, artist, album, n + 1, 1000, "audio/wav")
        albums.setdefault((artist, album), []).append(track)
    return Library(
        Path("/m"), tuple(Album(al, ar, tuple(ts), None) for (ar, al), ts in albums.items())
    )


LIB = _library([
    ("Morning Loop", "Mira Keys", "Open Road"),
    ("Night Drive", "Mira Keys", "Open Road"),
    ("Packet Lullaby", "Loopback Quartet", "Night Shift"),
    ("Service Area", "The Band", "Road Songs"),
])  # fmt: skip


def test_every_word_must_match_somewhere():
    search = LibrarySearch(LIB)
    found = search.search("mira night")
    assert [t.title for t in found.tracks] == ["Night Drive"]
    assert found.track_count == 1
    assert [a.name for a in search.search("LOOP").artists] == ["Loopback Quartet"]
    assert [a.title for a in search.search("road").albums] == ["Open Road", "Road Songs"]


def test_titles_starting_with_the_query_come_first():
    found = LibrarySearch(LIB).search("night")
    assert [t.title for t in found.tracks] == ["Night Drive", "Packet Lullaby"]


def test_typing_on_narrows_and_deleting_widens_again():
    search = LibrarySearch(LIB)
    assert search.search("n").track_count == 4
    assert search.search("ni").track_count == 3  # Morning, Night Drive, Night Shift
    assert search.search("nig").track_count == 2
    assert search.search("n").track_count == 4  # not only among "nig"'s matches
    assert search.search("  ").empty
    assert search.search("zzz").empty


def test_a_common_word_shows_the_first_tracks_and_counts_them_all():
    big = _library([(f"Song {n}", "A", f"Album {n // 10}") for n in range(300)])
    found = LibrarySearch(big).search("song")
    assert found.track_count == 300
    assert len(found.tracks) == TRACK_LIMIT
