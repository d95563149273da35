"""The library's cache: what the last scan read, in SQLite, so a second start shows the library
at once and a rescan reads only the files that changed.

A file's row is reused while its size and modification time (ns) are what the cache saw;
otherwise the file is read again with mutagen. Embedded pictures are stored once each (by
digest), album art per album. Everything here is blocking file and database work: call it on
a worker thread (the core uses `asyncio.to_thread`), never on the UI thread or the event loop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

from client.app.library import (
    MUSIC_SUFFIXES,
    Album,
    Library,
    Track,
    group_albums,
    read_track,
    sidecar_art,
)

_LOG = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 2: a track's disc number; 3: its codec and fault, exact lengths
MAX_TRACKS = 20_000
PROGRESS_EVERY_S = 0.1  # how often a scan reports how far it got

Progress = Callable[[int, int], None]  # (files done, files found)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    title TEXT NOT NULL, artist TEXT NOT NULL, album TEXT NOT NULL, number INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL, content_type TEXT NOT NULL, art TEXT,
    disc INTEGER NOT NULL DEFAULT 0, codec TEXT NOT NULL DEFAULT '',
    fault TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS art (digest TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS albums (
    artist TEXT NOT NULL, title TEXT NOT NULL, art TEXT, PRIMARY KEY (artist, title)
);
"""


class ScanCancelledError(Exception):
    """The scan was asked to stop (the app closes, or another folder was chosen)."""


