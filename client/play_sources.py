"""What `baton play --from FILE` adds: the URLs and local paths a list file names.

A list holds one entry a line: an http(s) URL, or a local path (an M3U playlist is such a
list: `#` lines are skipped), relative paths taken from the list's own folder; `-` reads
standard input (relative paths from the current folder). URLs are checked here, paths by the
local play that serves them (client/play_local.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from client.play_options import is_url
from connect.session.queue_upload import QueueUploadError

__all__ = ["check_url", "entries_from_file", "title_of", "upload_refused"]


def check_url(url: str) -> str:
    """Return *url* if a device would play it (http or https, a host); raise ValueError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url


def title_of(url: str) -> str:
    """Return a title for *url*: its file name without the suffix, decoded."""
    return PurePosixPath(unquote(urlsplit(url).path)).stem or url


def entries_from_file(path: str) -> list[str]:
    """Return the URLs and paths listed in the file at *path* ("-": standard input), paths
    made absolute; raise ValueError saying why not (the file unreadable, a bad URL's line)."""
    if path == "-":
        return list(_listed(sys.stdin, "standard input", Path.cwd()))
    try:
        with Path(path).open(encoding="utf-8") as lines:
            return list(_listed(lines, path, Path(path).resolve().parent))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None


def _listed(lines: Iterable[str], where: str, folder: Path) -> Iterator[str]:
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if not is_url(text):
            yield str(folder / text)  # an absolute path stays as it is
            continue
        try:
            yield check_url(text)
        except ValueError as exc:
            raise ValueError(f"{where}, line {number}: {exc}") from None


def upload_refused(device: str, exc: QueueUploadError, total: int) -> str:
    """Return the line that says a device refused part of a queue of *total* items."""
    failure = exc.result.failure
    code = failure.code.name.lower() if failure else "refused"
    return f"{device} refused ({code}) after {exc.queued} of {total} items: {exc}"
