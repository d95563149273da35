"""What the group machine (connect/group/membership.py) is fed and what it asks for."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from connect.clock import ClockEstimate
from connect.group import rules
from connect.wire import messages as m

ANSWER_TIMEOUT_US = 2_000_000
"""After a step's instant, how long a member has to answer it before it counts as failed."""

REFRESH_US = 2_000_000
"""How often followers get the timeline again, so each follows its offset (the proto: 5 s)."""


@dataclass(frozen=True)
class GroupPlan:
    """What the machine needs before its first message: the leader and its session."""

    group_id: str
    leader_id: str
    leader_clock: ClockEstimate  # the controller's estimate of its link to the leader
    state: m.PlaybackState  # the leader's session as last seen, clock in the leader's clock
    leader_volume: int = 50
    leader_muted: bool = False
    fade_ms: int = 30
    join_lead_us: int = rules.JOIN_LEAD_US
    answer_timeout_us: int = ANSWER_TIMEOUT_US
    names: dict[str, str] = field(default_factory=dict)  # device id -> name, for messages


class TimerKind(enum.Enum):
    """The machine's deadlines; arming one again for the same device replaces it."""

    ANSWER = "answer"  # a member must answer its pending step by then
    WAITING = "waiting"  # a join waiting for the leader's first timeline gives up then
    REFRESH = "refresh"  # send the followers the timeline again


@dataclass(frozen=True)
class Timer:
    """One deadline: its kind and the device it is about ("" for REFRESH)."""

    kind: TimerKind
    device_id: str = ""


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class JoinAsked:
    """Add *device_id* (already checked by rules.why_not_member) with its link's clock."""

    device_id: str
    clock: ClockEstimate
    volume: int = 50
    muted: bool = False
    lead_us: int = 0  # from the join's sending to its instant; 0: the plan's join_lead_us


@dataclass(frozen=True)
class LeaveAsked:
    """Take *device_id* out of the group (the leader too: another member leads on)."""

    device_id: str
    at_us: int = 0  # a follower silent from then (controller's clock; 0: one fade from now)


@dataclass(frozen=True)
class VolumeAsked:
    """Set one member's own volume."""

    device_id: str
    volume: int
    muted: bool = False


@dataclass(frozen=True)
class Answered:
    """A member's GroupDone or GroupRefused."""

    device_id: str
    body: m.GroupDone | m.GroupRefused


@dataclass(frozen=True)
class Lost:
    """A member's session went down (or a Send to it failed)."""

    device_id: str
    why: str = "disconnected"


@dataclass(frozen=True)
class ClockUpdate:
    """A newer estimate of the controller's link to *device_id*."""

    device_id: str
    clock: ClockEstimate


@dataclass(frozen=True)
class LeaderState:
    """A StateSnapshot's state from *device_id* (used if it leads)."""

    device_id: str
    state: m.PlaybackState


@dataclass(frozen=True)
class LeaderTimeline:
    """A GroupTimeline from *device_id* (relayed if it leads)."""

    device_id: str
    timeline: m.GroupTimeline


@dataclass(frozen=True)
class Deadline:
    """An armed timer fired."""

    timer: Timer


Event = (
    JoinAsked
    | LeaveAsked
    | VolumeAsked
    | Answered
    | Lost
    | ClockUpdate
    | LeaderState
    | LeaderTimeline
    | Deadline
)

# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Send:
    """Send *body* to *device_id*; report a failure as Lost(device_id)."""

    device_id: str
    body: m.Body
    must_arrive: bool = True  # False: a relay or a stop whose loss changes nothing


@dataclass(frozen=True)
class ArmTimer:
    """Feed Deadline(timer) at *at_us* (the controller's clock), replacing an earlier arming."""

    timer: Timer
    at_us: int


@dataclass(frozen=True)
class Outcome:
    """A step asked of the machine (or of the group's forming) is over: done, or why not."""

    device_id: str
    step: m.GroupStep
    failure: m.Failure | None = None


@dataclass(frozen=True)
class Note:
    """A phase worth a trace event, and a log line when `log` is set ("info" or "warning")."""

    phase: str
    device_id: str = ""
    log: str = ""
    message: str = ""


@dataclass(frozen=True)
class Finish:
    """The group is over (its members play on alone or not at all, as they were told)."""

    reason: str


Action = Send | ArmTimer | Outcome | Note | Finish
