"""The collector's SQLite store (WAL): records, devices and users; de-duplication and retention.

Not thread-safe by itself: the server gives the writer and the readers their own `Store` objects,
each used from one thread. Every value is a query parameter; the f-strings (marked `noqa: S608`)
only splice in fixed column names and the placeholder clauses built by `Scope` and `Filters`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tracing import _clock_table as clock_table
from tracing import attributes as a
from tracing._clock import ClockEstimate
from tracing._otlp import Record
from tracing._query import Filters, Scope
from tracing.attributes import pseudonymise_user

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    name TEXT NOT NULL,
    span_kind INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    transfer_id TEXT NOT NULL,
    peer_device_id TEXT NOT NULL,
    message_kind TEXT NOT NULL,
    envelope_seq INTEGER,
    status INTEGER NOT NULL,
    received_ns INTEGER NOT NULL,
    resource_id INTEGER NOT NULL,
    data TEXT NOT NULL,
    -- De-duplication, and lookups by trace (a prefix of this index). Logs use "log:<digest>"
    -- as span_id (see tracing._otlp.Record.uid).
    UNIQUE (trace_id, span_id)
);
-- Resource attributes are the same for every span of a process: stored once, not per row.
CREATE TABLE IF NOT EXISTS resources (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    attrs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_user_seq ON records (user_id, seq);
CREATE TABLE IF NOT EXISTS devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    clock_offset_ms REAL,
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
-- deleted_through: the highest seq retention has deleted (a resume from below it lost data).
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL DEFAULT 0
);
"""

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
_FROM = "records JOIN resources ON resources.id = records.resource_id"


@dataclass(frozen=True)
class User:
    """A viewer user: `user_id` is the `baton.user.id` they may see; admins see every device."""

    name: str
    user_id: str
    admin: bool


# One encoder for every row: json.dumps builds a new one per call when given options.
_to_json = json.JSONEncoder(separators=(",", ":"), default=str).encode


def token_digest(token: str) -> str:
    """Return the stored form of a token (tokens themselves are never stored or logged)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """One SQLite connection to the collector database, used from a single thread."""

    def __init__(self, path: str | Path) -> None:
        # check_same_thread=False: the connection is created on one thread and then used only
        # by the single executor thread the server dedicates to it.
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        # Checkpoint every ~40 MB of WAL instead of ~4 MB: a page rewritten by many batches is
        # copied into the database once per checkpoint, which cut insert cost by about a
        # quarter in measurement. Readers are unaffected (WAL).
        self._db.execute("PRAGMA wal_autocheckpoint=10000")
        self._db.executescript(_SCHEMA)
        self._db.executescript(clock_table.SCHEMA)
        self._resource_ids: dict[str, int] = {}  # digest → id, filled as resources are seen

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._db.close()

    # ------------------------------------------------------------ ingest
    def insert(self, records: Sequence[Record]) -> list[dict[str, Any]]:
        """Store records not seen before (by trace id + span id); return the new ones by seq."""
        if not records:
            return []
        records = [_on_own_device(r) for r in records]
        now = time.time_ns()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            resource_ids = self._resource_ids_for(records)
            rows = [
                (
                    r.kind, r.trace_id, r.span_id, r.parent_id, r.name, r.span_kind,
                    r.start_ns, r.end_ns, r.device_id, r.user_id, r.session_id, r.transfer_id,
                    r.peer_device_id, r.message_kind, r.envelope_seq, r.status, now,
                    resource_ids[id(r.resource)],
                    _to_json(r.data),
                )
                for r in records
            ]  # fmt: skip
            (before,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchone()
            db.executemany(
                "INSERT OR IGNORE INTO records (kind, trace_id, span_id, parent_id, name, "
                "span_kind, start_ns, end_ns, device_id, user_id, session_id, transfer_id, "
                "peer_device_id, message_kind, envelope_seq, status, received_ns, resource_id, "
                "data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            new = db.execute(
                "SELECT seq, trace_id, span_id FROM records WHERE seq > ? ORDER BY seq", (before,)
            ).fetchall()
            by_key = {(r.trace_id, r.span_id): r for r in records}
            fresh = [by_key[(t, sp)] for _, t, sp in new]
            self._upsert_devices(records, now)
            clock_table.add_samples(self._db, fresh, before)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._resource_ids.clear()  # may name resources the rollback just removed
            raise
        return [record_row(seq, r, now) for (seq, _, _), r in zip(new, fresh, strict=True)]

    def _resource_ids_for(self, records: Iterable[Record]) -> dict[int, int]:
        # Keyed by the dict's identity: every record of one OTLP resource shares its dict.
        out: dict[int, int] = {}
        for r in records:
            if id(r.resource) in out:
                continue
            text = json.dumps(r.resource, sort_keys=True, separators=(",", ":"), default=str)
            digest = hashlib.sha256(text.encode()).hexdigest()
            rid = self._resource_ids.get(digest)
            if rid is None:
                self._db.execute(
                    "INSERT OR IGNORE INTO resources (digest, attrs) VALUES (?, ?)", (digest, text)
                )
                (rid,) = self._db.execute(
                    "SELECT id FROM resources WHERE digest = ?", (digest,)
                ).fetchone()
                self._resource_ids[digest] = rid
            out[id(r.resource)] = rid
        return out

    def _upsert_devices(self, records: Iterable[Record], now: int) -> None:
        latest: dict[tuple[str, str], Record] = {}
        for r in records:
            latest[(r.user_id, r.device_id)] = r
        self._db.executemany(
            "INSERT INTO devices (user_id, device_id, name, type, clock_offset_ms, "
            "first_seen_ns, last_seen_ns) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT (user_id, device_id) DO UPDATE SET "
            "name = CASE excluded.name WHEN '' THEN name ELSE excluded.name END, "
            "type = CASE excluded.type WHEN '' THEN type ELSE excluded.type END, "
            "clock_offset_ms = COALESCE(excluded.clock_offset_ms, clock_offset_ms), "
            "last_seen_ns = excluded.last_seen_ns",
            [
                (u, d, r.device_name, r.device_type, r.clock_offset_ms, now, now)
                for (u, d), r in latest.items()
            ],
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
            f"SELECT {COLUMNS} FROM {_FROM} WHERE seq > ? AND {where} "  # noqa: S608
            "ORDER BY seq LIMIT ?",
            [after, *params, limit],
        ).fetchall()
        return [_row(r) for r in rows]

    def latest(self, scope: Scope, filters: Filters, limit: int) -> list[dict[str, Any]]:
        """Return the newest `limit` records matching, oldest first."""
        where, params = _where(scope, filters)
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM {_FROM} WHERE {where} ORDER BY seq DESC LIMIT ?",  # noqa: S608
            [*params, limit],
        ).fetchall()
        return [_row(r) for r in reversed(rows)]

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
        """Delete records older than `max_age_s` (by receipt), then the oldest until the data
        fits in `max_bytes`; return how many were deleted."""
        deleted = 0
        cutoff = time.time_ns() - int(max_age_s * 1e9)
        while True:
            n = self._delete(
                "DELETE FROM records WHERE seq IN (SELECT seq FROM records "
                "WHERE received_ns < ? ORDER BY seq LIMIT ?) RETURNING seq",
                (cutoff, chunk),
            )
            deleted += n
            if n < chunk:
                break
        while self.used_bytes() > max_bytes:
            n = self._delete(
                "DELETE FROM records WHERE seq IN (SELECT seq FROM records ORDER BY seq LIMIT ?) "
                "RETURNING seq",
                (max(1, chunk // 10),),
            )
            if n == 0:
                break
            deleted += n
        if deleted:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def _delete(self, sql: str, params: tuple[Any, ...]) -> int:
        seqs = [seq for (seq,) in self._db.execute(sql, params).fetchall()]
        if seqs:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('deleted_through', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
                (max(seqs),),
            )
        return len(seqs)

    def deleted_through(self) -> int:
        """Return the highest seq retention has deleted (0 if none)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'deleted_through'").fetchone()
        return 0 if row is None else int(row[0])

    def used_bytes(self) -> int:
        """Return the bytes of database pages in use (free pages excluded)."""
        (pages,) = self._db.execute("PRAGMA page_count").fetchone()
        (free,) = self._db.execute("PRAGMA freelist_count").fetchone()
        (size,) = self._db.execute("PRAGMA page_size").fetchone()
        return int((pages - free) * size)

    # ------------------------------------------------------------ users
    def add_user(self, name: str, admin: bool = False) -> str:
        """Create (or re-key) a user and return their new token."""
        token = secrets.token_urlsafe(32)
        self._db.execute(
            "INSERT INTO users (name, user_id, token_sha256, admin) VALUES (?,?,?,?) "
            "ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256, "
            "admin = excluded.admin",
            (name, pseudonymise_user(name), token_digest(token), int(admin)),
        )
        return token

    def user_for_token(self, token: str) -> User | None:
        """Return the user a token belongs to, or None."""
        row = self._db.execute(
            "SELECT name, user_id, admin FROM users WHERE token_sha256 = ?",
            (token_digest(token),),
        ).fetchone()
        return None if row is None else User(row[0], row[1], bool(row[2]))


