"""What a media server may hand out: a music folder, or a fixed list of files.

A catalogue maps the tail of a request path (after `/media/TOKEN/`, decoded) to a file, and a
file to its tail. Every tail is checked before the disk is touched: a folder refuses NUL bytes,
backslashes, empty, `.` and `..` segments (also when percent-encoded; 400) and symlinks that
resolve outside it (403); a file list answers only the exact tails it made. Lookups touch the
disk: run them off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol


class PathRefusedError(ValueError):
    """A media path that is malformed or tries to leave the library (answered with 400)."""


class OutsideLibraryError(PathRefusedError):
    """A well-formed media path that resolves outside the library (answered with 403)."""


class MediaCatalogue(Protocol):
    """The files a media server serves, by URL tail."""

    def find(self, tail: str) -> Path | None:
        """Return the file *tail* (percent-decoded) names, None if there is none.

        Raise PathRefusedError for a tail that is malformed or leads outside.
        """
        ...

    def tail_of(self, path: Path) -> str:
        """Return the URL tail (decoded) of *path*; raise ValueError if it is not served."""
        ...


class FolderCatalogue:
    """Every regular file under *root* (the app's music folder), by its relative path."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def find(self, tail: str) -> Path | None:
        """Return the file *tail* names inside the folder (see MediaCatalogue.find)."""
        path = library_file(self.root, tail)
        return path if path.is_file() else None

    def tail_of(self, path: Path) -> str:
        """Return the URL tail of *path*; ValueError when it is not inside the folder."""
        return path.resolve().relative_to(self.root).as_posix()  # ValueError outside


class FileCatalogue:
    """Exactly the files given (what `baton play` was asked to play), at `INDEX/NAME`."""

    def __init__(self, files: Iterable[Path]) -> None:
        self.files = tuple(dict.fromkeys(path.resolve() for path in files))
        self._index = {path: number for number, path in enumerate(self.files)}

    def find(self, tail: str) -> Path | None:
        """Return the file at *tail* if it is one of ours (see MediaCatalogue.find)."""
        number, _, name = tail.partition("/")
        if not number.isdecimal() or int(number) >= len(self.files):
            return None
        path = self.files[int(number)]
        # The name is only for people reading the URL (and for formats libVLC guesses by the
        # suffix), but it must match: a tail is either exactly one we made or nothing.
        return path if name == path.name and path.is_file() else None

    def tail_of(self, path: Path) -> str:
        """Return the URL tail of *path*; ValueError when it is not one of the files."""
        resolved = path.resolve()
        if resolved not in self._index:
            raise ValueError(f"{path} is not among the files served")
        return f"{self._index[resolved]}/{resolved.name}"


def library_file(root: Path, tail: str) -> Path:
    """Return the resolved path that *tail* (decoded, after the token) names inside *root*.

    *root* must be resolved. Raise PathRefusedError for a malformed path and
    OutsideLibraryError when symlinks lead out of *root*. Touches the disk (resolve).
    """
    if "\0" in tail:
        raise PathRefusedError("a NUL byte in the path")
    if "\\" in tail:
        raise PathRefusedError("a backslash in the path")
    segments = tail.split("/")
    # An empty segment catches absolute paths ("//etc") too. aiohttp routes the path as sent,
    # so ".." arrives here plain or decoded from %2e%2e.
    if any(segment in ("", ".", "..") for segment in segments):
        raise PathRefusedError("an empty, '.' or '..' segment in the path")
    resolved = root.joinpath(*segments).resolve()
    if not resolved.is_relative_to(root):
        raise OutsideLibraryError("the path leads outside the library")
    return resolved
