"""OTLP resources as the collector keeps them: their attributes, canonical JSON and identity.

Sans-IO like `tracing._otlp`, whose records each point at the resource they came with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tracing import attributes as a
from tracing._otlp_values import float_or_none, text

# Resource attributes beyond this many bytes of JSON are reduced to the ones the collector
# reads (`IDENTITY_ATTRIBUTES`): a sender cannot make every record drag kilobytes along.
RESOURCE_MAX_BYTES = 2048
IDENTITY_ATTRIBUTES = frozenset(
    {
        a.DEVICE_ID, a.DEVICE_NAME, a.DEVICE_TYPE, a.USER_ID, a.CLOCK_OFFSET_MS,
        "service.name", "service.version",
    }
)  # fmt: skip
REDUCED = "baton.collector.reduced"  # on a reduced resource: how many attributes were dropped
_VALUE_MAX = 256  # characters kept of each identity attribute of a reduced resource


@dataclass(slots=True, eq=False)
class Resource:
    """One OTLP resource as stored: its attributes (and their JSON), and who it names."""

    attrs: dict[str, Any]
    text: str  # attrs as canonical JSON (sorted keys): what is stored, and its identity
    device_id: str
    user_id: str
    device_name: str
    device_type: str
    clock_offset_ms: float | None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resource) and (self.text, self.user_id) == (
            other.text,
            other.user_id,
        )

    def __hash__(self) -> int:
        return hash(self.text)


def resource(attrs: dict[str, Any], user_id: str | None) -> Resource:
    """Return a request's resource: *attrs*, filed under *user_id* when the sender logged in."""
    if user_id is not None:
        attrs[a.USER_ID] = user_id  # the authenticated user, whatever was claimed
    device_id = text(attrs.get(a.DEVICE_ID)) or text(attrs.get("service.instance.id"))
    device_id = device_id or text(attrs.get("service.name")) or "unknown"
    canonical = _canonical(attrs)
    if len(canonical) > RESOURCE_MAX_BYTES:
        attrs = reduce_attributes(attrs)
        canonical = _canonical(attrs)
    return Resource(
        attrs,
        canonical,
        device_id[:_VALUE_MAX],
        text(attrs.get(a.USER_ID)),
        text(attrs.get(a.DEVICE_NAME)),
        text(attrs.get(a.DEVICE_TYPE)),
        float_or_none(attrs.get(a.CLOCK_OFFSET_MS)),
    )


def _canonical(attrs: dict[str, Any]) -> str:
    """A resource's attributes as the JSON text that identifies it (sorted keys)."""
    return json.dumps(attrs, sort_keys=True, separators=(",", ":"), default=str)


def reduce_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """Keep only `IDENTITY_ATTRIBUTES` (shortened), and say how many others were dropped."""
    kept = {
        key: value[:_VALUE_MAX] if isinstance(value, str) else value
        for key, value in attrs.items()
        if key in IDENTITY_ATTRIBUTES and isinstance(value, str | int | float)
    }
    kept[REDUCED] = len(attrs) - len(kept) + int(REDUCED in attrs)
    return kept


def reduced_resource(res: Resource) -> Resource:
    """Return *res* reduced to its identity attributes (for a sender over its resource cap)."""
    attrs = reduce_attributes(res.attrs)
    return Resource(
        attrs,
        _canonical(attrs),
        res.device_id,
        res.user_id,
        res.device_name,
        res.device_type,
        res.clock_offset_ms,
    )
