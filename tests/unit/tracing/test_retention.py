"""Retention that holds: a sender's junk evicts that sender's records, resources and devices
go with their records, resources are capped in size and number, the file is owner-only."""

from __future__ import annotations

import sqlite3
import stat
import time

import pytest

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, running_collector
from tests.waiting import until
from tracing import _otlp, _store, samples
from tracing._query import EVERYTHING, Filters, Scope
from tracing._store import Store
from tracing.attributes import pseudonymise_user

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

MIB = 1024 * 1024
HOUR_NS = 3600 * 10**9


def _decoded(request, user_id: str | None = None, received_ns: int | None = None):
    body = request.SerializeToString()
    return _otlp.decode_request(
        "traces", body, "protobuf", user_id=user_id, received_ns=received_ns
    ).records


def _history(store: Store, messages: int, received_ns: int) -> None:
    """Alice's own conversation, received at *received_ns*."""
    request = samples.traces_request(
        [samples.Message(ALICE_PHONE, ALICE_SPEAKER, seq=i) for i in range(messages)]
    )
    store.insert_batches([_decoded(request, received_ns=received_ns)])


def _junk(n: int, user: str) -> object:
    """One request of *user*'s: six spans and a resource of its own carrying 3 KB."""
    device = samples.Device(f"junk-{n}", "Junk", "other", user)
    request = samples.traces_request([samples.Message(device, device, seq=i) for i in range(3)])
    for group in request.resource_spans:
        group.resource.attributes.extend(samples.key_values({"junk": f"{n:05d}" + "x" * 3000}))
    return request


def _counts(db) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            "records": conn.execute("SELECT COUNT(*) FROM records").fetchone()[0],
            "orphan_resources": conn.execute(
                "SELECT COUNT(*) FROM resources WHERE id NOT IN "
                "(SELECT DISTINCT resource_id FROM records)"
            ).fetchone()[0],
            "orphan_devices": conn.execute(
                "SELECT COUNT(*) FROM devices WHERE NOT EXISTS (SELECT 1 FROM records "
                "WHERE records.user_id = devices.user_id AND records.device_id = devices.device_id)"
            ).fetchone()[0],
        }


@pytest.mark.parametrize("junk_user", ["mallory", "stranger"])
def test_another_senders_junk_goes_first_and_takes_its_resources_and_devices(tmp_path, junk_user):
    """The issue's case: 400 requests each with a distinct 3 KB resource, a 1 MB budget.

    mallory is a registered user (her ingest token sent the junk); stranger is no user at all
    (an open collector). Either way alice keeps her last hour, and her older history too.
    """
    db = tmp_path / "traces.db"
    store = Store(db)
    store.add_user("alice")
    store.add_user("mallory")
    now = time.time_ns()
    _history(store, 50, now - 5 * HOUR_NS)  # older than the protected hour
    _history(store, 50, now - 10**9)  # her last hour
    for n in range(400):
        store.insert_batches([_decoded(_junk(n, junk_user))])
    assert store.used_bytes() > MIB
    deleted = store.enforce_retention(max_age_s=10 * 365 * 86400, max_bytes=MIB)
    assert deleted > 0
    assert store.used_bytes() <= MIB
    alice = store.latest(Scope(pseudonymise_user("alice")), Filters(), 10_000)
    assert len(alice) == 200  # two spans a message, every one kept
    junk = store.latest(Scope(pseudonymise_user(junk_user)), Filters(), 10_000)
    assert len(junk) < 400 * 6
    store.close()
    assert _counts(db)["orphan_resources"] == 0
    assert _counts(db)["orphan_devices"] == 0
    # The freed pages went back to the filesystem: the file holds about the budget.
    assert db.stat().st_size <= 1.2 * MIB


def test_a_registered_senders_last_hour_goes_only_once_it_is_the_largest(tmp_path):
    store = Store(tmp_path / "traces.db")
    store.add_user("alice")
    store.add_user("mallory")
    now = time.time_ns()
    _history(store, 300, now - 5 * HOUR_NS)
    _history(store, 50, now - 10**9)
    for n in range(200):
        store.insert_batches([_decoded(_junk(n, "mallory"), received_ns=now)])
    used = store.used_bytes()
    store.enforce_retention(max_age_s=10 * 365 * 86400, max_bytes=used // 2)
    alice = store.latest(Scope(pseudonymise_user("alice")), Filters(), 10_000)
    recent = [r for r in alice if r["received_ns"] == now - 10**9]
    assert len(recent) == 100  # her last hour, whole
    store.close()


def test_the_largest_sender_of_one_user_loses_its_oldest_first(tmp_path):
    """One user alone: retention by size keeps the newest, as before."""
    store = Store(tmp_path / "traces.db")
    for round_ in range(20):
        _history(store, 50, 1_900_000_000 * 10**9 + round_)
    used = store.used_bytes()
    assert store.enforce_retention(max_age_s=10 * 365 * 86400, max_bytes=used // 3) > 0
    assert store.used_bytes() <= used // 3
    remaining = store.latest(EVERYTHING, Filters(), 10_000)
    assert remaining[-1]["seq"] == 2000
    store.close()


def test_age_retention_prunes_resources_and_devices(tmp_path):
    db = tmp_path / "traces.db"
    store = Store(db)
    _history(store, 5, 1_000)
    assert store.enforce_retention(max_age_s=60, max_bytes=1 << 30) == 10
    assert store.devices(EVERYTHING) == []
    store.close()
    assert _counts(db) == {"records": 0, "orphan_resources": 0, "orphan_devices": 0}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM resources").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM senders").fetchone()[0] == 0


def test_an_oversized_resource_is_reduced_to_its_identity(tmp_path):
    (record, *_) = _decoded(_junk(1, "alice"))
    assert len(record.resource.text) <= _otlp.RESOURCE_MAX_BYTES
    assert "junk" not in record.resource.attrs
    assert record.resource.attrs[_otlp.REDUCED] == 1
    assert record.resource.attrs["baton.device.id"] == "junk-1"


def test_a_sender_with_too_many_resources_gets_them_reduced_then_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_store, "MAX_RESOURCES_PER_SENDER", 3)
    monkeypatch.setattr(_store, "MAX_REDUCED_RESOURCES", 2)
    store = Store(tmp_path / "traces.db")

    def one(n: int, device: str) -> list[int]:
        request = samples.traces_request(
            [samples.Message(samples.Device(device, "D", "other", "alice"), ALICE_SPEAKER)]
        )
        request.resource_spans[0].resource.attributes.extend(
            samples.key_values({"service.instance.id": f"run-{n}"})
        )
        return store.insert_batches([_decoded(request)[:1]])[1]

    assert [one(n, "d1") for n in range(3)] == [[0], [0], [0]]  # three resources: the cap
    assert one(3, "d1") == [0]  # a fourth: reduced (its instance id and the rest dropped)...
    assert one(4, "d1") == [0]  # ... and the same device's next run shares it
    assert one(5, "d2") == [0]  # another device: one more reduced resource
    assert one(6, "d3") == [1]  # past cap + reduced allowance: refused, counted
    store.close()


def test_the_database_is_created_owner_only(tmp_path):
    db = tmp_path / "traces.db"
    store = Store(db)
    _history(store, 1, 1)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "traces.db-wal").stat().st_mode) == 0o600
    store.close()


def test_a_database_of_the_previous_schema_is_migrated_and_counted(tmp_path):
    db = tmp_path / "traces.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(_OLD_SCHEMA)
        conn.execute("INSERT INTO resources (id, digest, attrs) VALUES (1, 'd', '{}')")
        conn.executemany(
            "INSERT INTO records (kind, trace_id, span_id, parent_id, name, span_kind, start_ns, "
            "end_ns, device_id, user_id, session_id, transfer_id, peer_device_id, message_kind, "
            "envelope_seq, status, received_ns, resource_id, data) "
            "VALUES ('span', ?, ?, '', 'n', 0, 0, 0, 'dev', 'u', '', '', '', '', NULL, 0, 1, 1, "
            "'{}')",
            [(f"{n:032x}", f"{n:016x}") for n in range(5)],
        )
        conn.execute("INSERT INTO devices VALUES ('u', 'dev', 'Dev', 'speaker', NULL, 0, 0)")
    store = Store(db)
    assert [d["device_id"] for d in store.devices(EVERYTHING)] == ["dev"]
    assert store.enforce_retention(max_age_s=60, max_bytes=1 << 30) == 5
    assert store.devices(EVERYTHING) == []
    store.close()
    assert _counts(db) == {"records": 0, "orphan_resources": 0, "orphan_devices": 0}


async def test_ingest_over_the_budget_runs_retention_without_waiting_for_the_minute(tmp_path):
    db = tmp_path / "traces.db"
    async with running_collector(db, retention_bytes=MIB, retention_interval_s=3600.0) as collector:
        for n in range(400):
            assert (
                await collector.post("traces", _junk(n, "alice").SerializeToString())
            ).status == 200
        store = Store(db)
        try:
            await until(lambda: store.used_bytes() <= MIB, 10, "retention ran on its own")
        finally:
            store.close()


# The collector's schema before retention kept its counts (git: tracing/_store.py, issue 17).
_OLD_SCHEMA = """
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL, parent_id TEXT NOT NULL, name TEXT NOT NULL,
    span_kind INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
    device_id TEXT NOT NULL, user_id TEXT NOT NULL, session_id TEXT NOT NULL,
    transfer_id TEXT NOT NULL, peer_device_id TEXT NOT NULL, message_kind TEXT NOT NULL,
    envelope_seq INTEGER, status INTEGER NOT NULL, received_ns INTEGER NOT NULL,
    resource_id INTEGER NOT NULL, data TEXT NOT NULL, UNIQUE (trace_id, span_id)
);
CREATE TABLE resources (id INTEGER PRIMARY KEY, digest TEXT NOT NULL UNIQUE, attrs TEXT NOT NULL);
CREATE INDEX records_user_seq ON records (user_id, seq);
CREATE TABLE devices (
    user_id TEXT NOT NULL, device_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
    clock_offset_ms REAL, first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE users (
    name TEXT PRIMARY KEY, user_id TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL DEFAULT 0
);
"""
