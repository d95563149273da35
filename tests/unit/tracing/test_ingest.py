"""OTLP ingest: protobuf, JSON and gzip bodies, traces and logs, refusals and de-duplication."""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3
import threading

import pytest

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER
from tests.waiting import until
from tracing import _ingest, _otlp, attributes, samples
from tracing._otlp import decode, decode_request, decompress

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")


def _request(n: int = 2):
    return samples.traces_request(
        [samples.Message(ALICE_PHONE, ALICE_SPEAKER, seq=i, transfer_id="t-1") for i in range(n)]
    )


def test_protobuf_spans_are_flattened_with_the_baton_attributes():
    request = _request(1)
    records = decode("traces", request.SerializeToString(), "application/x-protobuf")
    send, handle = sorted(records, key=lambda r: r.start_ns)
    assert send.device_id == "alice-phone"
    assert send.peer_device_id == "alice-kitchen"
    assert send.user_id == attributes.pseudonymise_user("alice")
    assert send.message_kind == "Command"
    assert send.transfer_id == "t-1"
    assert send.envelope_seq == 0
    assert handle.parent_id == send.span_id
    assert handle.device_type == "speaker"
    assert handle.clock_offset_ms == 12.5
    assert send.uid == f"{send.trace_id}:{send.span_id}"
    assert len(send.trace_id) == 32
    assert len(send.span_id) == 16


def test_json_and_protobuf_decode_to_the_same_records():
    request = _request(3)
    from_pb = decode_request("traces", request.SerializeToString(), "protobuf", received_ns=1)
    from_json = decode_request("traces", samples.to_otlp_json(request), "json", received_ns=1)
    assert from_json.records == from_pb.records
    assert len(from_pb.records) == 6


def test_gzip_bodies_are_inflated_and_bombs_refused():
    body = _request().SerializeToString()
    assert decompress(gzip.compress(body), "gzip", 1 << 20) == body
    with pytest.raises(_otlp.BodyTooLargeError):
        decompress(gzip.compress(b"\0" * 100_000), "gzip", 1000)
    with pytest.raises(_otlp.OtlpError):
        decompress(b"not gzip", "gzip", 1000)
    with pytest.raises(_otlp.OtlpError):
        decompress(body, "br", 1000)


def test_log_records_become_events_with_a_stable_identity():
    request = samples.logs_request(ALICE_SPEAKER, attributes.EVENT_STATE_CHANGED)
    (record,) = decode("logs", request.SerializeToString(), "application/x-protobuf")
    (again,) = decode("logs", samples.to_otlp_json(request), "application/json")
    assert record.kind == "log"
    assert json.loads(record.data)["event_name"] == attributes.EVENT_STATE_CHANGED
    assert record.name == attributes.EVENT_STATE_CHANGED
    assert record.device_id == "alice-kitchen"
    assert record.uid == again.uid


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xff\xff", "application/x-protobuf"),
        (b"{not json", "application/json"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": 7}]}]}', "application/json"),
    ],
)
def test_garbage_is_refused(body, content_type):
    with pytest.raises(_otlp.OtlpError):
        decode("traces", body, content_type)


async def test_http_ingest_accepts_all_encodings_and_stores_each_span_once(collector):
    request = _request(2)
    pb = request.SerializeToString()
    ok = await collector.post("traces", pb)
    assert ok.status == 200
    assert ok.headers["Content-Type"] == "application/x-protobuf"
    assert (
        await collector.post("traces", gzip.compress(pb), **{"Content-Encoding": "gzip"})
    ).status == 200
    json_response = await collector.post(
        "traces", samples.to_otlp_json(request), "application/json"
    )
    assert json_response.status == 200
    assert collector.collector.ingested == 4
    logs = samples.logs_request(ALICE_PHONE, attributes.EVENT_DEVICE_DISCOVERED)
    assert (
        await collector.post("logs", samples.to_otlp_json(logs), "application/json")
    ).status == 200
    assert (await collector.post("logs", logs.SerializeToString())).status == 200
    assert collector.collector.ingested == 5
    rows = await collector.get_json("/api/search?limit=100", "root")
    assert len(rows) == 5


async def test_http_ingest_refuses_garbage_and_oversized_bodies(collector, monkeypatch):
    bad = await collector.post("traces", b"\x0a\xff\xff")
    assert bad.status == 400
    # compressing 33 MiB takes a while: off the loop the collector under test runs on
    inflated = await asyncio.to_thread(gzip.compress, b"\0" * (33 * 1024 * 1024))
    huge = await collector.post("traces", inflated, **{"Content-Encoding": "gzip"})
    assert huge.status == 413
    assert collector.collector.ingested == 0


