"""The coordinating controller's side of one transfer, as a pure machine: events in, actions out.

`Coordination.step(event, now)` takes what the devices said (Ready, Rejected, Done), a lost
session (SessionLost, also for a send that failed) or a timer that fired (Deadline), and returns
what to do: Send a message to the source or the target, ArmTimer, Note a phase for the trace and
the log, and once Finish with the TransferOutcome. No asyncio, no sockets, no clock reads: every
instant is the controller's monotonic µs, passed in. The driver (connect/transfer/coordinator.py)
connects to both devices, builds the `Plan`, runs the actions and feeds the events back.

Handoff (make-before-break): offer to the target; on its Ready commit the source, and only on
the source's acknowledgement (its TransferReady) commit the target, so a source that never
heard its commit keeps the music; then collect both Done reports and confirm to the source.
Stop-first (for comparison): commit the source at once, wait for its Done, offer its frozen
state to the target, start it. The fault rules are the docstring of connect/transfer/coordinator.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from connect.clock import ClockEstimate
from connect.queues import offerable
from connect.transfer import rules
from connect.wire import messages as m

__all__ = [
    "DEFAULT_OPTIONS",
    "DONE_TIMEOUT_US",
    "Action",
    "ArmTimer",
    "Coordination",
    "Deadline",
    "Done",
    "Event",
    "Finish",
    "Note",
    "Plan",
    "Ready",
    "Rejected",
    "Send",
    "SessionLost",
    "Timer",
    "TransferOutcome",
]

DONE_TIMEOUT_US = 3_000_000  # after the switch instant, how long the target has to report Done
DEFAULT_OPTIONS = m.TransferOptions()

SOURCE, TARGET = m.TransferRole.SOURCE, m.TransferRole.TARGET


@dataclass(frozen=True)
class TransferOutcome:
    """How a transfer ended: ok, or the failure, with timings when the target started."""

    transfer_id: str
    mode: m.TransferMode
    source_id: str
    target_id: str
    failure: m.Failure | None = None
    timings: m.TransferTimings | None = None
    # False: the source could not be reached; a success went on from its last known state,
    # a failure left it as it was (playing, if it was)
    source_reachable: bool = True
    rolled_back: bool = False  # the target failed after commit and the source resumed
    revision: int = 0  # the session's revision on the target
    paused: bool = False  # the session moved paused (it was, or was asked to): nothing plays
    # Refused because another device holds the session now (a race, a stale view): that one,
    # to say where the music is and offer to move it from there.
    owner_id: str = ""
    # Why the transfer ran in `mode` (rules.transfer_mode): a device that cannot start at an
    # instant makes it stop-first, and the user is told.
    mode_reason: str = ""

    @property
    def ok(self) -> bool:
        """Return True when the target now plays the session."""
        return self.failure is None


class Timer(enum.Enum):
    """The coordinator's deadlines; arming one again replaces it."""

    OFFER = "offer"  # the target must be Ready by then
    ACK = "ack"  # the source must acknowledge its commit by then
    TARGET_DONE = "target done"
    SOURCE_DONE = "source done"


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class Ready:
    """A TransferReady: the target pre-rolled, or the source acknowledged its commit.

    `source_up` / `target_up`: whether each device's session was up when it arrived (a device
    can be gone before its own message is read).
    """

    role: m.TransferRole
    body: m.TransferReady
    source_up: bool = True
    target_up: bool = True
    # The target's revision as this controller has it when its Ready is read (0: not known).
    # Its snapshots come on the same link ahead of its Ready, so this is newer than the plan's.
    target_revision: int = 0


@dataclass(frozen=True)
class Rejected:
    """A device refused (the offer, or the source its commit)."""

    role: m.TransferRole
    body: m.TransferRejected


@dataclass(frozen=True)
class Done:
    """A device reports the instant its output changed."""

    role: m.TransferRole
    body: m.TransferDone


@dataclass(frozen=True)
class SessionLost:
    """A device's session went down; `sending`: it was the Send just asked for that failed."""

    role: m.TransferRole
    why: str = "disconnected"
    sending: bool = False


@dataclass(frozen=True)
class Deadline:
    """An armed timer fired."""

    timer: Timer


Event = Ready | Rejected | Done | SessionLost | Deadline

# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Send:
    """Send *body* to the device in *role*; report a failure at once as SessionLost(sending)."""

    role: m.TransferRole
    body: m.Body
    must_arrive: bool = True  # False: an abort or a confirmation, whose loss changes nothing


