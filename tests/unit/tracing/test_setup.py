"""Instrumentation (connect.telemetry) with an in-memory SDK, and `tracing.setup` against a
collector: spans pair across devices, a transfer is one span linked to both devices, events
are log records, and only allow-listed attributes leave the device."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import aiohttp
import pytest
from opentelemetry import _logs, trace
from opentelemetry._logs import _internal as logs_internal
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.util._once import Once

from connect import telemetry
from connect.clock import monotonic_us
from connect.controller import Controller, default_identity
from connect.discovery import DeviceRegistry, ServiceRecord
from connect.session import ControllerLink, DeviceConnection, Endpoint
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.fakes import MemoryHost
from tests.unit.tracing.support import Running, running_collector
from tracing import attributes as a
from tracing.setup import TraceSettings, setup

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

TIMEOUT = 5.0


def reset_otel_globals() -> None:
    """Forget the installed SDK, as OpenTelemetry's own test helpers do (private names)."""
    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None
    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()


@pytest.fixture
def memory_sdk() -> Iterator[tuple[InMemorySpanExporter, InMemoryLogRecordExporter]]:
    """An SDK exporting to memory, installed as this process's global one for the test."""
    reset_otel_globals()
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    trace.set_tracer_provider(tracer_provider)
    _logs.set_logger_provider(logger_provider)
    try:
        yield spans, logs
    finally:
        tracer_provider.shutdown()
        logger_provider.shutdown()
        reset_otel_globals()


class TransferHost(MemoryHost):
    """A MemoryHost that plays its part in a transfer as a receiver would, without a player."""

    def __init__(self, device_id: str, name: str) -> None:
        super().__init__(device_id, name)
        self.info = replace(self.info, capabilities=m.Capabilities(audio_codecs=("wav",)))

    async def async_handle_transfer(self, body: m.Body, link: ControllerLink) -> None:
        self.transfer_messages.append(body)
        now = monotonic_us()  # one process: every device shares this clock
        if isinstance(body, m.TransferOffer):
            position = body.state.clock.position_at(now) + 200
            link.send(m.TransferReady(body.transfer_id, position, now, 0, 20_000))
        elif isinstance(body, m.TransferCommit) and body.role is m.TransferRole.SOURCE:
            link.send(m.TransferReady(body.transfer_id, body.position_ms, now))  # the ack
            await asyncio.sleep(max(0, body.switch_at_us - now) / 1e6)
            done = m.TransferDone(body.transfer_id, m.TransferRole.SOURCE, monotonic_us(), 0)
            link.send(replace(done, position_ms=body.position_ms))
        elif isinstance(body, m.TransferCommit):
            await asyncio.sleep(max(0, body.switch_at_us - now) / 1e6)
            self.state = replace(self.state, revision=body.revision, active=True)
            link.send(
                m.TransferDone(
                    body.transfer_id, m.TransferRole.TARGET, monotonic_us(), body.position_ms,
                    body.revision,
                )
            )  # fmt: skip


@pytest.fixture
async def two_devices() -> AsyncIterator[tuple[TransferHost, TransferHost, int, int]]:
    source, target = TransferHost("dev-living", "Living Room"), TransferHost("dev-car", "Car")
    ports = [await host.server.async_start(["127.0.0.1"], 0) for host in (source, target)]
    try:
        yield source, target, ports[0], ports[1]
    finally:
        for host in (source, target):
            await host.server.async_close()


