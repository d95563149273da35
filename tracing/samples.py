"""Realistic OTLP requests of Baton interactions, for tests, benchmarks and demos.

Each message is a span pair that follows the arrow contract in `tracing.attributes`: a sender
span on one device naming the peer, and a receiver span on the peer whose parent is the sender.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from tracing import attributes as a

PRODUCER = trace_pb2.Span.SPAN_KIND_PRODUCER
CONSUMER = trace_pb2.Span.SPAN_KIND_CONSUMER


@dataclass(frozen=True)
class Device:
    """A device as its resource attributes describe it."""

    device_id: str
    name: str
    device_type: str
    user: str  # the user name; the resource carries its pseudonym
    clock_offset_ms: float = 0.0

    def resource(self) -> Any:
        """Return this device's OTLP `Resource`."""
        return resource_pb2.Resource(
            attributes=key_values(
                {
                    "service.name": f"baton-{self.device_type}",
                    a.DEVICE_ID: self.device_id,
                    a.DEVICE_NAME: self.name,
                    a.DEVICE_TYPE: self.device_type,
                    a.USER_ID: a.pseudonymise_user(self.user),
                    a.CLOCK_OFFSET_MS: self.clock_offset_ms,
                }
            )
        )


def key_values(attrs: dict[str, Any]) -> list[Any]:
    """Return OTLP `KeyValue`s for a dict of str/int/float/bool values and lists of str."""
    out = []
    for key, value in attrs.items():
        if isinstance(value, bool):
            any_value = common_pb2.AnyValue(bool_value=value)
        elif isinstance(value, int):
            any_value = common_pb2.AnyValue(int_value=value)
        elif isinstance(value, float):
            any_value = common_pb2.AnyValue(double_value=value)
        elif isinstance(value, list | tuple):  # a list of strings (a group's members)
            strings = [common_pb2.AnyValue(string_value=str(v)) for v in value]
            any_value = common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=strings))
        else:
            any_value = common_pb2.AnyValue(string_value=str(value))
        out.append(common_pb2.KeyValue(key=key, value=any_value))
    return out


def new_trace_id() -> bytes:
    """16 random bytes."""
    return os.urandom(16)


def new_span_id() -> bytes:
    """8 random bytes."""
    return os.urandom(8)


@dataclass
class Message:
    """One Connect message from `sender` to `receiver` (the parameters of a span pair)."""

    sender: Device
    receiver: Device
    kind: str = "Command"
    session_id: str = "session-1"
    transfer_id: str = ""
    seq: int = 1
    start_ns: int = 0
    latency_ns: int = 3_000_000
    attributes: dict[str, Any] | None = None  # more, on both halves (a group step's)

    def spans(self, trace_id: bytes | None = None) -> tuple[Any, Any]:
        """Return (sender span, receiver span)."""
        trace_id = trace_id or new_trace_id()
        start = self.start_ns or time.time_ns()
        common: dict[str, Any] = {
            a.SESSION_ID: self.session_id,
            a.MESSAGE_KIND: self.kind,
            a.ENVELOPE_SEQ: self.seq,
            a.COMMAND_ID: f"cmd-{self.seq:04d}",
            a.REVISION: self.seq,
        }
        if self.transfer_id:
            common[a.TRANSFER_ID] = self.transfer_id
        common.update(self.attributes or {})
        send_id = new_span_id()
        send = trace_pb2.Span(
            trace_id=trace_id,
            span_id=send_id,
            name=f"send {self.kind}",
            kind=PRODUCER,
            start_time_unix_nano=start,
            end_time_unix_nano=start + 400_000,
            attributes=key_values({**common, a.PEER_DEVICE_ID: self.receiver.device_id}),
        )
        handle_start = start + self.latency_ns
        handle = trace_pb2.Span(
            trace_id=trace_id,
            span_id=new_span_id(),
            parent_span_id=send_id,
            name=f"handle {self.kind}",
            kind=CONSUMER,
            start_time_unix_nano=handle_start,
            end_time_unix_nano=handle_start + 1_200_000,
            attributes=key_values(common),
        )
        return send, handle


