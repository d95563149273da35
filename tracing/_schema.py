"""The collector database's tables, its creation (owner-only) and its migrations.

Version 2 added what retention needs to evict senders and prune what records leave behind:
`resources.sender` and `.refs`, `devices.records` and the `senders` table. An older database
gets the columns, then its counts are computed once from the records (`recount`).

Version 3 de-duplicates records by two integers of their ids (`tk`, `sk`: see
`tracing._query.id_key`) instead of the ids' hex text: an index less than half the size,
whose insert at a random place (one a span, a page written at commit) was the largest single
part of storing a span. An older `records` table is rebuilt once with the keys (`migrate_keys`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from tracing._query import id_key
from tracing._retention import RESOURCE_OVERHEAD, ROW_OVERHEAD

VERSION = 3
_RECORDS = """
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
    data TEXT NOT NULL,
    resource_id INTEGER NOT NULL,
    -- id_key(trace_id) and id_key(span_id): de-duplication, and lookups by trace (tk, a
    -- prefix of this index, then trace_id itself). Logs use "log:<digest>" as span_id (see
    -- tracing._otlp.Record).
    tk INTEGER NOT NULL,
    sk INTEGER NOT NULL,
    UNIQUE (tk, sk)
);
"""
SCHEMA = (
    _RECORDS
    + """-- Resource attributes are the same for every span of a process: stored once, not per row.
-- sender: the baton.user.id whose budget it counts against; refs: records using it
-- (0: pruned by retention).
CREATE TABLE IF NOT EXISTS resources (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    attrs TEXT NOT NULL,
    sender TEXT NOT NULL DEFAULT '',
    refs INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_user_seq ON records (user_id, seq);
-- The transfers list and a transfer's view (tracing._views). Partial: only a transfer's
-- records pay for it at ingest.
CREATE INDEX IF NOT EXISTS records_transfer ON records (transfer_id, seq) WHERE transfer_id != '';
CREATE TABLE IF NOT EXISTS devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    clock_offset_ms REAL,
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns INTEGER NOT NULL,
    records INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, device_id)
);
-- What each sender (a baton.user.id) holds, for retention to evict the largest first:
-- bytes of its records and resources (estimated: see _retention), and its resource count.
CREATE TABLE IF NOT EXISTS senders (
    user_id TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL DEFAULT 0,
    resources INTEGER NOT NULL DEFAULT 0
);
-- deleted_through: the highest seq retention has deleted (a resume from below it lost data).
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
)
# The columns a version 2 records table and this one share, in order.
_SHARED = (
    "seq, kind, trace_id, span_id, parent_id, name, span_kind, start_ns, end_ns, device_id, "
    "user_id, session_id, transfer_id, peer_device_id, message_kind, envelope_seq, status, "
    "received_ns, data, resource_id"
)


def create_private(path: str | Path) -> None:
    """Create the database file readable and writable by its owner only, if it is new."""
    if str(path) == ":memory:" or str(path).startswith("file:"):
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def migrate_columns(db: sqlite3.Connection) -> None:
    """Bring a database of an earlier schema up to this one's columns (counts: `recount`)."""
    for table, column, definition in (
        ("resources", "sender", "TEXT NOT NULL DEFAULT ''"),
        ("resources", "refs", "INTEGER NOT NULL DEFAULT 0"),
        ("devices", "records", "INTEGER NOT NULL DEFAULT 0"),
    ):
        names = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if names and column not in names:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")  # fixed names


def migrate_keys(db: sqlite3.Connection) -> None:
    """Rebuild a `records` table of version 2 or older with the id keys (`tk`, `sk`), in the
    caller's transaction; its seqs, and the highest seq ever given, are kept."""
    names = {row[1] for row in db.execute("PRAGMA table_info(records)")}
    if not names or "tk" in names:
        return
    (given,) = db.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'records'"
    ).fetchone()
    db.create_function("baton_id_key", 1, id_key, deterministic=True)
    db.execute("ALTER TABLE records RENAME TO records_v2")
    db.execute(_RECORDS)
    db.execute(
        f"INSERT INTO records ({_SHARED}, tk, sk) SELECT {_SHARED}, "  # noqa: S608  (constants)
        "baton_id_key(trace_id), baton_id_key(span_id) FROM records_v2 WHERE 1 "
        "ORDER BY seq ON CONFLICT DO NOTHING"
    )
    db.execute("DROP TABLE records_v2")  # and its indexes: SCHEMA makes them again
    # Seqs deleted by retention are never given again (a viewer resuming from one of them).
    db.execute("DELETE FROM sqlite_sequence WHERE name = 'records'")
    db.execute(
        "INSERT INTO sqlite_sequence (name, seq) "
        "SELECT 'records', MAX(?, COALESCE(MAX(seq), 0)) FROM records",
        (given,),
    )


def recount(db: sqlite3.Connection) -> None:
    """Recompute the counts retention relies on from the records themselves (a migration)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("UPDATE resources SET refs = 0")
        db.executemany(
            "UPDATE resources SET refs = ?, sender = ? WHERE id = ?",
            [
                (n, user, rid)
                for rid, n, user in db.execute(
                    "SELECT resource_id, COUNT(*), MIN(user_id) FROM records GROUP BY resource_id"
                )
            ],
        )
        db.execute("UPDATE devices SET records = 0")
        db.executemany(
            "UPDATE devices SET records = ? WHERE user_id = ? AND device_id = ?",
            db.execute(
                "SELECT COUNT(*), user_id, device_id FROM records GROUP BY user_id, device_id"
            ).fetchall(),
        )
        db.execute("DELETE FROM senders")
        db.execute(
            "INSERT INTO senders (user_id, bytes) SELECT user_id, "  # noqa: S608
            f"SUM(LENGTH(data) + LENGTH(name) + {ROW_OVERHEAD}) "
            "FROM records GROUP BY user_id"
        )
        db.execute(
            "INSERT INTO senders (user_id, bytes, resources) SELECT sender, "  # noqa: S608
            f"SUM(LENGTH(attrs) + {RESOURCE_OVERHEAD}), COUNT(*) FROM resources "
            "WHERE 1 GROUP BY sender ON CONFLICT (user_id) DO UPDATE SET "
            "bytes = bytes + excluded.bytes, resources = excluded.resources"
        )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
