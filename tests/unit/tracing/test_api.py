"""The REST API and the live stream: tokens, user isolation, SSE resume and slow viewers."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct

import pytest

from tests.unit.tracing.support import (
    ALICE_PHONE,
    ALICE_SPEAKER,
    BOB_CAR,
    BOB_PHONE,
    Running,
    SseReader,
    running_collector,
)
from tests.waiting import until
from tracing import _live, samples
from tracing._otlp import decode
from tracing._query import Filters, Scope
from tracing._store import Store

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")


async def _send(collector: Running, sender, receiver, n=1, **kw) -> None:
    request = samples.traces_request(
        [
            samples.Message(
                sender,
                receiver,
                seq=i,
                session_id=f"s-{sender.user}",
                transfer_id=f"t-{sender.user}",
                **kw,
            )
            for i in range(n)
        ]
    )
    assert (await collector.post("traces", request.SerializeToString())).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/devices",
        "/api/sessions",
        "/api/traces",
        "/api/search",
        "/api/stream",
        "/api/export",
        "/api/whoami",
    ],
)
async def test_missing_or_unknown_tokens_get_401(collector, path):
    assert collector.http is not None
    async with collector.http.get(collector.base + path) as response:
        assert response.status == 401
    bad = {"Authorization": "Bearer not-a-token"}
    async with collector.http.get(collector.base + path, headers=bad) as response:
        assert response.status == 401
        assert "not-a-token" not in await response.text()


async def test_login_sets_a_cookie_the_api_accepts(collector):
    assert collector.http is not None
    async with collector.http.post(collector.base + "/api/login", json={"token": "nope"}) as r:
        assert r.status == 401
    async with collector.http.post(
        collector.base + "/api/login", json={"token": collector.tokens["bob"]}
    ) as r:
        assert r.status == 200
        assert "HttpOnly" in r.headers["Set-Cookie"]
    async with collector.http.get(collector.base + "/api/whoami") as r:
        assert (await r.json())["name"] == "bob"


async def test_each_user_sees_only_their_own_devices(collector):
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 2)
    await _send(collector, BOB_PHONE, BOB_CAR, 3)
    for user, mine, theirs in (("alice", "alice", "bob"), ("bob", "bob", "alice")):
        devices = await collector.get_json("/api/devices", user)
        assert devices
        assert all(d["device_id"].startswith(mine) for d in devices)
        for path in ("/api/sessions", "/api/transfers", "/api/traces"):
            groups = await collector.get_json(path, user)
            assert groups
            assert all(theirs not in g["devices"] and theirs not in g["id"] for g in groups)
        rows = await collector.get_json("/api/search?limit=1000", user)
        assert rows
        assert {r["device_id"].split("-")[0] for r in rows} == {mine}
        assert await collector.get_json(f"/api/search?device={theirs}-phone", user) == []
        assert collector.http is not None
        async with collector.http.get(
            collector.base + "/api/export?format=mermaid", headers=collector.auth(user)
        ) as r:
            assert theirs not in await r.text()
    theirs_trace = (await collector.get_json("/api/traces", "bob"))[0]["id"]
    async with collector.http.get(
        f"{collector.base}/api/traces/{theirs_trace}", headers=collector.auth("alice")
    ) as r:
        assert r.status == 404
    everything = await collector.get_json("/api/devices", "root")
    assert len(everything) == 4


async def test_trace_endpoint_pairs_arrows(collector):
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 1, latency_ns=7_000_000)
    (trace,) = await collector.get_json("/api/traces", "alice")
    body = await collector.get_json(f"/api/traces/{trace['id']}", "alice")
    (arrow,) = body["arrows"]
    assert arrow["from"] == "alice-phone"
    assert arrow["to"] == "alice-kitchen"
    assert arrow["latency_ms"] == pytest.approx(7.0)


async def test_stream_delivers_only_the_users_records_live(collector):
    assert collector.http is not None
    async with collector.http.get(
        collector.base + "/api/stream?backlog=0", headers=collector.auth("bob")
    ) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        stream = SseReader(response)
        await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 2)
        await _send(collector, BOB_PHONE, BOB_CAR, 1)
        records = await stream.records(2)
        assert {r["device_id"] for r in records} == {"bob-phone", "bob-car"}


async def test_stream_filters(collector):
    assert collector.http is not None
    async with collector.http.get(
        collector.base + "/api/stream?backlog=0&device=bob-car&q=handle",
        headers=collector.auth("root"),
    ) as response:
        stream = SseReader(response)
        await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 2)
        await _send(collector, BOB_PHONE, BOB_CAR, 2)
        records = await stream.records(2)
        assert [(r["device_id"], r["name"]) for r in records] == [("bob-car", "handle Command")] * 2


async def test_stream_resumes_after_last_event_id_without_loss_or_repeats(collector):
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 3)
    assert collector.http is not None
    async with collector.http.get(
        collector.base + "/api/stream?backlog=10", headers=collector.auth("alice")
    ) as response:
        first = await SseReader(response).records(6)
    last_id = first[3]["seq"]
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 2)  # arrives while disconnected
    async with collector.http.get(
        collector.base + "/api/stream",
        headers={**collector.auth("alice"), "Last-Event-ID": str(last_id)},
    ) as response:
        stream = SseReader(response)
        replayed = await stream.records(6)
        await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 1)
        live = await stream.records(2)
    seqs = [r["seq"] for r in first[:4] + replayed + live]
    assert seqs == sorted(set(seqs))
    assert len(seqs) == 12


async def test_resume_older_than_retention_says_reset(tmp_path):
    async with running_collector(tmp_path / "db") as collector:
        await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 3)
        store = collector.collector._writer
        await asyncio.get_running_loop().run_in_executor(
            collector.collector._writer_pool, store.enforce_retention, 0, 1 << 30
        )
        await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 1)
        assert collector.http is not None
        async with collector.http.get(
            collector.base + "/api/stream",
            headers={**collector.auth("alice"), "Last-Event-ID": "1"},
        ) as response:
            stream = SseReader(response)
            event = await stream.next()
            assert event.event == "reset"
            assert len(await stream.records(2)) == 2


@pytest.mark.warning_logs(r"live stream subscriber fell \d+ events behind")
def test_publish_never_blocks_and_cuts_off_a_full_subscriber(monkeypatch):
    monkeypatch.setattr(_live, "QUEUE_LIMIT", 4)
    hub = _live.LiveHub()
    slow = hub.subscribe(Scope(None), Filters())
    picky = hub.subscribe(Scope(None), Filters(device="elsewhere"))
    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    records = decode("traces", request.SerializeToString(), "application/x-protobuf")
    hub.publish([(1, records[0]), (2, records[1])])
    assert len(slow.backlog) == 2
    hub.publish([(i, records[i % 2]) for i in range(3, 10)])  # 7 more: over the limit of 4
    assert slow.overflowed
    assert slow.wake.is_set()
    assert len(slow.backlog) == 2  # nothing added past the limit
    assert not picky.overflowed
    assert not picky.backlog


def test_live_events_match_the_rows_the_queries_return(tmp_path):
    store = Store(tmp_path / "db")
    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    fresh, _ = store.insert_batches(
        [decode("traces", request.SerializeToString(), "application/x-protobuf")]
    )
    queried = {r["seq"]: r for r in store.latest(Scope(None), Filters(), 10)}
    store.close()
    for seq, record in fresh:
        event = _live.record_event(seq, record).decode()
        data = event.split("\ndata: ", 1)[1].rstrip("\n")
        assert json.loads(data) == queried[seq]


async def test_a_cut_off_viewer_is_told_to_reconnect(collector):
    assert collector.http is not None
    async with collector.http.get(
        collector.base + "/api/stream?backlog=0", headers=collector.auth("alice")
    ) as response:
        stream = SseReader(response)
        await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 1)
        await stream.records(2)
        (sub,) = collector.collector.hub.subscribers
        sub.overflowed = True  # what publish() does when its backlog is full
        sub.wake.set()
        assert (await stream.next()).event == "overflow"


async def test_seq_gaps_from_duplicates_are_not_reported_as_loss(collector):
    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    await collector.post("traces", request.SerializeToString())
    await collector.post("traces", request.SerializeToString())  # ignored, may burn seqs
    first = await collector.get_json("/api/search", "alice")
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, 1)
    assert collector.http is not None
    headers = {**collector.auth("alice"), "Last-Event-ID": str(first[-1]["seq"])}
    async with collector.http.get(collector.base + "/api/stream", headers=headers) as response:
        stream = SseReader(response)
        assert [(await stream.next()).event for _ in range(2)] == ["record", "record"]


async def test_a_viewer_that_drops_mid_replay_is_not_logged_as_an_error(collector, caplog):
    """A viewer that resets its connection while the collector waits to write is just gone."""
    # Big records, so a replay of them overflows the socket buffers and the writer waits.
    for batch in range(20):
        request = samples.traces_request(
            [
                samples.Message(ALICE_PHONE, ALICE_SPEAKER, seq=i, session_id="s" * 2000)
                for i in range(batch * 100, batch * 100 + 100)
            ]
        )
        assert (await collector.post("traces", request.SerializeToString())).status == 200
    caplog.set_level(logging.DEBUG)
    loop = asyncio.get_running_loop()
    for _ in range(3):
        with socket.socket() as sock:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await loop.sock_connect(sock, ("127.0.0.1", collector.collector.port))
            head = (
                "GET /api/stream?backlog=5000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {collector.tokens['alice']}\r\n\r\n"
            )
            await loop.sock_sendall(sock, head.encode())
            await loop.sock_recv(sock, 1024)  # the answer has begun; nothing more is read
            # Wait until the collector is stuck writing the replay, then reset the connection.
            await until(lambda: _writing_paused(collector), 10, "replay blocked on the socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await until(lambda: not collector.collector.hub.subscriber_count, 10, "stream ended")
    # Only the collector's own loggers: asyncio's slow-callback line is the suite's check.
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "asyncio"]
    assert errors == [], [r.getMessage() for r in errors]


def _writing_paused(collector: Running) -> bool:
    """Whether some connection of the collector has stopped writing for a full buffer."""
    server = collector.collector._runner.server if collector.collector._runner else None
    return any(
        handler.transport is not None and handler.writing_paused
        for handler in (server.connections if server else [])
    )