def traces_request(messages: list[Message]) -> Any:
    """Return an `ExportTraceServiceRequest` holding the span pairs of `messages`, grouped by
    device as an SDK batch would be (sender and receiver halves in one request)."""
    by_device: dict[str, tuple[Device, list[Any]]] = {}
    for message in messages:
        send, handle = message.spans()
        by_device.setdefault(message.sender.device_id, (message.sender, []))[1].append(send)
        by_device.setdefault(message.receiver.device_id, (message.receiver, []))[1].append(handle)
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=device.resource(),
                scope_spans=[
                    trace_pb2.ScopeSpans(
                        scope=common_pb2.InstrumentationScope(name="baton.connect"), spans=spans
                    )
                ],
            )
            for device, spans in by_device.values()
        ]
    )


def logs_request(device: Device, event_name: str, attrs: dict[str, Any] | None = None) -> Any:
    """Return an `ExportLogsServiceRequest` with one event (a log record with `event.name`)."""
    record = logs_pb2.LogRecord(
        time_unix_nano=time.time_ns(),
        observed_time_unix_nano=time.time_ns(),
        body=common_pb2.AnyValue(string_value=event_name),
        attributes=key_values({a.EVENT_NAME: event_name, **(attrs or {})}),
        event_name=event_name,
        severity_number=logs_pb2.SEVERITY_NUMBER_INFO,
        severity_text="INFO",
    )
    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=device.resource(),
                scope_logs=[logs_pb2.ScopeLogs(log_records=[record])],
            )
        ]
    )


def to_otlp_json(request: Any) -> bytes:
    """Encode a request as OTLP/JSON (hex ids, camelCase names)."""
    tree = json_format.MessageToDict(request)
    return json.dumps(_base64_ids_to_hex(tree)).encode()


def _base64_ids_to_hex(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex()
            if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str)
            else _base64_ids_to_hex(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_base64_ids_to_hex(v) for v in node]
    return node


def fan_out_request(sender: Device, receivers: list[Device], kind: str = "Command") -> Any:
    """Return one sender span and, per receiver, a span in its own trace that links to it
    (the fan-out form of the arrow contract)."""
    start = time.time_ns()
    send = trace_pb2.Span(
        trace_id=new_trace_id(),
        span_id=new_span_id(),
        name=f"send {kind}",
        kind=PRODUCER,
        start_time_unix_nano=start,
        end_time_unix_nano=start + 300_000,
        attributes=key_values({a.MESSAGE_KIND: kind}),
    )
    groups = [(sender, send)]
    for n, receiver in enumerate(receivers, 1):
        handle_start = start + n * 2_000_000
        link = trace_pb2.Span.Link(trace_id=send.trace_id, span_id=send.span_id)
        groups.append(
            (
                receiver,
                trace_pb2.Span(
                    trace_id=new_trace_id(),
                    span_id=new_span_id(),
                    name=f"handle {kind}",
                    kind=CONSUMER,
                    start_time_unix_nano=handle_start,
                    end_time_unix_nano=handle_start + 500_000,
                    links=[link],
                    attributes=key_values({a.MESSAGE_KIND: kind}),
                ),
            )
        )
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=device.resource(), scope_spans=[trace_pb2.ScopeSpans(spans=[span])]
            )
            for device, span in groups
        ]
    )


# The messages of a handoff as the controller runs it (connect/transfer/coordinator.py): who
# sends each, and when, in ms after the request (each device's own clock, offsets aside).
HANDOFF_MESSAGES = (
    ("controller", "target", "TransferOffer", 0.4),
    ("target", "controller", "TransferReady", 95.0),
    ("controller", "source", "TransferCommit", 96.0),
    ("source", "controller", "TransferReady", 99.0),
    ("controller", "target", "TransferCommit", 100.0),
    ("target", "controller", "TransferDone", 260.0),
    ("source", "controller", "TransferDone", 262.0),
)


