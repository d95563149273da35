"""Groups as the viewer draws them, from stored rows (sans-IO): each group's roster and each
member's latest measured skew.

A group is told by its steps (tracing.attributes, "groups"): the steps that carry the roster
(GroupLead, GroupJoin) name its leader and its members in rank order with their phases, on
both halves of the arrow, so one traced end is enough. The roster shown is the one of the
highest epoch seen (the newest, at equal epochs). A member's own GroupDone (its sender half)
at that epoch or later moves it on: a JOIN done, it plays ("PLAYING"); a LEAVE done, it has
left ("LEFT"), until a newer roster says otherwise. Each
member's skew is its newest `baton.group.skew` event: the member measured it on its own
clock, so no clock correction applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tracing import attributes as a
from tracing._otlp import LOG

Row = dict[str, Any]
LEFT = "LEFT"  # a member's phase once its leave is done (not a wire phase: it is gone)
_DONE = {"JOIN": "PLAYING", "LEAVE": LEFT}  # a member's phase once it answered that step


def groups(rows: Sequence[Row], names: Mapping[str, str]) -> list[Row]:
    """Return every group *rows* tell of, the most recently active first."""
    found: dict[str, _Group] = {}
    for r in sorted(rows, key=lambda r: (r["start_ns"], r["seq"])):
        attrs = r["data"].get("attributes", {})
        group_id = str(attrs.get(a.GROUP_ID) or "")
        if not group_id:
            continue
        group = found.setdefault(group_id, _Group(group_id))
        group.last_ns = max(group.last_ns, r["start_ns"])
        if r["kind"] == LOG and r["name"] == a.EVENT_GROUP_SKEW:
            group.skew(r, attrs)
        else:
            group.step(r, attrs)
    listed = sorted(found.values(), key=lambda g: -g.last_ns)
    return [g.as_dict(names) for g in listed]


class _Group:
    """What the rows said of one group so far."""

    def __init__(self, group_id: str) -> None:
        self.id = group_id
        self.epoch = -1
        self.leader = ""
        self.members: list[tuple[str, str]] = []  # (device id, phase) in rank order
        self.done: dict[str, tuple[int, str]] = {}  # device id -> (epoch, phase) its answer says
        self.skews: dict[str, Row] = {}  # device id -> its newest skew report
        self.last_ns = 0

    def step(self, r: Row, attrs: Mapping[str, Any]) -> None:
        epoch = _int(attrs.get(a.GROUP_EPOCH))
        members = attrs.get(a.GROUP_MEMBERS)
        if isinstance(members, list) and epoch is not None and epoch >= self.epoch:
            phases = attrs.get(a.GROUP_PHASES)
            phases = phases if isinstance(phases, list) and len(phases) == len(members) else []
            self.epoch, self.leader = epoch, str(attrs.get(a.GROUP_LEADER) or "")
            self.members = [
                (str(device), str(phases[i]) if phases else "") for i, device in enumerate(members)
            ]
            self.done = {d: done for d, done in self.done.items() if done[0] >= epoch}
        phase = _DONE.get(str(attrs.get(a.GROUP_STEP)))
        if r["message_kind"] == "GroupDone" and phase and r["peer_device_id"]:
            # The sender's half, on the member that answered (the handler's names only its peer).
            self.done[r["device_id"]] = (epoch if epoch is not None else self.epoch, phase)

    def skew(self, r: Row, attrs: Mapping[str, Any]) -> None:
        skew_us = _int(attrs.get(a.GROUP_SKEW_US))
        if skew_us is None:
            return
        self.skews[r["device_id"]] = {
            "skew_us": skew_us,
            "measured": str(attrs.get(a.GROUP_SKEW_FROM) or ""),
            "role": str(attrs.get(a.GROUP_ROLE) or ""),
            "at_ns": r["start_ns"],
        }

    def as_dict(self, names: Mapping[str, str]) -> Row:
        members = list(self.members)
        if self.epoch < 0:  # no roster traced at all: the members are who reported a skew
            members = [(device, "") for device in self.skews]
        out = []
        for device, phase in members:
            done = self.done.get(device)
            if done is not None and done[0] >= self.epoch:
                phase = done[1]
            skew = self.skews.get(device)
            out.append(
                {
                    "id": device,
                    "name": names.get(device, ""),
                    "phase": phase,
                    "leader": device == self.leader,
                    "skew_us": skew["skew_us"] if skew else None,
                    "skew_measured": skew["measured"] if skew else "",
                    "skew_at_ns": skew["at_ns"] if skew else None,
                }
            )
        return {
            "id": self.id,
            "epoch": self.epoch if self.epoch >= 0 else None,
            "leader": {"id": self.leader, "name": names.get(self.leader, "")},
            "members": out,
            "last_ns": self.last_ns,
        }


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)
