"""The local files `baton play` was given: audio files found, in album and track order.

A file argument is played as given (if it is audio); a folder argument contributes every audio
file under it, album by album (albums in the order of their folders), each album in track
order: disc and track number from the tags, then the file name. Hidden files and folders are
left out; other files that are not audio are skipped and counted, so the command can say so.
Music that cannot be played (a damaged file, a format Baton does not play) is among the tracks,
its `fault` said: the command skips it, naming it (client/app/playability.py).
Reading tags touches the disk: call from a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mutagen
from mutagen import MutagenError

from client.app.library import MUSIC_SUFFIXES, Track, read_track


class LocalPathError(ValueError):
    """A path given to `baton play` that does not exist or cannot be read."""


@dataclass(frozen=True)
class LocalSelection:
    """The tracks chosen from the paths given, in play order, and how many files were skipped."""

    tracks: tuple[Track, ...]
    skipped: int  # files that are not audio


def select_tracks(paths: Sequence[Path]) -> LocalSelection:
    """Return the audio tracks of *paths* (files and folders) in play order.

    Raise LocalPathError for a path that does not exist or that cannot be read.
    """
    tracks: list[Track] = []
    skipped = 0
    for given in paths:
        path = given.expanduser()
        if not path.exists():
            raise LocalPathError(f"no such file or folder: {given}")
        if path.is_dir():
            found, not_audio = _folder_tracks(path)
            tracks += found
            skipped += not_audio
        elif is_audio(path):
            tracks.append(read_track(path)[0])
        else:
            skipped += 1
    return LocalSelection(tuple(tracks), skipped)


def is_audio(path: Path) -> bool:
    """Return whether *path* is a sound file: by its suffix (a music format, played or not),
    else by what mutagen reads in it."""
    if path.suffix.lower() in MUSIC_SUFFIXES:
        return True
    try:
        found = mutagen.File(path)
    except (MutagenError, OSError):
        return False
    return found is not None and getattr(found.info, "length", 0) > 0


def album_order(tracks: Iterable[Track], root: Path) -> list[Track]:
    """Return *tracks* album by album, in track order (see the module docstring).

    An album is the files of one folder sharing an album tag (not an artist: a compilation's
    tracks name many), so albums come in the order of their folders under *root*.
    """
    albums: dict[tuple[str, str], list[Track]] = {}
    for track in tracks:
        folder = track.path.parent.relative_to(root).as_posix().casefold()
        albums.setdefault((folder, track.album.casefold()), []).append(track)
    ordered: list[Track] = []
    for key in sorted(albums):
        ordered += sorted(
            albums[key], key=lambda t: (t.disc, t.number or 10_000, t.path.name.casefold())
        )
    return ordered


def _folder_tracks(root: Path) -> tuple[list[Track], int]:
    """Return the audio tracks under *root* in album order, and the count of other files."""
    audio: list[Track] = []
    skipped = 0
    try:
        for path in _visible_files(root):
            if is_audio(path):
                audio.append(read_track(path)[0])
            else:
                skipped += 1
    except OSError as exc:
        raise LocalPathError(f"cannot read {root}: {exc.strerror or exc}") from exc
    return album_order(audio, root), skipped


def _visible_files(root: Path) -> Iterable[Path]:
    """Yield the regular files under *root*, hidden ones and hidden folders left out."""

    def fail(error: OSError) -> None:
        raise error

    # os.walk does not follow symlinked folders: a link to a parent cannot loop forever.
    for folder, subfolders, files in os.walk(root, onerror=fail):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder, name)
            if not name.startswith(".") and path.is_file():
                yield path