def _on_own_device(r: Record) -> Record:
    """File a record under the device its own attributes name, if any (else its resource's).

    A second device in one process (the app's "This computer") shares the process's resource;
    it names itself on each record (connect.telemetry.DeviceTag). Visibility is unchanged: the
    user id still comes from the resource.
    """
    attributes: dict[str, Any] = r.data.get("attributes") or {}
    own = attributes.get(a.DEVICE_ID)
    if not isinstance(own, str) or not own or own == r.device_id:
        return r
    return replace(
        r,
        device_id=own,
        device_name=str(attributes.get(a.DEVICE_NAME, "")),
        device_type=str(attributes.get(a.DEVICE_TYPE, "")),
        clock_offset_ms=None,  # the resource's offset is the process device's, not this one's
    )


def record_row(seq: int, r: Record, received_ns: int) -> dict[str, Any]:
    """Return a record as the row dict the queries return (for the live stream)."""
    return {
        "seq": seq, "kind": r.kind, "trace_id": r.trace_id, "span_id": r.span_id,
        "parent_id": r.parent_id, "name": r.name, "span_kind": r.span_kind,
        "start_ns": r.start_ns, "end_ns": r.end_ns, "device_id": r.device_id,
        "user_id": r.user_id, "session_id": r.session_id, "transfer_id": r.transfer_id,
        "peer_device_id": r.peer_device_id, "message_kind": r.message_kind,
        "envelope_seq": r.envelope_seq, "status": r.status, "received_ns": received_ns,
        "data": {**r.data, "resource": r.resource},
    }  # fmt: skip


def _where(scope: Scope, filters: Filters) -> tuple[str, list[Any]]:
    s_where, s_params = scope.clause()
    f_where, f_params = filters.clause()
    return f"{s_where} AND {f_where}", s_params + f_params


def _row(values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(_NAMES, values[:-1], strict=True))
    row["data"] = json.loads(row["data"])
    row["data"]["resource"] = json.loads(values[-1])
    return row