def _by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def _only(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    (span,) = _by_name(spans, name)
    return span


def _is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    assert child.parent is not None, child.name
    assert parent.context is not None
    return (child.context is not None and child.context.trace_id == parent.context.trace_id) and (
        child.parent.span_id == parent.context.span_id
    )


def test_tracing_off_builds_nothing():
    reset_otel_globals()
    assert telemetry.tracer() is None
    assert telemetry.start_send(m.Command("c1", m.Pause()), "dev") is None
    assert telemetry.carrier(None) == ("", "")
    telemetry.emit_event(a.EVENT_STATE_CHANGED, {a.REVISION: 1})  # no SDK: a no-op


async def test_command_spans_are_parent_and_child_across_devices(memory_sdk):
    spans, _logs_exported = memory_sdk
    host = MemoryHost("dev-speaker", "Speaker")
    port = await host.server.async_start(["127.0.0.1"], 0)
    identity = default_identity("test")
    try:
        async with aiohttp.ClientSession() as http:

            async def resolve() -> Endpoint:
                return Endpoint("127.0.0.1", port)

            conn = DeviceConnection("dev-speaker", resolve, identity, http)
            conn.async_start()
            await conn.async_wait_connected(TIMEOUT)
            result = await conn.async_command(m.SetVolume(30), timeout=TIMEOUT)
            await conn.async_close()
    finally:
        await host.server.async_close()
    assert result.failure is None
    finished = spans.get_finished_spans()
    connect, hello = _only(finished, "connect"), _only(finished, "handle Hello")
    assert connect.kind is SpanKind.CLIENT
    assert _is_child(hello, connect)
    assert connect.attributes is not None
    assert connect.attributes[a.PEER_DEVICE_ID] == "dev-speaker"
    assert conn.session_span == connect.context
    send, handle = _only(finished, "send Command"), _only(finished, "handle Command")
    assert (send.kind, handle.kind) == (SpanKind.CLIENT, SpanKind.SERVER)
    assert _is_child(handle, send)
    assert send.attributes is not None
    assert handle.attributes is not None
    assert send.attributes[a.PEER_DEVICE_ID] == "dev-speaker"
    assert send.attributes[a.COMMAND_ACTION] == "SetVolume"
    assert send.attributes[a.COMMAND_ID] == handle.attributes[a.COMMAND_ID]
    assert send.attributes[a.REVISION] == result.revision
    assert handle.attributes[a.SESSION_ID] == "sess-test"
    assert isinstance(handle.attributes[a.ENVELOPE_SEQ], int)
    # The answer is an arrow back: the device's sender span, the controller's handle span.
    reply, heard = _only(finished, "send CommandResult"), _only(finished, "handle CommandResult")
    assert reply.attributes is not None
    assert reply.attributes[a.PEER_DEVICE_ID] == identity.id
    assert _is_child(reply, handle)
    assert _is_child(heard, reply)
    assert send.end_time is not None
    assert heard.end_time is not None
    assert send.end_time >= heard.end_time  # the command's span lasts until its result


async def test_a_transfer_is_one_span_linked_to_both_devices(memory_sdk, two_devices):
    spans, _logs_exported = memory_sdk
    _source, _target, source_port, target_port = two_devices
    controller = Controller(default_identity("test"), browse=False)
    await controller.async_start()
    try:
        await controller.async_add_address("127.0.0.1", source_port)
        await controller.async_add_address("127.0.0.1", target_port)
        item = m.QueueItem("u1", "http://127.0.0.1:9/track")
        await controller.async_command("dev-living", m.SetQueue((item,)), timeout=TIMEOUT)
        outcome = await TransferCoordinator(controller).async_transfer("dev-living", "dev-car")
        links = {
            device: controller.connection(device).session_span
            for device in ("dev-living", "dev-car")
        }
    finally:
        await controller.async_close()
    assert outcome.ok, outcome.failure
    finished = spans.get_finished_spans()
    transfer = _only(finished, "transfer")
    assert transfer.attributes is not None
    assert transfer.attributes[a.TRANSFER_ID] == outcome.transfer_id
    linked = {
        (link.attributes or {}).get(a.PEER_DEVICE_ID): (
            (link.attributes or {}).get(a.TRANSFER_ROLE),
            link.context,
        )
        for link in transfer.links
    }
    assert linked == {"dev-living": ("source", links["dev-living"]),
                      "dev-car": ("target", links["dev-car"])}  # fmt: skip
    phases = [event.name for event in transfer.events]
    assert phases == ["target ready", "target playing", "source silent"]
    # Its messages are its children, and every device's handling of them theirs.
    sent = [
        s for s in finished if s.name.startswith("send Transfer") and s.kind is SpanKind.PRODUCER
    ]
    to_devices = {
        (s.name, (s.attributes or {}).get(a.PEER_DEVICE_ID)) for s in sent if _is_child(s, transfer)
    }
    assert ("send TransferOffer", "dev-car") in to_devices
    assert ("send TransferCommit", "dev-living") in to_devices
    assert ("send TransferCommit", "dev-car") in to_devices
    handled = _by_name(finished, "handle TransferOffer") + _by_name(
        finished, "handle TransferCommit"
    )
    assert len(handled) == 3
    for span in handled:
        (parent,) = [s for s in sent if _is_child(span, s)]
        assert _is_child(parent, transfer)
    assert all(
        (s.attributes or {}).get(a.TRANSFER_ID) == outcome.transfer_id
        for s in finished
        if "Transfer" in s.name
    )
    assert not [s for s in finished if s.status.status_code is trace.StatusCode.ERROR]
    # How it went, on the span: the viewer's transfers list and timeline read these.
    attrs = transfer.attributes
    assert (attrs[a.TRANSFER_SOURCE], attrs[a.TRANSFER_TARGET]) == ("dev-living", "dev-car")
    assert (attrs[a.TRANSFER_MODE], attrs[a.TRANSFER_OUTCOME]) == ("handoff", "ok")
    assert outcome.timings is not None
    assert attrs[a.TRANSFER_LATENCY_MS] == outcome.timings.request_to_audible_ms
    assert attrs[a.TRANSFER_GAP_US] == outcome.timings.gap_us
    assert attrs[a.TRANSFER_POSITION_ERROR_MS] == outcome.timings.position_error_ms
    parts = (a.TRANSFER_OFFER_US, a.TRANSFER_PREROLL_US, a.TRANSFER_LEAD_US, a.TRANSFER_START_US)
    assert [attrs[k] for k in parts] == [
        outcome.timings.offer_us,
        outcome.timings.preroll_us,
        outcome.timings.lead_us,
        outcome.timings.start_us,
    ]
    assert attrs[a.TRANSFER_FADE_MS] == m.TransferOptions().fade_ms
    assert isinstance(attrs[a.TRANSFER_CLOCK_ERROR_US], int)


async def test_a_failed_transfer_says_so_on_its_span(memory_sdk, two_devices):
    spans, _logs_exported = memory_sdk
    _source, _target, source_port, _target_port = two_devices
    controller = Controller(default_identity("test"), browse=False)
    await controller.async_start()
    try:
        await controller.async_add_address("127.0.0.1", source_port)
        # The source has nothing to play: refused before any message.
        outcome = await TransferCoordinator(controller).async_transfer("dev-living", "dev-car")
    finally:
        await controller.async_close()
    assert not outcome.ok
    transfer = _only(spans.get_finished_spans(), "transfer")
    attrs = transfer.attributes or {}
    assert attrs[a.TRANSFER_OUTCOME] == "failed"
    assert a.TRANSFER_LATENCY_MS not in attrs
    assert attrs[a.ERROR_TYPE] == outcome.failure.code.name


async def test_replies_go_to_the_lifeline_the_traced_hello_named_not_the_client_id():
    """The app and the CLI present one client id; each traces as its own lifeline, which the
    Hello's tracestate names, and the device traces its replies to that lifeline."""
    reset_otel_globals()
    spans = InMemorySpanExporter()
    lifeline = "ctl-cli-0123456789abcdef0123"
    provider = TracerProvider(
        resource=Resource.create({a.DEVICE_ID: lifeline}), shutdown_on_exit=False
    )
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(provider)
    host = MemoryHost("dev-speaker", "Speaker")
    port = await host.server.async_start(["127.0.0.1"], 0)
    identity = default_identity("test")
    try:
        async with aiohttp.ClientSession() as http:

            async def resolve() -> Endpoint:
                return Endpoint("127.0.0.1", port)

            conn = DeviceConnection("dev-speaker", resolve, identity, http)
            conn.async_start()
            await conn.async_wait_connected(TIMEOUT)
            result = await conn.async_command(m.SetVolume(30), timeout=TIMEOUT)
            await conn.async_close()
    finally:
        await host.server.async_close()
        provider.shutdown()
        reset_otel_globals()
    assert result.failure is None
    finished = spans.get_finished_spans()
    reply = _only(finished, "send CommandResult")
    assert (reply.attributes or {})[a.PEER_DEVICE_ID] == lifeline  # not identity.id
    assert lifeline != identity.id


def test_the_tracestate_names_the_senders_lifeline_first_and_once():
    reset_otel_globals()
    provider = TracerProvider(resource=Resource.create({a.DEVICE_ID: "ctl-app-1"}))
    trace.set_tracer_provider(provider)
    try:
        span = telemetry.start_send(m.Command("c1", m.Pause()), "dev")
        assert telemetry.own_lifeline() == "ctl-app-1"
        _parent, state = telemetry.carrier(span)
        assert state == "baton=ctl-app-1"

        # A device tagged in this process (the app's "This computer") names itself.
        def tagged() -> str:
            telemetry.enter_device(telemetry.DeviceTag("This computer", "receiver", "dev-here"))
            return telemetry.carrier(span)[1]

        assert contextvars.copy_context().run(tagged) == "baton=dev-here"
    finally:
        provider.shutdown()
        reset_otel_globals()

    def envelope(state: str) -> m.Envelope:
        return m.Envelope(1, "m1", m.Command("c1", m.Pause()), tracestate=state)

    assert telemetry.sender_lifeline(envelope("other=1,baton=ctl-cli-2")) == "ctl-cli-2"
    assert telemetry.sender_lifeline(envelope("other=1")) == ""
    assert telemetry.sender_lifeline(envelope("baton=has space")) == ""  # not a W3C value


async def test_events_are_log_records_with_event_names(memory_sdk):
    _spans, logs = memory_sdk
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("handle Command") as span:
        telemetry.emit_event(
            a.EVENT_STATE_CHANGED, {a.REVISION: 7, a.REASON: "COMMAND", a.SESSION_ID: "s1"}
        )
    (record,) = [r.log_record for r in logs.get_finished_logs()]
    assert record.event_name == a.EVENT_STATE_CHANGED
    assert dict(record.attributes or {}) == {a.REVISION: 7, a.REASON: "COMMAND", a.SESSION_ID: "s1"}
    assert record.span_id == span.get_span_context().span_id


@pytest.mark.warning_logs(r"offline: closed by the device")
def test_devices_found_and_lost_are_events(memory_sdk):
    _spans, logs = memory_sdk
    registry = DeviceRegistry()  # not started: no mDNS, devices added by hand only
    registry.async_add_manual("127.0.0.1", 4000)  # a provisional id: no event yet
    record = ServiceRecord("Kitchen", "dev-kitchen", addresses=("127.0.0.1",), port=4000)
    registry.async_report_manual("127.0.0.1", 4000, record)
    registry.async_mark_online("dev-kitchen")
    registry.async_mark_offline("dev-kitchen", "closed by the device at 127.0.0.1")
    registry.async_forget("dev-kitchen")
    events = [
        (r.log_record.event_name, dict(r.log_record.attributes or {}))
        for r in logs.get_finished_logs()
    ]
    assert events == [
        (a.EVENT_DEVICE_DISCOVERED, {a.PEER_DEVICE_ID: "dev-kitchen", a.REASON: "manual"}),
        (a.EVENT_DEVICE_LOST, {a.PEER_DEVICE_ID: "dev-kitchen", a.REASON: "session"}),
        (a.EVENT_DEVICE_LOST, {a.PEER_DEVICE_ID: "dev-kitchen", a.REASON: "forgotten"}),
    ]


@pytest.fixture
async def collector(tmp_path) -> AsyncIterator[Running]:
    async with running_collector(tmp_path / "traces.db") as running:
        yield running


async def test_setup_sends_only_allow_listed_attributes(collector, tmp_path):
    settings = TraceSettings(
        collector.base, device_id="phone-1", device_name="Phone", device_type="controller",
        user="Alice", spool=tmp_path / "spool.sqlite3",
    )  # fmt: skip
    handle = setup(settings, install=False)
    try:
        tracer = handle.tracer_provider.get_tracer("test")
        with tracer.start_as_current_span(
            "send Command",
            kind=SpanKind.PRODUCER,
            attributes={a.PEER_DEVICE_ID: "speaker-1", a.COMMAND_ID: "c1", "user.email": "a@b"},
        ) as span:
            span.set_status(trace.Status(trace.StatusCode.ERROR, "cannot reach 10.0.0.7"))
            handle.logger_provider.get_logger("test").emit(
                event_name=a.EVENT_DEVICE_DISCOVERED,
                body="Alice's phone found Kitchen at 10.0.0.7",
                attributes={a.PEER_DEVICE_ID: "speaker-1", "net.peer.ip": "10.0.0.7"},
            )
        assert await asyncio.to_thread(handle.force_flush, TIMEOUT)
    finally:
        await asyncio.to_thread(handle.shutdown, TIMEOUT)
    rows = await collector.get_json("/api/search?limit=10", "alice")  # "Alice" hashes the same
    assert {r["kind"] for r in rows} == {"span", "log"}
    span_row = next(r for r in rows if r["kind"] == "span")
    log_row = next(r for r in rows if r["kind"] == "log")
    assert span_row["data"]["attributes"] == {a.PEER_DEVICE_ID: "speaker-1", a.COMMAND_ID: "c1"}
    assert "status_message" not in span_row["data"]
    assert log_row["name"] == a.EVENT_DEVICE_DISCOVERED
    assert log_row["data"]["attributes"] == {a.PEER_DEVICE_ID: "speaker-1"}
    assert not log_row["data"]["body"]
    resource = span_row["data"]["resource"]
    assert resource[a.USER_ID] == a.pseudonymise_user("alice")
    assert (resource[a.DEVICE_ID], resource[a.DEVICE_TYPE]) == ("phone-1", "controller")
    assert set(resource) <= {
        a.DEVICE_ID, a.DEVICE_NAME, a.DEVICE_TYPE, a.USER_ID, "service.name", "service.instance.id",
        "telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version",
    }  # fmt: skip
    assert await collector.get_json("/api/search?limit=10", "bob") == []


def test_setup_refuses_a_non_http_endpoint(tmp_path):
    with pytest.raises(ValueError, match="http"):
        setup(TraceSettings("collector:4318", device_id="x"), install=False)
