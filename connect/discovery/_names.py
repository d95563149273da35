"""The advertiser's instance and host names, and the watch for another device taking ours."""

from __future__ import annotations

import re
from collections.abc import Callable

from zeroconf import RecordUpdate, RecordUpdateListener, Zeroconf

_TYPE_TXT = 16  # RFC 1035 §3.2.2; zeroconf keeps its record type constants private
_MAX_INSTANCE_BYTES = 63  # RFC 6763 §4.1.1: the instance name is one DNS label


def candidate_names(name: str, limit: int = 100) -> list[str]:
    """Return the instance names to try in order: *name*, "*name* (2)", ... each ≤ 63 bytes."""
    names = []
    for n in range(1, limit + 1):
        suffix = "" if n == 1 else f" ({n})"
        base = name.encode()[: _MAX_INSTANCE_BYTES - len(suffix)].decode("utf-8", "ignore")
        names.append(base + suffix)
    return names


class _ConflictWatch(RecordUpdateListener):
    """Notice a TXT for our instance name that carries another device id (RFC 6762 §9)."""

    def __init__(
        self, own_id: str, current_key: Callable[[], str | None], on_conflict: Callable[[str], None]
    ) -> None:
        self._own_id = own_id
        self._current_key = current_key  # the lower-cased full name advertised now, or None
        self._on_conflict = on_conflict

    def async_update_records(self, zc: Zeroconf, now: float, records: list[RecordUpdate]) -> None:
        """Check each received TXT record against the name being advertised."""
        key = self._current_key()
        if key is None:
            return
        for update in records:
            rec = update.new
            if rec.type != _TYPE_TXT or rec.key != key or rec.ttl == 0:
                continue
            other = _txt_id(getattr(rec, "text", b""))
            if other and other != self._own_id:
                self._on_conflict(other)


def _txt_id(text: bytes) -> str | None:
    """Return the `id` value of a wire-format TXT rdata (length-prefixed strings)."""
    pos = 0
    while pos < len(text):
        length = text[pos]
        item = text[pos + 1 : pos + 1 + length]
        pos += 1 + length
        key, _, value = item.partition(b"=")
        if key.lower() == b"id":
            return value.decode("utf-8", "replace")
    return None


def _host_label(device_id: str) -> str:
    # One host name per device id, so two receivers on one machine never share A records.
    label = re.sub(r"[^a-z0-9-]+", "-", device_id.lower()).strip("-")[:50]
    return f"baton-{label or 'device'}"