@dataclass(frozen=True)
class ArmTimer:
    """Feed Deadline(timer) at *at_us* (replacing an earlier arming of the same timer)."""

    timer: Timer
    at_us: int


@dataclass(frozen=True)
class Note:
    """A phase worth a trace event, and a log line when `log` is set ("info" or "warning")."""

    phase: str
    role: str = ""
    revision: int = 0
    log: str = ""
    message: str = ""


@dataclass(frozen=True)
class Finish:
    """The transfer is over."""

    outcome: TransferOutcome


Action = Send | ArmTimer | Note | Finish


@dataclass(frozen=True)
class Plan:
    """Everything the machine needs to know before the first message: checked and connected."""

    transfer_id: str
    source_id: str
    target_id: str
    options: m.TransferOptions  # `paused` already set when the source was not playing
    state: m.PlaybackState  # the source's session, clock in the source's clock
    src: ClockEstimate
    tgt: ClockEstimate
    requested_at: int
    timeout_us: int
    source_name: str = ""
    target_name: str = ""
    source_reachable: bool = True  # False: going on from its last known state
    target_revision: int = 0  # the target's own revision, as this controller last saw it
    target_address: tuple[str, str] = ("", "")  # (device id, base URL) for the source to ask
    source_address: tuple[str, str] = ("", "")  # (device id, base URL) for the target to fetch
    names: dict[str, str] = field(default_factory=dict)  # device id -> name, for messages
    mode_reason: str = ""  # why options.mode (rules.transfer_mode)
    # The least time from Ready to the switch instant (0: the devices' own leads): a transfer
    # onto a group leaves its followers time to open the new music (client/group_moves.py).
    min_lead_us: int = 0


class _Stage(enum.Enum):
    OFFERED = "offered"  # handoff: waiting for the target's Ready
    COMMITTING = "committing"  # handoff: source committed, waiting for its acknowledgement
    COMMITTED = "committed"  # the target committed: waiting for its Done
    CONFIRMING = "confirming"  # the target plays: waiting for the source's Done
    STOPPING = "stopping"  # stop-first: the source committed, waiting for its Done
    STOP_OFFERED = "stop offered"  # stop-first: waiting for the target's Ready
    OVER = "over"


@dataclass
class _Run:
    stage: _Stage
    source_reachable: bool
    revision: int = 0
    ready: m.TransferReady | None = None
    ready_at: int = 0  # local
    switch_at: int = 0  # local
    rolled_back: bool = False
    source_lost: bool = False  # its session dropped after the commits: do not wait for it
    source_done: m.TransferDone | None = None  # stop-first: the stop that froze the state
    target_done: m.TransferDone | None = None
    position: int = 0  # the content position at the switch instant
    early: dict[m.TransferRole, m.TransferDone] = field(default_factory=dict)
    owner_id: str = ""  # who holds the session, when a device refused because it is elsewhere


