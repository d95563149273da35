"""Sans-IO OTLP decoding: request bytes in, flat `Record`s out (no sockets, no database).

Accepts the two OTLP/HTTP encodings (protobuf, `application/x-protobuf`, and JSON,
`application/json`, with hex trace and span ids as the spec requires), optionally gzip-compressed,
for both signals: traces (`/v1/traces`) and logs (`/v1/logs`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from tracing import attributes as a

SPAN = "span"
LOG = "log"
SIGNALS = ("traces", "logs")


class OtlpError(ValueError):
    """The request body is not a valid OTLP export request (answered with 400)."""


class BodyTooLargeError(OtlpError):
    """The request body, once decompressed, is larger than the allowed limit."""


@dataclass(slots=True)
class Record:
    """One span or one log record, flattened with the correlation fields the collector indexes."""

    # The de-duplication key is (trace_id, span_id). A log record has no id of its own: its
    # span_id is "log:" + a digest of its content, and the span it was emitted in is parent_id.
    uid: str  # "<trace id>:<span id>", for people and tests
    kind: str  # SPAN or LOG
    trace_id: str  # 32 hex digits, "" for a log record outside any trace
    span_id: str
    parent_id: str
    name: str  # span name, or a log record's event.name (else its body, shortened)
    span_kind: int
    start_ns: int
    end_ns: int
    device_id: str
    user_id: str
    session_id: str
    transfer_id: str
    peer_device_id: str
    message_kind: str
    envelope_seq: int | None
    status: int
    device_name: str = ""
    device_type: str = ""
    clock_offset_ms: float | None = None
    data: dict[str, Any] = field(default_factory=dict)  # everything else, shown in details
    # The resource attributes, one dict shared by all records of a resource (stored once).
    resource: dict[str, Any] = field(default_factory=dict)


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo a `Content-Encoding` of gzip/deflate/identity; refuse output beyond `limit` bytes.

    The collector's aiohttp server already does this for its requests; this is for callers
    that hold a raw body (a spool file, a capture, a test).
    """
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise OtlpError(f"unsupported Content-Encoding {encoding!r}")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OtlpError(f"bad {encoding} body: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLargeError(f"decompressed body exceeds {limit} bytes")
    return out


def decode(signal: str, body: bytes, content_type: str) -> list[Record]:
    """Decode one uncompressed OTLP export request of `signal` ("traces" or "logs")."""
    is_json = content_type.split(";")[0].strip().lower() == "application/json"
    message: Any = (
        trace_service_pb2.ExportTraceServiceRequest()
        if signal == "traces"
        else logs_service_pb2.ExportLogsServiceRequest()
    )
    try:
        if is_json:
            json_format.ParseDict(_ids_to_base64(json.loads(body)), message, True)
        else:
            message.ParseFromString(body)
    except (
        DecodeError,
        json_format.ParseError,
        ValueError,
        TypeError,
        AttributeError,
        RecursionError,  # JSON nested deeper than the parser's stack (found by tests/fuzz)
    ) as exc:
        raise OtlpError(f"not an OTLP {signal} request: {exc}") from exc
    if signal == "traces":
        return list(_spans(message))
    return list(_logs(message))


def response_body(signal: str, json_wanted: bool) -> bytes:
    """Return the (empty, fully successful) OTLP export response in the request's encoding."""
    if json_wanted:
        return b"{}"
    if signal == "traces":
        return bytes(trace_service_pb2.ExportTraceServiceResponse().SerializeToString())
    return bytes(logs_service_pb2.ExportLogsServiceResponse().SerializeToString())


def any_value(value: Any) -> Any:
    """Convert an OTLP `AnyValue` message to a plain JSON-able Python value."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, which)


def key_values(kvs: Iterable[Any]) -> dict[str, Any]:
    """Convert repeated OTLP `KeyValue`s to a dict."""
    out = {}
    for kv in kvs:
        value = kv.value
        # Inline the common scalar cases: this loop is most of the collector's decoding time.
        which = value.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = value.string_value
        elif which == "int_value":
            out[kv.key] = value.int_value
        else:
            out[kv.key] = any_value(value)
    return out


# ---------------------------------------------------------------- helpers


_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _ids_to_base64(node: Any) -> Any:
    # OTLP/JSON writes ids as hex, protobuf's JSON mapping expects base64 for bytes fields.
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    out[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError as exc:
                    raise OtlpError(f"{key} is not hex: {value!r}") from exc
            else:
                out[key] = _ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_ids_to_base64(v) for v in node]
    return node


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float_or_none(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


@dataclass(slots=True)
class _Resource:
    attrs: dict[str, Any]
    device_id: str
    user_id: str
    device_name: str
    device_type: str
    clock_offset_ms: float | None


def _resource(resource: Any) -> _Resource:
    attrs = key_values(resource.attributes)
    device_id = _text(attrs.get(a.DEVICE_ID)) or _text(attrs.get("service.instance.id"))
    return _Resource(
        attrs,
        device_id or _text(attrs.get("service.name")) or "unknown",
        _text(attrs.get(a.USER_ID)),
        _text(attrs.get(a.DEVICE_NAME)),
        _text(attrs.get(a.DEVICE_TYPE)),
        _float_or_none(attrs.get(a.CLOCK_OFFSET_MS)),
    )


def _spans(request: Any) -> Iterator[Record]:
    for resource_spans in request.resource_spans:
        res = _resource(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                attrs = key_values(span.attributes)
                trace_id = span.trace_id.hex()
                span_id = span.span_id.hex()
                offset = _float_or_none(attrs.get(a.CLOCK_OFFSET_MS))
                yield Record(
                    uid=f"{trace_id}:{span_id}",
                    kind=SPAN,
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_id=span.parent_span_id.hex(),
                    name=span.name,
                    span_kind=span.kind,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    device_id=res.device_id,
                    user_id=res.user_id,
                    session_id=_text(attrs.get(a.SESSION_ID)),
                    transfer_id=_text(attrs.get(a.TRANSFER_ID)),
                    peer_device_id=_text(attrs.get(a.PEER_DEVICE_ID)),
                    message_kind=_text(attrs.get(a.MESSAGE_KIND)),
                    envelope_seq=_int_or_none(attrs.get(a.ENVELOPE_SEQ)),
                    status=span.status.code,
                    device_name=res.device_name,
                    device_type=res.device_type,
                    clock_offset_ms=res.clock_offset_ms if offset is None else offset,
                    resource=res.attrs,
                    data=_span_data(span, attrs, scope),
                )


def _span_data(span: Any, attrs: dict[str, Any], scope: str) -> dict[str, Any]:
    # Only what is there: most spans have no events, links or status message.
    data: dict[str, Any] = {"attributes": attrs, "scope": scope}
    if span.status.message:
        data["status_message"] = span.status.message
    if span.events:
        data["events"] = [
            {"name": e.name, "time_ns": e.time_unix_nano, "attributes": key_values(e.attributes)}
            for e in span.events
        ]
    if span.links:
        data["links"] = [
            {
                "trace_id": link.trace_id.hex(),
                "span_id": link.span_id.hex(),
                "attributes": key_values(link.attributes),
            }
            for link in span.links
        ]
    return data


def _logs(request: Any) -> Iterator[Record]:
    for resource_logs in request.resource_logs:
        res = _resource(resource_logs.resource)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for log in scope_logs.log_records:
                attrs = key_values(log.attributes)
                body = any_value(log.body)
                event_name = getattr(log, "event_name", "") or _text(attrs.get(a.EVENT_NAME))
                time_ns = log.time_unix_nano or log.observed_time_unix_nano
                trace_id = log.trace_id.hex()
                span_id = log.span_id.hex()
                data = {
                    "attributes": attrs,
                    "scope": scope,
                    "body": body,
                    "severity": log.severity_text or log.severity_number,
                }
                key = json.dumps(
                    [res.device_id, time_ns, trace_id, span_id, event_name, body, attrs],
                    sort_keys=True,
                    default=str,
                )
                log_id = "log:" + hashlib.sha256(key.encode()).hexdigest()[:32]
                yield Record(
                    uid=f"{trace_id}:{log_id}",
                    kind=LOG,
                    trace_id=trace_id,
                    span_id=log_id,
                    parent_id=span_id,
                    name=event_name or _text(body)[:80],
                    span_kind=0,
                    start_ns=time_ns,
                    end_ns=time_ns,
                    device_id=res.device_id,
                    user_id=res.user_id,
                    session_id=_text(attrs.get(a.SESSION_ID)),
                    transfer_id=_text(attrs.get(a.TRANSFER_ID)),
                    peer_device_id=_text(attrs.get(a.PEER_DEVICE_ID)),
                    message_kind=_text(attrs.get(a.MESSAGE_KIND)),
                    envelope_seq=_int_or_none(attrs.get(a.ENVELOPE_SEQ)),
                    status=0,
                    device_name=res.device_name,
                    device_type=res.device_type,
                    clock_offset_ms=res.clock_offset_ms,
                    resource=res.attrs,
                    data=data,
                )
