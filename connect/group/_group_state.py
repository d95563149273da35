"""What one group's coordination holds, and the bookkeeping every step of
connect/group/membership.py shares: the roster made one epoch up at each change, the steps
awaited with the epoch they were sent with, the leader's timeline relayed to each follower."""

from __future__ import annotations

from dataclasses import replace

from connect.clock import ClockEstimate
from connect.group import rules
from connect.group.events import Action, ArmTimer, GroupPlan, JoinAsked, Send, Timer, TimerKind
from connect.wire import messages as m

__all__ = ["GroupState", "failure"]

PLAYING, LEAVING = m.GroupMemberPhase.PLAYING, m.GroupMemberPhase.LEAVING


class GroupState:
    """The roster, the clocks, the steps awaited, the leader's word; no rules of its own."""

    def __init__(self, plan: GroupPlan) -> None:
        self.plan = plan
        leader = m.GroupMember(plan.leader_id, 0, PLAYING, plan.leader_volume, plan.leader_muted)
        self._roster = m.Group(plan.group_id, 1, plan.leader_id, (leader,))
        self._clocks: dict[str, ClockEstimate] = {plan.leader_id: plan.leader_clock}
        self._pending: dict[str, m.GroupStep] = {}
        # The roster epoch each pending step was sent with: an answer counts only with it, so
        # the late answer to an earlier step of the same device is never taken for this one's.
        self._sent_at: dict[str, int] = {}
        self._waiting: dict[str, JoinAsked] = {}  # joins asked before the leader's timeline
        self._next_rank = 1
        self._state = plan.state
        self._timeline: m.GroupTimeline | None = None  # the leader's own (offset 0)
        self._departing: str = ""  # a leader asked to leave, stopped once its successor leads
        self._handed_over = plan.state  # the departing leader's session, should it keep it
        self._over = False
        self._grown = False  # a join was asked: from then on, a group of one ends

    @property
    def roster(self) -> m.Group:
        """Return the group's roster as it stands."""
        return self._roster

    @property
    def pending(self) -> dict[str, m.GroupStep]:
        """Return the steps sent and not answered yet, by device."""
        return dict(self._pending)

    def awaited(self, device: str) -> tuple[m.GroupStep, int] | None:
        """Return the step *device* has not answered and the roster epoch its answer must
        carry, or None."""
        step = self._pending.get(device)
        return None if step is None else (step, self._sent_at[device])

    @property
    def over(self) -> bool:
        """Return True once Finish was returned."""
        return self._over

    def _expect(self, device: str, step: m.GroupStep) -> None:
        """Note that *step* was sent to *device* with the roster as it stands."""
        self._pending[device] = step
        self._sent_at[device] = self._roster.group_epoch

    def _relay(self) -> list[Action]:
        """Return the leader's timeline sent to every follower, each with its clock offset."""
        if self._timeline is None:
            return []
        leader = self._roster.leader_device_id
        return [
            Send(x.device_id, self._timeline_for(x.device_id), must_arrive=False)
            for x in self._roster.members
            if x.device_id != leader and x.phase is not LEAVING
        ]

    def _timeline_for(self, device: str) -> m.GroupTimeline:
        """The leader's timeline for *device*: its offset, and the roster's epoch, so what a
        member receives is never older than what it follows (the leader's may lag a roster)."""
        assert self._timeline is not None
        timeline = replace(self._timeline, group_epoch=self._roster.group_epoch)
        return rules.for_member(timeline, self._clocks[device], self._leader_clock)

    def _change(self, members: tuple[m.GroupMember, ...], leader: str = "") -> None:
        """Make the next roster: one epoch up."""
        self._roster = m.Group(
            self._group_id,
            self._roster.group_epoch + 1,
            leader or self._roster.leader_device_id,
            members,
        )

    def _set_phase(self, device: str, phase: m.GroupMemberPhase) -> None:
        self._change(
            tuple(
                replace(x, phase=phase) if x.device_id == device else x
                for x in self._roster.members
            )
        )

    def _roster_to_leader(self) -> Send:
        return Send(self._roster.leader_device_id, m.GroupLead(self._roster), must_arrive=False)

    def _answer_timer(self, device: str, now: int) -> ArmTimer:
        return ArmTimer(Timer(TimerKind.ANSWER, device), now + self.plan.answer_timeout_us)

    @property
    def _group_id(self) -> str:
        return self.plan.group_id

    @property
    def _leader_clock(self) -> ClockEstimate:
        return self._clocks[self._roster.leader_device_id]

    def _name(self, device: str) -> str:
        return self.plan.names.get(device, device)


def failure(message: str, code: m.ErrorCode = m.ErrorCode.INVALID_ARGUMENT) -> m.Failure:
    return m.Failure(code, message)
