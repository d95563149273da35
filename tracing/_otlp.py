"""Sans-IO OTLP decoding: request bytes in, flat `Record`s out (no sockets, no database).

Accepts the two OTLP/HTTP encodings (binary protobuf and OTLP JSON, whose ids are hex), for
both stored signals: traces (`/v1/traces`) and logs (`/v1/logs`). Each record comes out as one
tuple whose first fields are the collector's row, so storing it builds nothing more; the
record's own attributes and events are already JSON text. What a request cannot carry (ids of
the wrong length, all zero, missing) is counted and explained in `Decoded.rejected` and
`Decoded.problems`, and the rest of the request is kept (OTLP's partial success).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tracing import attributes as a
from tracing._otlp_attrs import attributes as lean_attributes
from tracing._otlp_attrs import parse_lean
from tracing._otlp_body import (
    JSON,
    PROTOBUF,
    BodyTooLargeError,
    OtlpError,
    UnsupportedMediaError,
    decompress,
    media_type,
    parse,
)
from tracing._otlp_json import trace_groups as json_trace_groups
from tracing._otlp_resource import (
    IDENTITY_ATTRIBUTES,
    REDUCED,
    RESOURCE_MAX_BYTES,
    Resource,
    reduce_attributes,
    reduced_resource,
    resource,
)
from tracing._otlp_values import (
    any_value,
    float_or_none,
    int_or_none,
    key_values,
    text,
    to_json,
)

__all__ = [
    "IDENTITY_ATTRIBUTES",
    "JSON",
    "LOG",
    "PROTOBUF",
    "REDUCED",
    "RESOURCE_MAX_BYTES",
    "SIGNALS",
    "SPAN",
    "BodyTooLargeError",
    "Decoded",
    "OtlpError",
    "Record",
    "Resource",
    "UnsupportedMediaError",
    "decode",
    "decode_request",
    "decompress",
    "media_type",
    "reduce_attributes",
    "reduced_resource",
]

SPAN = "span"
LOG = "log"
SIGNALS = ("traces", "logs")
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


_new = tuple.__new__  # builds a Record from a tuple without NamedTuple's Python-level __new__


class Record(NamedTuple):
    """One span or log record. The fields up to `data` are the stored row, in column order.

    The de-duplication key is (trace_id, span_id). A log record has no id of its own: its
    span_id is "log:" + a digest of its content, and the span it was emitted in is parent_id.
    """

    kind: str  # SPAN or LOG
    trace_id: str  # 32 hex digits, "" for a log record outside any trace
    span_id: str
    parent_id: str
    name: str  # span name, or a log record's event name (else its body, shortened)
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
    received_ns: int
    data: str  # JSON: attributes, scope, events, links, body... (shown in details)
    resource: Resource  # shared by every record of one OTLP resource (stored once)
    device_name: str = ""
    device_type: str = ""
    clock_offset_ms: float | None = None

    @property
    def uid(self) -> str:
        """ "<trace id>:<span id>", for people and tests."""
        return f"{self.trace_id}:{self.span_id}"


ROW_FIELDS = 18  # Record[:ROW_FIELDS] is the stored row, before its resource id


@dataclass(slots=True)
class Decoded:
    """The records of one request, and what was refused from it and why."""

    records: list[Record] = field(default_factory=list)
    rejected: int = 0
    problems: Counter[str] = field(default_factory=Counter)

    def refuse(self, problem: str) -> None:
        """Count one record refused for *problem*."""
        self.rejected += 1
        self.problems[problem] += 1

    @property
    def message(self) -> str:
        """The refusals in words (empty if none), for OTLP's `partial_success.error_message`."""
        return "; ".join(f"{n} {problem}" for problem, n in sorted(self.problems.items()))


def decode_request(
    signal: str,
    body: bytes,
    media: str,
    *,
    user_id: str | None = None,
    received_ns: int | None = None,
) -> Decoded:
    """Decode an uncompressed export request of *signal* ("traces" or "logs") into records.

    *user_id*, when the sender authenticated, is the user every record is filed under,
    whatever its resource claims. Raises OtlpError for a body that is not such a request.
    """
    now = time.time_ns() if received_ns is None else received_ns
    out = Decoded()
    if signal == "traces":
        try:
            _traces(body, media, user_id, now, out, bare=True)
        except _HasEventsOrLinksError:  # read again, with them
            out = Decoded()
            _traces(body, media, user_id, now, out, bare=False)
    else:
        message = parse(signal, body, media)
        for group in message.resource_logs:
            res = resource(key_values(group.resource.attributes), user_id)
            for scope_logs in group.scope_logs:
                _logs(scope_logs.log_records, scope_logs.scope.name, res, now, out)
    return out