class LibraryCache:
    """One music folder's cache file; each method opens its own connection (any thread)."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root.resolve()

    def load(self) -> Library | None:
        """Return the library as last scanned, without touching the music files; None if the
        cache is missing, of another folder or another schema, or unreadable."""
        try:
            with closing(self._connect()) as db:
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
                if meta.get("version") != str(SCHEMA_VERSION) or meta.get("root") != str(self.root):
                    return None
                pictures = dict(db.execute("SELECT digest, data FROM art").fetchall())
                tracks = [_track_of(row) for row in db.execute(_SELECT_TRACKS)]
                album_art = {
                    (artist, title): pictures.get(digest)
                    for artist, title, digest in db.execute("SELECT artist, title, art FROM albums")
                }
        except (sqlite3.Error, OSError) as exc:
            _LOG.info("%s: library cache not usable (%s): scanning", self.path, exc)
            return None
        albums = group_albums(((t, None) for t in tracks), lambda _: None)
        return Library(
            self.root,
            tuple(
                Album(a.title, a.artist, a.tracks, album_art.get((a.artist, a.title)))
                for a in albums
            ),
        )

    def scan(
        self, progress: Progress | None = None, stop: threading.Event | None = None
    ) -> Library:
        """Scan the folder, reading only new or changed files; save and return the library.

        Raises OSError when the folder cannot be read, ScanCancelledError when *stop* is set.
        """
        files = list(_audio_files(self.root, stop))
        if len(files) > MAX_TRACKS:
            _LOG.warning("%s: more than %d tracks, the rest is not shown", self.root, MAX_TRACKS)
            files = files[:MAX_TRACKS]
        with closing(self._connect()) as db:
            known = {row[0]: row for row in db.execute(_SELECT_TRACKS)}
            digests = {d for (d,) in db.execute("SELECT digest FROM art")}
            found: list[tuple[Track, str | None]] = []
            fresh: list[tuple[object, ...]] = []
            new_art: dict[str, bytes] = {}
            reported = time.monotonic()
            for done, (path, mtime_ns, size) in enumerate(files, start=1):
                if stop is not None and stop.is_set():
                    raise ScanCancelledError(str(self.root))
                row = known.get(str(path))
                if row is not None and row[1] == mtime_ns and row[2] == size:
                    found.append((_track_of(row), row[9]))
                else:
                    track, art = read_track(path)
                    digest = _digest(art) if art else None
                    if art and digest and digest not in digests:
                        new_art[digest] = art
                        digests.add(digest)
                    found.append((track, digest))
                    fresh.append(_row_of(track, mtime_ns, size, digest))
                if progress is not None and time.monotonic() - reported >= PROGRESS_EVERY_S:
                    reported = time.monotonic()
                    progress(done, len(files))
            pictures = dict(db.execute("SELECT digest, data FROM art").fetchall()) | new_art
            albums = group_albums(
                ((track, pictures.get(d) if d else None) for track, d in found), sidecar_art
            )
            gone = set(known) - {str(p) for p, _, _ in files}
            with db:  # one transaction: a crash leaves the old cache whole
                db.executemany("INSERT OR REPLACE INTO art VALUES (?, ?)", new_art.items())
                db.executemany(
                    "INSERT OR REPLACE INTO tracks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", fresh
                )
                db.executemany("DELETE FROM tracks WHERE path = ?", ((p,) for p in gone))
                db.execute("DELETE FROM albums")
                album_rows = []
                for album in albums:
                    digest = _digest(album.artwork) if album.artwork else None
                    if album.artwork and digest not in digests:
                        db.execute(
                            "INSERT OR REPLACE INTO art VALUES (?, ?)", (digest, album.artwork)
                        )
                        digests.add(digest or "")
                    album_rows.append((album.artist, album.title, digest))
                db.executemany("INSERT OR REPLACE INTO albums VALUES (?, ?, ?)", album_rows)
                db.execute(
                    "DELETE FROM art WHERE digest NOT IN (SELECT art FROM tracks WHERE art IS NOT"
                    " NULL UNION SELECT art FROM albums WHERE art IS NOT NULL)"
                )
                db.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    (("version", str(SCHEMA_VERSION)), ("root", str(self.root))),
                )
        if progress is not None:
            progress(len(files), len(files))
        return Library(self.root, tuple(albums))

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            _drop_other_schema(db)
            db.executescript(_SCHEMA)
        except sqlite3.DatabaseError:
            db.close()
            # Not a database (a crash mid-write on a filesystem without journaling, or a file
            # someone put there): it is only a cache, start it again.
            _LOG.warning("%s: library cache damaged, starting it again", self.path)
            self.path.unlink(missing_ok=True)
            db = sqlite3.connect(self.path, timeout=5.0)
            db.executescript(_SCHEMA)
        return db


_SELECT_TRACKS = (
    "SELECT path, mtime_ns, size, title, artist, album, number, duration_ms, content_type, art,"
    " disc, codec, fault FROM tracks ORDER BY path"
)


def _track_of(row: tuple[object, ...]) -> Track:
    path, _, _, title, artist, album, number, duration_ms, content_type, _, disc, codec, fault = row
    return Track(
        Path(str(path)), str(title), str(artist), str(album), int(str(number)),
        int(str(duration_ms)), str(content_type), int(str(disc)), str(codec), str(fault),
    )  # fmt: skip


def _row_of(track: Track, mtime_ns: int, size: int, digest: str | None) -> tuple[object, ...]:
    return (
        str(track.path), mtime_ns, size, track.title, track.artist, track.album, track.number,
        track.duration_ms, track.content_type, digest, track.disc, track.codec, track.fault,
    )  # fmt: skip


def _drop_other_schema(db: sqlite3.Connection) -> None:
    """Drop a cache written by another schema version whole: it is only a cache."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        return
    row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    if row is not None and row[0] != str(SCHEMA_VERSION):
        db.executescript(
            "DROP TABLE IF EXISTS tracks; DROP TABLE IF EXISTS art; "
            "DROP TABLE IF EXISTS albums; DROP TABLE IF EXISTS meta;"
        )


def _digest(data: bytes | None) -> str | None:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest() if data else None


def _audio_files(root: Path, stop: threading.Event | None) -> Iterator[tuple[Path, int, int]]:
    """Yield (path, mtime_ns, size) of every audio file under *root*, sorted, no symlinks."""
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder")
    found: list[tuple[Path, int, int]] = []
    folders = [root]
    while folders:
        if stop is not None and stop.is_set():
            raise ScanCancelledError(str(root))
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            if folder == root:
                raise
            _LOG.debug("%s: skipped (%s)", folder, exc)
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                folders.append(Path(entry.path))
            elif _suffix(entry.name) in MUSIC_SUFFIXES and entry.is_file():
                info = entry.stat()
                found.append((Path(entry.path), info.st_mtime_ns, info.st_size))
    found.sort()
    yield from found


def _suffix(name: str) -> str:
    """Return a file name's lower-case suffix (".wav"); "" for none or a dot file."""
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
