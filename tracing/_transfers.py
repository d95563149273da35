"""Transfers as the viewer lists and draws them, from stored rows (sans-IO).

A transfer is told by the "transfer" span of the controller that ran it (tracing.attributes:
its source, target, outcome and phases) and by its messages, which carry its id. A transfer
whose controller was not traced has no such span: its devices' halves still name it, so it is
listed with what they tell (who offered to whom) and the outcome "unknown".

Every duration of a transfer is in one clock, the controller's (connect/transfer/rules.py), so
its timeline needs no clock correction: the phases come from the span's attributes, and a
message is placed where the controller sent or received it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tracing import attributes as a
from tracing._export import pair_arrows
from tracing._otlp import SPAN

Row = dict[str, Any]
FAILED = ("failed", "rolled_back")
# The bars of a timeline, in the order they happen; "fade" is the source's, the others the
# target's (each the attribute giving its length, in µs; the fade's is in ms).
PHASES = (
    ("offer", a.TRANSFER_OFFER_US),
    ("pre-roll", a.TRANSFER_PREROLL_US),
    ("lead", a.TRANSFER_LEAD_US),
    ("start", a.TRANSFER_START_US),
)


def transfer_span(rows: Iterable[Row]) -> Row | None:
    """Return the controller's "transfer" span among *rows*, if it was traced."""
    for r in rows:
        if r["kind"] == SPAN and r["name"] == "transfer" and r["transfer_id"]:
            return r
    return None


def summarise(transfer_id: str, rows: Sequence[Row], names: Mapping[str, str]) -> Row:
    """Return one line of the transfers list: who to whom, how it ended, its figures."""
    span = transfer_span(rows)
    attrs: Mapping[str, Any] = span["data"].get("attributes", {}) if span else {}
    source, target = _ends(span, rows)
    error_us = _number(attrs.get(a.TRANSFER_CLOCK_ERROR_US))
    gap_us = _number(attrs.get(a.TRANSFER_GAP_US))
    position = _number(attrs.get(a.TRANSFER_POSITION_ERROR_MS))
    if span is None:
        outcome = "unknown"
    else:
        outcome = str(attrs.get(a.TRANSFER_OUTCOME) or ("failed" if span["status"] == 2 else "ok"))
    session = next((r["session_id"] for r in rows if r["session_id"]), "")
    return {
        "id": transfer_id,
        "from": _device(source, names),
        "to": _device(target, names),
        "controller": _device(span["device_id"], names) if span else None,
        "traced": span is not None,
        "outcome": outcome,
        "error": str(attrs.get(a.ERROR_TYPE, "")),
        "mode": str(attrs.get(a.TRANSFER_MODE, "")),
        "mode_reason": str(attrs.get(a.TRANSFER_MODE_REASON, "")),
        "latency_ms": _number(attrs.get(a.TRANSFER_LATENCY_MS)),
        "gap_ms": None if gap_us is None else gap_us / 1000,
        "position_error_ms": position,
        "clock_error_ms": None if error_us is None else error_us / 1000,
        # Within the clocks' error bound, a gap or position error could as well be zero.
        "gap_within_clock_error": _within(gap_us, error_us),
        "position_within_clock_error": _within(
            None if position is None else position * 1000, error_us
        ),
        "start_ns": span["start_ns"] if span else min(r["start_ns"] for r in rows),
        "end_ns": span["end_ns"] if span else max(r["end_ns"] for r in rows),
        "session_id": session,
        "trace_id": span["trace_id"] if span else "",
        "count": len(rows),
        "devices": ",".join(sorted({r["device_id"] for r in rows})),
    }


def listed(summaries: Iterable[Row]) -> list[Row]:
    """Order the transfers list: failures first, then unknown outcomes, then the rest; newest
    first within each."""
    rank = {"failed": 0, "rolled_back": 0, "unknown": 1}
    return sorted(summaries, key=lambda s: (rank.get(s["outcome"], 2), -s["start_ns"]))


