"""What a controller says about its groups: a group's roster as the listener reads it, and what
became of a request to group devices. Plain values (no asyncio): the keeper sends them as JSON
(`as_json`, `from_json`), the CLI and the app print them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connect.wire import messages as m

__all__ = ["GroupReport", "GroupView", "MemberView", "Refusal"]


@dataclass(frozen=True)
class MemberView:
    """One member as the roster has it: its phase ("playing", "joining", "leaving"), its volume."""

    device_id: str
    name: str
    phase: str
    volume: int
    muted: bool = False
    leads: bool = False


@dataclass(frozen=True)
class GroupView:
    """One group: its id, its leader, its members in join order (the leader first)."""

    group_id: str
    leader_id: str
    members: tuple[MemberView, ...]

    @property
    def leader_name(self) -> str:
        """Return the leader's name (its id when the roster holds no name for it)."""
        return next((x.name for x in self.members if x.leads), self.leader_id)

    def member(self, device_id: str) -> MemberView | None:
        """Return the member *device_id*, or None."""
        return next((x for x in self.members if x.device_id == device_id), None)

    def as_json(self) -> dict[str, Any]:
        """Return the group as a JSON object."""
        members = [x.__dict__ for x in self.members]
        return {"group_id": self.group_id, "leader_id": self.leader_id, "members": members}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GroupView:
        """Return the group *data* describes (as `as_json` wrote it); raise KeyError/TypeError."""
        members = tuple(MemberView(**x) for x in data["members"])
        return cls(str(data["group_id"]), str(data["leader_id"]), members)

    @classmethod
    def of(cls, roster: m.Group, names: dict[str, str]) -> GroupView:
        """Return the view of *roster*, each member named from *names* (else by its id)."""
        members = sorted(
            roster.members, key=lambda x: (x.device_id != roster.leader_device_id, x.rank)
        )
        return cls(
            roster.group_id,
            roster.leader_device_id,
            tuple(
                MemberView(
                    x.device_id,
                    names.get(x.device_id, x.device_id),
                    x.phase.name.lower(),
                    x.volume,
                    x.muted,
                    x.device_id == roster.leader_device_id,
                )
                for x in members
            ),
        )


@dataclass(frozen=True)
class Refusal:
    """A device that was asked to join and is not in the group: why (a sentence), and the code."""

    device_id: str
    name: str
    message: str
    code: str = "unsupported"


@dataclass(frozen=True)
class GroupReport:
    """What `group` did: the group as it stands after it, whether it was formed by this
    request, and the devices that did not join it with why."""

    group: GroupView | None  # None: the group ended (its leader failed, or all others did)
    formed: bool
    refused: tuple[Refusal, ...] = ()

    @property
    def ok(self) -> bool:
        """Return True when every device asked plays in the group."""
        return self.group is not None and not self.refused

    def as_json(self) -> dict[str, Any]:
        """Return the report as a JSON object."""
        return {
            "ok": self.ok,
            "formed": self.formed,
            "group": self.group.as_json() if self.group is not None else None,
            "refused": [x.__dict__ for x in self.refused],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GroupReport:
        """Return the report *data* describes (as `as_json` wrote it); raise KeyError/TypeError."""
        group = GroupView.from_json(data["group"]) if data["group"] is not None else None
        refused = tuple(Refusal(**x) for x in data["refused"])
        return cls(group, bool(data["formed"]), refused)
