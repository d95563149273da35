"""OTLP JSON trace requests read straight from the parsed JSON, without protobuf's JSON parser.

`json_format.ParseDict` checks and converts every field in Python, then every value is read
back out of upb: about 200 µs a span. This reader takes the tree `json.loads` gives and builds
span objects with the attribute names `tracing._otlp` reads from upb's (attributes already a
dict), checking each value as it goes.

It reads what the OTLP specification writes (lowerCamelCase keys, hex ids, integers as
numbers or decimal strings, enums as integers, or by name as `json_format` writes them) and
nothing more: any other key or spelling
(snake_case, "NaN"), a null, a value of another type or range, a string that is not
valid Unicode, or a `bytesValue` raises `UnusualJsonError`, and the caller gives that request to
`json_format` as before, which decodes it or says what is wrong with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.trace.v1 import trace_pb2

_UINT32 = 1 << 32
_UINT64 = 1 << 64
_INT64 = 1 << 63
_SPAN_KINDS = dict(trace_pb2.Span.SpanKind.items())
_STATUS_CODES = dict(trace_pb2.Status.StatusCode.items())
_EMPTY: dict[str, Any] = {}
_NOT_AN_ID = b"\xff"  # what tracing._otlp_body makes of an id that is not hex: refused for length


class UnusualJsonError(ValueError):
    """The request holds something this reader leaves to `json_format` (see the docstring)."""


@dataclass(slots=True)
class Status:
    """A span's status, as upb's `Status` is read."""

    code: int = 0
    message: str = ""


@dataclass(slots=True)
class Event:
    """A span event, as upb's `Span.Event` is read."""

    name: str = ""
    time_unix_nano: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Link:
    """A span link, as upb's `Span.Link` is read."""

    trace_id: bytes = b""
    span_id: bytes = b""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Span:
    """A span, as upb's `Span` is read (its attributes already a dict)."""

    trace_id: bytes = b""
    span_id: bytes = b""
    parent_span_id: bytes = b""
    name: str = ""
    kind: int = 0
    start_time_unix_nano: int = 0
    end_time_unix_nano: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    status: Status = field(default_factory=Status)


# One ResourceSpans: its resource's attributes, and per scope its name and spans.
Group = tuple[dict[str, Any], list[tuple[str, list[Span]]]]


def trace_groups(tree: Any) -> list[Group]:
    """Read a parsed OTLP JSON `ExportTraceServiceRequest`; raise UnusualJsonError."""
    try:
        return [_resource_spans(g) for g in _fields(tree, _REQUEST).get("resourceSpans", ())]
    except (TypeError, AttributeError, OverflowError, UnicodeEncodeError, RecursionError) as exc:
        raise UnusualJsonError(str(exc)) from exc


# ---------------------------------------------------------------- messages

_REQUEST = {"resourceSpans": list}
_RESOURCE_SPANS = {"resource": dict, "scopeSpans": list, "schemaUrl": str}
_RESOURCE = {"attributes": list, "droppedAttributesCount": int}
_SCOPE_SPANS = {"scope": dict, "spans": list, "schemaUrl": str}
_SCOPE = {"name": str, "version": str, "attributes": list, "droppedAttributesCount": int}
_SPAN = {
    "traceId": str, "spanId": str, "parentSpanId": str, "traceState": str, "flags": int,
    "name": str, "kind": object, "startTimeUnixNano": object, "endTimeUnixNano": object,
    "attributes": list, "droppedAttributesCount": int, "events": list,
    "droppedEventsCount": int, "links": list, "droppedLinksCount": int, "status": dict,
}  # fmt: skip
_EVENT = {"timeUnixNano": object, "name": str, "attributes": list, "droppedAttributesCount": int}
_LINK = {
    "traceId": str, "spanId": str, "traceState": str, "attributes": list,
    "droppedAttributesCount": int, "flags": int,
}  # fmt: skip
_STATUS = {"code": object, "message": str}
_KEY_VALUE = {"key": str, "value": dict}


def _fields(node: Any, known: Mapping[str, type]) -> dict[str, Any]:
    """Check that *node* is an object of *known* keys, each of its type; return it."""
    if node.__class__ is not dict:
        raise UnusualJsonError("not an object")
    for key, value in node.items():
        kind = known.get(key)
        if kind is None or value is None or (kind is not object and value.__class__ is not kind):
            raise UnusualJsonError(f"key {key!r}")
        if kind is str and not value.isascii():
            value.encode()  # a lone surrogate: json_format's to refuse
        elif kind is int and not 0 <= value < _UINT32:
            raise UnusualJsonError(f"{key!r} out of range")
    return node


def _resource_spans(node: Any) -> Group:
    group = _fields(node, _RESOURCE_SPANS)
    resource = _fields(group.get("resource", {}), _RESOURCE)
    attrs = _attributes(resource.get("attributes", []))
    scopes = []
    for scope_spans in group.get("scopeSpans", ()):
        scope_spans = _fields(scope_spans, _SCOPE_SPANS)
        scope = _fields(scope_spans.get("scope", {}), _SCOPE)
        _attributes(scope.get("attributes", []))  # checked, not kept
        spans = [_span(s) for s in scope_spans.get("spans", ())]
        scopes.append((scope.get("name", ""), spans))
    return attrs, scopes


