"""The live stream: in-memory fan-out of new records to Server-Sent-Events subscribers.

Ingest never waits on a viewer: `LiveHub.publish` only appends to each subscriber's bounded
backlog and wakes its stream. Each record's event is formatted once, whoever receives it, and
only if someone does; a subscriber with no filters takes its user's events (or all, for an
admin) without looking at them one by one. A subscriber that falls `QUEUE_LIMIT` events behind
is told so and disconnected; its browser reconnects with `Last-Event-ID` and catches up from
SQLite (the SSE id is the record's `seq`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracing._otlp import Record
from tracing._otlp_values import to_json
from tracing._query import Filters, Scope

_LOG = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000  # events buffered per subscriber before it is cut off
_encode = to_json


def sse_event(row: dict[str, Any]) -> bytes:
    """Format one record row (as the queries return it) as an SSE `record` event."""
    return f"id: {row['seq']}\nevent: record\ndata: {_encode(row)}\n\n".encode()


def record_event(seq: int, r: Record) -> bytes:
    """Format a just-stored record as the same event, splicing in its stored JSON as is."""
    head = _encode(
        {
            "seq": seq, "kind": r.kind, "trace_id": r.trace_id, "span_id": r.span_id,
            "parent_id": r.parent_id, "name": r.name, "span_kind": r.span_kind,
            "start_ns": r.start_ns, "end_ns": r.end_ns, "device_id": r.device_id,
            "user_id": r.user_id, "session_id": r.session_id, "transfer_id": r.transfer_id,
            "peer_device_id": r.peer_device_id, "message_kind": r.message_kind,
            "envelope_seq": r.envelope_seq, "status": r.status, "received_ns": r.received_ns,
        }
    )  # fmt: skip
    # data is a JSON object: the resource goes in as its last member.
    data = f'{r.data[:-1]},"resource":{r.resource.text}}}'
    return f'id: {seq}\nevent: record\ndata: {head[:-1]},"data":{data}}}\n\n'.encode()


@dataclass(eq=False)
class Subscriber:
    """One connected stream: what it may see, what it asked for, and its bounded backlog."""

    scope: Scope
    filters: Filters
    # (seq, event) not yet written; `wake` is set whenever something is added.
    backlog: deque[tuple[int, bytes]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False
    ended: bool = False  # its rights changed or ended: the stream closes (see `end`)
    # The newest seq published before it subscribed: where "from now on" starts.
    start_seq: int = 0

    def wants(self, r: Record) -> bool:
        """Whether this subscriber may and wants to see a record."""
        if self.scope.user_id is not None and r.user_id != self.scope.user_id:
            return False
        return self.filters.matches(r)

    def take(self) -> list[tuple[int, bytes]]:
        """Return and forget everything waiting."""
        items = list(self.backlog)
        self.backlog.clear()
        self.wake.clear()
        return items

    def end(self) -> None:
        """Close this stream at its next wake-up (its token stopped working, or changed)."""
        self.ended = True
        self.wake.set()


class LiveHub:
    """Fans out newly stored records to subscribers; call only on the event-loop thread."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self.last_seq = 0  # the newest seq published

    def subscribe(self, scope: Scope, filters: Filters) -> Subscriber:
        """Register a subscriber; its backlog receives what is published from now on."""
        sub = Subscriber(scope, filters, start_seq=self.last_seq)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a subscriber (idempotent)."""
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> list[Subscriber]:
        """The connected streams."""
        return list(self._subscribers)

    @property
    def subscriber_count(self) -> int:
        """How many streams are connected."""
        return len(self._subscribers)

    def publish(self, fresh: Sequence[tuple[int, Record]]) -> None:
        """Offer newly stored (seq, record)s to every subscriber without ever blocking."""
        if fresh:
            self.last_seq = max(self.last_seq, fresh[-1][0])
        if not self._subscribers or not fresh:
            return
        batch = _Batch(fresh)
        for sub in list(self._subscribers):
            if sub.overflowed or sub.ended:
                continue
            if sub.filters.empty:
                # The common case: a user's (or an admin's) whole view, taken as one list.
                items = (
                    batch.everything()
                    if sub.scope.user_id is None
                    else batch.of_user(sub.scope.user_id)
                )
            else:
                items = [batch.item(i) for i, (_, r) in enumerate(fresh) if sub.wants(r)]
            if not items:
                continue
            if len(sub.backlog) + len(items) > QUEUE_LIMIT:
                _LOG.warning("live stream subscriber fell %d events behind", QUEUE_LIMIT)
                sub.overflowed = True
            else:
                sub.backlog.extend(items)
            sub.wake.set()


class _Batch:
    """One publish's records as (seq, event) items, each event made once, on first use."""

    def __init__(self, fresh: Sequence[tuple[int, Record]]) -> None:
        self._fresh = fresh
        self._items: list[tuple[int, bytes] | None] = [None] * len(fresh)
        self._all: list[tuple[int, bytes]] | None = None
        self._positions: dict[str, list[int]] | None = None  # user id -> record indexes
        self._by_user: dict[str, list[tuple[int, bytes]]] = {}

    def item(self, i: int) -> tuple[int, bytes]:
        """The (seq, event) of the i-th record."""
        item = self._items[i]
        if item is None:
            seq, r = self._fresh[i]
            item = self._items[i] = (seq, record_event(seq, r))
        return item

    def everything(self) -> list[tuple[int, bytes]]:
        """Every record's item, in order."""
        if self._all is None:
            self._all = [self.item(i) for i in range(len(self._fresh))]
        return self._all

    def of_user(self, user_id: str) -> list[tuple[int, bytes]]:
        """The items of one user's records, in order (events made for watched users only)."""
        if self._positions is None:
            self._positions = {}
            for i, (_, r) in enumerate(self._fresh):
                self._positions.setdefault(r.user_id, []).append(i)
        items = self._by_user.get(user_id)
        if items is None:
            positions = self._positions.get(user_id, ())
            items = self._by_user[user_id] = [self.item(i) for i in positions]
        return items
