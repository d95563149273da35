"""The source's side of a transfer, as a pure machine: fade out at the switch, hold, let go or
roll back.

`SourceMachine.step(event, now)` returns what the device should do; the device's adapter
(devices/transfer.py) carries it out and feeds back the fade's end (FadedOut), the hold timer
(HoldExpired) and the target's answer (PhaseAnswer). Instants are the device's monotonic µs.

The source acknowledges its commit at once with a TransferReady (the controller commits the
target only after that, so a source that never heard the commit keeps playing), and refuses a
commit that comes more than LATE_COMMIT_US after its switch instant (one held up by a dropped
link: the controller has called the transfer off by then). Accepting, it publishes at once the
state it will have after the switch (paused, inactive), so no controller ever sees two active
devices: the target becomes active only on its own commit, which follows this acknowledgement.
It never lets go of the music on its own say: after fading out it stays paused with the media
loaded until the controller confirms the target plays (then it stops or stays paused as asked)
or aborts (then it resumes if it was playing: a rollback). An abort that comes during the
fade-out is kept and acted on once the fade ends.

A source left without a verdict asks the target, when its Commit named one (Baton issue 9: a
controller that dies between the two commits leaves a source that faded out and a target that
was never committed). It asks once its controller's session has closed, or when its hold
(HOLD_US) ends without a word: STARTED, the target took the session: let go. PREROLLED, UNKNOWN
or ABORTED: it never started and, asked, never will (a target asked about a pre-roll drops it;
a restarted target keeps its phases, so UNKNOWN means never heard of): roll back. Unreachable
(a partition, a dead target, no address): let go, the partition rule (docs/reliability.md): the
target may be playing beyond the partition, and two players after a switch is the failure the
user cannot undo from either device, whereas a let-go session stays on the source, paused, one
press of play away. A Commit that names no target (an older controller) gets the same let-go
when its hold ends.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from dataclasses import dataclass, replace

from connect.transfer import rules
from connect.transfer.ledger import Ledger
from connect.transfer.roles import ArmTimer, CancelTimer, LinkClosed, Log, Reply
from connect.wire import messages as m

__all__ = [
    "HOLD_US",
    "LATE_COMMIT_US",
    "AskTarget",
    "FadeOutAt",
    "FadedOut",
    "HoldExpired",
    "PhaseAnswer",
    "Publish",
    "Release",
    "RollBack",
    "SourceAbort",
    "SourceAction",
    "SourceCommit",
    "SourceEvent",
    "SourceMachine",
    "Verdict",
    "released_state",
    "rolled_back_state",
]

HOLD_US = 10_000_000  # how long a source keeps the media after the switch, waiting for the verdict
# A source refuses a commit that comes this long after its switch (rules.py says why).
LATE_COMMIT_US = rules.LATE_COMMIT_US

# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class SourceCommit:
    """The source's TransferCommit; *own* is the device's state as it is now."""

    commit: m.TransferCommit
    link: Hashable
    own: m.PlaybackState


@dataclass(frozen=True)
class Verdict:
    """The controller confirms the target plays (a TransferDone to the source)."""

    transfer_id: str


@dataclass(frozen=True)
class SourceAbort:
    """A TransferAborted that may be this role's."""

    aborted: m.TransferAborted


@dataclass(frozen=True)
class FadedOut:
    """The output really stopped (or the fade's planned end, if the output never said)."""

    transfer_id: str
    at_us: int
    position_ms: int


@dataclass(frozen=True)
class HoldExpired:
    """The hold timer of *transfer_id* fired."""

    transfer_id: str


@dataclass(frozen=True)
class PhaseAnswer:
    """What the target said about *transfer_id* (None: it could not be asked, *why*)."""

    transfer_id: str
    phase: m.TransferPhase | None
    why: str = ""


SourceEvent = (
    SourceCommit | Verdict | SourceAbort | FadedOut | HoldExpired | PhaseAnswer | LinkClosed
)

# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Publish:
    """Adopt and announce *state* (its revision at least one above the current)."""

    state: m.PlaybackState