class _HasEventsOrLinksError(Exception):
    """A span read with the bare schema (`tracing._otlp_attrs`) has events or links."""


def _traces(
    body: bytes, media: str, user_id: str | None, now: int, out: Decoded, *, bare: bool
) -> None:
    for attrs, scopes, read in _trace_groups(body, media, bare):
        res = resource(attrs, user_id)
        for scope, spans in scopes:
            _spans(spans, scope, res, now, out, read)


def _trace_groups(
    body: bytes, media: str, bare: bool
) -> Iterator[tuple[Any, Any, _ReadAttributes]]:
    """Yield each resource's attributes, its (scope name, spans), and how to read attributes."""
    if media == JSON:
        groups = None
        with contextlib.suppress(ValueError, RecursionError):  # json_format says what is wrong
            groups = json_trace_groups(json.loads(body))
        if groups is not None:
            for attrs, json_scopes in groups:
                yield attrs, json_scopes, _as_read
            return
    # Protobuf keeps span attributes as bytes until read (tracing._otlp_attrs).
    lean = media == PROTOBUF
    message = parse_lean(body, bare=bare) if lean else parse("traces", body, media)
    read = lean_attributes if lean else _attributes
    for group in message.resource_spans:
        scopes = ((s.scope.name, s.spans) for s in group.scope_spans)
        yield key_values(group.resource.attributes), scopes, read


def decode(signal: str, body: bytes, content_type: str) -> list[Record]:
    """Decode one uncompressed export request; refused records are left out."""
    return decode_request(signal, body, media_type(content_type)).records


# ---------------------------------------------------------------- spans and logs


def _attributes(kvs: Iterable[Any]) -> tuple[dict[str, Any], str | None]:
    return key_values(kvs), None


