"""OTLP/HTTP bodies: media types, inflation, parsing, and the answers the specification asks for.

Sans-IO like `tracing._otlp`, which turns parsed requests into records. The answers: a success
is the signal's `Export*ServiceResponse` (with `partial_success` set when records were refused),
a failure is a `google.rpc.Status`; each in the request's encoding, protobuf or JSON.
"""

from __future__ import annotations

import base64
import functools
import json
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

PROTOBUF = "protobuf"
JSON = "json"
MIME = {PROTOBUF: "application/x-protobuf", JSON: "application/json"}


class OtlpError(ValueError):
    """The request body is not a valid OTLP export request (answered with 400)."""


class BodyTooLargeError(OtlpError):
    """The request body, once decompressed, is larger than the allowed limit (413)."""


class UnsupportedMediaError(OtlpError):
    """The body's Content-Type or Content-Encoding is not one OTLP/HTTP uses (415)."""


def media_type(content_type: str | None) -> str:
    """Return PROTOBUF or JSON for a request's Content-Type; raise UnsupportedMediaError.

    A request with no Content-Type at all is read as protobuf, what SDKs send by default.
    """
    essence = (content_type or "").split(";")[0].strip().lower()
    if essence in ("", "application/x-protobuf", "application/protobuf"):
        return PROTOBUF
    if essence == "application/json":
        return JSON
    raise UnsupportedMediaError(
        f"Content-Type {essence!r} is not OTLP: send application/x-protobuf or application/json"
    )


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo a `Content-Encoding` of gzip/deflate/identity; refuse output beyond `limit` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedMediaError(
            f"unsupported Content-Encoding {encoding!r}: send gzip, deflate or none"
        )
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OtlpError(f"bad {encoding} body: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLargeError(f"decompressed body exceeds {limit} bytes")
    return out


def parse(signal: str, body: bytes, media: str) -> Any:
    """Parse an export request of *signal* ("traces", "logs" or "metrics"); raise OtlpError."""
    message: Any = (
        trace_service_pb2.ExportTraceServiceRequest()
        if signal == "traces"
        else logs_service_pb2.ExportLogsServiceRequest()
        if signal == "logs"
        else metrics_service_pb2.ExportMetricsServiceRequest()
    )
    try:
        if media == JSON:
            json_format.ParseDict(_hex_ids_to_base64(json.loads(body)), message, True)
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
    return message


def count_metrics(message: Any) -> int:
    """Return how many data points an `ExportMetricsServiceRequest` carries."""
    points = 0
    for group in message.resource_metrics:
        for scope in group.scope_metrics:
            for metric in scope.metrics:
                which = metric.WhichOneof("data")
                if which is not None:
                    points += len(getattr(metric, which).data_points)
    return points


# ---------------------------------------------------------------- JSON ids

# OTLP JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64. The spec's keys are
# lowerCamelCase; the proto's own snake_case names are accepted too (protobuf's parser reads
# both), and their ids are hex as well rather than misread as base64.
_ID_KEYS = frozenset(("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"))
_NOT_AN_ID = base64.b64encode(b"\xff").decode()  # one byte: refused as a wrong-length id


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    out[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    # Not hex: that record is refused (partial success), not the request.
                    out[key] = _NOT_AN_ID
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


# ---------------------------------------------------------------- answers

# google.rpc.Code values for the Status body (the specification lets clients ignore them).
_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 413: 8, 415: 3, 421: 7, 429: 8, 503: 14}
_RESPONSES: dict[str, Any] = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
}
_REJECTED = {
    "traces": "rejected_spans",
    "logs": "rejected_log_records",
    "metrics": "rejected_data_points",
}


def success_body(signal: str, media: str, rejected: int = 0, message: str = "") -> bytes:
    """Return the export response: empty on full success, else with `partial_success`."""
    if not (rejected or message):
        return _full_success(signal, media)
    response = _RESPONSES[signal]()
    if rejected or message:
        setattr(response.partial_success, _REJECTED[signal], rejected)
        response.partial_success.error_message = message
    return _encode(response, media)


@functools.cache
def _full_success(signal: str, media: str) -> bytes:
    """The answer to most requests, encoded once (a few per signal and encoding)."""
    return _encode(_RESPONSES[signal](), media)


def status_body(http_status: int, message: str, media: str) -> bytes:
    """Return a `google.rpc.Status` describing a failed request."""
    status = status_pb2.Status(code=_CODES.get(http_status, 2), message=message)
    return _encode(status, media)


def _encode(message: Any, media: str) -> bytes:
    if media == JSON:
        return str(json_format.MessageToJson(message, indent=None)).encode()
    return bytes(message.SerializeToString())