@dataclass(frozen=True)
class FadeOutAt:
    """Fade out over *fade_ms* from *at_us*, then pause; answer FadedOut with the real edge
    (or *edge_at_us* and *position_ms*, if the output never says)."""

    transfer_id: str
    at_us: int
    fade_ms: int
    edge_at_us: int
    position_ms: int


@dataclass(frozen=True)
class Release:
    """The target plays: stop the player if *stop* (publishing `released_state`), and put the
    volume back to *volume* for whatever plays here next."""

    transfer_id: str
    stop: bool
    volume: int


@dataclass(frozen=True)
class RollBack:
    """The target failed after the switch: volume back, play on if *play*, publish
    `rolled_back_state` (active again, its revision at least *revision*)."""

    transfer_id: str
    volume: int
    play: bool
    revision: int = 0
    epoch: int = 0  # the ownership epoch the source takes the session back at


@dataclass(frozen=True)
class AskTarget:
    """Ask the target how far the transfer got there; answer PhaseAnswer."""

    transfer_id: str
    target_device_id: str
    target_url: str


SourceAction = (
    Reply | Publish | FadeOutAt | Release | RollBack | AskTarget | ArmTimer | CancelTimer | Log
)


class _Stage(enum.Enum):
    FADING = "fading"  # committed: the fade-out is scheduled or under way
    HOLDING = "holding"  # silent, media held: waiting for the verdict
    ASKING = "asking"  # no verdict: the target is being asked


@dataclass
class _Holding:
    transfer_id: str
    link: Hashable
    source_after: m.SourceAfter
    resume_volume: int
    was_playing: bool
    target_device_id: str  # whom to ask if no verdict comes (no URL: nobody)
    target_url: str
    revision: int  # of the state published at the commit
    commit_revision: int  # the revision the target was told to take
    stage: _Stage
    session_id: str
    epoch: int  # the epoch the source held; the target takes the next one
    device_id: str  # this device
    aborted: m.Failure | None = None  # an abort that came during the fade-out
    link_lost: bool = False
    # A live stream's session clock (listening time): Done reports it, not the player's count
    # from its own connection, so both sides of a live transfer report the same clock.
    live_clock: m.PlaybackClock | None = None


def released_state(current: m.PlaybackState) -> m.PlaybackState:
    """Return the state a source publishes when it stops after the target took over."""
    return replace(current, revision=current.revision + 1, status=m.PlaybackStatus.STOPPED)


def rolled_back_state(
    current: m.PlaybackState, playing: tuple[int, int] | None, at_least: int = 0, epoch: int = 0
) -> m.PlaybackState:
    """Return the state a source takes back: active again, playing from *playing* if given
    (the player's position and the instant it holds), else as it is (paused).

    Its revision is at least *at_least* too: above the revision the target was told to take,
    so the session's revision grows across a failed switch as well.
    """
    state = replace(
        current,
        revision=max(current.revision + 1, at_least),
        active=True,
        epoch=max(current.epoch, epoch),
    )
    if playing is None:
        return state
    position, as_of = playing
    clock = m.PlaybackClock(position, as_of, current.clock.rate, True)
    return replace(state, clock=clock, status=m.PlaybackStatus.PLAYING)


