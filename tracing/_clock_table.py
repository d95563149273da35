"""The collector's `clock_samples` table: the bounds `tracing._clock` folds into clock offsets.

Written in the store's ingest transaction (`add_samples`), read by `estimates`.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence

from tracing import _clock
from tracing._otlp import SPAN, Record
from tracing._query import Scope, id_key

SCHEMA = """
-- Clock-offset bounds (tracing._clock): per ingest batch and (sender device, receiver device),
-- the smallest receiver start − sender start; the newest _clock.WINDOW are kept per link.
CREATE TABLE IF NOT EXISTS clock_samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    from_device TEXT NOT NULL,
    to_device TEXT NOT NULL,
    delta_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS clock_samples_link
    ON clock_samples (user_id, from_device, to_device, id);
"""

_HANDLE_KINDS = (2, 5)  # OTLP SpanKind SERVER and CONSUMER: a handler of a message


def add_samples(db: sqlite3.Connection, fresh: Sequence[Record], before: int) -> None:
    """Keep one sample per link from the records just stored (*fresh*; older ones: seq ≤ before)."""
    links = [(*link, delta) for link, delta in _tightest_pairs(db, fresh, before).items()]
    if not links:
        return
    # Two statements for the whole group (200 devices' requests touch hundreds of links).
    db.executemany(
        "INSERT INTO clock_samples (user_id, from_device, to_device, delta_ns) VALUES (?,?,?,?)",
        links,
    )
    db.executemany(
        "DELETE FROM clock_samples WHERE user_id = ?1 AND from_device = ?2 AND to_device = ?3 "
        "AND id <= (SELECT id FROM clock_samples WHERE user_id = ?1 AND from_device = ?2 "
        "AND to_device = ?3 ORDER BY id DESC LIMIT 1 OFFSET ?4)",
        [(*link[:3], _clock.WINDOW) for link in links],
    )


def _tightest_pairs(
    db: sqlite3.Connection, fresh: Sequence[Record], before: int
) -> dict[tuple[str, str, str], int]:
    """Return the smallest child start − parent start per (user, parent device, child device)
    over the cross-device parent → child pairs that *fresh* completes.

    A pair is found from the child's side (its parent in this batch or stored earlier),
    else from the sender's (children stored earlier). A sender whose children are partly
    in this batch is not searched for older ones: a missed sample only loosens a bound.
    """
    spans = [r for r in fresh if r.kind == SPAN]
    # Parents of another device's spans are sender spans (they name the peer): only those
    # are looked up in the batch; any other parent is found in the table.
    senders = {(r.trace_id, r.span_id): r for r in spans if r.peer_device_id}
    tightest: dict[tuple[str, str, str], int] = {}

    def note(parent: _Side, child: _Side) -> None:
        (user, device, start), (child_user, child_device, child_start) = parent, child
        if user != child_user or device == child_device:
            return  # local work, or two users' devices: no link between their clocks
        key = (user, device, child_device)
        delta = child_start - start
        tightest[key] = min(tightest.get(key, delta), delta)

    paired: set[tuple[str, str]] = set()
    orphans: dict[tuple[str, str], list[Record]] = {}  # parent key -> handlers, parent stored
    for r in spans:
        if r.span_kind not in _HANDLE_KINDS or not r.parent_id:
            continue
        key = (r.trace_id, r.parent_id)
        parent = senders.get(key)
        if parent is None:
            orphans.setdefault(key, []).append(r)
            continue
        # note(), inlined: this loop sees every span of every request
        paired.add(key)
        user, device = parent.user_id, parent.device_id
        if user == r.user_id and device != r.device_id:
            link = (user, device, r.device_id)
            delta = r.start_ns - parent.start_ns
            known = tightest.get(link)
            if known is None or delta < known:
                tightest[link] = delta
    # Stored parents of this batch's handlers, and stored handlers of its senders: one query
    # per few hundred keys rather than one per span (a batch's spans are mostly unpaired).
    for trace_id, span_id, user, device, start in _stored(db, _SPAN_BY_ID, list(orphans)):
        for child in orphans.get((trace_id, span_id), ()):
            note((user, device, start), _side(child))
    unpaired = [key for key in senders if key not in paired]
    for trace_id, parent_id, user, device, start in _stored(
        db, _HANDLERS_OF, unpaired, (*_HANDLE_KINDS, before)
    ):
        sender = senders.get((trace_id, parent_id))
        if sender is not None:
            note(_side(sender), (user, device, start))
    return tightest


# By trace key (the unique index's first column); the ids themselves are matched in `_stored`.
_SPAN_BY_ID = (
    "SELECT trace_id, span_id, user_id, device_id, start_ns FROM records WHERE tk IN ({traces})"
)
_HANDLERS_OF = (
    "SELECT trace_id, parent_id, user_id, device_id, start_ns FROM records "
    "WHERE tk IN ({traces}) AND kind = 'span' AND span_kind IN (?, ?) AND seq <= ?"
)
_TRACES_PER_QUERY = 500  # parameters per query, far below SQLite's limit


def _stored(
    db: sqlite3.Connection,
    query: str,
    keys: Sequence[tuple[str, str]],
    extra: tuple[int, ...] = (),
) -> Iterator[tuple[str, str, str, str, int]]:
    """Return the rows of *query* whose (trace id, second id) is one of *keys*."""
    wanted = set(keys)
    traces = sorted({id_key(trace) for trace, _ in keys})
    for first in range(0, len(traces), _TRACES_PER_QUERY):
        chunk = traces[first : first + _TRACES_PER_QUERY]
        sql = query.format(traces=",".join("?" * len(chunk)))
        for row in db.execute(sql, (*chunk, *extra)):
            if (row[0], row[1]) in wanted:
                yield row


_Side = tuple[str, str, int]  # one span of a pair: (user id, device id, start ns)


def _side(r: Record) -> _Side:
    return r.user_id, r.device_id, r.start_ns


def estimates(db: sqlite3.Connection, scope: Scope) -> dict[tuple[str, str], _clock.ClockEstimate]:
    """Return each visible device's clock offset estimate, keyed by (user id, device id)."""
    where, params = scope.clause()
    samples: dict[str, list[_clock.Sample]] = defaultdict(list)
    for user, sender, receiver, delta in db.execute(
        "SELECT user_id, from_device, to_device, delta_ns "  # noqa: S608
        f"FROM clock_samples WHERE {where}",
        params,
    ):
        samples[user].append(_clock.Sample(sender, receiver, delta))
    controllers: dict[str, set[str]] = defaultdict(set)
    for user, device in db.execute(
        f"SELECT user_id, device_id FROM devices WHERE type = 'controller' AND {where}",  # noqa: S608
        params,
    ):
        controllers[user].add(device)
    out: dict[tuple[str, str], _clock.ClockEstimate] = {}
    for user, user_samples in samples.items():
        bounds = _clock.link_bounds(user_samples).values()
        for device, estimate in _clock.estimate_offsets(bounds, controllers[user]).items():
            out[(user, device)] = estimate
    return out
