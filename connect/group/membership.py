"""The coordinating controller's side of one group, as a pure machine: events in, actions out.

`Membership.start(now)` forms the group around the device that holds the session (GroupLead,
a roster of one); `step(event, now)` takes a request (JoinAsked, LeaveAsked, VolumeAsked), a
member's answer, a lost session, a newer clock estimate, the leader's state or timeline, or a
timer, and returns what to do (connect/group/events.py). No asyncio, no sockets, no clock
reads: every instant is the controller's monotonic µs, passed in, and each device's clock
comes from the estimates it is given.

The rules it keeps (proto: "Groups"):
* exactly one leader, a PLAYING member, while the group lasts;
* a member is PLAYING only once it said GroupDone(JOIN); a refused join, one that did not
  answer in time (it is then told to stop) or one whose session dropped leaves the roster:
  never half-joined;
* joins start at a shared instant, `join_lead_us` ahead, with a fade-in; a leave fades out
  that member alone; the members already playing are never sent anything but rosters and
  timelines;
* when the leader goes (lost, or asked to leave), the PLAYING follower of lowest rank
  (rules.next_leader) gets GroupLead with the session; a leader that was asked to leave is
  told to stop only once its successor took the session (make-before-break);
* a group down to one member ends: that member is told `end_group` and plays on alone;
* a timeline is relayed only if its revision is not below the one held (one announced ahead
  by a transfer onto the group stands until the leader's own catches up).
"""

from __future__ import annotations

from dataclasses import replace

from connect.group import rules
from connect.group._group_state import GroupState, failure
from connect.group.events import (
    REFRESH_US,
    Action,
    Answered,
    ArmTimer,
    ClockUpdate,
    Deadline,
    Event,
    Finish,
    JoinAsked,
    LeaderState,
    LeaderTimeline,
    LeaveAsked,
    Lost,
    Note,
    Outcome,
    Send,
    Timer,
    TimerKind,
    VolumeAsked,
)
from connect.wire import messages as m

__all__ = ["Membership"]

JOINING, PLAYING, LEAVING = (
    m.GroupMemberPhase.JOINING,
    m.GroupMemberPhase.PLAYING,
    m.GroupMemberPhase.LEAVING,
)
LEAD, JOIN, LEAVE, VOLUME = (
    m.GroupStep.LEAD,
    m.GroupStep.JOIN,
    m.GroupStep.LEAVE,
    m.GroupStep.VOLUME,
)


