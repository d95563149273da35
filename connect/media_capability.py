"""Media capability URLs: how a Baton media server names what it serves, and how a device knows one.

The app and `baton play` serve local files at `http://ADDRESS:PORT/media/TOKEN/PATH`. TOKEN is
43 characters of URL-safe base64 (256 bits) that only the server can make: it is the
capability for that one PATH, and it changes each time a server starts (client/library_server.py
says how). Without it the server answers 404 and says nothing of what it holds, so a URL that
leaked (a log, a trace, a saved queue) opens one file at most, and only until the app restarts.

Both ends need the shape: the server builds such URLs (client/library_server.py), and a device
that fails to open one can tell the listener why in plain words (devices/_vlc_log.py): a 404
for a capability URL means the server that made it has restarted and its token is gone, not
that a track vanished (a missing file under a live token is answered 410).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MEDIA_PATH_PREFIX = "/media/"
TOKEN_LENGTH = 43  # len(base64url(32 bytes)) without padding

_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")
_CAPABILITY_PATH = re.compile(rf"{re.escape(MEDIA_PATH_PREFIX)}{_TOKEN.pattern}/[^/]")

SOURCE_RESTARTED = (
    "the music's source is gone: the app that served it has restarted; play it again from there"
)
SOURCE_STOPPED = (
    "the music's source is gone: the app that served it has stopped or restarted; "
    "play it again from there"
)


def is_media_token(text: str) -> bool:
    """Return whether *text* has the shape of a capability token."""
    return _TOKEN.fullmatch(text) is not None


def is_capability_url(url: str) -> bool:
    """Return whether *url* is a Baton media capability URL (`/media/TOKEN/...` over http(s))."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and _CAPABILITY_PATH.match(parts.path) is not None


def library_path_of(url: str) -> str:
    """Return the decoded path inside the served folder that capability *url* opens
    ("Album/01 Song.flac"), or "" if *url* is not a capability URL."""
    if not is_capability_url(url):
        return ""
    path = unquote(urlsplit(url).path)
    return path[len(MEDIA_PATH_PREFIX) + TOKEN_LENGTH + 1 :]