def _span(node: Any) -> Span:
    s = _fields(node, _SPAN)
    status = _fields(s.get("status", {}), _STATUS)
    return Span(
        _id(s.get("traceId", "")),
        _id(s.get("spanId", "")),
        _id(s.get("parentSpanId", "")),
        s.get("name", ""),
        _enum(s.get("kind", 0), _SPAN_KINDS),
        _uint64(s.get("startTimeUnixNano", 0)),
        _uint64(s.get("endTimeUnixNano", 0)),
        _attributes(s.get("attributes", [])),
        [_event(e) for e in s.get("events", ())],
        [_link(link) for link in s.get("links", ())],
        Status(_enum(status.get("code", 0), _STATUS_CODES), status.get("message", "")),
    )


def _event(node: Any) -> Event:
    e = _fields(node, _EVENT)
    return Event(
        e.get("name", ""), _uint64(e.get("timeUnixNano", 0)), _attributes(e.get("attributes", []))
    )


def _link(node: Any) -> Link:
    link = _fields(node, _LINK)
    return Link(
        _id(link.get("traceId", "")),
        _id(link.get("spanId", "")),
        _attributes(link.get("attributes", [])),
    )


# ---------------------------------------------------------------- values


def _id(value: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError:
        return _NOT_AN_ID  # that record is refused (partial success), not the request


def _enum(value: Any, names: dict[str, int]) -> int:
    """An enum as the specification writes it (a number), or by name (as json_format writes)."""
    if value.__class__ is str:
        value = names.get(value)
    elif value.__class__ is int and value not in names.values():
        value = None  # not a value of this OTLP version: json_format keeps it as it is
    if value is None:
        raise UnusualJsonError("not a known enum value")
    return int(value)


def _uint64(value: Any) -> int:
    if value.__class__ is str:
        if not (value.isascii() and value.isdigit() and (value[:1] != "0" or value == "0")):
            raise UnusualJsonError("not a uint64")
        value = int(value)
    if value.__class__ is not int or not 0 <= value < _UINT64:
        raise UnusualJsonError("not a uint64")
    return int(value)


def _int64(value: Any) -> int:
    if value.__class__ is str:
        digits = value[1:] if value[:1] == "-" else value
        if not (digits.isascii() and digits.isdigit() and (digits[:1] != "0" or digits == "0")):
            raise UnusualJsonError("not an int64")
        value = int(value)
    if value.__class__ is not int or not -_INT64 <= value < _INT64:
        raise UnusualJsonError("not an int64")
    return int(value)


def _text(value: Any) -> str:
    if value.__class__ is not str:
        raise UnusualJsonError("not a string")
    if not value.isascii():
        value.encode()
    return str(value)


def _attributes(pairs: Any) -> dict[str, Any]:
    """Read a list of `KeyValue`s (the hot loop: `_fields` and `_any_value` inlined)."""
    out: dict[str, Any] = {}
    if pairs.__class__ is not list:
        raise UnusualJsonError("not a list")
    for pair in pairs:
        if pair.__class__ is not dict:
            raise UnusualJsonError("not a KeyValue")
        key, value = pair.get("key", ""), pair.get("value", _EMPTY)
        if len(pair) != ("key" in pair) + ("value" in pair) or key.__class__ is not str:
            raise UnusualJsonError("not a KeyValue")
        if not key.isascii():
            key.encode()
        if value.__class__ is not dict or len(value) > 1:
            raise UnusualJsonError("not one value")
        string = value.get("stringValue")
        if string.__class__ is str and string.isascii():
            out[key] = string
        else:
            out[key] = _any_value(value)
    return out


def _any_value(node: Any) -> Any:
    if node.__class__ is not dict or len(node) > 1:
        raise UnusualJsonError("not one value")
    for key, value in node.items():
        read = _VALUES.get(key)
        if read is None:
            raise UnusualJsonError(f"value {key!r}")
        return read(value)
    return None  # an empty AnyValue


def _bool(value: Any) -> bool:
    if value.__class__ is not bool:
        raise UnusualJsonError("not a bool")
    return bool(value)


def _double(value: Any) -> float:
    if value.__class__ is not float and value.__class__ is not int:
        raise UnusualJsonError("not a number")  # "NaN", "Infinity": json_format's
    number = float(value)
    if not math.isfinite(number):
        raise UnusualJsonError("not a finite number")  # json_format refuses them unquoted
    return number


def _array(value: Any) -> list[Any]:
    return [_any_value(v) for v in _list_of_values(value)]


def _kvlist(value: Any) -> dict[str, Any]:
    return _attributes(_list_of_values(value))


def _list_of_values(value: Any) -> Any:
    if value.__class__ is not dict or value.keys() - {"values"}:
        raise UnusualJsonError("not a list of values")
    values = value.get("values", [])
    if values.__class__ is not list:
        raise UnusualJsonError("not a list of values")
    return values


_VALUES: dict[str, Callable[[Any], Any]] = {
    "stringValue": _text,
    "intValue": _int64,
    "boolValue": _bool,
    "doubleValue": _double,
    "arrayValue": _array,
    "kvlistValue": _kvlist,
}