class Membership(GroupState):
    """One group's coordination; `start` once, then `step` for each event until Finish."""

    def start(self, now: int) -> list[Action]:
        """Return the first actions: the roster of one to the leader, and the refresh timer."""
        leader = self.plan.leader_id
        self._expect(leader, LEAD)
        return [
            Send(leader, m.GroupLead(self._roster)),
            self._answer_timer(leader, now),
            ArmTimer(Timer(TimerKind.REFRESH), now + REFRESH_US),
        ]

    def step(self, event: Event, now: int) -> list[Action]:
        """Feed one event; return what to do about it (nothing once the group is over)."""
        if self._over:
            if isinstance(event, JoinAsked | LeaveAsked | VolumeAsked):
                return [Outcome(event.device_id, _step_of(event), failure("the group is over"))]
            return []
        if isinstance(event, ClockUpdate):
            self._clocks[event.device_id] = event.clock
            return []
        if isinstance(event, LeaderState):
            if event.device_id == self._roster.leader_device_id and event.state.active:
                self._state = event.state
            return []
        if isinstance(event, JoinAsked):
            return self._join_asked(event, now)
        if isinstance(event, LeaveAsked):
            return self._leave_asked(event, now)
        if isinstance(event, VolumeAsked):
            return self._volume_asked(event)
        if isinstance(event, Answered):
            return self._answered(event, now)
        if isinstance(event, Lost):
            return self._lost(event, now)
        if isinstance(event, LeaderTimeline):
            return self._leader_timeline(event, now)
        return self._deadline(event, now)

    # -------------------------------------------------------------------------- requests

    def _join_asked(self, event: JoinAsked, now: int) -> list[Action]:
        device = event.device_id
        if self._roster.member(device) is not None or device in self._waiting:
            return [Outcome(device, JOIN, failure(f"{self._name(device)} is already in it"))]
        self._clocks[device] = event.clock
        self._grown = True
        if self._timeline is None:  # the leader has not said where the music is yet
            self._waiting[device] = event
            wait = Timer(TimerKind.WAITING, device)
            return [ArmTimer(wait, now + self.plan.answer_timeout_us)]
        return self._join(event, now)

    def _join(self, event: JoinAsked, now: int) -> list[Action]:
        assert self._timeline is not None
        device, clock = event.device_id, event.clock
        member = m.GroupMember(device, self._next_rank, JOINING, event.volume, event.muted)
        self._next_rank += 1
        self._change(members=(*self._roster.members, member))
        start_at = now + (event.lead_us or self.plan.join_lead_us)
        timeline = self._timeline_for(device)
        join = m.GroupJoin(self._roster, timeline, clock.to_device(start_at), self.plan.fade_ms)
        self._expect(device, JOIN)
        return [
            Send(device, join),
            ArmTimer(Timer(TimerKind.ANSWER, device), start_at + self.plan.answer_timeout_us),
            self._roster_to_leader(),
            Note("join sent", device),
        ]

    def _leave_asked(self, event: LeaveAsked, now: int) -> list[Action]:
        device = event.device_id
        member = self._roster.member(device)
        if device in self._waiting:  # not sent anything yet: it simply never joins
            del self._waiting[device]
            called_off = [Outcome(device, JOIN, failure("called off")), Outcome(device, LEAVE)]
            return called_off + self._maybe_end(now)
        if member is None or member.phase is LEAVING or device in self._pending:
            why = "is not in it" if member is None else "is in the middle of a step"
            return [Outcome(device, LEAVE, failure(f"{self._name(device)} {why}"))]
        if device == self._roster.leader_device_id:
            return self._replace_leader(now, lost=False)
        return self._leave(device, now, event.at_us)

    def _leave(self, device: str, now: int, at_us: int = 0) -> list[Action]:
        self._set_phase(device, LEAVING)
        fade_us = self.plan.fade_ms * 1000
        silent_at = max(now + fade_us, at_us)  # at_us: a transfer's switch instant plus its fade
        leave_at = self._clocks[device].to_device(silent_at)
        leave = m.GroupLeave(self._group_id, self._roster.group_epoch, leave_at, self.plan.fade_ms)
        self._expect(device, LEAVE)
        return [
            Send(device, leave),
            ArmTimer(Timer(TimerKind.ANSWER, device), silent_at + self.plan.answer_timeout_us),
            self._roster_to_leader(),
        ]

    def _volume_asked(self, event: VolumeAsked) -> list[Action]:
        device = event.device_id
        member = self._roster.member(device)
        if member is None:
            return [Outcome(device, VOLUME, failure(f"{self._name(device)} is not in it"))]
        volume = m.GroupVolume(self._group_id, device, event.volume, event.muted)
        updated = replace(member, volume=event.volume, muted=event.muted)
        self._change(members=tuple(updated if x is member else x for x in self._roster.members))
        return [Send(device, volume, must_arrive=False), self._roster_to_leader()]

    # -------------------------------------------------------------------------- answers

    def _answered(self, event: Answered, now: int) -> list[Action]:
        device, body = event.device_id, event.body
        if body.group_id != self._group_id:
            return []
        if body.step is VOLUME:  # not pending: each answers itself
            failure = body.failure if isinstance(body, m.GroupRefused) else None
            return [Outcome(device, VOLUME, failure)]
        if (
            self._pending.get(device) is not body.step
            or self._sent_at.get(device) != body.group_epoch
        ):
            return []  # late, repeated, for an earlier step, or the answer to a mere roster
        del self._pending[device]
        if isinstance(body, m.GroupRefused):
            return self._refused(device, body, now)
        if body.step is JOIN:
            self._set_phase(device, PLAYING)
            return [Outcome(device, JOIN), self._roster_to_leader(), Note("joined", device)]
        if body.step is LEAVE:
            return [Outcome(device, LEAVE), *self._remove(device, now)]
        actions: list[Action] = [Outcome(device, LEAD), Note("leads", device)]
        if self._departing:  # make-before-break: the old leader stops only now
            actions += self._leave(self._departing, now)
            self._departing = ""
        return actions + self._maybe_end(now)

    def _refused(self, device: str, body: m.GroupRefused, now: int) -> list[Action]:
        failure = body.failure
        note = Note("refused", device, "warning", f"{self._name(device)}: {failure.message}")
        if body.step is JOIN:
            return [Outcome(device, JOIN, failure), note, *self._remove(device, now)]
        if body.step is LEAVE:  # it plays on as it was; it is out of the group all the same
            return [Outcome(device, LEAVE, failure), note, *self._remove(device, now)]
        return [Outcome(device, LEAD, failure), note, *self._leader_failed(device, now)]

    def _lost(self, event: Lost, now: int) -> list[Action]:
        device = event.device_id
        if device in self._waiting:
            del self._waiting[device]
            lost = failure(f"lost {self._name(device)}: {event.why}")
            return [Outcome(device, JOIN, lost), *self._maybe_end(now)]
        if self._roster.member(device) is None:
            return []
        note = Note("lost", device, "warning", f"lost {self._name(device)}: {event.why}")
        step = self._pending.pop(device, None)
        if device == self._roster.leader_device_id:
            outcome = [Outcome(device, LEAD, failure("lost"))] if step is LEAD else []
            return [note, *outcome, *self._leader_failed(device, now)]
        outcome = [Outcome(device, step, failure(event.why))] if step in (JOIN, LEAVE) else []
        if device == self._departing:  # a leader on its way out is gone: it left
            self._departing = ""
            outcome = [Outcome(device, LEAVE)]
        return [note, *outcome, *self._remove(device, now)]

    def _deadline(self, event: Deadline, now: int) -> list[Action]:
        kind, device = event.timer.kind, event.timer.device_id
        if kind is TimerKind.REFRESH:
            return [*self._relay(), ArmTimer(Timer(TimerKind.REFRESH), now + REFRESH_US)]
        if kind is TimerKind.WAITING:
            if self._waiting.pop(device, None) is None:
                return []
            why = failure("the leader never said where the music is", m.ErrorCode.TIMEOUT)
            return [Outcome(device, JOIN, why), *self._maybe_end(now)]
        step = self._pending.get(device)
        if step is None:
            return []
        del self._pending[device]
        late = failure(f"{self._name(device)} did not answer in time", m.ErrorCode.TIMEOUT)
        if step is LEAD:
            # Silent, not gone: it may yet take the roster (and a session) it was sent.
            return [Outcome(device, LEAD, late), *self._leader_failed(device, now, silent=True)]
        # A member that never said it joined (or left) may be playing: tell it to stop, and
        # take it out, so it is never half in the group.
        stop = m.GroupLeave(self._group_id, self._roster.group_epoch)
        return [Outcome(device, step, late), Send(device, stop, False), *self._remove(device, now)]

    # -------------------------------------------------------------------------- the timeline

    def _leader_timeline(self, event: LeaderTimeline, now: int) -> list[Action]:
        timeline = event.timeline
        if event.device_id != self._roster.leader_device_id or timeline.group_id != self._group_id:
            return []
        if self._timeline is not None and timeline.revision < self._timeline.revision:
            # Older than what the followers were told: a transfer onto the group announced
            # the new session's timeline ahead of the leader (client/group_moves.py).
            return []
        self._timeline = replace(timeline, clock_offset_us=0, offset_uncertainty_us=0)
        actions = self._relay()
        for device, asked in list(self._waiting.items()):
            del self._waiting[device]
            actions += self._join(asked, now)
        return actions

    # -------------------------------------------------------------------------- the leader

    def _leader_failed(self, device: str, now: int, silent: bool = False) -> list[Action]:
        """The leader (or the member about to lead) is gone, refused or *silent*: the next one
        leads. A silent one is told to stop afterwards (its link keeps order, so this comes
        after the GroupLead it did not answer), or, if the group ends, to play on alone: it
        never leads a group nobody else knows of."""
        if device != self._roster.leader_device_id:
            return self._remove(device, now)
        actions = self._replace_leader(now, lost=True)
        if not silent:
            return actions
        leave = m.GroupLeave(self._group_id, self._roster.group_epoch, end_group=self._over)
        return [Send(device, leave, must_arrive=False), *actions]

    def _replace_leader(self, now: int, lost: bool) -> list[Action]:
        old = self._roster.leader_device_id
        if lost and self._departing:
            return self._keep_departing(old, now)
        new = rules.next_leader(self._roster)
        if new is None:
            left = [] if lost else [Outcome(old, LEAVE)]  # the group ends; it plays on alone
            return left + self._end(now, old, "no other member plays", ended_leader=not lost)
        members = tuple(
            replace(x, phase=LEAVING) if x.device_id == old else x
            for x in self._roster.members
            if not (lost and x.device_id == old)
        )
        self._change(members=members, leader=new)
        state = rules.session_for_new_leader(self._state, self._clocks[old], self._clocks[new], new)
        self._handed_over = self._state
        self._state, self._timeline = state, None  # the new leader's word is awaited
        self._expect(new, LEAD)
        if not lost:
            self._departing = old
        return [
            Send(new, m.GroupLead(self._roster, state)),
            self._answer_timer(new, now),
            Note("new leader", new, "info", f"{self._name(new)} leads the group"),
        ]

    def _keep_departing(self, failed: str, now: int) -> list[Action]:
        """The successor of a leader asked to leave failed before it led: the old leader, which
        never stopped (make-before-break), keeps the session and the group."""
        old, self._departing = self._departing, ""
        members = tuple(
            replace(x, phase=PLAYING) if x.device_id == old else x
            for x in self._roster.members
            if x.device_id != failed
        )
        self._change(members=members, leader=old)
        self._state, self._timeline = self._handed_over, None  # its word is awaited again
        gone = failure(f"{self._name(failed)} could not take the session over")
        return [
            Outcome(old, LEAVE, gone),
            Send(failed, m.GroupLeave(self._group_id, self._roster.group_epoch), False),
            self._roster_to_leader(),
            Note("leader kept", old, "warning", gone.message),
            *self._maybe_end(now),
        ]

    # -------------------------------------------------------------------------- the roster

    def _remove(self, device: str, now: int) -> list[Action]:
        self._pending.pop(device, None)
        members = tuple(x for x in self._roster.members if x.device_id != device)
        self._change(members=members)
        return self._maybe_end(now) or [self._roster_to_leader()]

    def _maybe_end(self, now: int) -> list[Action]:
        """End the group once one member is left and nothing is on its way; else nothing."""
        members, busy = self._roster.members, self._pending or self._waiting or self._departing
        if self._grown and len(members) == 1 and not busy:
            return self._end(now, members[0].device_id, "one member left", ended_leader=True)
        return []

    def _end(self, now: int, last: str, why: str, ended_leader: bool) -> list[Action]:
        """The group is over: the last member plays on alone (or, lost, is told nothing)."""
        self._over = True
        actions: list[Action] = []
        for device, step in list(self._pending.items()):  # steps in flight: they never land
            stop = m.GroupLeave(self._group_id, self._roster.group_epoch)
            actions += [Send(device, stop, False), Outcome(device, step, failure(why))]
        self._pending.clear()
        for device in list(self._waiting):
            actions.append(Outcome(device, JOIN, failure(why)))
        self._waiting.clear()
        if ended_leader:
            end = m.GroupLeave(self._group_id, self._roster.group_epoch, end_group=True)
            actions.append(Send(last, end, must_arrive=False))
        return [*actions, Note("over", last, "info", why), Finish(why)]


def _step_of(event: JoinAsked | LeaveAsked | VolumeAsked) -> m.GroupStep:
    if isinstance(event, JoinAsked):
        return JOIN
    return LEAVE if isinstance(event, LeaveAsked) else VOLUME
