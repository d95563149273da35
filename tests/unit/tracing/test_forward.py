"""`--forward`: every accepted OTLP request also reaches another OTLP/HTTP receiver."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, running_collector
from tracing import attributes, samples

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")


async def test_forward_sends_the_raw_otlp_on(tmp_path):
    received: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()

    async def otel_collector(request: web.Request) -> web.Response:
        received.put_nowait((request.path, request.content_type, await request.read()))
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", otel_collector)
    app.router.add_post("/v1/logs", otel_collector)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with running_collector(tmp_path / "db", forward=f"http://127.0.0.1:{port}/") as c:
            traces = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
            logs = samples.logs_request(ALICE_PHONE, attributes.EVENT_DEVICE_LOST)
            await c.post("traces", traces.SerializeToString())
            await c.post("logs", samples.to_otlp_json(logs), "application/json")
            first = await asyncio.wait_for(received.get(), 10)
            second = await asyncio.wait_for(received.get(), 10)
    finally:
        await runner.cleanup()
    assert first == ("/v1/traces", "application/x-protobuf", traces.SerializeToString())
    assert second[:2] == ("/v1/logs", "application/json")
    assert second[2] == samples.to_otlp_json(logs)
