"""Exports of stored records: OTLP JSON, Chrome/Perfetto trace JSON and Mermaid sequence diagrams.

Also the Python side of the span → arrow rule (see `tracing.attributes`); the viewer's
JavaScript applies the same rule to the live stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracing import _groups
from tracing import attributes as a
from tracing._otlp import LOG, SPAN

# otlp-json: the spans, as one request `POST /v1/traces` accepts; otlp-json-logs: the events
# (log records), as one request `POST /v1/logs` accepts. Together they are the whole record.
FORMATS = ("otlp-json", "otlp-json-logs", "chrome", "mermaid")
MIME = {
    "otlp-json": "application/json",
    "otlp-json-logs": "application/json",
    "chrome": "application/json",
    "mermaid": "text/plain",
}


@dataclass(frozen=True)
class Arrow:
    """One message between two devices: sender span, and receiver span once it has arrived."""

    sender: dict[str, Any]
    receiver: dict[str, Any] | None
    from_device: str
    to_device: str

    @property
    def latency_ms(self) -> float | None:
        """Receiver start − sender start, in ms, across two clocks (None while pending)."""
        if self.receiver is None:
            return None
        return float(self.receiver["start_ns"] - self.sender["start_ns"]) / 1e6

    @property
    def label(self) -> str:
        """The message kind (else the sender span's name)."""
        return str(self.sender["message_kind"] or self.sender["name"])

    def as_dict(self) -> dict[str, Any]:
        """The arrow as the REST API returns it."""
        return {
            "from": self.from_device,
            "to": self.to_device,
            "label": self.label,
            "start_ns": self.sender["start_ns"],
            "latency_ms": self.latency_ms,
            "sender_seq": self.sender["seq"],
            "receiver_seq": None if self.receiver is None else self.receiver["seq"],
        }


def pair_arrows(rows: Iterable[dict[str, Any]]) -> list[Arrow]:
    """Pair sender and receiver spans into arrows, ordered by the sender's start.

    A receiver names its sender as its parent or through a span link; one arrow per
    (sender span, receiving device). A sender with a peer and no receiver is a pending arrow.
    """
    spans = [r for r in rows if r["kind"] == SPAN]
    by_id = {(r["trace_id"], r["span_id"]): r for r in spans}
    arrows: dict[tuple[str, str, str], Arrow] = {}
    for child in spans:
        for key in remote_parents(child):
            parent = by_id.get(key)
            if parent is not None and parent["device_id"] != child["device_id"]:
                arrow_key = (*key, child["device_id"])
                if arrow_key not in arrows:
                    arrows[arrow_key] = Arrow(
                        parent, child, parent["device_id"], child["device_id"]
                    )
    for span in spans:
        pending = (span["trace_id"], span["span_id"], span["peer_device_id"])
        if span["peer_device_id"] and pending not in arrows:
            arrows[pending] = Arrow(span, None, span["device_id"], span["peer_device_id"])
    return sorted(arrows.values(), key=lambda a: a.sender["start_ns"])


def remote_parents(span: dict[str, Any]) -> list[tuple[str, str]]:
    """The (trace id, span id)s a span may have been caused by: its parent and its links."""
    keys = [(span["trace_id"], span["parent_id"])] if span["parent_id"] else []
    keys += [(k["trace_id"], k["span_id"]) for k in span["data"].get("links", ())]
    return keys


def render(fmt: str, rows: Sequence[dict[str, Any]], names: Mapping[str, str] | None = None) -> str:
    """Render rows in one of `FORMATS`; *names*: device names by id (the collector's)."""
    if fmt == "otlp-json":
        return to_otlp_json(rows, SPAN)
    if fmt == "otlp-json-logs":
        return to_otlp_json(rows, LOG)
    if fmt == "chrome":
        return json.dumps(to_chrome(rows, names), indent=1)
    if fmt == "mermaid":
        return to_mermaid(rows, names)
    raise ValueError(f"unknown format {fmt!r}")


def device_names(
    rows: Iterable[dict[str, Any]], known: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return device names by id: *known* ones, else what the rows' devices call themselves."""
    names: dict[str, str] = {}
    for r in rows:
        data = r["data"]
        resource = data.get("resource", {})
        if resource.get(a.DEVICE_ID) == r["device_id"]:
            name = resource.get(a.DEVICE_NAME)
        else:  # a second device in its process names itself on each record
            name = data.get("attributes", {}).get(a.DEVICE_NAME)
        if isinstance(name, str) and name:
            names[r["device_id"]] = name
    names.update({k: v for k, v in (known or {}).items() if v})
    return names


# ---------------------------------------------------------------- OTLP JSON


def to_otlp_json(rows: Sequence[dict[str, Any]], kind: str = SPAN) -> str:
    """Return the spans (kind SPAN) or the events (LOG) of *rows* as one OTLP/JSON export
    request: what `POST /v1/traces` (or `/v1/logs`) accepts, ids in hex, keys lowerCamelCase."""
    key = "resourceSpans" if kind == SPAN else "resourceLogs"
    return json.dumps({key: _resource_groups(rows, kind)}, separators=(",", ":")) + "\n"


def _resource_groups(rows: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    groups: dict[str, tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]] = {}
    for r in rows:
        if r["kind"] != kind:
            continue
        resource = r["data"].get("resource", {})
        key = json.dumps(resource, sort_keys=True)
        scopes = groups.setdefault(key, (resource, {}))[1]
        item = _otlp_span(r) if kind == SPAN else _otlp_log(r)
        scopes.setdefault(r["data"].get("scope", ""), []).append(item)
    inner = "spans" if kind == SPAN else "logRecords"
    outer = "scopeSpans" if kind == SPAN else "scopeLogs"
    return [
        {
            "resource": {"attributes": _kvs(resource)},
            outer: [{"scope": {"name": name}, inner: items} for name, items in scopes.items()],
        }
        for resource, scopes in groups.values()
    ]


def _otlp_span(r: dict[str, Any]) -> dict[str, Any]:
    data = r["data"]
    span: dict[str, Any] = {
        "traceId": r["trace_id"],
        "spanId": r["span_id"],
        "name": r["name"],
        "kind": r["span_kind"],
        "startTimeUnixNano": str(r["start_ns"]),
        "endTimeUnixNano": str(r["end_ns"]),
        "attributes": _kvs(data.get("attributes", {})),
        "status": {"code": r["status"], "message": data.get("status_message", "")},
    }
    if r["parent_id"]:
        span["parentSpanId"] = r["parent_id"]
    if data.get("events"):
        span["events"] = [
            {
                "name": e["name"],
                "timeUnixNano": str(e["time_ns"]),
                "attributes": _kvs(e["attributes"]),
            }
            for e in data["events"]
        ]
    if data.get("links"):
        span["links"] = [
            {"traceId": k["trace_id"], "spanId": k["span_id"], "attributes": _kvs(k["attributes"])}
            for k in data["links"]
        ]
    return span


def _otlp_log(r: dict[str, Any]) -> dict[str, Any]:
    data = r["data"]
    log: dict[str, Any] = {
        "timeUnixNano": str(r["start_ns"]),
        "attributes": _kvs(data.get("attributes", {})),
    }
    if data.get("observed_ns"):
        log["observedTimeUnixNano"] = str(data["observed_ns"])
    if data.get("severity_number"):
        log["severityNumber"] = data["severity_number"]
    if data.get("severity_text"):
        log["severityText"] = data["severity_text"]
    if data.get("event_name"):
        log["eventName"] = data["event_name"]
    if data.get("body") is not None:
        log["body"] = _any(data["body"])
    if r["trace_id"]:
        log["traceId"] = r["trace_id"]
    if r["parent_id"]:
        log["spanId"] = r["parent_id"]  # the span the event was emitted in
    return log


def _kvs(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _any(v)} for k, v in attrs.items()]


def _any(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_any(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": _kvs(value)}}
    return {"stringValue": "" if value is None else str(value)}


# ---------------------------------------------------------------- Chrome / Perfetto


def to_chrome(
    rows: Sequence[dict[str, Any]], names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return Chrome trace-event JSON: one process per device (named, the id in its label),
    spans as complete events, log events as instants and each arrow as a flow."""
    devices = _device_order(rows)
    named = device_names(rows, names)
    origin = min((r["start_ns"] for r in rows), default=0)

    def us(ns: int) -> float:
        return (ns - origin) / 1000

    events: list[dict[str, Any]] = [
        {"ph": "M", "name": meta, "pid": pid, "tid": 0, "args": args}
        for d, pid in devices.items()
        for meta, args in (
            ("process_name", {"name": _title(d, named)}),
            ("process_labels", {"labels": d}),  # the id, shown beside the name
        )
    ]
    for r in rows:
        pid = devices[r["device_id"]]
        args = dict(r["data"].get("attributes", {}))
        if r["kind"] == SPAN:
            events.append(
                {
                    "ph": "X",
                    "name": r["name"],
                    "cat": r["message_kind"] or "span",
                    "pid": pid,
                    "tid": 1,
                    "ts": us(r["start_ns"]),
                    "dur": max(0.0, (r["end_ns"] - r["start_ns"]) / 1000),
                    "args": args,
                }
            )
        else:
            events.append(
                {"ph": "i", "s": "p", "name": r["name"], "cat": "event", "pid": pid, "tid": 1}
                | {"ts": us(r["start_ns"]), "args": args}
            )
    for n, arrow in enumerate(pair_arrows(rows)):
        if arrow.receiver is None:
            continue
        flow = {"name": arrow.label, "cat": "message", "id": n, "tid": 1}
        start, end = arrow.sender["start_ns"], arrow.receiver["start_ns"]
        events.append(flow | {"ph": "s", "pid": devices[arrow.from_device], "ts": us(start)})
        events.append(flow | {"ph": "f", "bp": "e", "pid": devices[arrow.to_device], "ts": us(end)})
    return {"traceEvents": events, "displayTimeUnit": "ms"}


# ---------------------------------------------------------------- Mermaid


def to_mermaid(rows: Sequence[dict[str, Any]], names: Mapping[str, str] | None = None) -> str:
    """Return a Mermaid `sequenceDiagram`: a participant per device, by name (ids in `%%`
    comments), an arrow per message (latency in the label; `-x` for one never received, or
    "not traced" when its peer never sent a record) and a note per event."""
    devices = _device_order(rows)
    traced = set(devices) | set(names or {})
    named = device_names(rows, names)
    for arrow in pair_arrows(rows):
        devices.setdefault(arrow.to_device, len(devices))
    lines = ["sequenceDiagram"]
    for group, members in _boxes(devices, rows, named):
        indent = "    "
        if group is not None:  # a group's members side by side in a box, as the viewer has them
            leader = _title(group["leader"]["id"], named) if group["leader"]["id"] else "unknown"
            label = f"group {_short(group['id'])} led by {leader}"
            lines.append(f"    box {_mermaid_text(label)}")
            indent = "      "
        for d in members:
            i = devices[d]
            title = _title(d, named) if d in traced else f"{_short(d)} (not traced)"
            lines.append(f"{indent}%% d{i} = {_mermaid_text(d)}")
            lines.append(f"{indent}participant d{i} as {_mermaid_text(title)}")
        if group is not None:
            lines.append("    end")
    steps: list[tuple[int, str]] = []
    paired: set[int] = set()
    for arrow in pair_arrows(rows):
        src, dst = devices[arrow.from_device], devices[arrow.to_device]
        paired.add(arrow.sender["seq"])
        if arrow.receiver is None and arrow.to_device not in traced:
            text = f"d{src}->>d{dst}: {_mermaid_text(arrow.label)} (not traced)"
        elif arrow.receiver is None:
            text = f"d{src}-xd{dst}: {_mermaid_text(arrow.label)} (not received)"
        else:
            paired.add(arrow.receiver["seq"])
            text = f"d{src}->>d{dst}: {_mermaid_text(arrow.label)} ({arrow.latency_ms:.1f} ms)"
        steps.append((arrow.sender["start_ns"], "    " + text))
    for r in rows:
        if r["kind"] == LOG:
            text = _mermaid_text(_note_text(r))
            note = f"    Note over d{devices[r['device_id']]}: {text}"
            steps.append((r["start_ns"], note))
    lines += [text for _, text in sorted(steps, key=lambda s: s[0])]
    return "\n".join(lines) + "\n"


def _boxes(
    devices: Mapping[str, int], rows: Sequence[dict[str, Any]], names: Mapping[str, str]
) -> list[tuple[dict[str, Any] | None, list[str]]]:
    """The participants in order of appearance, a group's current members together (in rank
    order) where the first of them appeared: [(group or None, device ids)]."""
    member_of: dict[str, dict[str, Any]] = {}
    for listed in _groups.groups(rows, names):  # the most recently active first: it wins
        for member in listed["members"]:
            if member["phase"] != _groups.LEFT:
                member_of.setdefault(member["id"], listed)
    out: list[tuple[dict[str, Any] | None, list[str]]] = []
    placed: set[str] = set()
    for d in devices:
        if d in placed:
            continue
        group = member_of.get(d)
        if group is None:
            out.append((None, [d]))
            placed.add(d)
            continue
        ids = [m["id"] for m in group["members"]]
        members = [m for m in ids if m in devices and member_of.get(m) is group and m not in placed]
        placed.update(members)
        out.append((group, members))
    return out


def _note_text(r: dict[str, Any]) -> str:
    """An event's name; a group member's skew report says its skew (µs, + late)."""
    skew = r["data"].get("attributes", {}).get(a.GROUP_SKEW_US)
    if r["name"] == a.EVENT_GROUP_SKEW and isinstance(skew, int):
        return f"group skew {'+' if skew > 0 else ''}{skew} µs"
    return str(r["name"])


_MERMAID_UNSAFE = re.compile(r"[;#\n\r:<>]")


def _mermaid_text(text: str) -> str:
    # ';', '#' and newlines end or escape statements; a bare word "end" closes blocks.
    cleaned = _MERMAID_UNSAFE.sub(" ", text).strip() or "?"
    return re.sub(r"\bend\b", "End", cleaned)


def _title(device_id: str, names: Mapping[str, str]) -> str:
    """A device's name, or its shortened id when it never said its name."""
    return names.get(device_id) or _short(device_id)


def _short(device_id: str) -> str:
    return device_id if len(device_id) <= 16 else device_id[:12] + "…"


def _device_order(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    devices: dict[str, int] = {}
    for r in sorted(rows, key=lambda r: r["start_ns"]):
        devices.setdefault(r["device_id"], len(devices))
    return devices
