"""OTLP protobuf trace requests whose span attributes stay bytes, read through a cache.

upb parses a request quickly, but reading its attributes back from Python (a wrapper object
for every `KeyValue` and its `AnyValue`) was most of the collector's decoding time. So traces
are parsed with a copy of the OTLP schema (`LeanTraceRequest`) whose span, event and link
`attributes` are `repeated bytes`: the same wire format, each attribute left as its serialized
`KeyValue`. Most of those repeat from span to span (session, message kind, peer...); each is
decoded once, with its JSON text, and found again by its bytes.

Checking is unchanged: an attribute not seen before is parsed as a real `KeyValue`, which
refuses what the full parse would (bad UTF-8, truncation) with OtlpError, and the caller reads
every attribute of a request, even those of the spans it refuses.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _quote  # what `to_json` does to a str
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from tracing._otlp_body import OtlpError
from tracing._otlp_values import any_value, to_json

CACHE_MAX = 8192  # attributes remembered; the cache starts afresh when full

_VARINT_MAX = 9  # bytes of a varint read by hand: below 2**63, so never negative
_Known = tuple[str, Any, str]  # key, value, and `"key":value` as JSON text


def _lean_request_class(*, bare: bool = False) -> Any:
    """Build `ExportTraceServiceRequest` of a private schema pool: span attributes as bytes.

    *bare*: a span's `events` and `links` too, each as one singular bytes field (the last
    one sent, unchecked): enough to tell that a span has none, which upb's empty repeated
    containers took ~0.33 µs each to say.
    """
    bytes_type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, trace_pb2, trace_service_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        if module is trace_pb2:
            (span,) = (m for m in proto.message_type if m.name == "Span")
            for message in (span, *span.nested_type):  # Span, Span.Event, Span.Link
                for field in message.field:
                    if field.name == "attributes":
                        field.type = bytes_type
                        field.ClearField("type_name")
            for field in span.field:
                if bare and field.name in ("events", "links"):
                    field.type = bytes_type
                    field.ClearField("type_name")
                    field.label = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
        pool.Add(proto)
    name = trace_service_pb2.ExportTraceServiceRequest.DESCRIPTOR.full_name
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


LeanTraceRequest = _lean_request_class()
BareTraceRequest = _lean_request_class(bare=True)  # events and links: presence only
_cache: dict[bytes, _Known] = {}
_keys: dict[bytes, tuple[str, str]] = {}  # a key's bytes: the key, and `"key":` as JSON


def parse_lean(body: bytes, *, bare: bool = False) -> Any:
    """Parse a protobuf `ExportTraceServiceRequest` as a `LeanTraceRequest` (or, *bare*, a
    `BareTraceRequest`); raise OtlpError."""
    message = BareTraceRequest() if bare else LeanTraceRequest()
    try:
        message.ParseFromString(body)
    except (DecodeError, RecursionError) as exc:
        raise OtlpError(f"not an OTLP traces request: {exc}") from exc
    return message


def attributes(raw_attributes: Any) -> tuple[dict[str, Any], str]:
    """Return serialized `KeyValue`s as a dict, and that dict as compact JSON text."""
    out: dict[str, Any] = {}
    parts = []
    get = _cache.get
    # A slice is made in C, ~0.14 µs an attribute; upb's iterator costs ~0.4.
    for raw in raw_attributes[:]:
        known = get(raw)
        if known is None:
            known = _learn(raw)
        out[known[0]] = known[1]
        parts.append(known[2])
    if len(parts) != len(out):  # a key given twice: the last value, in the first one's place
        return out, to_json(out)
    return out, "{" + ",".join(parts) + "}"


def _learn(raw: bytes) -> _Known:
    known = _scalar(raw)
    if known is None:
        try:
            kv = common_pb2.KeyValue.FromString(raw)
        except (DecodeError, RecursionError) as exc:
            raise OtlpError(f"not an OTLP traces request: {exc}") from exc
        key, value = kv.key, any_value(kv.value)
        known = (key, value, f"{to_json(key)}:{to_json(value)}")
    if len(_cache) >= CACHE_MAX:
        _cache.clear()
    _cache[raw] = known
    return known


def _scalar(raw: bytes) -> _Known | None:
    """Read the common shapes by hand (a key with a string or a small non-negative integer,
    every length under 128 bytes); None for any other, which upb reads instead."""
    end = len(raw)
    if end >= 0x80 or end < 4 or raw[0] != 0x0A:
        return None
    at = raw[1] + 2  # the value field: tag 0x12, its length, the AnyValue's one field
    if at + 3 > end or raw[at] != 0x12 or raw[at + 1] != end - at - 2:
        return None
    # Most misses are a known key with a new value (a sequence number, a command id).
    named = _keys.get(raw[2:at])
    try:
        if named is None:
            named = _name(raw[2:at])
        tag = raw[at + 2]
        if tag == 0x0A and raw[at + 3] == end - at - 4:
            value: Any = raw[at + 4 :].decode()
            return named[0], value, named[1] + _quote(value)
        if tag == 0x18 and end - at - 3 <= _VARINT_MAX and raw[end - 1] < 0x80:
            value = raw[end - 1]
            for byte in raw[end - 2 : at + 2 : -1]:  # the other bytes, most significant first
                if byte < 0x80:
                    return None  # the varint ends before the field does
                value = value << 7 | byte & 0x7F
            return named[0], value, named[1] + str(value)
    except UnicodeDecodeError:
        return None  # upb says what is wrong with it
    return None


def _name(raw_key: bytes) -> tuple[str, str]:
    """Return a key and its JSON text with the colon, remembered (raises UnicodeDecodeError)."""
    key = raw_key.decode()
    if len(_keys) >= CACHE_MAX:
        _keys.clear()
    named = _keys[raw_key] = (key, f"{_quote(key)}:")
    return named
