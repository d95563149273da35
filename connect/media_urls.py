"""Which media URLs a device opens: http and https only (Baton issue 13, item 3).

A device's player (libVLC) would also open `file://`, `smb://`, capture devices and dozens of
other schemes: a controller must never make a device read its own files and play them to the
room. The session rules refuse such a queue (connect.session.playback), a transfer target
such an offer, a receiver such a saved session, and its player such a URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from connect.wire import messages as m

MEDIA_URL_SCHEMES = ("http", "https")
"""The only media a device opens."""
_CONTROL = re.compile("[\x00-\x1f\x7f]")  # searched in C: a queue of 50 000 URLs is checked


def is_media_url(url: str) -> bool:
    """Return whether a device may open *url*: http or https, with a host, no control bytes."""
    if _CONTROL.search(url):
        return False  # a parser that drops them would read another URL than the player does
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    scheme = parts.scheme.lower()
    # urlsplit strips leading spaces: the text itself must start with the scheme and "//".
    if scheme not in MEDIA_URL_SCHEMES or not url.lower().startswith(f"{scheme}://"):
        return False
    return bool(parts.hostname)


def media_url_refusal(items: Iterable[m.QueueItem]) -> m.Failure | None:
    """Return the INVALID_ARGUMENT failure for the first item a device must not open, or None."""
    for item in items:
        if not is_media_url(item.url):
            return m.Failure(
                m.ErrorCode.INVALID_ARGUMENT,
                f"queue item {item.uid!r}: {describe_url(item.url)}; "
                f"a device plays only {' and '.join(MEDIA_URL_SCHEMES)} URLs",
            )
    return None


def describe_url(url: str) -> str:
    """Say what is wrong with a URL that is_media_url refuses, without repeating all of it."""
    scheme = url.partition(":")[0] if ":" in url else ""
    if _CONTROL.search(url):
        return "the URL holds control characters"
    if scheme.isascii() and scheme.isalnum() and scheme.lower() not in MEDIA_URL_SCHEMES:
        return f"{scheme.lower()}: URLs are refused"
    return "not an http(s) URL with a host"