def _as_read(attrs: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    return attrs, None


_ReadAttributes = Callable[[Any], tuple[dict[str, Any], str | None]]


def _spans(
    spans: Iterable[Any], scope: str, res: Resource, now: int, out: Decoded, read: _ReadAttributes
) -> None:
    """Append the valid spans of one scope as records; count the others as refused.

    *read* gives a span's attributes as a dict, and as JSON text when it has it at hand.
    """
    append = out.records.append
    user, own_device = res.user_id, res.device_id
    scope_json = to_json(scope)
    for span in spans:
        attrs, attrs_json = read(span.attributes)
        trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
        events, links, status = span.events, span.links, span.status
        more: dict[str, Any] = {}
        if status.message:
            more["status_message"] = status.message
        if events or links:
            if events.__class__ is bytes or links.__class__ is bytes:
                # The bare schema says only that there are some: the caller reads them in full.
                raise _HasEventsOrLinksError
            more.update(_events_and_links(events, links, read))
        # Checked after reading every attribute: a malformed one refuses the whole request.
        if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
            out.refuse("spans without a valid trace id (16 bytes, not all zero)")
            continue
        if len(span_id) != 8 or span_id == _ZERO_SPAN:
            out.refuse("spans without a valid span id (8 bytes, not all zero)")
            continue
        if len(parent) not in (0, 8):
            out.refuse("spans whose parent span id is not 8 bytes")
            continue
        if attrs_json is None:
            data = to_json({"attributes": attrs, "scope": scope, **more})
        else:
            tail = f",{to_json(more)[1:-1]}" if more else ""
            data = f'{{"attributes":{attrs_json},"scope":{scope_json}{tail}}}'
        get = attrs.get
        own = get(a.DEVICE_ID)
        if own is None or own == own_device:  # the common case, inlined: this loop is hot
            device, name, kind = own_device, res.device_name, res.device_type
            offset = get(a.CLOCK_OFFSET_MS)
            offset = res.clock_offset_ms if offset is None else float_or_none(offset)
        else:
            device, name, kind, offset = _device_of(attrs, res)
        session, transfer = get(a.SESSION_ID, ""), get(a.TRANSFER_ID, "")
        peer, message, seq = get(a.PEER_DEVICE_ID, ""), get(a.MESSAGE_KIND, ""), get(a.ENVELOPE_SEQ)
        append(
            _new(
                Record,
                (
                    SPAN,
                    trace_id.hex(),
                    span_id.hex(),
                    "" if not parent or parent == _ZERO_SPAN else parent.hex(),
                    span.name,
                    span.kind,
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                    device,
                    user,
                    session if session.__class__ is str else text(session),
                    transfer if transfer.__class__ is str else text(transfer),
                    peer if peer.__class__ is str else text(peer),
                    message if message.__class__ is str else text(message),
                    seq if seq.__class__ is int else int_or_none(seq),
                    status.code,
                    now,
                    data,
                    res,
                    name,
                    kind,
                    offset,
                ),
            )
        )


def _events_and_links(events: Any, links: Any, read: _ReadAttributes) -> dict[str, Any]:
    """A span's events and links as its data holds them (only those it has)."""
    more: dict[str, Any] = {}
    if len(events):
        more["events"] = [
            {"name": e.name, "time_ns": e.time_unix_nano, "attributes": read(e.attributes)[0]}
            for e in events
        ]
    if len(links):
        more["links"] = [
            {
                "trace_id": link.trace_id.hex(),
                "span_id": link.span_id.hex(),
                "attributes": read(link.attributes)[0],
            }
            for link in links
        ]
    return more


def _logs(logs: Iterable[Any], scope: str, res: Resource, now: int, out: Decoded) -> None:
    for log in logs:
        trace_id, span_id = log.trace_id, log.span_id
        if len(trace_id) not in (0, 16):
            out.refuse("log records whose trace id is not 16 bytes")
            continue
        if len(span_id) not in (0, 8):
            out.refuse("log records whose span id is not 8 bytes")
            continue
        trace_hex = "" if trace_id == _ZERO_TRACE else trace_id.hex()
        span_hex = "" if span_id == _ZERO_SPAN else span_id.hex()
        attrs = key_values(log.attributes)
        body = any_value(log.body)
        event_name = log.event_name or text(attrs.get(a.EVENT_NAME))
        time_ns = log.time_unix_nano or log.observed_time_unix_nano
        data: dict[str, Any] = {"attributes": attrs, "scope": scope, "body": body}
        if log.event_name:
            data["event_name"] = log.event_name
        if log.severity_number:
            data["severity_number"] = log.severity_number
        if log.severity_text:
            data["severity_text"] = log.severity_text
        if log.observed_time_unix_nano:
            data["observed_ns"] = log.observed_time_unix_nano
        key = json.dumps(
            [res.device_id, time_ns, trace_hex, span_hex, event_name, body, attrs],
            sort_keys=True,
            default=str,
        )
        log_id = "log:" + hashlib.sha256(key.encode()).hexdigest()[:32]
        get = attrs.get
        device, name, kind, offset = _device_of(attrs, res)
        out.records.append(
            Record(
                LOG,
                trace_hex,
                log_id,
                span_hex,
                event_name or text(body)[:80],
                0,
                time_ns,
                time_ns,
                device,
                res.user_id,
                text(get(a.SESSION_ID)),
                text(get(a.TRANSFER_ID)),
                text(get(a.PEER_DEVICE_ID)),
                text(get(a.MESSAGE_KIND)),
                int_or_none(get(a.ENVELOPE_SEQ)),
                0,
                now,
                to_json(data),
                res,
                name,
                kind,
                offset,
            )
        )


def _device_of(attrs: dict[str, Any], res: Resource) -> tuple[str, str, str, float | None]:
    """Return the device a record is filed under: its own if it names one, else its resource's.

    A second device in one process (the app's "This computer") shares the process's resource
    and names itself on each record (connect.telemetry.DeviceTag); its user is still the
    resource's, and the resource's clock offset is the process device's, not its own.
    """
    own = attrs.get(a.DEVICE_ID)
    if isinstance(own, str) and own and own != res.device_id:
        return own, text(attrs.get(a.DEVICE_NAME)), text(attrs.get(a.DEVICE_TYPE)), None
    offset = float_or_none(attrs.get(a.CLOCK_OFFSET_MS))
    offset = res.clock_offset_ms if offset is None else offset
    return res.device_id, res.device_name, res.device_type, offset
