"""One session as the viewer shows it: every command and state change, with revisions (sans-IO).

A command is two spans (the controller's "send Command" and the device's "handle Command"),
both carrying its command id and, once answered, the revision it produced; it is one entry,
placed at the controller's send. A state change is the device's `baton.state.changed` event
with the session's new revision and the reason. Transfer messages of the session are entries
too. Entries are in time order; each device's times are its own clock's, so across devices
the revisions, which only a device's session increments, are the order to trust.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tracing import attributes as a
from tracing._otlp import LOG, SPAN

Row = dict[str, Any]


def entries(rows: Sequence[Row], names: Mapping[str, str]) -> list[Row]:
    """Return the session's commands, state changes and transfer messages, oldest first."""
    out: list[Row] = []
    commands: dict[str, Row] = {}
    for r in sorted(rows, key=lambda r: r["start_ns"]):
        attrs = r["data"].get("attributes", {})
        if r["kind"] == LOG and r["name"] == a.EVENT_STATE_CHANGED:
            out.append(
                _entry(r, names, "state", f"state changed: {attrs.get(a.REASON, '?')}", attrs)
            )
        elif r["kind"] == SPAN and r["message_kind"] == "Command":
            _command(r, attrs, names, commands, out)
        elif r["kind"] == SPAN and r["peer_device_id"] and r["message_kind"]:
            entry = _entry(r, names, "message", r["message_kind"], attrs)
            entry["peer"] = _device(r["peer_device_id"], names)
            out.append(entry)
    return out


def _command(
    r: Row, attrs: Mapping[str, Any], names: Mapping[str, str], seen: dict[str, Row], out: list[Row]
) -> None:
    """Merge the two halves of one command into one entry (the sender's, when it is in)."""
    key = str(attrs.get(a.COMMAND_ID) or r["span_id"])
    action = str(attrs.get(a.COMMAND_ACTION) or "command")
    entry = seen.get(key)
    if entry is None:
        entry = seen[key] = _entry(r, names, "command", action, attrs)
        out.append(entry)
    if r["peer_device_id"]:  # the sender's half: it says from whom to whom, and when
        entry.update(time_ns=r["start_ns"], device=_device(r["device_id"], names))
        entry["peer"] = _device(r["peer_device_id"], names)
    elif "peer" not in entry:  # only the device's half so far (or an untraced controller)
        entry["handled_by"] = _device(r["device_id"], names)
    revision = attrs.get(a.REVISION)
    if isinstance(revision, int):
        entry["revision"] = revision
    error = attrs.get(a.ERROR_TYPE)
    if error:
        entry["error"] = str(error)


def _entry(r: Row, names: Mapping[str, str], kind: str, text: str, attrs: Mapping[str, Any]) -> Row:
    revision = attrs.get(a.REVISION)
    entry: Row = {
        "time_ns": r["start_ns"],
        "kind": kind,
        "text": text,
        "device": _device(r["device_id"], names),
        "revision": revision if isinstance(revision, int) else None,
        "trace_id": r["trace_id"],
        "seq": r["seq"],
    }
    error = attrs.get(a.ERROR_TYPE)
    if error:
        entry["error"] = str(error)
    return entry


def _device(device_id: str, names: Mapping[str, str]) -> Row:
    return {"id": device_id, "name": names.get(device_id, "")}
