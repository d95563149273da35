"""The offline spool: bounded and ordered on its own, and with `tracing.setup` a collector that
is down during a session and back later receives every span and event exactly once."""

from __future__ import annotations

import asyncio
import socket

import pytest
from opentelemetry.trace import SpanKind

from tracing import attributes as a
from tracing._query import EVERYTHING, Filters
from tracing._server import Collector, CollectorConfig
from tracing._store import Store
from tracing.setup import TraceSettings, Tracing, setup
from tracing.spool import Spool

TIMEOUT = 10.0


@pytest.mark.warning_logs(r"^trace spool")
def test_spool_keeps_order_and_drops_the_oldest_when_full(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=300)
    try:
        for n in range(5):
            spool.append("traces", bytes([n]) * 100)
        assert len(spool) == 3
        assert spool.dropped == 2
        assert spool.size_bytes() == 300
        first = spool.oldest()
        assert first is not None
        assert first.body == bytes([2]) * 100
        spool.remove(first.id)
        assert spool.append("logs", b"x" * 301) == 1  # larger than the whole spool
        assert spool.dropped == 3
    finally:
        spool.close()
    reopened = Spool(tmp_path / "spool.sqlite3", max_bytes=300)  # a restart keeps it all
    try:
        batches = []
        while (batch := reopened.oldest()) is not None:
            batches.append((batch.signal, batch.body[0]))
            reopened.remove(batch.id)
        assert batches == [("traces", 3), ("traces", 4)]
        assert reopened.dropped == 3
    finally:
        reopened.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _emit(handle: Tracing, first: int, count: int) -> None:
    """Spans and events of *count* commands, as a device would make them."""
    tracer = handle.tracer_provider.get_tracer("test")
    events = handle.logger_provider.get_logger("test")
    for n in range(first, first + count):
        with tracer.start_as_current_span(
            "send Command", kind=SpanKind.CLIENT, attributes={a.COMMAND_ID: f"c{n}"}
        ):
            events.emit(event_name=a.EVENT_STATE_CHANGED, attributes={a.REVISION: n})


def _ingest_token(tmp_path, device_id: str) -> str:
    """A device's ingest token (one of alice's), made before the collector first starts."""
    store = Store(tmp_path / "traces.db")
    try:
        store.add_user("root", admin=True)
        store.add_user("alice")
        return store.add_ingest_token("alice", device_id)
    finally:
        store.close()


def _settings(port: int, tmp_path, device_id: str) -> TraceSettings:
    return TraceSettings(
        f"http://127.0.0.1:{port}", device_id=device_id, device_type="car", user="alice",
        spool=tmp_path / "trace-spool.sqlite3", retry_first_s=0.05, retry_ceiling_s=0.2,
        send_timeout_s=2.0, token=_ingest_token(tmp_path, device_id),
    )  # fmt: skip


async def _start_collector(tmp_path, port: int) -> Collector:
    collector = Collector(CollectorConfig(db=tmp_path / "traces.db", port=port))
    await collector.async_start()
    return collector


def _stored(tmp_path) -> tuple[list[str], list[int]]:
    """The command ids of stored spans and the revisions of stored events, with repeats."""
    store = Store(tmp_path / "traces.db")
    try:
        rows = store.latest(EVERYTHING, Filters(), 100_000)
    finally:
        store.close()
    spans = [r["data"]["attributes"][a.COMMAND_ID] for r in rows if r["kind"] == "span"]
    events = [r["data"]["attributes"][a.REVISION] for r in rows if r["kind"] == "log"]
    return spans, events


@pytest.mark.warning_logs(r"trace collector .* unreachable")
async def test_a_collector_down_during_the_session_gets_everything_once_when_back(tmp_path):
    port = _free_port()  # nothing listens there yet: a car out of Wi-Fi
    handle = setup(_settings(port, tmp_path, "car-1"), install=False)
    collector = None
    try:
        _emit(handle, 0, 30)
        assert not await asyncio.to_thread(handle.force_flush, TIMEOUT)
        assert len(handle.spool) >= 1  # spooled, not lost
        _emit(handle, 30, 10)  # still away: these join the spool behind the others
        assert not await asyncio.to_thread(handle.force_flush, TIMEOUT)
        collector = await _start_collector(tmp_path, port)
        assert await asyncio.to_thread(handle.force_flush, TIMEOUT)
        assert len(handle.spool) == 0
        assert handle.dropped == 0
        _emit(handle, 40, 5)  # and live again
        assert await asyncio.to_thread(handle.force_flush, TIMEOUT)
    finally:
        await asyncio.to_thread(handle.shutdown, TIMEOUT)
        if collector is not None:
            await collector.async_close()
    spans, events = _stored(tmp_path)
    assert sorted(spans, key=lambda c: int(c[1:])) == [f"c{n}" for n in range(45)]
    assert sorted(events) == list(range(45))


@pytest.mark.warning_logs(r"trace collector .* unreachable")
async def test_the_spool_outlives_the_process_and_a_replay_twice_is_stored_once(tmp_path):
    port = _free_port()
    first = setup(_settings(port, tmp_path, "car-1"), install=False)
    try:
        _emit(first, 0, 20)
    finally:
        # The collector is away at shutdown: what is left goes to the file, for next time.
        await asyncio.to_thread(first.shutdown, TIMEOUT)
    spool = Spool(tmp_path / "trace-spool.sqlite3")
    try:
        spooled = spool.oldest()
        assert spooled is not None
        spool.append(spooled.signal, spooled.body)  # the same batch twice: safe to replay
    finally:
        spool.close()
    collector = await _start_collector(tmp_path, port)
    second = setup(_settings(port, tmp_path, "car-1"), install=False)
    try:
        assert await asyncio.to_thread(second.force_flush, TIMEOUT)
        assert len(second.spool) == 0
    finally:
        await asyncio.to_thread(second.shutdown, TIMEOUT)
        await collector.async_close()
    spans, events = _stored(tmp_path)
    assert sorted(spans, key=lambda c: int(c[1:])) == [f"c{n}" for n in range(20)]
    assert sorted(events) == list(range(20))


@pytest.mark.parametrize("status", [400, 413])
@pytest.mark.warning_logs(r"trace collector refused a batch")
async def test_a_refused_batch_is_dropped_and_counted(tmp_path, status):
    from aiohttp import web

    async def refuse(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/v1/{signal}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    handle = setup(_settings(port, tmp_path, "car-1"), install=False)
    try:
        _emit(handle, 0, 3)
        assert await asyncio.to_thread(handle.force_flush, TIMEOUT)  # nothing left to send
        assert handle.dropped >= 2  # the spans' batch and the events' batch
        assert len(handle.spool) == 0
    finally:
        await asyncio.to_thread(handle.shutdown, TIMEOUT)
        await runner.cleanup()