class SourceMachine:
    """A device's source role: the commit, the hold after it, and the verdict's outcome."""

    def __init__(
        self, ledger: Ledger, *, hold_us: int = HOLD_US, late_commit_us: int = LATE_COMMIT_US
    ) -> None:
        self.ledger = ledger
        self.hold_us = hold_us
        self.late_commit_us = late_commit_us
        self._holding: _Holding | None = None

    @property
    def busy(self) -> bool:
        """Return True while a transfer's media is held here, waiting for its verdict."""
        return self._holding is not None

    def owns(self, transfer_id: str) -> bool:
        """Return True if this role holds *transfer_id*."""
        return self._holding is not None and self._holding.transfer_id == transfer_id

    def step(self, event: SourceEvent, now: int) -> list[SourceAction]:
        """Feed one event; return what to do."""
        if isinstance(event, SourceCommit):
            return self._commit(event, now)
        if isinstance(event, LinkClosed):
            return self._link_closed(event)
        holding = self._holding
        tid = event.aborted.transfer_id if isinstance(event, SourceAbort) else event.transfer_id
        if holding is None or holding.transfer_id != tid:
            return []  # not ours, or settled already (a late answer, a stale timer)
        if isinstance(event, FadedOut):
            if holding.aborted is not None:
                self._holding = None
                return self._roll_back(holding, holding.aborted)
            return self._hold(holding, event.at_us, event.position_ms, now)
        if isinstance(event, Verdict):
            self._holding = None
            return [CancelTimer(_hold_key(holding)), *self._release(holding)]
        if isinstance(event, SourceAbort):
            if holding.stage is _Stage.FADING:
                holding.aborted = event.aborted.failure  # roll back once the fade ends
                return []
            self._holding = None
            return [
                CancelTimer(_hold_key(holding)),
                *self._roll_back(holding, event.aborted.failure),
            ]
        if isinstance(event, HoldExpired) and holding.stage is _Stage.HOLDING:
            if holding.target_url:
                return self._ask(holding)
            self._holding = None
            seconds = self.hold_us / 1e6
            log = Log("warning", f"transfer {holding.transfer_id}: no verdict within "
                      f"{seconds:.0f} s; letting go")  # fmt: skip
            return [log, *self._release(holding)]
        if isinstance(event, PhaseAnswer) and holding.stage is _Stage.ASKING:
            self._holding = None
            return self._decide(holding, event)
        return []

    # -------------------------------------------------------------------------- steps

    def _commit(self, event: SourceCommit, now: int) -> list[SourceAction]:
        commit, own = event.commit, event.own
        tid = commit.transfer_id
        if self.ledger.take_abort(tid):  # its abort overtook it
            return []
        if not self.ledger.first_commit(tid):
            return []  # the same commit again (a retry, a copy): answered the first time
        refused = self._refusal(commit, own, now)
        if refused is not None:
            refusal, holder = refused
            log = Log("warning", f"transfer {tid}: refusing the commit: {refusal.message}")
            return [log, Reply(event.link, m.TransferRejected(tid, refusal, holder))]
        # Handed on: the target holds it at the next epoch (kept, to refuse and name later).
        self.ledger.saw(own.session_id, own.epoch + 1, commit.target_device_id)
        playing = own.status is m.PlaybackStatus.PLAYING
        edge_at = commit.switch_at_us + commit.fade_ms * 1000
        position = own.clock.position_at(edge_at)
        after = replace(
            own,
            revision=own.revision + 1,
            clock=m.PlaybackClock(position, edge_at, own.clock.rate, False),
            status=m.PlaybackStatus.PAUSED,
            active=False,
        )
        holding = _Holding(
            tid, event.link, commit.source_after, own.volume, playing,
            commit.target_device_id, commit.target_url, after.revision, commit.revision,
            _Stage.FADING if playing else _Stage.HOLDING, own.session_id, own.epoch,
            own.device_id,
        )  # fmt: skip
        if own.live:
            holding.live_clock = own.clock
        self._holding = holding
        ack = m.TransferReady(tid, own.clock.position_at(commit.switch_at_us), now)
        actions: list[SourceAction] = [Reply(event.link, ack), Publish(after)]
        if playing:
            fade = FadeOutAt(tid, commit.switch_at_us, commit.fade_ms, edge_at, position)
            return [*actions, fade]
        return [*actions, *self._hold(holding, edge_at, position, now)]

    def _refusal(
        self, commit: m.TransferCommit, own: m.PlaybackState, now: int
    ) -> tuple[m.Failure, str] | None:
        """Return why this device will not be the source, and who holds the session (or "")."""
        late_us = now - commit.switch_at_us
        holding = self._holding
        if holding is not None:
            # In a switch: the session is on its way to that target, and goes nowhere else.
            why = "it is handing the music over to another device"
            return m.Failure(m.ErrorCode.CONFLICT, why), holding.target_device_id
        if not own.active:
            # It gave the session away (or never had it): its copy is not the music any more,
            # even while it still sounds (a copy left playing where a move went wrong). This
            # device keeps `active` itself; only a controller's view of an older device that
            # never says it falls back on playing (rules.holds_session).
            known = self.ledger.newest(own.session_id)
            holder = known[1] if known is not None and known[1] != own.device_id else ""
            return m.Failure(m.ErrorCode.NOT_ACTIVE, "it does not hold the session now"), holder
        if commit.epoch and commit.epoch != own.epoch:
            # The controller saw an older (or newer) copy: the session moved since it looked.
            why = f"the session moved since (epoch {own.epoch}, not {commit.epoch})"
            return m.Failure(m.ErrorCode.CONFLICT, why), own.device_id
        if late_us > self.late_commit_us:
            why = f"the commit came {late_us // 1000} ms after its switch"
            return m.Failure(m.ErrorCode.TIMEOUT, why), ""
        return None

    def _hold(self, holding: _Holding, edge_at: int, position: int, now: int) -> list[SourceAction]:
        """The output is silent: report Done and wait for the verdict (or ask at once)."""
        holding.stage = _Stage.HOLDING
        if holding.live_clock is not None:
            position = holding.live_clock.position_at(edge_at)
        done = m.TransferDone(
            holding.transfer_id, m.TransferRole.SOURCE, edge_at, position, holding.revision
        )
        actions: list[SourceAction] = [
            ArmTimer(_hold_key(holding), now + self.hold_us),
            Reply(holding.link, done),
        ]
        if holding.link_lost and holding.target_url:
            # A closed session brings no verdict: ask now rather than at the hold's end.
            actions.extend(self._ask(holding))
        return actions

    def _link_closed(self, event: LinkClosed) -> list[SourceAction]:
        holding = self._holding
        if holding is None or holding.link != event.link:
            return []
        holding.link_lost = True
        if holding.stage is _Stage.HOLDING and holding.target_url:
            return self._ask(holding)
        return []

    def _ask(self, holding: _Holding) -> list[SourceAction]:
        holding.stage = _Stage.ASKING
        tid = holding.transfer_id
        return [
            CancelTimer(_hold_key(holding)),
            Log("info", f"transfer {tid}: no verdict; asking the target {holding.target_url}"),
            AskTarget(tid, holding.target_device_id, holding.target_url),
        ]

    def _decide(self, holding: _Holding, answer: PhaseAnswer) -> list[SourceAction]:
        tid = holding.transfer_id
        if answer.phase is None:
            # Whatever the reason, the hold must end: a source stuck holding refuses every
            # transfer as busy and never plays again on its own.
            log = Log(
                "warning", f"transfer {tid}: cannot ask the target ({answer.why}); letting go"
            )
            return [log, *self._release(holding)]
        said = Log("info", f"transfer {tid}: the target says {answer.phase.name}")
        if answer.phase is m.TransferPhase.STARTED:
            return [said, *self._release(holding)]
        why = f"no verdict, and the target says {answer.phase.name}"
        return [said, *self._roll_back(holding, m.Failure(m.ErrorCode.TIMEOUT, why))]

    def _release(self, holding: _Holding) -> list[SourceAction]:
        stop = holding.source_after is m.SourceAfter.STOP
        return [Release(holding.transfer_id, stop, holding.resume_volume)]

    def _roll_back(self, holding: _Holding, why: m.Failure) -> list[SourceAction]:
        log = Log("warning", f"transfer {holding.transfer_id} rolled back: {why.message}")
        revision = max(holding.revision, holding.commit_revision) + 1
        # Taken back: a move of its own, past the epoch the target may have taken.
        epoch = holding.epoch + 2
        self.ledger.saw(holding.session_id, epoch, holding.device_id)
        rollback = RollBack(
            holding.transfer_id, holding.resume_volume, holding.was_playing, revision, epoch
        )
        return [log, rollback]


def _hold_key(holding: _Holding) -> tuple[str, str]:
    return ("hold", holding.transfer_id)
