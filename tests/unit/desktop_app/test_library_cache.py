"""The library cache: a second start shows the library from SQLite without reading the files;
a rescan reads only files whose size or modification time changed, and forgets removed ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from client.app import library_cache
from client.app.library import scan_library
from client.app.library_cache import LibraryCache, ScanCancelledError
from client.demo_library import write_large_library


@pytest.fixture
def music(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    write_large_library(folder, tracks=40, per_album=8, albums_per_artist=2)
    return folder


def test_the_cache_gives_back_what_a_full_scan_reads(tmp_path, music):
    cache = LibraryCache(tmp_path / "cache.sqlite", music)
    assert cache.load() is None  # nothing cached yet
    scanned = cache.scan()
    assert scanned == scan_library(music)
    assert cache.load() == scanned
    assert len(scanned.tracks) == 40
    assert len(scanned.albums) == 5
    assert all(album.artwork for album in scanned.albums)


def test_a_rescan_reads_only_changed_files(tmp_path, music, monkeypatch):
    cache = LibraryCache(tmp_path / "cache.sqlite", music)
    cache.scan()
    read: list[Path] = []
    original = library_cache.read_track
    monkeypatch.setattr(library_cache, "read_track", lambda p: read.append(p) or original(p))
    cache.scan()
    assert read == []  # nothing changed: nothing read
    changed = next(music.rglob("03.wav"))
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    grown = next(music.rglob("05.wav"))
    grown.write_bytes(grown.read_bytes() + b"\0\0")  # a trailing pad: same tags, new size
    new_album = music / "new"
    new_album.mkdir()
    (new_album / "01.wav").write_bytes(next(music.rglob("01.wav")).read_bytes())
    library = cache.scan()
    assert sorted(read) == sorted([changed, grown, new_album / "01.wav"])
    assert len(library.tracks) == 41


def test_removed_files_leave_the_cache(tmp_path, music):
    cache = LibraryCache(tmp_path / "cache.sqlite", music)
    cache.scan()
    for path in (music / "0000" / "00000").iterdir():
        path.unlink()
    library = cache.scan()
    assert len(library.tracks) == 32
    assert cache.load() == library


@pytest.mark.warning_logs("library cache damaged, starting it again")
def test_another_folder_or_a_damaged_file_is_not_used(tmp_path, music):
    path = tmp_path / "cache.sqlite"
    LibraryCache(path, music).scan()
    assert LibraryCache(path, tmp_path).load() is None  # cached for another folder
    path.write_bytes(b"not a database at all" * 100)
    cache = LibraryCache(path, music)
    assert cache.load() is None
    assert len(cache.scan().tracks) == 40  # started again
    assert cache.load() is not None


def test_a_stopped_scan_changes_nothing(tmp_path, music):
    import threading

    cache = LibraryCache(tmp_path / "cache.sqlite", music)
    stop = threading.Event()
    stop.set()
    with pytest.raises(ScanCancelledError):
        cache.scan(stop=stop)
    assert cache.load() is None


def test_a_missing_folder_is_an_oserror(tmp_path):
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        LibraryCache(tmp_path / "cache.sqlite", tmp_path / "gone").scan()


def test_disc_numbers_survive_the_cache_and_order_the_album(tmp_path):
    from tests.unit.play_local.tagged import tagged_tone

    music = tmp_path / "discs"
    tagged_tone(music / "a.wav", 440, title="Two-one", album="Set", number=1, disc=2)
    tagged_tone(music / "b.wav", 440, title="One-two", album="Set", number=2, disc=1)
    tagged_tone(music / "c.wav", 440, title="One-one", album="Set", number=1, disc=1)
    cache = LibraryCache(tmp_path / "cache.sqlite", music)
    scanned = cache.scan()
    titles = [t.title for t in scanned.albums[0].tracks]
    assert titles == ["One-one", "One-two", "Two-one"]
    assert cache.load() == scanned  # the second start sees the same discs, the same order


def test_a_cache_of_another_schema_is_dropped_and_rebuilt(tmp_path, music):
    import sqlite3

    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as old:  # what schema 1 wrote: no disc column
        old.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('version', '1');"
            "CREATE TABLE tracks (path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL,"
            " size INTEGER NOT NULL, title TEXT NOT NULL, artist TEXT NOT NULL,"
            " album TEXT NOT NULL, number INTEGER NOT NULL, duration_ms INTEGER NOT NULL,"
            " content_type TEXT NOT NULL, art TEXT);"
        )
    old.close()
    cache = LibraryCache(path, music)
    assert cache.load() is None
    assert cache.scan() == scan_library(music)
    assert cache.load() == scan_library(music)