class Coordination:
    """One transfer's coordination; `start` once, then `step` for each event until Finish."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        stop_first = plan.options.mode is m.TransferMode.STOP_FIRST
        self._run = _Run(_Stage.STOPPING if stop_first else _Stage.OFFERED, plan.source_reachable)

    @property
    def source_reachable(self) -> bool:
        """Return False once the transfer goes on without the source's word (gone, or silent)."""
        return self._run.source_reachable

    @property
    def over(self) -> bool:
        """Return True once Finish was returned."""
        return self._run.stage is _Stage.OVER

    def start(self, now: int) -> list[Action]:
        """Return the first actions: the offer (handoff) or the source's commit (stop-first)."""
        plan = self.plan
        if self._run.stage is _Stage.OFFERED:
            return self._offer(plan.state, plan.options, now)
        # The source's commit names the revision the target will take, so that a source taking
        # the session back goes above it (it named none, and came back at or below the target).
        self._run.revision = self._target_revision(0)
        stop = replace(plan.options, fade_ms=0)
        # Named, the target can be asked by a source left without a verdict (its controller
        # died): never offered, it says UNKNOWN and the source takes the music back.
        commit = self._commit(SOURCE, plan.src.to_device(now), 0, stop, ask=plan.target_address)
        wait = DONE_TIMEOUT_US + plan.options.fade_ms * 1000
        return [Send(SOURCE, commit), ArmTimer(Timer.SOURCE_DONE, now + wait)]

    def step(self, event: Event, now: int) -> list[Action]:
        """Feed one event; return what to do about it (nothing once the transfer is over)."""
        run = self._run
        if isinstance(event, Done) and event.role is SOURCE and run.stage is not _Stage.OVER:
            run.early[SOURCE] = event.body  # may come before the target's, kept for later
        handler = {
            _Stage.OFFERED: self._offered,
            _Stage.COMMITTING: self._committing,
            _Stage.COMMITTED: self._committed,
            _Stage.CONFIRMING: self._confirming,
            _Stage.STOPPING: self._stopping,
            _Stage.STOP_OFFERED: self._offered,
        }.get(run.stage)
        return [] if handler is None else handler(event, now)

    # -------------------------------------------------------------------------- stages

    def _offered(self, event: Event, now: int) -> list[Action]:
        """Waiting for the target's Ready (either mode)."""
        plan, target = self.plan, self.plan.target_name
        if isinstance(event, SessionLost) and event.role is TARGET:
            why = (
                f"lost {target}: {event.why}"
                if event.sending
                else f"lost {target} during the offer"
            )
            return self._fail(m.ErrorCode.TIMEOUT, why)
        if isinstance(event, Rejected) and event.role is TARGET:
            failure = event.body.failure
            moved = self._moved_on(event.body, TARGET)
            return self._fail(failure.code, moved or f"{target} refused: {failure.message}")
        if isinstance(event, Deadline) and event.timer is Timer.OFFER:
            called_off = m.Failure(m.ErrorCode.TIMEOUT, "the target was not ready in time")
            return [
                self._abort(TARGET, called_off),
                *self._fail(m.ErrorCode.TIMEOUT, f"{target} was not ready in time"),
            ]
        if not (isinstance(event, Ready) and event.role is TARGET):
            return []
        run = self._run
        run.ready, run.ready_at = event.body, now
        notes: list[Action] = [Note("target ready", "target")]
        if run.stage is _Stage.STOP_OFFERED:
            # The revision is the one the source's commit named (the target refuses its commit
            # if it cannot take it).
            return [*notes, *self._start_after_stop(event.body, now)]
        if not event.target_up:  # it died after Ready: nothing has changed anywhere yet
            return self._fail(m.ErrorCode.TIMEOUT, f"lost {target} after it was ready")
        run.switch_at, position = rules.switch_instant(
            now, plan.state, plan.src, plan.tgt, event.body, plan.options
        )
        if run.switch_at < now + plan.min_lead_us:  # later, where the source will be then
            run.switch_at = now + plan.min_lead_us
            if plan.state.clock.playing and not plan.options.paused:
                position = rules.position_at(plan.state.clock, plan.src.to_device(run.switch_at))
        run.revision = self._target_revision(event.target_revision)
        if run.source_reachable and not event.source_up:
            notes.append(self._lose_source("it went away during the offer"))
        if not run.source_reachable:
            if not rules.holds_session(plan.state):
                return [*notes, *self._not_held_and_fail()]
            return [*notes, *self._commit_target(position, now)]
        run.stage = _Stage.COMMITTING
        run.position = position
        commit = self._commit(
            SOURCE, plan.src.to_device(run.switch_at), position, plan.options,
            ask=plan.target_address,
        )  # fmt: skip
        # No acknowledgement by then: the source never heard its commit, or refused it as late.
        give_up = run.switch_at + rules.LATE_COMMIT_US + plan.src.delay_us
        return [*notes, Send(SOURCE, commit), ArmTimer(Timer.ACK, give_up)]

    def _committing(self, event: Event, now: int) -> list[Action]:
        """Handoff: the source was committed; its acknowledgement lets the target go."""
        run, plan, source = self._run, self.plan, self.plan.source_name
        if isinstance(event, Ready) and event.role is SOURCE:
            ready = run.ready
            assert ready is not None
            if now <= rules.ack_deadline(run.switch_at, ready, plan.tgt):
                return self._commit_target(run.position, now)
            # A slow acknowledgement (a busy source): the source fades at the switch instant
            # anyway, so the target starts as soon as it can, where the source would be then
            # (it seeks there). A gap rather than a failure, whose rollback would be a dip too.
            late = now - rules.ack_deadline(run.switch_at, ready, plan.tgt)
            run.switch_at = now + rules.start_lead_us(None, plan.tgt, ready)
            run.position = rules.position_at(plan.state.clock, plan.src.to_device(run.switch_at))
            note = Note("late acknowledgement", "source", log="info", message=(
                f"transfer {plan.transfer_id[:8]}: {source} acknowledged {late // 1000} ms "
                "late; the target starts as soon as it can"
            ))  # fmt: skip
            return [note, *self._commit_target(run.position, now)]
        if isinstance(event, SessionLost) and event.role is SOURCE:
            # Its session closed: the device is gone, the target takes over.
            why = (
                "it went away before the commit"
                if event.sending
                else "it went away during the commit"
            )
            if not rules.holds_session(plan.state):
                return [self._lose_source(why), *self._not_held_and_fail()]
            return [self._lose_source(why), *self._commit_target(run.position, now)]
        if isinstance(event, SessionLost) and event.role is TARGET:
            return self._roll_back_and_fail("the target went away at the switch")
        if isinstance(event, Rejected) and event.role is SOURCE:
            failure = event.body.failure
            moved = self._moved_on(event.body, SOURCE)
            why = moved or f"{source} refused the switch: {failure.message}"
            return self._abort_both_and_fail(failure.code, why)
        if isinstance(event, Deadline) and event.timer is Timer.ACK:
            run.source_reachable = False
            why = f"{source} did not confirm the switch in time; it keeps playing"
            return self._abort_both_and_fail(m.ErrorCode.TIMEOUT, why)
        return []

    def _committed(self, event: Event, now: int) -> list[Action]:
        """The target was committed: waiting for its Done."""
        run, plan = self._run, self.plan
        if isinstance(event, SessionLost) and event.role is SOURCE:
            run.source_lost = True
            return []
        lost = isinstance(event, SessionLost) and event.role is TARGET
        if lost and isinstance(event, SessionLost) and event.sending:
            if plan.options.mode is m.TransferMode.STOP_FIRST:
                return self._fail(m.ErrorCode.TIMEOUT, f"lost {plan.target_name}: {event.why}")
            return self._roll_back_and_fail("the target went away at the switch")
        if lost or (isinstance(event, Deadline) and event.timer is Timer.TARGET_DONE):
            why = m.Failure(m.ErrorCode.TIMEOUT, "it did not start in time")
            return [self._abort(TARGET, why), *self._roll_back_and_fail("the target did not start")]
        if isinstance(event, Rejected) and event.role is TARGET:
            # Its state moved on since this controller looked (a command; in stop-first, also a
            # let-go not yet seen): it cannot take the revision the source was told, and did
            # not start.
            refused = event.body.failure
            said = f"{plan.target_name} refused the switch: {refused.message}"
            return self._roll_back_and_fail(said, m.Failure(refused.code, said))
        if not (isinstance(event, Done) and event.role is TARGET):
            return []
        # The revision the target gave the session (an older target may go above the commit's).
        run.revision = event.body.revision or run.revision
        run.target_done = event.body
        notes: list[Action] = [Note("target playing", "target", run.revision)]
        if plan.options.mode is m.TransferMode.STOP_FIRST:
            return [*notes, *self._confirm(), *self._finish(run.source_done)]
        if not run.source_reachable or run.source_lost:
            return [*notes, *self._finish(None)]
        run.stage = _Stage.CONFIRMING
        if SOURCE in run.early:
            return [*notes, *self._confirming(Done(SOURCE, run.early[SOURCE]), now)]
        wait = DONE_TIMEOUT_US + plan.options.fade_ms * 1000
        return [*notes, ArmTimer(Timer.SOURCE_DONE, now + wait)]

    def _confirming(self, event: Event, now: int) -> list[Action]:
        """The target plays: waiting for the source's Done, to confirm and finish."""
        if isinstance(event, Done) and event.role is SOURCE:
            notes: list[Action] = [Note("source silent", "source")]
            return [*notes, *self._confirm(), *self._finish(event.body)]
        lost = isinstance(event, SessionLost) and event.role is SOURCE
        if lost or (isinstance(event, Deadline) and event.timer is Timer.SOURCE_DONE):
            return self._finish(None)
        return []

    def _stopping(self, event: Event, now: int) -> list[Action]:
        """Stop-first: the source was told to stop at once; its Done freezes the state."""
        run, plan = self._run, self.plan
        if isinstance(event, SessionLost) and event.role is SOURCE and event.sending:
            return self._fail(m.ErrorCode.TIMEOUT, f"lost {plan.source_name}: {event.why}")
        if isinstance(event, Rejected) and event.role is SOURCE:
            # It plays on (busy with another transfer, or late): the target must not start.
            failure = event.body.failure
            why = self._moved_on(event.body, SOURCE)
            return self._fail(
                failure.code, why or f"{plan.source_name} refused the switch: {failure.message}"
            )
        state = plan.state
        if isinstance(event, Done) and event.role is SOURCE:
            run.source_done = event.body
            frozen = m.PlaybackClock(event.body.position_ms, event.body.edge_at_us, 1.0, False)
            state = replace(state, clock=frozen, status=m.PlaybackStatus.PAUSED)
        elif (isinstance(event, SessionLost) and event.role is SOURCE) or (
            isinstance(event, Deadline) and event.timer is Timer.SOURCE_DONE
        ):
            # Gone, or silent: go on from its last known state, and say so.
            run.source_reachable = False
            if not rules.holds_session(state):
                return self._not_held_and_fail()
        else:
            return []
        run.stage = _Stage.STOP_OFFERED
        return self._offer(state, replace(plan.options, fade_ms=0), now)

    # -------------------------------------------------------------------------- pieces

    def _offer(self, state: m.PlaybackState, options: m.TransferOptions, now: int) -> list[Action]:
        plan = self.plan
        as_of = plan.tgt.to_device(plan.src.to_local(state.clock.as_of_us))
        # A long queue is offered as a window: the target fetches the rest from the source
        # after the switch, so the handoff costs the same for 50 000 items as for 100.
        offered = replace(offerable(state), clock=replace(state.clock, as_of_us=as_of))
        source_url = "" if offered.queue_whole else plan.source_address[1]
        deadline = plan.tgt.to_device(now + plan.timeout_us)
        handoff = plan.options.mode is m.TransferMode.HANDOFF
        lead = rules.commit_lead_us(
            plan.src if handoff and self._run.source_reachable else None, plan.tgt
        )
        offer = m.TransferOffer(
            plan.transfer_id, offered, options, plan.source_id, deadline, state.volume,
            commit_lead_us=lead, source_url=source_url,
        )  # fmt: skip
        return [Send(TARGET, offer), ArmTimer(Timer.OFFER, now + plan.timeout_us)]

    def _start_after_stop(self, ready: m.TransferReady, now: int) -> list[Action]:
        """Stop-first: start the target as soon as its commit can reach it (and a group's
        followers can open the music: `min_lead_us`)."""
        plan, run = self.plan, self._run
        run.switch_at = now + max(rules.start_lead_us(None, plan.tgt, ready), plan.min_lead_us)
        play = replace(plan.options, fade_ms=0)
        commit = self._commit(
            TARGET, plan.tgt.to_device(run.switch_at), ready.prerolled_position_ms, play
        )
        run.stage = _Stage.COMMITTED
        return [Send(TARGET, commit), ArmTimer(Timer.TARGET_DONE, run.switch_at + DONE_TIMEOUT_US)]

    def _commit_target(self, position: int, now: int) -> list[Action]:
        plan, run = self.plan, self._run
        commit = self._commit(TARGET, plan.tgt.to_device(run.switch_at), position, plan.options)
        run.stage = _Stage.COMMITTED
        deadline = max(now, run.switch_at) + DONE_TIMEOUT_US
        return [Send(TARGET, commit), ArmTimer(Timer.TARGET_DONE, deadline)]

    def _commit(
        self,
        role: m.TransferRole,
        switch_at: int,
        position: int,
        options: m.TransferOptions,
        *,
        ask: tuple[str, str] = ("", ""),
    ) -> m.TransferCommit:
        """A Commit; *ask* is the target's (device id, base URL) for a source to ask."""
        # The source must hold the epoch this controller saw; the target takes the next one.
        epoch = self.plan.state.epoch + (1 if role is TARGET else 0)
        return m.TransferCommit(
            self.plan.transfer_id, role, switch_at, position,
            0 if options.paused else options.fade_ms, options.source_after, self._run.revision,
            *ask, epoch,
        )  # fmt: skip

    def _moved_on(self, rejected: m.TransferRejected, role: m.TransferRole) -> str:
        """Return what to tell the user when a device refused because the session is elsewhere
        (and note the holder for the outcome); "" for any other refusal."""
        code = rejected.failure.code
        if code not in (m.ErrorCode.CONFLICT, m.ErrorCode.NOT_ACTIVE):
            return ""
        plan, owner = self.plan, rejected.owner_device_id
        self._run.owner_id = owner
        source = plan.source_name
        if not owner:
            return f"{source} does not have the music any more"
        if owner == plan.source_id:
            return f"{source} has the music, but it moved since this controller looked: try again"
        where = plan.names.get(owner) or (plan.target_name if owner == plan.target_id else owner)
        if owner == plan.target_id:
            return f"{where} has the music already"
        if role is SOURCE and code is m.ErrorCode.CONFLICT:
            # In its switch to another device (that one's controller was first): on its way.
            return f"{source} is handing the music over to {where}"
        return f"{source} does not have the music any more: it is on {where} now"

    def _lose_source(self, why: str) -> Note:
        self._run.source_reachable = False
        message = (
            f"transfer {self.plan.transfer_id[:8]}: source {self.plan.source_id} unreachable "
            f"({why}); going on from its last known state"
        )
        return Note("source unreachable", log="warning", message=message)

    def _abort(self, role: m.TransferRole, why: m.Failure) -> Send:
        return Send(role, m.TransferAborted(self.plan.transfer_id, why), must_arrive=False)

    def _abort_both_and_fail(self, code: m.ErrorCode, why: str) -> list[Action]:
        failure = m.Failure(code, why)
        return [self._abort(TARGET, failure), self._abort(SOURCE, failure), *self._fail(code, why)]

    def _roll_back_and_fail(self, why: str, failure: m.Failure | None = None) -> list[Action]:
        """Tell a committed source to resume (it holds the media paused until told), and fail
        with *failure* (by default: the target did not start playing)."""
        actions: list[Action] = []
        if self._run.source_reachable:
            actions.append(self._abort(SOURCE, m.Failure(m.ErrorCode.TIMEOUT, why)))
            self._run.rolled_back = True
            actions.append(Note("rolled back"))
        # `rolled_back` says whether the source took the session back.
        if failure is None:
            not_started = f"{self.plan.target_name} did not start playing"
            failure = m.Failure(m.ErrorCode.TIMEOUT, not_started)
        return [*actions, *self._end(failure, None)]

    def _not_held_and_fail(self) -> list[Action]:
        """The source is gone and its last known state does not hold the session (it had let
        it go, or was handing it over): there is nothing to go on from. The preflight refuses
        this up front for a source unreachable at the start (rules.why_not_source)."""
        why = f"lost {self.plan.source_name}, whose last known state does not hold the session"
        failure = m.Failure(m.ErrorCode.NOT_ACTIVE, why)
        return [self._abort(TARGET, failure), *self._end(failure, None)]

    def _target_revision(self, seen: int) -> int:
        """Return the revision the target takes: above the source's and the target's own, as
        the plan saw them and as *seen* (the target's, when its Ready was read)."""
        plan = self.plan
        return max(plan.state.revision, plan.target_revision, seen) + 1

    def _confirm(self) -> list[Action]:
        """Tell the source the target plays: it may let go now (stop, or stay paused)."""
        if not self._run.source_reachable:
            return []
        done = m.TransferDone(self.plan.transfer_id, SOURCE, 0)
        return [Send(SOURCE, done, must_arrive=False)]

    def _fail(self, code: m.ErrorCode, why: str) -> list[Action]:
        return self._end(m.Failure(code, why), None)

    def _finish(self, source_done: m.TransferDone | None) -> list[Action]:
        plan, run = self.plan, self._run
        assert run.ready is not None
        assert run.target_done is not None
        timings = rules.transfer_timings(
            plan.requested_at, run.ready_at, run.ready, run.target_done, plan.tgt,
            source_done, plan.src, run.switch_at,
        )  # fmt: skip
        return self._end(None, timings)

    def _end(self, failure: m.Failure | None, timings: m.TransferTimings | None) -> list[Action]:
        plan, run = self.plan, self._run
        run.stage = _Stage.OVER
        outcome = TransferOutcome(
            plan.transfer_id, plan.options.mode, plan.source_id, plan.target_id, failure,
            timings, run.source_reachable, run.rolled_back, run.revision, plan.options.paused,
            run.owner_id, plan.mode_reason,
        )  # fmt: skip
        return [Finish(outcome)]
