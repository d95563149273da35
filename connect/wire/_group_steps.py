"""The group steps (protocol 1.2): lead, join, leave, volume, and a member's answers."""

from __future__ import annotations

from dataclasses import dataclass

from connect.wire._enums import GroupStep
from connect.wire._group import Group, GroupTimeline
from connect.wire._playback import PlaybackState
from connect.wire._session import Failure


@dataclass(frozen=True, slots=True)
class GroupLead:
    """Lead *group*; with `state`, take that session over from a leader that is gone."""

    group: Group
    state: PlaybackState | None = None  # its clock in the receiving device's clock


@dataclass(frozen=True, slots=True)
class GroupJoin:
    """Join at `start_at_us` (receiving device's clock) on `timeline`, fading in."""

    group: Group
    timeline: GroupTimeline
    start_at_us: int
    fade_ms: int = 0


@dataclass(frozen=True, slots=True)
class GroupLeave:
    """Fade out, ending at `leave_at_us` (0: at once), and stop; `end_group`: play on alone."""

    group_id: str
    group_epoch: int
    leave_at_us: int = 0
    fade_ms: int = 0
    end_group: bool = False


@dataclass(frozen=True, slots=True)
class GroupVolume:
    """Set the receiving member's own volume; the others are not touched."""

    group_id: str
    device_id: str
    volume: int
    muted: bool = False


@dataclass(frozen=True, slots=True)
class GroupDone:
    """A member carried out a step; `edge_at_us` (its clock): output start (JOIN) or end (LEAVE)."""

    group_id: str
    step: GroupStep
    group_epoch: int = 0
    edge_at_us: int = 0
    position_us: int = 0


@dataclass(frozen=True, slots=True)
class GroupRefused:
    """A member refused a step and carried out nothing of it."""

    group_id: str
    step: GroupStep
    failure: Failure
    group_epoch: int = 0  # the roster's epoch of the step refused, as in GroupDone
