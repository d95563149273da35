"""Range checks that matter, applied to messages in both directions (decode and encode).

Each check raises ValueError naming the field; the codec turns that into MalformedFrameError
(decoding) or EncodeError (encoding), so the wire never carries what a peer would refuse.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from connect.messages import QueueItem, VersionRange

MAX_ID_BYTES = 128  # identifiers (ids, uids, command and transfer ids), proto "Identifiers"
MAX_RATE = 4.0


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
