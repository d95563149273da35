"""OTLP/HTTP conformance: what the specification describes, sent to a real `baton-traces serve`
on loopback, each answer checked (opentelemetry-proto, docs/specification.md, "OTLP/HTTP").

* Requests: POST /v1/traces, /v1/logs, /v1/metrics; binary protobuf (`application/x-protobuf`)
  and JSON (`application/json`: hex ids, lowerCamelCase keys, enums as integers, unknown
  fields ignored); `Content-Encoding: gzip` allowed.
* Full success: 200, the signal's Export*ServiceResponse with `partial_success` unset, in the
  request's Content-Type. An empty request is a success.
* Partial success: 200 and `partial_success` with the number rejected and a message.
* Failures: 4xx with a `google.rpc.Status` body; 400 for bad data, 413 over the size limit,
  415 for a Content-Type (or Content-Encoding) that is not OTLP, 401 without credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER
from tracing import _export, samples
from tracing._query import EVERYTHING, Filters
from tracing._store import Store

pytestmark = pytest.mark.slow

PB = "application/x-protobuf"
JSON = "application/json"
RESPONSES: dict[str, Any] = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
}


class Serve:
    """A `baton-traces serve` process with user alice and her ingest token."""

    def __init__(self, base: str, token: str, viewer: str, db: Path) -> None:
        self.base, self.token, self.viewer, self.db = base, token, viewer, db
        self.http: aiohttp.ClientSession | None = None

    async def post(
        self, signal: str, body: bytes, content_type: str | None = PB, **headers: str
    ) -> tuple[int, str, bytes]:
        assert self.http is not None
        sent = {"Authorization": f"Bearer {self.token}", **headers}
        if content_type is not None:
            sent["Content-Type"] = content_type
        async with self.http.post(
            f"{self.base}/v1/{signal}", data=body, headers=sent, skip_auto_headers=["Content-Type"]
        ) as response:
            return response.status, response.content_type, await response.read()

    def stored(self) -> list[dict[str, Any]]:
        store = Store(self.db)
        try:
            return store.latest(EVERYTHING, Filters(), 100_000)
        finally:
            store.close()


async def _cli(*words: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tracing.cli", *words, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    lines = out.decode().strip().splitlines()
    return lines[-1] if lines else ""


@contextlib.asynccontextmanager
async def _serve(tmp_path: Path) -> AsyncIterator[Serve]:
    db = tmp_path / "traces.db"
    viewer = await _cli("user", "add", "alice", "--db", str(db))
    token = await _cli("ingest", "add", "alice", "--label", "conformance", "--db", str(db))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tracing.cli", "serve", "--port", "0", "--db", str(db),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        port = re.search(r"http://[\d.]+:(\d+)/", line)
        assert port is not None, line
        serve = Serve(f"http://127.0.0.1:{port[1]}", token, viewer, db)
        async with aiohttp.ClientSession() as http:
            serve.http = http
            yield serve
    finally:
        process.terminate()
        _, errors = await asyncio.wait_for(process.communicate(), 30)
    assert b"Traceback" not in errors, errors.decode()


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    async with _serve(tmp_path) as running:
        yield running


def _response(signal: str, content_type: str, body: bytes) -> Any:
    message = RESPONSES[signal]()
    if content_type == JSON:
        json_format.Parse(body, message)
    else:
        message.ParseFromString(body)
    return message


def _status(content_type: str, body: bytes) -> Any:
    status = status_pb2.Status()
    if content_type == JSON:
        json_format.Parse(body, status)
    else:
        status.ParseFromString(body)
    assert status.message
    return status


def _traces(n: int = 2) -> Any:
    messages = [samples.Message(ALICE_PHONE, ALICE_SPEAKER, seq=i) for i in range(n)]
    return samples.traces_request(messages)


def _metrics() -> Any:
    point = metrics_pb2.NumberDataPoint(as_int=3, time_unix_nano=1)
    gauge = metrics_pb2.Metric(name="volume", gauge=metrics_pb2.Gauge(data_points=[point]))
    return metrics_service_pb2.ExportMetricsServiceRequest(
        resource_metrics=[
            metrics_pb2.ResourceMetrics(
                resource=ALICE_PHONE.resource(),
                scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[gauge])],
            )
        ]
    )


@pytest.mark.parametrize("content_type", [PB, JSON])
@pytest.mark.parametrize("signal", ["traces", "logs", "metrics"])
async def test_full_success_in_the_requests_encoding(serve: Serve, signal: str, content_type: str):
    request = (
        _traces()
        if signal == "traces"
        else samples.logs_request(ALICE_PHONE, "baton.device.discovered")
        if signal == "logs"
        else _metrics()
    )
    body = samples.to_otlp_json(request) if content_type == JSON else request.SerializeToString()
    status, answered_type, answer = await serve.post(signal, body, content_type)
    assert (status, answered_type) == (200, content_type)
    assert not _response(signal, content_type, answer).HasField("partial_success")
    # gzip, and an empty request: successes too.
    status, _, _ = await serve.post(signal, gzip.compress(body), content_type, **{
        "Content-Encoding": "gzip"
    })  # fmt: skip
    assert status == 200
    empty = b"{}" if content_type == JSON else b""
    status, _, answer = await serve.post(signal, empty, content_type)
    assert status == 200
    assert not _response(signal, content_type, answer).HasField("partial_success")


@pytest.mark.parametrize("content_type", [PB, JSON])
async def test_spans_with_invalid_ids_are_refused_and_the_others_kept(
    serve: Serve, content_type: str
):
    request = _traces(3)  # six valid spans
    spans = request.resource_spans[0].scope_spans[0].spans
    bad = []
    for trace_id, span_id in (
        (b"\x01" * 8, b"\x02" * 8),  # trace id of the wrong length
        (bytes(16), b"\x02" * 8),  # all-zero trace id
        (b"", b"\x02" * 8),  # missing trace id
        (b"\x01" * 16, b"\x02" * 4),  # span id of the wrong length
        (b"\x01" * 16, bytes(8)),  # all-zero span id
        (b"\x01" * 16, b""),  # missing span id
    ):
        span = type(spans[0])()
        span.CopyFrom(spans[0])
        span.trace_id, span.span_id = trace_id, span_id
        bad.append(span)
    spans.extend(bad)
    body = samples.to_otlp_json(request) if content_type == JSON else request.SerializeToString()
    status, answered_type, answer = await serve.post("traces", body, content_type)
    assert (status, answered_type) == (200, content_type)
    partial = _response("traces", content_type, answer).partial_success
    assert partial.rejected_spans == 6
    assert "trace id" in partial.error_message
    assert "span id" in partial.error_message
    assert len(serve.stored()) == 6


async def test_log_records_with_ids_of_the_wrong_length_are_refused(serve: Serve):
    request = samples.logs_request(ALICE_PHONE, "baton.state.changed")
    records = request.resource_logs[0].scope_logs[0].log_records
    wrong = type(records[0])()
    wrong.CopyFrom(records[0])
    wrong.trace_id = b"\x01" * 5
    records.append(wrong)
    status, _, answer = await serve.post("logs", request.SerializeToString())
    assert status == 200
    assert _response("logs", PB, answer).partial_success.rejected_log_records == 1
    assert len(serve.stored()) == 1


async def test_json_ids_are_hex_and_snake_case_keys_are_read_as_such(serve: Serve):
    request = _traces(1)
    camel = json.loads(samples.to_otlp_json(request))
    ids = {s["spanId"] for group in camel["resourceSpans"] for s in group["scopeSpans"][0]["spans"]}
    snake = json.loads(json.dumps(camel).replace('"spanId"', '"span_id"'))
    snake = json.loads(json.dumps(snake).replace('"traceId"', '"trace_id"'))
    snake = json.loads(json.dumps(snake).replace('"parentSpanId"', '"parent_span_id"'))
    snake = json.loads(json.dumps(snake).replace('"resourceSpans"', '"resource_spans"'))
    status, _, answer = await serve.post("traces", json.dumps(snake).encode(), JSON)
    assert status == 200
    assert not _response("traces", JSON, answer).HasField("partial_success")
    assert {r["span_id"] for r in serve.stored()} == {i.lower() for i in ids}
    # Upper-case hex is hex too; a field nobody knows is ignored.
    upper = _traces(1)
    tree = json.loads(samples.to_otlp_json(upper))
    tree["somethingNew"] = {"x": 1}
    for group in tree["resourceSpans"]:
        for span in group["scopeSpans"][0]["spans"]:
            span["traceId"] = span["traceId"].upper()
    status, _, _ = await serve.post("traces", json.dumps(tree).encode(), JSON)
    assert status == 200
    assert len(serve.stored()) == 4


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/xml"}, 415),
        ({"Content-Encoding": "br"}, 415),
    ],
)
async def test_what_is_not_otlp_gets_415_with_a_status(serve: Serve, headers, expected):
    headers = dict(headers)
    content_type = headers.pop("Content-Type", PB)
    status, answered_type, answer = await serve.post(
        "traces", _traces().SerializeToString(), content_type, **headers
    )
    assert status == expected
    assert answered_type == PB  # the specification's default when the request's is not OTLP
    assert _status(answered_type, answer).code


@pytest.mark.parametrize("content_type", [PB, JSON])
async def test_bad_data_is_400_with_a_status_in_the_requests_encoding(
    serve: Serve, content_type: str
):
    status, answered_type, answer = await serve.post("traces", b"\x0a\xff\xff{", content_type)
    assert (status, answered_type) == (400, content_type)
    assert _status(answered_type, answer).code == 3  # INVALID_ARGUMENT


async def test_no_token_is_401_and_too_large_is_413_each_with_a_status(serve: Serve):
    assert serve.http is not None
    async with serve.http.post(
        serve.base + "/v1/traces",
        data=_traces().SerializeToString(),
        headers={"Content-Type": PB},
    ) as response:
        assert response.status == 401
        assert "ingest" in _status(response.content_type, await response.read()).message
    bomb = await asyncio.to_thread(gzip.compress, bytes(33 * 1024 * 1024))  # off the loop
    status, answered_type, answer = await serve.post(
        "traces", bomb, PB, **{"Content-Encoding": "gzip"}
    )
    assert status == 413
    _status(answered_type, answer)
    async with serve.http.get(serve.base + "/v1/traces") as response:
        assert response.status == 405
        _status(response.content_type, await response.read())


async def test_exports_post_back_as_what_they_were(serve: Serve, tmp_path: Path):
    """`--format otlp-json` is a /v1/traces request, `otlp-json-logs` a /v1/logs one."""
    assert (await serve.post("traces", _traces(3).SerializeToString()))[0] == 200
    logs = samples.logs_request(ALICE_SPEAKER, "baton.state.changed", {"baton.revision": 7})
    assert (await serve.post("logs", logs.SerializeToString()))[0] == 200
    out = tmp_path / "exported"
    for fmt in ("otlp-json", "otlp-json-logs"):
        await _cli("export", "--db", str(serve.db), "--format", fmt, "-o", f"{out}.{fmt}")
    await asyncio.to_thread((tmp_path / "second").mkdir)
    async with _serve(tmp_path / "second") as second:
        traces = await asyncio.to_thread(Path(f"{out}.otlp-json").read_bytes)
        status, _, answer = await second.post("traces", traces, JSON)
        assert status == 200
        assert not _response("traces", JSON, answer).HasField("partial_success")
        exported_logs = await asyncio.to_thread(Path(f"{out}.otlp-json-logs").read_bytes)
        status, _, _ = await second.post("logs", exported_logs, JSON)
        assert status == 200
        again = {(r["trace_id"], r["span_id"]) for r in second.stored() if r["kind"] == "span"}
        first = {(r["trace_id"], r["span_id"]) for r in serve.stored() if r["kind"] == "span"}
        assert again == first
    (record,) = json.loads(exported_logs)["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    assert record["eventName"] == "baton.state.changed"
    assert record["severityNumber"] == 9
    assert _export.FORMATS[:2] == ("otlp-json", "otlp-json-logs")


async def test_an_sdk_left_on_defaults_logs_no_error_for_metrics(serve: Serve, caplog):
    """The OpenTelemetry SDK's own OTLP/HTTP exporters, with only endpoint and token set."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("test").create_counter("commands").add(3)
    data = reader.get_metrics_data()
    exporter = OTLPMetricExporter(
        endpoint=serve.base + "/v1/metrics", headers={"Authorization": f"Bearer {serve.token}"}
    )
    caplog.set_level("WARNING")
    try:
        result = await asyncio.to_thread(exporter.export, data)
    finally:
        exporter.shutdown()
        provider.shutdown()
    assert result.name == "SUCCESS"
    assert [r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []
