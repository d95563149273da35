"""The collector's SQLite store (WAL): records, their resources and devices, users; ingest
(de-duplication, accounting) and the queries the viewer makes. Retention is in `_retention`,
users and tokens in `_users`.

Not thread-safe by itself: the server gives the writer and the readers their own `Store` objects,
each used from one thread. Every value is a query parameter; the f-strings (marked `noqa: S608`)
only splice in fixed column names and the placeholder clauses built by `Scope` and `Filters`.

The database file is created readable by its owner only (0600): it holds every user's traces
and the token digests. SQLite gives its -wal and -shm files the same mode.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracing import _clock_table as clock_table
from tracing import _retention, _schema, _users
from tracing._clock import ClockEstimate
from tracing._otlp import ROW_FIELDS, Record, Resource, reduced_resource
from tracing._query import Filters, Scope, id_key
from tracing._users import User, token_digest

__all__ = ["COLUMNS", "FROM", "Store", "User", "decoded_row", "record_row", "token_digest"]

# Resources a sender may hold before its new ones are reduced to their identity attributes
# (tracing._otlp.reduce_attributes), and the reduced ones beyond which its records are refused.
MAX_RESOURCES_PER_SENDER = 1000
MAX_REDUCED_RESOURCES = 100
ANALYZE_EVERY_S = 60.0  # at most, on retention's passes

_INSERT = (
    "INSERT OR IGNORE INTO records (kind, trace_id, span_id, parent_id, name, span_kind, "
    "start_ns, end_ns, device_id, user_id, session_id, transfer_id, peer_device_id, "
    "message_kind, envelope_seq, status, received_ns, data, resource_id, tk, sk) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
# The columns a record row is returned with (`data` is decoded into a dict).
_NAMES = [
    "seq",
    "kind",
    "trace_id",
    "span_id",
    "parent_id",
    "name",
    "span_kind",
    "start_ns",
    "end_ns",
    "device_id",
    "user_id",
    "session_id",
    "transfer_id",
    "peer_device_id",
    "message_kind",
    "envelope_seq",
    "status",
    "received_ns",
    "data",
]
COLUMNS = ", ".join(f"records.{c}" for c in _NAMES) + ", resources.attrs"
# FROM clause of every record query: the row and its resource.
FROM = "records JOIN resources ON resources.id = records.resource_id"

Fresh = tuple[int, Record]  # a record stored by an insert, and its seq


class Store:
    """One SQLite connection to the collector database, used from a single thread."""

    def __init__(
        self, path: str | Path, wal_autocheckpoint: int = 10000, cache_mb: int = 2
    ) -> None:
        _schema.create_private(path)
        # check_same_thread=False: the connection is created on one thread and then used only
        # by the single executor thread the server dedicates to it.
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        # Before any table exists: lets retention hand freed pages back (incremental_vacuum).
        self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        # Checkpoint every ~40 MB of WAL instead of ~4 MB: a page rewritten by many batches is
        # copied into the database once per checkpoint, which cut insert cost by about a
        # quarter in measurement. Readers are unaffected (WAL). A small retention budget asks
        # for less (the WAL is disk too).
        self._db.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        # The writer asks for more: every insert walks the (trace key, span key) index at a
        # random place, and pages kept here need no read from the OS.
        self._db.execute(f"PRAGMA cache_size={-1024 * int(cache_mb)}")
        self._db.execute("PRAGMA analysis_limit=400")  # rows ANALYZE samples an index
        self._analyzed_at = -ANALYZE_EVERY_S  # time.monotonic() of the last ANALYZE
        self._db.execute("BEGIN IMMEDIATE")  # one migrating process at a time
        try:
            _schema.migrate_columns(self._db)
            _schema.migrate_keys(self._db)
            self._db.executescript(_schema.SCHEMA)  # executescript commits the BEGIN above
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.executescript(_users.SCHEMA)
        self._db.executescript(clock_table.SCHEMA)
        self._finish_migration()
        # (sender, resource JSON) -> resource id, filled as resources are seen; cleared
        # whenever retention prunes resources.
        self._resource_ids: dict[tuple[str, str], int] = {}

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._db.close()

    # ------------------------------------------------------------ ingest
    def insert(self, records: Sequence[Record]) -> list[dict[str, Any]]:
        """Store records not seen before (by trace id + span id); return the new ones by seq."""
        fresh, _ = self.insert_batches([records])
        return [record_row(seq, r) for seq, r in fresh]

    def insert_batches(self, batches: Sequence[Sequence[Record]]) -> tuple[list[Fresh], list[int]]:
        """Store the records of several requests in one transaction (a group commit).

        Returns the records not seen before, by seq, and per batch how many of its records
        were refused (their sender has too many distinct resources).
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            (before,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchone()
            rows: list[tuple[Any, ...]] = []
            submitted: list[Record] = []
            refused = []
            for batch in batches:
                ids: dict[int, tuple[int, Resource] | None] = {}
                n, last, rid, stored = 0, None, 0, None
                for r in batch:
                    res = r.resource
                    if res is not last:  # a request's records come resource by resource
                        last = res
                        if id(res) not in ids:
                            ids[id(res)] = self._resource_id(res)
                        found = ids[id(res)]
                        rid, stored = (0, None) if found is None else found
                    if stored is None:
                        n += 1
                        continue
                    if stored is not res:
                        r = r._replace(resource=stored)
                    rows.append((*r[:ROW_FIELDS], rid, id_key(r.trace_id), id_key(r.span_id)))
                    submitted.append(r)
                refused.append(n)
            changes = db.total_changes
            db.executemany(_INSERT, rows)
            fresh, resource_ids = self._fresh(before, db.total_changes - changes, rows, submitted)
            new = [r for _, r in fresh]
            _retention.account_stored(db, new, resource_ids, submitted)
            clock_table.add_samples(db, new, before)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._resource_ids.clear()  # may name resources the rollback just removed
            raise
        return fresh, refused

    def _fresh(
        self, before: int, inserted: int, rows: Sequence[tuple[Any, ...]], submitted: list[Record]
    ) -> tuple[list[Fresh], list[int]]:
        """Return the records just inserted with their seqs, and their resource ids."""
        if inserted == len(submitted):
            # Nothing ignored: one insert after another took consecutive seqs, in order.
            (last,) = self._db.execute("SELECT last_insert_rowid()").fetchone()
            first = last - inserted + 1
            return list(zip(range(first, last + 1), submitted, strict=True)), [
                row[ROW_FIELDS] for row in rows
            ]
        # Some were duplicates: find which rows are new (the first copy of each key won).
        by_key: dict[tuple[str, str], Record] = {}
        for r in submitted:
            by_key.setdefault((r.trace_id, r.span_id), r)
        new = self._db.execute(
            "SELECT seq, trace_id, span_id, resource_id FROM records WHERE seq > ? ORDER BY seq",
            (before,),
        ).fetchall()
        return [(seq, by_key[(t, sp)]) for seq, t, sp, _ in new], [rid for *_, rid in new]

    def _resource_id(self, res: Resource) -> tuple[int, Resource] | None:
        """Return the id of *res* as stored (reduced if its sender holds too many), else None."""
        found = self._lookup(res)
        if found is not None:
            return found, res
        (count,) = self._db.execute(
            "SELECT COALESCE((SELECT resources FROM senders WHERE user_id = ?), 0)",
            (res.user_id,),
        ).fetchone()
        if count >= MAX_RESOURCES_PER_SENDER:
            res = reduced_resource(res)
            found = self._lookup(res)
            if found is not None:
                return found, res
            if count >= MAX_RESOURCES_PER_SENDER + MAX_REDUCED_RESOURCES:
                return None
        (rid,) = self._db.execute(
            "INSERT INTO resources (digest, attrs, sender) VALUES (?,?,?) RETURNING id",
            (_digest(res), res.text, res.user_id),
        ).fetchone()
        self._db.execute(
            "INSERT INTO senders (user_id, bytes, resources) VALUES (?, ?, 1) "
            "ON CONFLICT (user_id) DO UPDATE SET bytes = bytes + excluded.bytes, "
            "resources = resources + 1",
            (res.user_id, len(res.text) + _retention.RESOURCE_OVERHEAD),
        )
        self._resource_ids[(res.user_id, res.text)] = rid
        return rid, res

    def _lookup(self, res: Resource) -> int | None:
        key = (res.user_id, res.text)
        rid = self._resource_ids.get(key)
        if rid is None:
            row = self._db.execute(
                "SELECT id FROM resources WHERE digest = ?", (_digest(res),)
            ).fetchone()
            if row is not None:
                rid = self._resource_ids[key] = row[0]
        return rid

    def _finish_migration(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is not None and row[0] >= _schema.VERSION:
            return
        _schema.recount(self._db)
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('schema', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_schema.VERSION,),
        )

    # ------------------------------------------------------------ queries
    def clock_estimates(self, scope: Scope) -> dict[tuple[str, str], ClockEstimate]:
        """Return each visible device's clock offset estimate, keyed by (user id, device id)."""
        return clock_table.estimates(self._db, scope)

    def records_after(
        self, scope: Scope, filters: Filters, after: int, limit: int
    ) -> list[dict[str, Any]]:
        """Return up to `limit` records with seq > `after`, oldest first."""
        where, params = _where(scope, filters)
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM {FROM} WHERE seq > ? AND {where} "  # noqa: S608
            "ORDER BY seq LIMIT ?",
            [after, *params, limit],
        ).fetchall()
        return [decoded_row(r) for r in rows]

    def latest(self, scope: Scope, filters: Filters, limit: int) -> list[dict[str, Any]]:
        """Return the newest `limit` records matching, oldest first."""
        where, params = _where(scope, filters)
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM {FROM} WHERE {where} ORDER BY seq DESC LIMIT ?",  # noqa: S608
            [*params, limit],
        ).fetchall()
        return [decoded_row(r) for r in reversed(rows)]

    def oldest_seq(self) -> int:
        """Return the smallest seq still stored (0 when empty)."""
        (seq,) = self._db.execute("SELECT COALESCE(MIN(seq), 0) FROM records").fetchone()
        return int(seq)

    def devices(self, scope: Scope) -> list[dict[str, Any]]:
        """Return the devices this scope may see, most recently seen first, with clock offsets."""
        where, params = scope.clause()
        rows = self._db.execute(
            "SELECT device_id, name, type, clock_offset_ms, first_seen_ns, last_seen_ns, "  # noqa: S608
            f"user_id FROM devices WHERE {where} ORDER BY last_seen_ns DESC",
            params,
        ).fetchall()
        keys = ("device_id", "name", "type", "clock_offset_ms", "first_seen_ns", "last_seen_ns")
        estimates = self.clock_estimates(scope)
        out = []
        for r in rows:
            device = dict(zip(keys, r[:-1], strict=True))
            # `clock_offset_ms`: what the device reported, if anything; `clock`: what the
            # collector measured from its messages (tracing._clock), or None.
            estimate = estimates.get((r[-1], r[0]))
            device["clock"] = None if estimate is None else estimate.as_dict()
            out.append(device)
        return out

    def groups(self, scope: Scope, column: str, limit: int = 200) -> list[dict[str, Any]]:
        """Summarise sessions ("session_id") or traces ("trace_id"): span count, time span."""
        if column not in ("session_id", "trace_id", "transfer_id"):
            raise ValueError(column)
        where, params = scope.clause()
        rows = self._db.execute(
            f"SELECT {column}, COUNT(*), MIN(start_ns), MAX(end_ns), "  # noqa: S608
            f"GROUP_CONCAT(DISTINCT device_id) FROM records "
            f"WHERE {column} != '' AND {where} GROUP BY {column} "
            "ORDER BY MAX(seq) DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [
            {"id": r[0], "count": r[1], "start_ns": r[2], "end_ns": r[3], "devices": r[4] or ""}
            for r in rows
        ]

    # ------------------------------------------------------------ retention
    def enforce_retention(self, max_age_s: float, max_bytes: int, chunk: int = 5000) -> int:
        """Delete records older than `max_age_s` (by receipt), then evict until the data fits
        in `max_bytes` (tracing._retention says in which order); return how many went."""
        # First the planner's statistics (a few ms, sampled: analysis_limit), whose pages then
        # count in the size: without them a viewer's search for one trace walked all its
        # user's records (user_id's index) instead of the trace key's, 30 ms instead of 0.5
        # at 50 000 records.
        now = time.monotonic()
        if now - self._analyzed_at >= ANALYZE_EVERY_S:
            self._analyzed_at = now
            self._db.execute("ANALYZE records")
        try:
            return _retention.enforce(self._db, max_age_s, max_bytes, chunk)
        finally:
            self._resource_ids.clear()  # pruned resources must not be reused by id

    def deleted_through(self) -> int:
        """Return the highest seq retention has deleted (0 if none)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'deleted_through'").fetchone()
        return 0 if row is None else int(row[0])

    def used_bytes(self) -> int:
        """Return the bytes of database pages in use (free pages excluded)."""
        return _retention.used_bytes(self._db)

    # ------------------------------------------------------------ users
    def add_user(self, name: str, admin: bool = False) -> str:
        """Create (or re-key, with this role) a user and return their new token."""
        return _users.add_user(self._db, name, admin)

    def user_for_token(self, token: str) -> User | None:
        """Return the viewer user a token belongs to, or None."""
        return _users.user_for_token(self._db, token)

    def sender_for_token(self, token: str) -> _users.Sender | None:
        """Return who an ingest token belongs to, or None."""
        return _users.sender_for_token(self._db, token)

    def add_ingest_token(self, name: str, label: str) -> str:
        """Return a new ingest token for user *name* (see `tracing._users`)."""
        return _users.add_ingest_token(self._db, name, label)

    def auth_rev(self) -> int:
        """Return a number that changes whenever users or ingest tokens change."""
        return _users.auth_rev(self._db)

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection itself, for `tracing._users`' other commands (the CLI)."""
        return self._db


def _digest(res: Resource) -> str:
    return hashlib.sha256(f"{res.user_id}\0{res.text}".encode()).hexdigest()


def record_row(seq: int, r: Record) -> dict[str, Any]:
    """Return a record as the row dict the queries return."""
    data = json.loads(r.data)
    data["resource"] = r.resource.attrs
    row = dict(zip(_NAMES, (seq, *r[:ROW_FIELDS]), strict=True))
    row["data"] = data
    return row


def _where(scope: Scope, filters: Filters) -> tuple[str, list[Any]]:
    s_where, s_params = scope.clause()
    f_where, f_params = filters.clause()
    return f"{s_where} AND {f_where}", s_params + f_params


def decoded_row(values: Sequence[Any]) -> dict[str, Any]:
    """Return a row selected as `COLUMNS` as the dict the queries return."""
    row = dict(zip(_NAMES, values[:-1], strict=True))
    row["data"] = json.loads(row["data"])
    row["data"]["resource"] = json.loads(values[-1])
    return row
