"""The live stream: in-memory fan-out of new records to Server-Sent-Events subscribers.

Ingest never waits on a viewer: `LiveHub.publish` only does `put_nowait` into each subscriber's
bounded queue. A subscriber whose queue overflows is told so and disconnected; its browser
reconnects with `Last-Event-ID` and catches up from SQLite (the SSE id is the record's `seq`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracing._query import Filters, Scope

_LOG = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000  # events buffered per subscriber before it is cut off


def sse_event(row: dict[str, Any], text: str | None = None) -> bytes:
    """Format one record as an SSE `record` event whose id is its seq."""
    body = text if text is not None else json.dumps(row, separators=(",", ":"))
    return f"id: {row['seq']}\nevent: record\ndata: {body}\n\n".encode()


@dataclass(eq=False)
class Subscriber:
    """One connected stream: what it may see, what it asked for, and its bounded queue."""

    scope: Scope
    filters: Filters
    queue: asyncio.Queue[tuple[dict[str, Any], str]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, row: dict[str, Any]) -> bool:
        """Whether this subscriber may and wants to see a record."""
        if self.scope.user_id is not None and row["user_id"] != self.scope.user_id:
            return False
        return self.filters.matches(row)


class LiveHub:
    """Fans out newly stored records to subscribers; call only on the event-loop thread."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, scope: Scope, filters: Filters) -> Subscriber:
        """Register a subscriber; its queue starts receiving from now on."""
        sub = Subscriber(scope, filters)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a subscriber (idempotent)."""
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        """How many streams are connected."""
        return len(self._subscribers)

    def publish(self, rows: Sequence[dict[str, Any]]) -> None:
        """Offer new records to every subscriber without ever blocking."""
        if not self._subscribers or not rows:
            return
        texts: dict[int, str] = {}
        for sub in list(self._subscribers):
            if sub.overflowed.is_set():
                continue
            for row in rows:
                if not sub.wants(row):
                    continue
                seq = row["seq"]
                text = texts.get(seq)
                if text is None:
                    text = texts[seq] = json.dumps(row, separators=(",", ":"), default=str)
                try:
                    sub.queue.put_nowait((row, text))
                except asyncio.QueueFull:
                    _LOG.warning("live stream subscriber fell %d events behind", QUEUE_LIMIT)
                    sub.overflowed.set()
                    break
