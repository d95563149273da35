"""The group steps' bodies on the wire, both ways (protocol 1.2, proto: "Groups").

Private to the codec, which merges these tables with connect.wire._to_wire's and _from_wire's.
A step must name its group; a GroupDone or GroupRefused must name a step this version knows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connect.wire import _from_wire as rd
from connect.wire import _to_wire as wr
from connect.wire import messages as m
from connect.wire._checks import check_id, check_percent, check_queue
from connect.wire._group_roster import (
    check_group_id,
    fill_group,
    fill_timeline,
    group_step,
    read_group,
    read_timeline,
)
from connect.wire._items import items_from_field

Wire = Any

# ------------------------------------------------------------------------------ model -> wire


def _lead(out: Wire, v: m.GroupLead) -> None:
    fill_group(out.group, v.group)
    if v.state is not None:
        wr.fill_state_except_queue(out.state, v.state)
        wr.fill_queue_items(out.state.queue.items, v.state.queue, v.state.current_uid)


def _join(out: Wire, v: m.GroupJoin) -> None:
    if v.timeline.group_id != v.group.group_id:
        raise ValueError("the timeline is another group's")
    fill_group(out.group, v.group)
    fill_timeline(out.timeline, v.timeline)
    out.start_at_us, out.fade_ms = v.start_at_us, v.fade_ms


def _leave(out: Wire, v: m.GroupLeave) -> None:
    check_group_id(v.group_id)
    out.group_id, out.group_epoch = v.group_id, v.group_epoch
    out.leave_at_us, out.fade_ms, out.end_group = v.leave_at_us, v.fade_ms, v.end_group


def _volume(out: Wire, v: m.GroupVolume) -> None:
    check_group_id(v.group_id)
    check_id("device_id", v.device_id)
    check_percent("volume", v.volume)
    out.group_id, out.device_id, out.volume, out.muted = (
        v.group_id, v.device_id, v.volume, v.muted,
    )  # fmt: skip


def _done(out: Wire, v: m.GroupDone) -> None:
    check_group_id(v.group_id)
    out.group_id, out.step, out.group_epoch = v.group_id, v.step.value, v.group_epoch
    out.edge_at_us, out.position_us = v.edge_at_us, v.position_us


def _refused(out: Wire, v: m.GroupRefused) -> None:
    check_group_id(v.group_id)
    out.group_id, out.step, out.group_epoch = v.group_id, v.step.value, v.group_epoch
    wr.fill_failure(out.failure, v.failure)


BODY_WRITERS: dict[type, tuple[str, Callable[[Wire, Any], None]]] = {
    m.GroupLead: ("group_lead", _lead),
    m.GroupJoin: ("group_join", _join),
    m.GroupLeave: ("group_leave", _leave),
    m.GroupTimeline: ("group_timeline", fill_timeline),
    m.GroupVolume: ("group_volume", _volume),
    m.GroupDone: ("group_done", _done),
    m.GroupRefused: ("group_refused", _refused),
}

# ------------------------------------------------------------------------------ wire -> model


def _required(w: Wire, field: str) -> Wire:
    if not w.HasField(field):
        raise ValueError(f"{field} is missing")
    return getattr(w, field)


def _read_lead(w: Wire) -> m.GroupLead:
    group = read_group(_required(w, "group"))
    if not w.HasField("state"):
        return m.GroupLead(group)
    # The codec parses with connect.wire._lazy, where a state's queue arrives as wire bytes.
    items = items_from_field(w.state.queue, rd.QUEUE_ITEMS_FIELD)
    check_queue(items, w.state.current_uid)
    return m.GroupLead(group, rd.state(w.state, items))


def _read_join(w: Wire) -> m.GroupJoin:
    group = read_group(_required(w, "group"))
    timeline = read_timeline(_required(w, "timeline"))
    if timeline.group_id != group.group_id:
        raise ValueError("the timeline is another group's")
    return m.GroupJoin(group, timeline, w.start_at_us, w.fade_ms)


def _read_leave(w: Wire) -> m.GroupLeave:
    check_group_id(w.group_id)
    return m.GroupLeave(w.group_id, w.group_epoch, w.leave_at_us, w.fade_ms, w.end_group)


def _read_volume(w: Wire) -> m.GroupVolume:
    check_group_id(w.group_id)
    check_id("device_id", w.device_id)
    check_percent("volume", w.volume)
    return m.GroupVolume(w.group_id, w.device_id, w.volume, w.muted)


def _read_done(w: Wire) -> m.GroupDone:
    check_group_id(w.group_id)
    return m.GroupDone(w.group_id, group_step(w.step), w.group_epoch, w.edge_at_us, w.position_us)


def _read_refused(w: Wire) -> m.GroupRefused:
    check_group_id(w.group_id)
    failure = rd.failure(_required(w, "failure"))
    return m.GroupRefused(w.group_id, group_step(w.step), failure, w.group_epoch)


BODY_READERS: dict[str, Callable[[Wire], m.Body]] = {
    "group_lead": _read_lead,
    "group_join": _read_join,
    "group_leave": _read_leave,
    "group_timeline": read_timeline,
    "group_volume": _read_volume,
    "group_done": _read_done,
    "group_refused": _read_refused,
}
