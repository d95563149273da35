"""A device's side of groups, as a pure machine: the controller's group steps in, what the
device does out (proto: "Groups"). Not wired into a receiver yet.

`Member.step(event, now)` takes a group step received (Received), the player's answers
(Prerolled, OutputEdge) or the join instant passing (InstantPassed), and returns actions:
Reply (the GroupDone or GroupRefused to send back), Preroll, StartAt, StopAt, Abandon
(drop a pre-roll that will not start), Follow (the timeline the audio path keeps its output
on), TakeSession, Publish (the roster for `PlaybackState.group`, None: alone), SendTimeline
(a leader's own timeline, now), SetVolume and ArmInstant. All instants are the device's own
monotonic µs.

Never half-joined: a join starts its output only once pre-rolled before the instant; a join
that is refused, fails to pre-roll, or misses its instant has asked for no output at all and
answers GroupRefused; every step received is answered exactly once (a timeline is never
answered).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connect.wire import messages as m

__all__ = [
    "Abandon",
    "ArmInstant",
    "Follow",
    "InstantPassed",
    "Member",
    "MemberAction",
    "MemberEvent",
    "OutputEdge",
    "Preroll",
    "Prerolled",
    "Publish",
    "Received",
    "Reply",
    "SendTimeline",
    "SetVolume",
    "StartAt",
    "StopAt",
    "TakeSession",
]

LEAD, JOIN, LEAVE, VOLUME = (
    m.GroupStep.LEAD,
    m.GroupStep.JOIN,
    m.GroupStep.LEAVE,
    m.GroupStep.VOLUME,
)


class Role(enum.Enum):
    """Where this device stands in a group."""

    ALONE = "alone"
    JOINING = "joining"  # pre-rolling for a join's instant
    STARTING = "starting"  # asked to start at the instant, waiting for its output edge
    FOLLOWING = "following"
    LEADING = "leading"
    LEAVING = "leaving"  # fading out, waiting for the last sample


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class Received:
    """A group step from a controller; `holds_session`: this device holds an active session."""

    body: m.GroupLead | m.GroupJoin | m.GroupLeave | m.GroupTimeline | m.GroupVolume
    holds_session: bool = False


@dataclass(frozen=True)
class Prerolled:
    """The player opened the item and holds it paused (or failed to: *failure*)."""

    failure: m.Failure | None = None


@dataclass(frozen=True)
class OutputEdge:
    """The output started (after StartAt) or stopped (after StopAt) at *at_us*."""

    at_us: int
    position_us: int = 0


@dataclass(frozen=True)
class InstantPassed:
    """The join's instant came (armed by ArmInstant)."""


MemberEvent = Received | Prerolled | OutputEdge | InstantPassed

# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Reply:
    """Send *body* to the controller that sent the step."""

    body: m.GroupDone | m.GroupRefused


@dataclass(frozen=True)
class Preroll:
    """Open *item* and hold it paused at *position_us*, to start at the join's instant."""

    item: m.QueueItem
    position_us: int


@dataclass(frozen=True)
class StartAt:
    """Start the pre-rolled output at *at_us*, fading in over *fade_ms*."""

    at_us: int
    fade_ms: int


@dataclass(frozen=True)
class StopAt:
    """Fade the output out over *fade_ms*, silent from *at_us* (0: now), then stop."""

    at_us: int
    fade_ms: int


@dataclass(frozen=True)
class Abandon:
    """Drop a pre-roll that will not start."""


@dataclass(frozen=True)
class Follow:
    """Keep the output on *timeline* (its item, its position through the clock offset)."""

    timeline: m.GroupTimeline


@dataclass(frozen=True)
class TakeSession:
    """Take *state* over (its clock is this device's already) and lead from where it plays."""

    state: m.PlaybackState


@dataclass(frozen=True)
class Publish:
    """Show *group* in this device's PlaybackState (None: it plays alone)."""

    group: m.Group | None


@dataclass(frozen=True)
class SendTimeline:
    """As the leader, send this device's own GroupTimeline to its controllers now."""


@dataclass(frozen=True)
class SetVolume:
    """Set this device's own volume."""

    volume: int
    muted: bool


@dataclass(frozen=True)
class ArmInstant:
    """Feed InstantPassed at *at_us*."""

    at_us: int


MemberAction = (
    Reply
    | Preroll
    | StartAt
    | StopAt
    | Abandon
    | Follow
    | TakeSession
    | Publish
    | SendTimeline
    | SetVolume
    | ArmInstant
)


