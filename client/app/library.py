"""The listener's music folder: tracks and albums read with mutagen (tags, embedded artwork).

Scanning is plain file reading, done on a worker thread (never the UI thread). An album's art
is the first embedded picture of its tracks, else a sidecar image in its folder (cover.png,
folder.jpg, ...); an album with neither gets art painted by the app from its title.
"""

from __future__ import annotations

import logging
import mimetypes
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from client.app.audio_probe import AUDIO_SUFFIXES, MUSIC_SUFFIXES, probe_file

__all__ = [
    "AUDIO_SUFFIXES",
    "MUSIC_SUFFIXES",
    "Album",
    "Artist",
    "Library",
    "Track",
    "group_albums",
    "read_track",
    "scan_library",
    "sidecar_art",
]

_LOG = logging.getLogger(__name__)

SIDECARS = ("cover.png", "cover.jpg", "folder.jpg", "folder.png", "front.jpg", "album.jpg")


@dataclass(frozen=True)
class Track:
    """One audio file and its tags."""

    path: Path
    title: str
    artist: str
    album: str
    number: int
    duration_ms: int
    content_type: str
    disc: int = 0  # 0: not tagged
    codec: str = ""  # inside, as DeviceInfo.audio_codecs names it; "": not known
    fault: str = ""  # why no receiver can decode it ("damaged file"); "": it looks sound


@dataclass(frozen=True)
class Album:
    """Tracks sharing an album tag (and album artist), in track order, with their art."""

    title: str
    artist: str
    tracks: tuple[Track, ...]
    artwork: bytes | None  # PNG/JPEG bytes, or None: paint one from the title

    @property
    def key(self) -> str:
        """Return a stable identifier for the album."""
        return f"{self.artist}\x1f{self.title}"


@dataclass(frozen=True)
class Library:
    """A scanned music folder."""

    root: Path
    albums: tuple[Album, ...]

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Return every track, album by album."""
        return tuple(t for a in self.albums for t in a.tracks)

    def albums_by_path(self) -> dict[str, Album]:
        """Return each track's album by the track's path under the root ("a/b.flac")."""
        # String work, not pathlib: this runs on the UI thread for every track of a library
        # of thousands (the scan keeps every path under the resolved root, no symlinks).
        prefix = str(self.root).rstrip(os.sep) + os.sep
        found: dict[str, Album] = {}
        for album in self.albums:
            for track in album.tracks:
                path = str(track.path)
                if path.startswith(prefix):
                    found[path[len(prefix) :].replace(os.sep, "/")] = album
        return found

    @property
    def artists(self) -> tuple[Artist, ...]:
        """Return every album artist with their albums, sorted by name."""
        by_name: dict[str, list[Album]] = {}
        for album in self.albums:
            by_name.setdefault(album.artist, []).append(album)
        return tuple(
            Artist(name, tuple(albums))
            for name, albums in sorted(by_name.items(), key=lambda kv: kv[0].casefold())
        )


@dataclass(frozen=True)
class Artist:
    """An album artist and their albums."""

    name: str
    albums: tuple[Album, ...]

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Return the artist's tracks, album by album."""
        return tuple(t for a in self.albums for t in a.tracks)

    @property
    def artwork(self) -> bytes | None:
        """Return the art of the artist's first album that has some."""
        return next((a.artwork for a in self.albums if a.artwork), None)


def scan_library(root: Path, *, limit: int = 20_000) -> Library:
    """Read every music file under *root* (at most *limit*); one that cannot be decoded is a
    track with its fault said."""
    root = root.resolve()
    found: list[tuple[Track, bytes | None]] = []
    for path in sorted(_audio_files(root)):
        if len(found) >= limit:
            _LOG.warning("%s: more than %d tracks, the rest is not shown", root, limit)
            break
        found.append(read_track(path))
    return Library(root, tuple(group_albums(found, sidecar_art)))


def group_albums(
    found: Iterable[tuple[Track, bytes | None]], sidecar: Callable[[Path], bytes | None]
) -> list[Album]:
    """Group tracks (each with its embedded art) into albums sorted by title, tracks by number.

    An album's art is its first track's embedded picture, else `sidecar(its folder)`.
    """
    groups: dict[tuple[str, str], list[tuple[Track, bytes | None]]] = {}
    for track, art in found:
        groups.setdefault((track.artist, track.album), []).append((track, art))
    albums = []
    for (artist, title), members in sorted(groups.items(), key=lambda kv: kv[0][1].casefold()):
        members.sort(key=lambda ta: (ta[0].disc, ta[0].number or 10_000, ta[0].path.name))
        art = next((a for _, a in members if a), None) or sidecar(members[0][0].path.parent)
        albums.append(Album(title, artist, tuple(t for t, _ in members), art))
    return albums


def read_track(path: Path) -> tuple[Track, bytes | None]:
    """Return a track's tags and embedded artwork; fall back to the file name when untagged.

    A file no receiver can decode (damaged, empty, a format Baton does not play) is a track
    too, with its `fault` said: the library shows it as such and never offers it.
    """
    probe = probe_file(path)
    title, number = probe.title or path.stem, probe.number
    if not number and path.stem[:2].isdigit():
        number = int(path.stem[:2])
        title = title if title != path.stem else path.stem[2:].strip(" -._") or path.stem
    track = Track(
        path=path,
        title=title,
        artist=probe.artist or "Unknown artist",
        album=probe.album or path.parent.name,
        number=number,
        duration_ms=probe.duration_ms,
        content_type=probe.content_type or mimetypes.guess_type(path.name)[0] or "",
        disc=probe.disc,
        codec=probe.codec,
        fault=probe.fault,
    )
    return track, probe.art


def _audio_files(root: Path) -> Iterable[Path]:
    for path in root.rglob("*"):
        if path.suffix.lower() in MUSIC_SUFFIXES and path.is_file() and not path.is_symlink():
            yield path


def sidecar_art(folder: Path) -> bytes | None:
    """Return the cover image beside the tracks in *folder* (cover.png, ...), or None."""
    for name in SIDECARS:
        candidate = folder / name
        if candidate.is_file():
            try:
                return candidate.read_bytes()
            except OSError:
                continue
    return None
