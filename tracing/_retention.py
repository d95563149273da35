"""Retention: what the collector deletes, and in which order, to stay within its age and size.

Runs on the store's writing connection (`Store.enforce_retention`). Every insert counts what
it stored (`account_stored`), every deletion un-counts what it deleted (`account_deleted`),
and whatever nothing points at any more goes with it: resources no record uses, devices with
no record left, their clock samples.

The order, when the data is over its size:

1. Records no viewer user can see (their `baton.user.id` names no registered user: only admins
   see them) go first, the largest such sender first.
2. Then the largest sender's oldest records, where a sender is a `baton.user.id` (with ingest
   tokens, the user the token belongs to). Its records of the last hour (`PROTECT_S`) are
   kept as long as it has older ones.

So one sender's flood evicts that sender's own records, and a user's last hour goes only once
that user is the largest sender and has nothing older left.
"""

from __future__ import annotations

import operator
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tracing import _users

if TYPE_CHECKING:
    from tracing._otlp import Record

PROTECT_S = 3600.0
ROW_OVERHEAD = 200  # bytes a record costs beyond its name and data: ids, columns, index entries
RESOURCE_OVERHEAD = 100
_MIN_CHUNK, _MAX_CHUNK = 20, 5000
_MAX_ROUNDS = 100_000  # a bound on the size loop whatever the accounting says

# What a deleted record returns, to be un-counted: its seq, sender, device, resource and size.
_RETURNING = (
    f"RETURNING seq, user_id, device_id, resource_id, LENGTH(data) + LENGTH(name) + {ROW_OVERHEAD}"
)


