"""The OpenTelemetry Python SDK's own OTLP/HTTP exporter against the collector: every span
arrives exactly once, even when the exporter retries or an offline spool replays a batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, set_span_in_context

from tests.unit.tracing.support import Running, running_collector
from tracing import attributes as a

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")


@pytest.fixture
async def collector(tmp_path) -> AsyncIterator[Running]:
    async with running_collector(tmp_path / "traces.db") as running:
        yield running


def _provider(device_id: str, device_type: str) -> tuple[TracerProvider, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {
                a.DEVICE_ID: device_id,
                a.DEVICE_TYPE: device_type,
                a.DEVICE_NAME: device_id,
                a.USER_ID: a.pseudonymise_user("alice"),
                a.CLOCK_OFFSET_MS: 1.5,
            }
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def _conversation(n: int):
    """Spans of n Commands from a phone to a speaker, made with the real SDK."""
    phone, phone_spans = _provider("phone", "controller")
    speaker, speaker_spans = _provider("speaker", "speaker")
    for seq in range(n):
        common = {a.SESSION_ID: "s-1", a.MESSAGE_KIND: "Command", a.ENVELOPE_SEQ: seq}
        with phone.get_tracer("baton.connect").start_as_current_span(
            "send Command",
            kind=SpanKind.PRODUCER,
            attributes={**common, a.PEER_DEVICE_ID: "speaker"},
        ) as send:
            # Stands for the Envelope carrying the trace context to the other device.
            context = set_span_in_context(send)
        with speaker.get_tracer("baton.connect").start_as_current_span(
            "handle Command", context=context, kind=SpanKind.CONSUMER, attributes=common
        ):
            pass
    return phone_spans.get_finished_spans(), speaker_spans.get_finished_spans()


async def _export(endpoint: str, spans) -> SpanExportResult:
    exporter = OTLPSpanExporter(endpoint=endpoint, compression=Compression.Gzip, timeout=10)
    try:
        return await asyncio.to_thread(exporter.export, spans)
    finally:
        exporter.shutdown()


async def test_sdk_spans_arrive_once_and_pair_into_arrows(collector):
    phone_spans, speaker_spans = _conversation(5)
    endpoint = collector.base + "/v1/traces"
    assert await _export(endpoint, phone_spans) == SpanExportResult.SUCCESS
    assert await _export(endpoint, speaker_spans) == SpanExportResult.SUCCESS
    # An offline spool replaying both batches, and a duplicate of a part of one.
    assert await _export(endpoint, phone_spans + speaker_spans) == SpanExportResult.SUCCESS
    assert await _export(endpoint, speaker_spans[:2]) == SpanExportResult.SUCCESS
    assert collector.collector.ingested == 10
    rows = await collector.get_json("/api/search?limit=100", "alice")
    assert len(rows) == 10
    assert len({(r["trace_id"], r["span_id"]) for r in rows}) == 10
    traces = await collector.get_json("/api/traces", "alice")
    assert len(traces) == 5
    body = await collector.get_json(f"/api/traces/{traces[0]['id']}", "alice")
    (arrow,) = body["arrows"]
    assert (arrow["from"], arrow["to"], arrow["label"]) == ("phone", "speaker", "Command")
    devices = {d["device_id"]: d for d in await collector.get_json("/api/devices", "alice")}
    assert devices["speaker"]["clock_offset_ms"] == 1.5
    assert await collector.get_json("/api/devices", "bob") == []


@pytest.mark.warning_logs(r"Transient error Service Unavailable")
async def test_a_retried_export_is_stored_once(collector):
    """The collector stores a batch but the answer is lost (503 here): the SDK retries."""
    answered: list[int] = []

    async def lossy_proxy(request: web.Request) -> web.Response:
        body = await request.read()
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                collector.base + request.path,
                data=body,
                headers={"Content-Type": request.content_type},
            ) as upstream,
        ):
            payload = await upstream.read()
        answered.append(upstream.status)
        if len(answered) == 1:
            return web.Response(status=503, text="answer lost on the way back")
        return web.Response(
            body=payload, status=upstream.status, content_type=upstream.content_type
        )

    app = web.Application()
    app.router.add_post("/v1/traces", lossy_proxy)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        phone_spans, speaker_spans = _conversation(3)
        result = await _export(f"http://127.0.0.1:{port}/v1/traces", phone_spans + speaker_spans)
    finally:
        await runner.cleanup()
    assert result == SpanExportResult.SUCCESS
    assert answered == [200, 200]  # the collector saw the batch twice
    assert collector.collector.ingested == 6