@dataclass
class Transfer:
    """One transfer run by `controller` from `source` to `target`: its "transfer" span (with
    the attributes `connect.telemetry.record_transfer` sets) and its messages, one trace."""

    controller: Device
    source: Device
    target: Device
    transfer_id: str = "t-1"
    session_id: str = "session-1"
    outcome: str = "ok"  # one of tracing.attributes.TRANSFER_OUTCOMES
    start_ns: int = 0
    # request -> audible in four parts, µs (offer, pre-roll, lead, start), the gap (µs) and
    # the position error (ms), the fade (ms) and the clocks' error bound (µs)
    phases_us: tuple[int, int, int, int] = (12_000, 80_000, 60_000, 110_000)
    gap_us: int = 1_500
    position_error_ms: int = 2
    fade_ms: int = 30
    clock_error_us: int = 800
    error_type: str = "TIMEOUT"  # when the outcome is not "ok"

    def request(self) -> Any:
        """Return an `ExportTraceServiceRequest` of the whole transfer (every device's half)."""
        start = self.start_ns or time.time_ns()
        trace_id = new_trace_id()
        roles = {"controller": self.controller, "source": self.source, "target": self.target}
        ok = self.outcome == "ok"
        attrs: dict[str, Any] = {
            a.TRANSFER_ID: self.transfer_id,
            a.TRANSFER_SOURCE: self.source.device_id,
            a.TRANSFER_TARGET: self.target.device_id,
            a.TRANSFER_MODE: "handoff",
            a.TRANSFER_OUTCOME: self.outcome,
        }
        if ok:
            offer, preroll, lead, begin = self.phases_us
            attrs |= {
                a.TRANSFER_LATENCY_MS: sum(self.phases_us) // 1000,
                a.TRANSFER_GAP_US: self.gap_us,
                a.TRANSFER_POSITION_ERROR_MS: self.position_error_ms,
                a.TRANSFER_OFFER_US: offer,
                a.TRANSFER_PREROLL_US: preroll,
                a.TRANSFER_LEAD_US: lead,
                a.TRANSFER_START_US: begin,
                a.TRANSFER_FADE_MS: self.fade_ms,
                a.TRANSFER_CLOCK_ERROR_US: self.clock_error_us,
            }
        else:
            attrs[a.ERROR_TYPE] = self.error_type
        root_id = new_span_id()
        end = start + (sum(self.phases_us) + 5_000) * 1000
        spans: dict[str, list[Any]] = {role: [] for role in roles}
        spans["controller"].append(
            trace_pb2.Span(
                trace_id=trace_id,
                span_id=root_id,
                name="transfer",
                kind=trace_pb2.Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=start,
                end_time_unix_nano=end,
                attributes=key_values(attrs),
                status=trace_pb2.Status(
                    code=trace_pb2.Status.STATUS_CODE_OK
                    if ok
                    else trace_pb2.Status.STATUS_CODE_ERROR
                ),
            )
        )
        messages = HANDOFF_MESSAGES if ok else HANDOFF_MESSAGES[:2]
        for seq, (sender, receiver, kind, at_ms) in enumerate(messages, 1):
            common = {
                a.SESSION_ID: self.session_id,
                a.TRANSFER_ID: self.transfer_id,
                a.MESSAGE_KIND: kind,
            }
            send_id = new_span_id()
            sent = start + int(at_ms * 1e6)
            spans[sender].append(
                trace_pb2.Span(
                    trace_id=trace_id,
                    span_id=send_id,
                    parent_span_id=root_id if sender == "controller" else b"",
                    name=f"send {kind}",
                    kind=PRODUCER,
                    start_time_unix_nano=sent,
                    end_time_unix_nano=sent + 300_000,
                    attributes=key_values({**common, a.PEER_DEVICE_ID: roles[receiver].device_id}),
                )
            )
            spans[receiver].append(
                trace_pb2.Span(
                    trace_id=trace_id,
                    span_id=new_span_id(),
                    parent_span_id=send_id,
                    name=f"handle {kind}",
                    kind=CONSUMER,
                    start_time_unix_nano=sent + 1_000_000,
                    end_time_unix_nano=sent + 1_500_000,
                    attributes=key_values({**common, a.ENVELOPE_SEQ: seq}),
                )
            )
        return trace_service_pb2.ExportTraceServiceRequest(
            resource_spans=[
                trace_pb2.ResourceSpans(
                    resource=roles[role].resource(),
                    scope_spans=[trace_pb2.ScopeSpans(spans=role_spans)],
                )
                for role, role_spans in spans.items()
                if role_spans
            ]
        )
