"""Range checks that matter, applied to messages in both directions (decode and encode).

Each check raises ValueError naming the field; the codec turns that into MalformedFrameError
(decoding) or EncodeError (encoding), so the wire never carries what a peer would refuse.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from connect.wire.messages import QueueItem, VersionRange

MAX_ID_BYTES = 128  # identifiers (ids, uids, command and transfer ids), proto "Identifiers"
MAX_RATE = 4.0
MAX_URL_BYTES = 512  # a device's base URL (scheme, host, port) is far shorter
# What a transfer id may hold to be named in a URL path: RFC 3986's unreserved characters.
_PATH_ID = re.compile(rf"[A-Za-z0-9._~-]{{1,{MAX_ID_BYTES}}}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def check_id(field: str, value: str) -> None:
    """Refuse an identifier longer than MAX_ID_BYTES."""
    # UTF-8 takes at most 4 bytes a character, so short strings skip the encoding.
    if len(value) > MAX_ID_BYTES // 4 and len(value.encode()) > MAX_ID_BYTES:
        raise ValueError(f"{field} is longer than {MAX_ID_BYTES} bytes")


def check_percent(field: str, value: int) -> None:
    """Refuse a percentage outside 0..100."""
    if not 0 <= value <= 100:
        raise ValueError(f"{field} must be 0..100, got {value}")


def check_rate(rate: float) -> None:
    """Refuse a playback rate that is not finite or not in (0, MAX_RATE]."""
    if not (math.isfinite(rate) and 0 < rate <= MAX_RATE):
        raise ValueError(f"clock.rate must be in (0, {MAX_RATE}], got {rate}")


def check_version_range(field: str, versions: VersionRange) -> None:
    """Refuse a range whose lowest version is above its highest."""
    if versions.lowest > versions.highest:
        raise ValueError(f"{field}: min {versions.lowest} is above max {versions.highest}")


def check_queue(items: Iterable[QueueItem], current_uid: str = "") -> None:
    """Refuse empty, over-long or repeated uids, and a current uid that is not in the queue."""
    seen: set[str] = set()
    for item in items:
        if not item.uid:
            raise ValueError("queue item without uid")
        check_id("queue item uid", item.uid)
        if item.uid in seen:
            raise ValueError(f"queue item uid {item.uid!r} appears twice")
        seen.add(item.uid)
    if current_uid and current_uid not in seen:
        raise ValueError(f"current_uid {current_uid!r} is not in the queue")


def check_uids(field: str, uids: Iterable[str], *, at_least_one: bool = True) -> None:
    """Refuse empty, over-long or repeated queue item uids (and none at all, if asked)."""
    seen: set[str] = set()
    for uid in uids:
        if not uid:
            raise ValueError(f"{field}: an empty uid")
        check_id(field, uid)
        if uid in seen:
            raise ValueError(f"{field}: uid {uid!r} appears twice")
        seen.add(uid)
    if at_least_one and not seen:
        raise ValueError(f"{field}: no uid")


def check_path_id(field: str, value: str) -> None:
    """Refuse an id that cannot be a URL path segment as is (empty, too long, reserved chars)."""
    if not _PATH_ID.fullmatch(value):
        raise ValueError(f"{field} must be 1..{MAX_ID_BYTES} of A-Z a-z 0-9 . _ ~ -")


def check_transfer_target(device_id: str, url: str) -> None:
    """Refuse a commit's target address a source could not ask safely.

    The URL is empty (do not ask), http://, or https:// with the device id being the
    certificate fingerprint to pin: a TLS target whose certificate cannot be checked is refused.
    """
    check_id("target_device_id", device_id)
    if url:
        check_base_url("target_url", "target_device_id", device_id, url)


def check_base_url(field: str, id_field: str, device_id: str, url: str) -> None:
    """Refuse a device's base URL that could not be asked safely (see check_transfer_target)."""
    if len(url) > MAX_URL_BYTES // 4 and len(url.encode()) > MAX_URL_BYTES:
        raise ValueError(f"{field} is longer than {MAX_URL_BYTES} bytes")
    if url.startswith("https://"):
        if not _FINGERPRINT.fullmatch(device_id):
            raise ValueError(f"an https {field} needs {id_field} to be its fingerprint")
    elif not url.startswith("http://"):
        raise ValueError(f"{field} must start with http:// or https://")
