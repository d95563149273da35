"""The collector's schema: a version 2 database is rebuilt with the id keys and loses nothing."""

from __future__ import annotations

import sqlite3

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER
from tracing import samples
from tracing._otlp import ROW_FIELDS, decode
from tracing._query import EVERYTHING, Filters, id_key
from tracing._store import Store

# The records table of version 2 (git: tracing/_schema.py before the id keys).
_V2_RECORDS = """
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL, parent_id TEXT NOT NULL, name TEXT NOT NULL,
    span_kind INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
    device_id TEXT NOT NULL, user_id TEXT NOT NULL, session_id TEXT NOT NULL,
    transfer_id TEXT NOT NULL, peer_device_id TEXT NOT NULL, message_kind TEXT NOT NULL,
    envelope_seq INTEGER, status INTEGER NOT NULL, received_ns INTEGER NOT NULL,
    data TEXT NOT NULL, resource_id INTEGER NOT NULL, UNIQUE (trace_id, span_id)
);
CREATE INDEX records_user_seq ON records (user_id, seq);
CREATE TABLE resources (
    id INTEGER PRIMARY KEY, digest TEXT NOT NULL UNIQUE, attrs TEXT NOT NULL,
    sender TEXT NOT NULL DEFAULT '', refs INTEGER NOT NULL DEFAULT 0
);
INSERT INTO resources (id, digest, attrs) VALUES (1, 'd', '{}');
"""


def _records(n):
    request = samples.traces_request(
        [samples.Message(ALICE_PHONE, ALICE_SPEAKER, seq=i) for i in range(n)]
    )
    return decode("traces", request.SerializeToString(), "application/x-protobuf")


def test_id_keys_are_the_ids_last_60_bits_and_never_negative_for_an_id():
    assert id_key("0" * 17 + "f" * 15) == 2**60 - 1
    assert id_key("00f067aa0ba902b7") == 0x0F067AA0BA902B7
    assert id_key("log:" + "a" * 32) == int("a" * 15, 16)
    assert id_key("") == id_key("not hex") == -1


def test_a_version_2_database_gets_the_id_keys_and_keeps_its_records_and_seqs(tmp_path):
    db = tmp_path / "traces.db"
    records = _records(3)
    with sqlite3.connect(db) as conn:
        conn.executescript(_V2_RECORDS)
        conn.executemany(
            f"INSERT INTO records VALUES (NULL, {','.join('?' * ROW_FIELDS)}, 1)",
            [r[:ROW_FIELDS] for r in records],
        )
        # Retention deleted the newest seqs given so far: they must never be given again.
        conn.execute("DELETE FROM records WHERE seq > 4")
    store = Store(db)
    try:
        names = {row[1] for row in store.connection.execute("PRAGMA table_info(records)")}
        assert {"tk", "sk"} <= names
        kept = store.latest(EVERYTHING, Filters(), 100)
        assert [r["seq"] for r in kept] == [1, 2, 3, 4]
        trace = kept[0]["trace_id"]
        assert {r["span_id"] for r in store.latest(EVERYTHING, Filters(trace=trace), 100)} == {
            r["span_id"] for r in kept if r["trace_id"] == trace
        }
        # Still de-duplicated against what was stored before the migration.
        fresh = store.insert(records)
        assert len(fresh) == 2
        assert all(r["seq"] > 6 for r in fresh)
    finally:
        store.close()


def test_after_retention_a_users_trace_is_found_by_its_key_not_by_the_user(tmp_path):
    store = Store(tmp_path / "traces.db")
    try:
        for _ in range(20):
            store.insert(_records(20))
        store.enforce_retention(max_age_s=3600, max_bytes=1 << 30)
        trace = store.latest(EVERYTHING, Filters(), 1)[0]["trace_id"]
        where, params = Filters(trace=trace).clause()
        plan = store.connection.execute(
            f"EXPLAIN QUERY PLAN SELECT seq FROM records WHERE user_id = ? AND {where}",
            [ALICE_PHONE.user, *params],
        ).fetchall()
        assert "(tk=?)" in " ".join(str(step[-1]) for step in plan)
    finally:
        store.close()