class Member:
    """One device's part in groups; `step` for each event."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.role = Role.ALONE
        self.group: m.Group | None = None
        self.timeline: m.GroupTimeline | None = None
        self._join: m.GroupJoin | None = None
        self._leave: m.GroupLeave | None = None

    def step(self, event: MemberEvent, now: int) -> list[MemberAction]:
        """Feed one event; return what to do about it."""
        if isinstance(event, Received):
            body = event.body
            if isinstance(body, m.GroupTimeline):
                return self._timeline(body)
            if isinstance(body, m.GroupJoin):
                return self._joined(body, now)
            if isinstance(body, m.GroupLead):
                return self._lead(body, event.holds_session)
            if isinstance(body, m.GroupLeave):
                return self._leaving(body)
            return self._volume(body)
        if isinstance(event, Prerolled):
            return self._prerolled(event, now)
        if isinstance(event, OutputEdge):
            return self._edge(event)
        return self._instant_passed()

    # -------------------------------------------------------------------------- joining

    def _joined(self, join: m.GroupJoin, now: int) -> list[MemberAction]:
        me = join.group.member(self.device_id)
        gid, epoch = join.group.group_id, join.group.group_epoch
        if me is None or me.phase is not m.GroupMemberPhase.JOINING:
            return [
                _refuse(
                    gid, epoch, JOIN, m.ErrorCode.INVALID_ARGUMENT, "the roster has me not joining"
                )
            ]
        if self.role is not Role.ALONE:
            return [
                _refuse(gid, epoch, JOIN, m.ErrorCode.BUSY, f"this device is {self.role.value}")
            ]
        if join.start_at_us <= now:
            return [_refuse(gid, epoch, JOIN, m.ErrorCode.TIMEOUT, "the instant has passed")]
        self.role, self._join, self.group, self.timeline = (
            Role.JOINING,
            join,
            join.group,
            join.timeline,
        )
        item = join.timeline.item
        if item is None:  # nothing plays: follow the silence from the instant
            return [ArmInstant(join.start_at_us)]
        position = join.timeline.position_for_member(join.start_at_us)
        return [Preroll(item, position), ArmInstant(join.start_at_us)]

    def _prerolled(self, event: Prerolled, now: int) -> list[MemberAction]:
        join = self._join
        if self.role is not Role.JOINING or join is None or join.timeline.item is None:
            return []  # late (the join was refused or has passed), or never asked for
        if event.failure is not None:
            return self._give_up(event.failure)
        if now >= join.start_at_us:
            return self._give_up(m.Failure(m.ErrorCode.TIMEOUT, "not ready by the instant"))
        self.role = Role.STARTING
        return [StartAt(join.start_at_us, join.fade_ms)]

    def _instant_passed(self) -> list[MemberAction]:
        join = self._join
        if self.role is not Role.JOINING or join is None:
            return []
        if join.timeline.item is None:  # nothing to pre-roll: it follows from now on
            return self._now_following(join.start_at_us, 0)
        return self._give_up(m.Failure(m.ErrorCode.TIMEOUT, "not ready by the instant"))

    def _give_up(self, failure: m.Failure) -> list[MemberAction]:
        """A join that will not start: nothing was started, nothing of it is kept."""
        assert self._join is not None
        gid, epoch = self._join.group.group_id, self._join.group.group_epoch
        self._forget()
        return [Abandon(), Reply(m.GroupRefused(gid, JOIN, failure, epoch))]

    def _now_following(self, at_us: int, position_us: int) -> list[MemberAction]:
        assert self._join is not None
        assert self.timeline is not None
        group, self._join = self._join.group, None
        self.role = Role.FOLLOWING
        done = m.GroupDone(group.group_id, JOIN, group.group_epoch, at_us, position_us)
        return [Reply(done), Follow(self.timeline), Publish(group)]

    def _edge(self, event: OutputEdge) -> list[MemberAction]:
        if self.role is Role.STARTING:
            return self._now_following(event.at_us, event.position_us)
        if self.role is Role.LEAVING and self._leave is not None:
            leave, group_id = self._leave, self._leave.group_id
            self._forget()
            done = m.GroupDone(group_id, LEAVE, leave.group_epoch, event.at_us, event.position_us)
            return [Reply(done), Publish(None)]
        return []

    # -------------------------------------------------------------------------- the rest

    def _timeline(self, timeline: m.GroupTimeline) -> list[MemberAction]:
        current = self.timeline
        if current is None or timeline.group_id != current.group_id:
            return []  # another group's, or none: timelines are never answered
        if (timeline.group_epoch, timeline.revision) < (current.group_epoch, current.revision):
            return []  # older than the one followed
        self.timeline = timeline
        if self.role is Role.JOINING and self._join is not None:  # start where it is now
            self._join = m.GroupJoin(
                self._join.group, timeline, self._join.start_at_us, self._join.fade_ms
            )
        return [Follow(timeline)] if self.role is Role.FOLLOWING else []

    def _lead(self, lead: m.GroupLead, holds_session: bool) -> list[MemberAction]:
        group = lead.group
        gid, epoch = group.group_id, group.group_epoch
        if group.leader_device_id != self.device_id:
            return [
                _refuse(
                    gid,
                    epoch,
                    LEAD,
                    m.ErrorCode.INVALID_ARGUMENT,
                    "the roster names another leader",
                )
            ]
        if self.group is not None and self.group.group_id != gid:
            return [
                _refuse(gid, epoch, LEAD, m.ErrorCode.BUSY, "this device plays in another group")
            ]
        if self.group is not None and group.group_epoch < self.group.group_epoch:
            return [_refuse(gid, epoch, LEAD, m.ErrorCode.CONFLICT, "an older roster")]
        actions: list[MemberAction] = []
        if lead.state is not None:
            if self.role is not Role.FOLLOWING:  # only a follower plays on the timeline already
                return [
                    _refuse(
                        gid, epoch, LEAD, m.ErrorCode.NOT_ACTIVE, "this device does not follow it"
                    )
                ]
            actions.append(TakeSession(lead.state))
        elif self.role is not Role.LEADING and not holds_session:
            return [
                _refuse(gid, epoch, LEAD, m.ErrorCode.NOT_ACTIVE, "this device holds no session")
            ]
        first = self.role is not Role.LEADING
        self.role, self.group, self.timeline = Role.LEADING, group, None
        done = m.GroupDone(gid, LEAD, group.group_epoch)
        return [*actions, Publish(group), *([SendTimeline()] if first else []), Reply(done)]

    def _leaving(self, leave: m.GroupLeave) -> list[MemberAction]:
        gid, epoch = leave.group_id, leave.group_epoch
        if self.group is None or self.group.group_id != gid:
            return [
                _refuse(
                    gid, epoch, LEAVE, m.ErrorCode.NOT_FOUND, "this device is not in that group"
                )
            ]
        if self.role in (Role.JOINING, Role.STARTING):  # a join told to stop: nothing is kept
            started = self.role is Role.STARTING
            join_epoch = self._join.group.group_epoch if self._join is not None else 0
            self._forget()
            stop: list[MemberAction] = [StopAt(0, 0)] if started else [Abandon()]
            called_off = m.Failure(m.ErrorCode.TIMEOUT, "called off by a GroupLeave")
            return [
                *stop,
                Reply(m.GroupRefused(gid, JOIN, called_off, join_epoch)),  # the join's answer
                Reply(m.GroupDone(gid, LEAVE, leave.group_epoch)),
                Publish(None),
            ]
        if leave.end_group or self.role is Role.LEAVING:
            if leave.end_group:
                self._forget()
                return [Publish(None), Reply(m.GroupDone(gid, LEAVE, leave.group_epoch))]
            return [
                _refuse(gid, epoch, LEAVE, m.ErrorCode.CONFLICT, "this device is leaving already")
            ]
        self.role, self._leave = Role.LEAVING, leave
        return [StopAt(leave.leave_at_us, leave.fade_ms)]

    def _volume(self, volume: m.GroupVolume) -> list[MemberAction]:
        gid, epoch = volume.group_id, 0
        if volume.device_id != self.device_id:
            return [
                _refuse(gid, epoch, VOLUME, m.ErrorCode.INVALID_ARGUMENT, "another device's volume")
            ]
        if self.group is None or self.group.group_id != gid:
            return [
                _refuse(
                    gid, epoch, VOLUME, m.ErrorCode.NOT_FOUND, "this device is not in that group"
                )
            ]
        return [SetVolume(volume.volume, volume.muted), Reply(m.GroupDone(gid, VOLUME))]

    def _forget(self) -> None:
        self.role, self.group, self.timeline, self._join, self._leave = (
            Role.ALONE, None, None, None, None,
        )  # fmt: skip


def _refuse(group_id: str, epoch: int, step: m.GroupStep, code: m.ErrorCode, message: str) -> Reply:
    return Reply(m.GroupRefused(group_id, step, m.Failure(code, message), epoch))
