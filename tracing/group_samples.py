"""A realistic group's traces (protocol 1.2), for tests and demos: a controller forms a group,
the members answer, and each member reports its measured skew (tracing.attributes, "groups").

Built on `tracing.samples`: each step is a span pair naming the group, its epoch and step, and
the steps that carry the roster name the leader and the members with their phases.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tracing import attributes as a
from tracing import samples


@dataclass
class GroupSample:
    """One group: `leader` leads, `followers` join in order; `controller` asks for it all."""

    controller: samples.Device
    leader: samples.Device
    followers: tuple[samples.Device, ...]
    group_id: str = "grp-1"
    session_id: str = "session-1"

    def members(self) -> list[samples.Device]:
        """Return the members in rank order (the leader first)."""
        return [self.leader, *self.followers]

    def roster(self, epoch: int, joined: int) -> dict[str, Any]:
        """Return the roster attributes at *epoch*: the first *joined* followers playing, the
        next one joining (the roster a GroupJoin carries)."""
        phases = ["PLAYING"] + [
            "PLAYING" if i < joined else "JOINING" for i in range(len(self.followers))
        ]
        members = self.members()[: joined + 2]
        return {
            a.GROUP_ID: self.group_id,
            a.GROUP_EPOCH: epoch,
            a.GROUP_LEADER: self.leader.device_id,
            a.GROUP_MEMBERS: [d.device_id for d in members],
            a.GROUP_PHASES: phases[: len(members)],
        }

    def forming(self, start_ns: int = 0) -> Any:
        """Return an `ExportTraceServiceRequest`: GroupLead to the leader, then a GroupJoin to
        each follower, each answered with a GroupDone."""
        start = start_ns or time.time_ns()
        lead_roster = {**self.roster(1, 0), a.GROUP_MEMBERS: [self.leader.device_id]}
        lead_roster[a.GROUP_PHASES] = ["PLAYING"]
        steps: list[tuple[samples.Device, str, dict[str, Any]]] = [
            (self.leader, "LEAD", {**lead_roster, a.GROUP_STEP: "LEAD"})
        ]
        for i, follower in enumerate(self.followers):
            steps.append((follower, "JOIN", {**self.roster(2 + i, i), a.GROUP_STEP: "JOIN"}))
        messages = []
        for i, (member, step, attributes) in enumerate(steps):
            at = start + i * 100_000_000
            kind = "GroupLead" if step == "LEAD" else "GroupJoin"
            answer = {
                a.GROUP_ID: self.group_id,
                a.GROUP_EPOCH: attributes[a.GROUP_EPOCH],
                a.GROUP_STEP: step,
            }
            messages += [
                samples.Message(
                    self.controller, member, kind, self.session_id, seq=2 * i + 1, start_ns=at,
                    attributes=attributes,
                ),
                samples.Message(
                    member, self.controller, "GroupDone", self.session_id, seq=2 * i + 2,
                    start_ns=at + 40_000_000, attributes=answer,
                ),
            ]  # fmt: skip
        return samples.traces_request(messages)

    def skew(self, member: samples.Device, skew_us: int, measured: str = "output") -> Any:
        """Return an `ExportLogsServiceRequest`: *member*'s skew report."""
        role = "leader" if member == self.leader else "follower"
        attributes = {
            a.GROUP_ID: self.group_id,
            a.GROUP_SKEW_US: skew_us,
            a.GROUP_ROLE: role,
            a.GROUP_SKEW_FROM: measured,
        }
        return samples.logs_request(member, a.EVENT_GROUP_SKEW, attributes)