def enforce(db: sqlite3.Connection, max_age_s: float, max_bytes: int, chunk: int = 5000) -> int:
    """Delete records older than *max_age_s* by receipt, then evict (see above) until the data
    fits in *max_bytes*; return how many records were deleted."""
    now = time.time_ns()
    deleted = _expire(db, now - int(max_age_s * 1e9), chunk)
    deleted += _evict(db, max_bytes, now - int(PROTECT_S * 1e9))
    if deleted:
        _vacuum(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return deleted


def _vacuum(db: sqlite3.Connection) -> None:
    """Give freed pages back to the filesystem (a database made with auto_vacuum=INCREMENTAL).

    Python's sqlite3 runs a statement that returns no columns for one step only, and this
    pragma frees one page a step: so once per free page.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        (free,) = db.execute("PRAGMA freelist_count").fetchone()
        for _ in range(free):
            db.execute("PRAGMA incremental_vacuum(1)")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def used_bytes(db: sqlite3.Connection) -> int:
    """Return the bytes of database pages in use (free pages excluded)."""
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    (free,) = db.execute("PRAGMA freelist_count").fetchone()
    (size,) = db.execute("PRAGMA page_size").fetchone()
    return int((pages - free) * size)


def _expire(db: sqlite3.Connection, cutoff: int, chunk: int) -> int:
    deleted = 0
    while True:
        # Seq order is receipt order: the old records are a prefix of the table.
        last = _last_before(db.execute(_OLDEST, (chunk,)).fetchall(), cutoff)
        if last is None:
            return deleted
        deleted += _delete(db, "seq <= ?", (last,))


_OLDEST = "SELECT seq, received_ns FROM records ORDER BY seq LIMIT ?"
_OLDEST_OF = "SELECT seq, received_ns FROM records WHERE user_id = ? ORDER BY seq LIMIT ?"


def _last_before(rows: Sequence[tuple[int, int]], cutoff: int) -> int | None:
    last = None
    for seq, received in rows:
        if received >= cutoff:
            break
        last = seq
    return last


def _evict(db: sqlite3.Connection, max_bytes: int, protect_from: int) -> int:
    deleted = 0
    registered = _users.registered_user_ids(db)
    for _ in range(_MAX_ROUNDS):
        used = used_bytes(db)
        excess = used - max_bytes
        if excess <= 0:
            break
        victim = _victim(db, registered)
        if victim is None:
            break  # nothing left to delete: the budget is below the empty database
        chunk = _chunk(db, used, excess)
        oldest = db.execute(_OLDEST_OF, (victim, chunk)).fetchall()
        if not oldest:
            # Its count says it holds data, its records say not: correct the count, go on.
            db.execute("UPDATE senders SET bytes = 0 WHERE user_id = ?", (victim,))
            prune(db)
            continue
        last = None if victim not in registered else _last_before(oldest, protect_from)
        # Unregistered senders get no protection; a registered one's last hour goes only
        # once it has nothing older.
        deleted += _delete(
            db, "user_id = ? AND seq <= ?", (victim, oldest[-1][0] if last is None else last)
        )
    return deleted


def _chunk(db: sqlite3.Connection, used: int, excess: int) -> int:
    """Return how many records to delete next: about half the excess, by the average record.

    Half, because the seq range overcounts records (gaps), and because freeing rows frees
    index pages only partly: the loop converges from below instead of overshooting.
    """
    (low, high) = db.execute("SELECT MIN(seq), MAX(seq) FROM records").fetchone()
    average = used / max(1, (high or 0) - (low or 0) + 1)
    return max(_MIN_CHUNK, min(_MAX_CHUNK, int(excess / average / 2)))


def _victim(db: sqlite3.Connection, registered: set[str]) -> str | None:
    """Return the sender to evict from: the largest unregistered one, else the largest."""
    largest = None
    for user_id, _ in db.execute(
        "SELECT user_id, bytes FROM senders WHERE bytes > 0 ORDER BY bytes DESC"
    ):
        if user_id not in registered:
            return str(user_id)
        if largest is None:
            largest = str(user_id)
    return largest


def _delete(db: sqlite3.Connection, where: str, params: tuple[object, ...]) -> int:
    db.execute("BEGIN IMMEDIATE")
    try:
        rows = db.execute(f"DELETE FROM records WHERE {where} {_RETURNING}", params).fetchall()  # noqa: S608
        account_deleted(db, rows)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return len(rows)


_USER_DEVICE = operator.attrgetter("user_id", "device_id")
_DATA = operator.attrgetter("data")
_NAME = operator.attrgetter("name")


def account_stored(
    db: sqlite3.Connection,
    stored: Sequence[Record],
    resource_ids: Sequence[int],
    seen: Sequence[Record],
) -> None:
    """Count what an insert stored (each with its resource id): per sender its bytes, per
    resource and device its records; and update every device *seen*, stored or not."""
    # map() and Counter walk the records in C: these loops see every record of a group.
    by_device = Counter(map(_USER_DEVICE, stored))
    users = {user for user, _ in by_device}
    by_sender: dict[str, int] = {}
    if len(users) == 1:  # the common group: one user's devices
        size = sum(map(len, map(_DATA, stored))) + sum(map(len, map(_NAME, stored)))
        by_sender[users.pop()] = size + ROW_OVERHEAD * len(stored)
    else:
        for r in stored:
            user = r.user_id
            by_sender[user] = by_sender.get(user, 0) + len(r.data) + len(r.name) + ROW_OVERHEAD
    db.executemany(
        "INSERT INTO senders (user_id, bytes) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET bytes = bytes + excluded.bytes",
        list(by_sender.items()),
    )
    db.executemany(
        "UPDATE resources SET refs = refs + ? WHERE id = ?",
        [(n, rid) for rid, n in Counter(resource_ids).items()],
    )
    latest = dict(zip(map(_USER_DEVICE, seen), seen, strict=True))  # the last one wins
    now = time.time_ns()
    db.executemany(
        "INSERT INTO devices (user_id, device_id, name, type, clock_offset_ms, "
        "first_seen_ns, last_seen_ns, records) VALUES (?,?,?,?,?,?,?,?) "
        "ON CONFLICT (user_id, device_id) DO UPDATE SET "
        "name = CASE excluded.name WHEN '' THEN name ELSE excluded.name END, "
        "type = CASE excluded.type WHEN '' THEN type ELSE excluded.type END, "
        "clock_offset_ms = COALESCE(excluded.clock_offset_ms, clock_offset_ms), "
        "last_seen_ns = excluded.last_seen_ns, records = records + excluded.records",
        [_device_row(r, now, by_device.get(key, 0)) for key, r in latest.items()],
    )


def _device_row(r: Record, now: int, records: int) -> tuple[Any, ...]:
    """The devices row a record's device gets: who, its name and type, seen now, how many."""
    return (
        r.user_id,
        r.device_id,
        r.device_name,
        r.device_type,
        r.clock_offset_ms,
        now,
        now,
        records,
    )


def account_deleted(db: sqlite3.Connection, rows: Iterable[tuple[int, str, str, int, int]]) -> None:
    """Un-count deleted records (seq, user, device, resource, size), then prune what is unused."""
    by_sender: Counter[str] = Counter()
    by_resource: Counter[int] = Counter()
    by_device: Counter[tuple[str, str]] = Counter()
    highest = 0
    for seq, user_id, device_id, resource_id, size in rows:
        highest = max(highest, seq)
        by_sender[user_id] += size
        by_resource[resource_id] += 1
        by_device[(user_id, device_id)] += 1
    if not highest:
        return
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('deleted_through', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
        (highest,),
    )
    db.executemany(
        "UPDATE senders SET bytes = bytes - ? WHERE user_id = ?",
        [(size, user) for user, size in by_sender.items()],
    )
    db.executemany(
        "UPDATE resources SET refs = refs - ? WHERE id = ?",
        [(n, rid) for rid, n in by_resource.items()],
    )
    db.executemany(
        "UPDATE devices SET records = records - ? WHERE user_id = ? AND device_id = ?",
        [(n, user, device) for (user, device), n in by_device.items()],
    )
    prune(db)


def prune(db: sqlite3.Connection) -> None:
    """Delete resources no record uses, devices with no records, and their clock samples."""
    gone = db.execute(
        "DELETE FROM resources WHERE refs <= 0 "  # noqa: S608  (a constant, no input)
        f"RETURNING sender, LENGTH(attrs) + {RESOURCE_OVERHEAD}"
    ).fetchall()
    freed: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for user_id, size in gone:
        freed[user_id] += size
        counts[user_id] += 1
    db.executemany(
        "UPDATE senders SET bytes = bytes - ?, resources = resources - ? WHERE user_id = ?",
        [(freed[user], counts[user], user) for user in counts],
    )
    devices = db.execute(
        "DELETE FROM devices WHERE records <= 0 RETURNING user_id, device_id"
    ).fetchall()
    db.executemany(
        "DELETE FROM clock_samples WHERE user_id = ? AND (from_device = ? OR to_device = ?)",
        [(user, device, device) for user, device in devices],
    )
    db.execute("DELETE FROM senders WHERE bytes <= 0 AND resources <= 0")