def timeline(rows: Sequence[Row], names: Mapping[str, str]) -> Row:
    """Return a transfer's timeline in ms from its request: the phases as bars (target and
    source lanes) and the controller's messages as marks; empty when it was not traced."""
    span = transfer_span(rows)
    if span is None:
        return {"phases": [], "messages": [], "length_ms": 0.0, "traced": False}
    attrs = span["data"].get("attributes", {})
    source, target = _ends(span, rows)
    phases: list[Row] = []
    at = 0.0
    for name, key in PHASES:
        length = _number(attrs.get(key))
        if length is None:
            continue
        phases.append(_bar(name, "target", target, names, at, at + length / 1000))
        at += length / 1000
    gap_us, fade_ms = _number(attrs.get(a.TRANSFER_GAP_US)), _number(attrs.get(a.TRANSFER_FADE_MS))
    if phases and gap_us is not None and fade_ms:
        silent = at - gap_us / 1000  # the source fell silent this long before the target sounded
        phases.append(_bar("fade", "source", source, names, silent - fade_ms, silent))
    messages = _controller_marks(span, rows, names)
    ends = [p["end_ms"] for p in phases] + [m["at_ms"] for m in messages]
    ends.append((span["end_ns"] - span["start_ns"]) / 1e6)
    return {
        "phases": phases,
        "messages": messages,
        "length_ms": max(ends),
        "audible_ms": at if phases else None,
        "traced": True,
    }


def _controller_marks(span: Row, rows: Sequence[Row], names: Mapping[str, str]) -> list[Row]:
    """The transfer's messages at the instants its controller sent or received them."""
    controller, t0 = span["device_id"], span["start_ns"]
    marks = []
    for arrow in pair_arrows(rows):
        if arrow.from_device == controller:
            at, peer, direction = arrow.sender["start_ns"], arrow.to_device, "to"
        elif arrow.to_device == controller and arrow.receiver is not None:
            at, peer, direction = arrow.receiver["start_ns"], arrow.from_device, "from"
        else:
            continue  # between two devices: in neither end's clock the controller's
        marks.append(
            {
                "at_ms": (at - t0) / 1e6,
                "label": arrow.label,
                "direction": direction,
                "peer": _device(peer, names),
                "received": arrow.receiver is not None,
            }
        )
    return sorted(marks, key=lambda m: m["at_ms"])


def _ends(span: Row | None, rows: Sequence[Row]) -> tuple[str, str]:
    """Return (source, target) device ids: the span's, else what the messages tell."""
    if span is not None:
        attrs = span["data"].get("attributes", {})
        source = str(attrs.get(a.TRANSFER_SOURCE, ""))
        target = str(attrs.get(a.TRANSFER_TARGET, ""))
        for link in span["data"].get("links", ()):
            role = link["attributes"].get(a.TRANSFER_ROLE)
            peer = str(link["attributes"].get(a.PEER_DEVICE_ID, ""))
            if role == "source" and not source:
                source = peer
            elif role == "target" and not target:
                target = peer
        if source and target:
            return source, target
    # Untraced controller: the target is who handled the offer; the source another device
    # that handled a commit.
    handled = [(r["device_id"], r["message_kind"]) for r in rows if r["name"].startswith("handle")]
    target = next((d for d, kind in handled if kind == "TransferOffer"), "")
    source = next((d for d, kind in handled if kind == "TransferCommit" and d != target), "")
    return source, target


def _bar(
    name: str, lane: str, device: str, names: Mapping[str, str], start: float, end: float
) -> Row:
    return {
        "name": name,
        "lane": lane,
        "device": _device(device, names),
        "start_ms": start,
        "end_ms": end,
    }


def _device(device_id: str, names: Mapping[str, str]) -> Row:
    return {"id": device_id, "name": names.get(device_id, "")}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _within(value_us: float | None, error_us: float | None) -> bool:
    return value_us is not None and error_us is not None and abs(value_us) <= error_us