async def test_requests_queued_while_the_writer_is_busy_are_committed_together(
    collector, monkeypatch
):
    """Group commit: what arrives during one transaction goes into the next one, as one."""
    ingest = collector.collector.ingest
    store = collector.collector._writer
    groups: list[int] = []
    real = store.insert_batches

    def counting(batches):
        groups.append(len(batches))
        return real(batches)

    monkeypatch.setattr(store, "insert_batches", counting)
    busy, release = threading.Event(), threading.Event()

    def hold() -> None:
        busy.set()
        release.wait(10)

    ingest.pool.submit(hold)  # the writer thread is busy ...
    assert await asyncio.to_thread(busy.wait, 10)
    posts = [
        asyncio.ensure_future(collector.post("traces", _request(2).SerializeToString()))
        for _ in range(20)
    ]
    await until(lambda: len(ingest._pending) == 20, 10, "all twenty queued")
    release.set()  # ... and then finds twenty requests waiting
    assert [r.status for r in await asyncio.gather(*posts)] == [200] * 20
    assert groups == [20]
    assert collector.collector.ingested == 80


async def test_a_busy_writer_gathers_small_requests_and_an_idle_one_stores_at_once(
    collector, monkeypatch
):
    """The commit interval: a request after a quiet spell is stored at once; small ones soon
    after a small group wait for the next, which starts early once enough bytes are waiting;
    after a large group the next goes at once."""
    ingest = collector.collector.ingest
    store = collector.collector._writer
    groups: list[int] = []
    real = store.insert_batches

    def counting(batches):
        groups.append(len(batches))
        return real(batches)

    monkeypatch.setattr(store, "insert_batches", counting)
    big = _request(40).SerializeToString()
    # Far longer than this test: a group that waited for the interval would time it out.
    monkeypatch.setattr(_ingest, "COMMIT_INTERVAL_S", 60.0)
    monkeypatch.setattr(_ingest, "GROUP_ENOUGH_BYTES", len(big))
    monkeypatch.setattr(_ingest, "GROUP_ENOUGH_RECORDS", 50)
    monkeypatch.setattr(_ingest, "GATHER_BELOW_GAP_S", 3600.0)  # as busy as it gets
    first = await asyncio.wait_for(collector.post("traces", _request(1).SerializeToString()), 20)
    assert first.status == 200
    assert groups == [1]  # idle: no wait
    small = [
        asyncio.ensure_future(collector.post("traces", _request(1).SerializeToString()))
        for _ in range(3)
    ]
    await until(lambda: len(ingest._pending) == 3, 10, "three small requests waiting")
    assert groups == [1]  # gathering: nothing committed yet
    posts = [*small, asyncio.ensure_future(collector.post("traces", big))]
    answers = await asyncio.wait_for(asyncio.gather(*posts), 20)
    assert [r.status for r in answers] == [200] * 4
    assert groups == [1, 4]  # enough bytes waiting: one group, at once
    # 86 records: the next request is not held, however soon it comes.
    after = await asyncio.wait_for(collector.post("traces", _request(1).SerializeToString()), 20)
    assert after.status == 200
    assert groups == [1, 4, 1]
    assert collector.collector.ingested == 2 + 3 * 2 + 80 + 2


async def test_a_lone_client_posting_one_request_after_another_is_not_held(collector, monkeypatch):
    """Requests coming slower than the gathering rate go at once, however small and soon."""
    groups: list[int] = []
    store = collector.collector._writer
    real = store.insert_batches

    def counting(batches):
        groups.append(len(batches))
        return real(batches)

    monkeypatch.setattr(store, "insert_batches", counting)
    # Far longer than this test: a request held for the interval would time it out.
    monkeypatch.setattr(_ingest, "COMMIT_INTERVAL_S", 60.0)
    for _ in range(3):
        body = _request(1).SerializeToString()
        assert (await asyncio.wait_for(collector.post("traces", body), 20)).status == 200
    assert groups == [1, 1, 1]


@pytest.mark.warning_logs(r"storing \d+ request\(s\) failed")
async def test_a_failing_store_answers_503_and_ingest_goes_on(collector, monkeypatch):
    store = collector.collector._writer
    real = store.insert_batches
    failures = [sqlite3.OperationalError("disk I/O error")]

    def flaky(batches):
        if failures:
            raise failures.pop()
        return real(batches)

    monkeypatch.setattr(store, "insert_batches", flaky)
    refused = await collector.post("traces", _request(1).SerializeToString())
    assert refused.status == 503  # retryable: the SDK and tracing.setup send it again
    assert refused.headers["Retry-After"] == "1"
    assert (await collector.post("traces", _request(1).SerializeToString())).status == 200
    assert collector.collector.ingested == 2
