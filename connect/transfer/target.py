"""The target's side of a transfer, as a pure machine: offers, pre-rolls, commits, hand-backs.

`TargetMachine.step(event, now)` returns what the device should do; the device's adapter
(devices/transfer.py) carries the player actions out and feeds their results back (LoadDone,
OutputEdge). Instants are the device's monotonic µs, passed in.

A target refuses an offer it cannot take in time (busy, no item, a codec it does not play, a
deadline already past). Otherwise it pre-rolls the media where the source will be once its
Ready has come back and the commits have gone out: the offer says how long the controller needs
(`commit_lead_us`), the target adds its own START_LEAD_US, and guesses its pre-roll's length
from the last few. A device behind a sound server says its output's delay in the Offer: its
player starts that long before the switch, so its start lead holds it, Ready says it
(`output_delay_us`), and the controller leaves the source's acknowledgement more room
(rules.ack_slack_us), which the pre-roll counts too. A pre-roll that ends off that mark is
moved there by a seek (cheap on a pre-rolled player) before Ready leaves, so the switch waits
neither for a wrong guess nor for a slow load. On Commit it plays from the switch instant and
takes the session at the revision the commit names (the one the source was told: a source
taking the session back goes above it); a commit naming a revision this device has reached
already (its state moved on since its controller looked) is refused, and the source rolls
back. It notes each transfer's phase in the device's Ledger; asked about a
pre-roll (by a source left without a verdict) it drops it and refuses a later commit. A
pre-roll whose controller's session has closed, or that outlived its offer's deadline by
STALE_US, is dropped when the next offer comes. Told to abort after it started (its
controller gave up on its Done), it stops and hands the session back: it must not play on
beside a source that resumed.

Prepared transfers: an offer with `prepare` set (a controller shows a device picker) opens the
media and holds it pre-rolled for PREPARED_TTL_US; a real offer of the same URL then only seeks.
A device that plays, or holds a paused session of its own, does not prepare.

Live streams (`PlaybackState.live`: internet radio) have no position to pre-roll to: the stream
can only be read forward in real time, and one held paused falls behind the programme by as
long as it is held. So a live offer loads the stream *playing, gated* (silent) at once, with no
position and no true-up seek; Ready names where the session's clock will be at the switch (the
clock of a live session counts listening time), no earlier than the instant the load says the
stream's first sample is heard, and at the switch instant the gate opens with the fade-in.
Both devices then play the programme as far behind its live edge as their own connection's
buffering puts them. A prepared (picker) offer of a live stream opens nothing: it could not
be held, so it answers Ready and the real offer opens the stream.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field, replace

from connect.media_formats import why_unplayable
from connect.media_urls import media_url_refusal
from connect.transfer.ledger import Ledger
from connect.transfer.roles import ArmTimer, CancelTimer, LinkClosed, Log, Reply
from connect.transfer.rules import ack_slack_us, position_at
from connect.wire import messages as m

__all__ = [
    "COLD_START_LEAD_US",
    "DEFAULT_COMMIT_LEAD_US",
    "PREPARED_TTL_US",
    "PREROLL_GUESS_US",
    "REPLY_MARGIN_US",
    "STALE_US",
    "START_LEAD_US",
    "Abort",
    "Commit",
    "HandBack",
    "Load",
    "LoadDone",
    "Offer",
    "OutputEdge",
    "PrepareExpired",
    "Seek",
    "StartAt",
    "StopPlayer",
    "TakeSession",
    "TargetAction",
    "TargetEvent",
    "TargetMachine",
]

START_LEAD_US = 30_000  # what the target needs between its Commit and the switch instant
# A device's first start: its player has not learnt its output yet, and first-time code runs.
COLD_START_LEAD_US = 60_000
REPLY_MARGIN_US = 150_000  # an answer to an offer leaves this long before the offer's deadline
STALE_US = 5_000_000  # a pre-roll never committed this long after its offer's deadline is dropped
PREROLL_GUESS_US = 50_000  # a pre-roll's length before any was measured
DEFAULT_COMMIT_LEAD_US = 10_000  # an offer from an older controller does not say its lead
TRUE_UP_SLACK_MS = 3  # a pre-roll at most this far ahead of its mark is kept, not moved
SEEK_OVER_MS = 2  # a commit further than this from the pre-rolled position seeks first
PREPARED_TTL_US = 15_000_000  # how long prepared media is held for an offer that may come
_TAKES = 5  # pre-roll lengths the guess follows
_PREPARED = ("prepared", "")

# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class Offer:
    """A TransferOffer from a controller; *own* is the device's state as it is now."""

    offer: m.TransferOffer
    link: Hashable
    own: m.PlaybackState
    source_holding: bool = False  # a receiver is one player: a source holding media is busy
    # How long after the player's start its first sample is heard (a sound server's buffer):
    # the player starts that much before the switch instant, so Commit must come that much
    # earlier too (devices/player.py learns it from its output).
    output_delay_us: int = 0


@dataclass(frozen=True)
class Commit:
    """The target's TransferCommit."""

    commit: m.TransferCommit
    link: Hashable
    own: m.PlaybackState


@dataclass(frozen=True)
class Abort:
    """A TransferAborted that may be this role's."""

    aborted: m.TransferAborted
    own: m.PlaybackState


@dataclass(frozen=True)
class LoadDone:
    """A Load or Seek finished (failure set if it failed)."""

    transfer_id: str
    failure: m.Failure | None = None
    # A live load: the device instant its stream's first sample is heard (0: not known).
    heard_from_us: int = 0


@dataclass(frozen=True)
class OutputEdge:
    """The output really started: the instant and position of the first sample."""

    transfer_id: str
    at_us: int
    position_ms: int


@dataclass(frozen=True)
class PrepareExpired:
    """The prepared media's time is up."""


TargetEvent = Offer | Commit | Abort | LoadDone | OutputEdge | PrepareExpired | LinkClosed

# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Load:
    """Open *url* paused at *position_ms*, within *timeout_us*; answer LoadDone."""

    transfer_id: str
    url: str
    position_ms: int
    timeout_us: int
    live: bool = False  # a live stream: open it playing, gated silent until StartAt


@dataclass(frozen=True)
class Seek:
    """Move the pre-rolled media to *position_ms*; answer LoadDone."""

    transfer_id: str
    position_ms: int


@dataclass(frozen=True)
class StartAt:
    """Set the volume and (unless paused) play so the first sample is heard at *at_us*.

    `seek`: move to *position_ms* first. Unless paused, answer OutputEdge with the real start
    (or this instant and position, if the output never says).
    """

    transfer_id: str
    at_us: int
    position_ms: int
    fade_ms: int
    volume: int
    seek: bool
    paused: bool
    live: bool = False  # open the gate of a live stream playing silently (see Load)


@dataclass(frozen=True)
class TakeSession:
    """Publish *state*: this device now holds the session (save it with the ledger at once)."""

    state: m.PlaybackState


@dataclass(frozen=True)
class HandBack:
    """Stop the player and publish *state*: the device's own session again, inactive."""

    state: m.PlaybackState


@dataclass(frozen=True)
class StopPlayer:
    """Drop a pre-roll: stop the player (it never took the session)."""


TargetAction = (
    Reply
    | Load
    | Seek
    | StartAt
    | TakeSession
    | HandBack
    | StopPlayer
    | ArmTimer
    | CancelTimer
    | Log
)


@dataclass
class _Pending:
    offer: m.TransferOffer
    link: Hashable
    position_ms: int
    volume: int
    offered_at: int
    lead_us: int  # from Ready to the switch instant, as the offer and our start lead say
    start_lead_us: int  # what Ready asks for: our start lead and the output's delay
    output_delay_us: int
    seeking: bool = False  # a Seek (true-up or prepared) is under way, not a Load
    live: bool = False  # joining a live stream at its edge (see the module docstring)
    ready: bool = False
    aborted: bool = False  # called off while loading: drop it when the load ends
    link_lost: bool = False


@dataclass
class _Started:
    transfer_id: str
    before: m.PlaybackState  # the target's own state before it took the session
    link: Hashable
    revision: int
    source_id: str  # who takes the session back if this start is called off
    done: bool = False
    # A live start: (switch instant, session position then); Done reports the session's clock.
    live_from: tuple[int, int] | None = None


@dataclass
class _Prepared:
    url: str
    load_id: str
    waiting: list[tuple[str, Hashable]] = field(default_factory=list)  # (prepare id, link)
    position_ms: int = 0
    ready: bool = False


class TargetMachine:
    """A device's target role: offers, pre-rolls, commits, and the phases it notes."""

    def __init__(self, ledger: Ledger, codecs: tuple[str, ...]) -> None:
        self.ledger = ledger
        self.codecs = codecs
        self._pending: _Pending | None = None
        self._started: _Started | None = None
        self._prepared: _Prepared | None = None
        self._takes: deque[int] = deque(maxlen=_TAKES)  # µs, the last few pre-rolls
        self._started_once = False
        self._holder = ""  # who holds the session, for the refusal being made

    @property
    def busy(self) -> bool:
        """Return True while an offer is being pre-rolled or waits for its commit."""
        return self._pending is not None

    @property
    def started_transfer(self) -> str:
        """Return the transfer this device last started as the target, until settled ("")."""
        return self._started.transfer_id if self._started is not None else ""

    def owns(self, transfer_id: str) -> bool:
        """Return True if *transfer_id* is this role's (pending, or started here last)."""
        pending, started = self._pending, self._started
        return (pending is not None and pending.offer.transfer_id == transfer_id) or (
            started is not None and started.transfer_id == transfer_id
        )

    def step(self, event: TargetEvent, now: int) -> list[TargetAction]:
        """Feed one event; return what to do."""
        if isinstance(event, Offer):
            if event.offer.prepare:
                return self._prepare(event, now)
            return self._offer(event, now)
        if isinstance(event, LoadDone):
            return self._load_done(event, now)
        if isinstance(event, Commit):
            return self._commit(event, now)
        if isinstance(event, OutputEdge):
            started = self._started
            if started is None or started.transfer_id != event.transfer_id or started.done:
                return []
            started.done = True
            position = event.position_ms
            if started.live_from is not None:
                # The player counts from its own connection; the session's clock goes on.
                start_at, start_position = started.live_from
                position = start_position + (event.at_us - start_at) // 1000
            done = m.TransferDone(
                event.transfer_id, m.TransferRole.TARGET, event.at_us, position, started.revision
            )
            return [Reply(started.link, done)]
        if isinstance(event, Abort):
            return self._abort(event, now)
        if isinstance(event, LinkClosed):
            if self._pending is not None and self._pending.link == event.link:
                self._pending.link_lost = True
            return []
        if isinstance(event, PrepareExpired) and self._prepared is not None:
            self._prepared = None
            return [StopPlayer()]
        return []

    def ask(self, transfer_id: str) -> tuple[m.TransferPhase, list[TargetAction]]:
        """Return how far *transfer_id* got here; asked about a pre-roll, drop it.

        The asker is the source deciding whether to take the music back: once told PREROLLED,
        a later commit must not start us beside it, so the pending transfer ends here.
        """
        pending = self._pending
        if pending is None or pending.offer.transfer_id != transfer_id:
            return self.ledger.phase(transfer_id), []
        self.ledger.note(transfer_id, m.TransferPhase.ABORTED)
        log = Log("warning", f"transfer {transfer_id}: the source asked before any commit; "
                  "dropping the pre-roll")  # fmt: skip
        if not pending.ready:
            pending.aborted = True  # the load ends into nothing
            return m.TransferPhase.PREROLLED, [log]
        self._pending = None
        return m.TransferPhase.PREROLLED, [log, StopPlayer()]

    def forget_prepared(self) -> bool:
        """The device's player is taken for something else: return whether media was prepared."""
        prepared, self._prepared = self._prepared, None
        return prepared is not None

    # -------------------------------------------------------------------------- offers

    def _offer(self, event: Offer, now: int) -> list[TargetAction]:
        offer = event.offer
        if self.ledger.phase(offer.transfer_id) is not m.TransferPhase.UNKNOWN or (
            self._pending is not None and self._pending.offer.transfer_id == offer.transfer_id
        ):
            return []  # the same offer again (a retry, a copy): answered the first time
        actions: list[TargetAction] = []
        refusal = self._refusal(event, now, actions)
        if refusal is not None:
            self.ledger.note(offer.transfer_id, m.TransferPhase.ABORTED)
            rejected = m.TransferRejected(offer.transfer_id, refusal, self._holder)
            return [*actions, Reply(event.link, rejected)]
        self._started = None  # a new offer: whatever we started before is settled
        state, item = offer.state, offer.state.current_item
        assert item is not None
        paused = offer.options.paused or not state.clock.playing
        delay = max(0, event.output_delay_us)
        start_lead = self._start_lead_us() + delay
        # The controller leaves a handoff's acknowledgement more room when we have an output
        # delay (connect/transfer/rules.py): the switch comes that much later, so pre-roll there.
        handoff = offer.options.mode is not m.TransferMode.STOP_FIRST
        slack = ack_slack_us(delay) if handoff else 0
        lead = (offer.commit_lead_us or DEFAULT_COMMIT_LEAD_US) + start_lead + slack
        live = state.live and not paused
        prepared, self._prepared = self._prepared, None
        warm = prepared is not None and prepared.ready and prepared.url == item.url and not live
        ahead = 0 if paused else lead + (0 if warm else self._preroll_guess_us())
        position = position_at(state.clock, now + ahead, item.duration_ms)
        volume = _target_volume(offer, event.own.volume)
        pending = _Pending(
            offer, event.link, position, volume, now, lead, start_lead, delay, warm, live
        )
        self._pending = pending
        if warm:
            return [*actions, CancelTimer(_PREPARED), Seek(offer.transfer_id, position)]
        if prepared is not None:
            actions.append(CancelTimer(_PREPARED))
        # The pre-roll must end in time for its answer to beat the offer's deadline: media that
        # never buffers (bytes no demuxer reads) is then refused, not left to the controller's
        # timeout.
        budget = offer.deadline_us - REPLY_MARGIN_US - now
        return [*actions, Load(offer.transfer_id, item.url, 0 if live else position, budget, live)]

    def _refusal(self, event: Offer, now: int, actions: list[TargetAction]) -> m.Failure | None:
        offer, pending = event.offer, self._pending
        if pending is not None and pending.ready:
            stale = now > pending.offer.deadline_us + STALE_US
            if stale or pending.link_lost:
                # Its controller never committed nor aborted and is gone (its session closed,
                # or silent for long): no commit can come, so this is not a transfer any more.
                tid = pending.offer.transfer_id
                actions.append(Log("info", f"transfer {tid}: dropping an orphaned pre-roll"))
                self._pending = None
                self.ledger.note(tid, m.TransferPhase.ABORTED)
        self._holder = ""
        if self._pending is not None or event.source_holding:
            return m.Failure(m.ErrorCode.BUSY, "another transfer is in progress")
        own, session = event.own, offer.state
        if own.active and own.session_id == session.session_id and own.clock.playing:
            # It plays that very session: a pre-roll would only silence it.
            self._holder = own.device_id
            return m.Failure(m.ErrorCode.CONFLICT, "it already plays this session")
        newest = self.ledger.newest(session.session_id)
        if own.session_id == session.session_id and (newest is None or newest[0] < own.epoch):
            newest = own.epoch, own.device_id if own.active else ""
        if newest is not None and newest[0] > session.epoch:
            # A copy from before the session's last move (a controller's stale view, or a
            # source cut off while the session moved on): the music is elsewhere now.
            self._holder = newest[1]
            why = f"the session has moved on since (epoch {newest[0]}, offered {session.epoch})"
            return m.Failure(m.ErrorCode.CONFLICT, why)
        return _media_refusal(offer, self.codecs, now)

    def _start_lead_us(self) -> int:
        return START_LEAD_US if self._started_once else COLD_START_LEAD_US

    def _preroll_guess_us(self) -> int:
        return round(statistics.median(self._takes)) if self._takes else PREROLL_GUESS_US

    def _load_done(self, event: LoadDone, now: int) -> list[TargetAction]:
        prepared = self._prepared
        if prepared is not None and prepared.load_id == event.transfer_id:
            return self._prepared_loaded(prepared, event, now)
        pending = self._pending
        if pending is None or pending.offer.transfer_id != event.transfer_id or pending.ready:
            return []
        tid = pending.offer.transfer_id
        if pending.aborted or self.ledger.take_abort(tid):
            self._pending = None  # aborted while we pre-rolled: drop it
            self.ledger.note(tid, m.TransferPhase.ABORTED)
            return [] if event.failure is not None else [StopPlayer()]
        if event.failure is not None:
            self._pending = None
            self.ledger.note(tid, m.TransferPhase.ABORTED)
            return [Reply(pending.link, m.TransferRejected(tid, event.failure))]
        offer = pending.offer
        if not pending.seeking:
            self._takes.append(now - pending.offered_at)
        if pending.live:
            # Nothing to move: the stream plays on, gated. Ready names where the session's
            # clock will be at the switch, so the controller switches as soon as it can, and
            # not before the stream's first sample is heard (its network caching and decoder
            # hold it ~60 ms after the load): a gate opened earlier opens on nothing.
            item = offer.state.current_item
            switch = max(now + pending.lead_us, event.heard_from_us)
            pending.position_ms = position_at(offer.state.clock, switch,
                                              item.duration_ms if item else 0)  # fmt: skip
        elif not pending.seeking and offer.state.clock.playing and not offer.options.paused:
            # Where the source will be once Ready is back and the commits are out (1 ms for
            # the seek itself): move there unless the guess was just right.
            item = offer.state.current_item
            mark = position_at(offer.state.clock, now + pending.lead_us + 1_000,
                               item.duration_ms if item else 0)  # fmt: skip
            if not 0 <= pending.position_ms - mark <= TRUE_UP_SLACK_MS:
                pending.position_ms, pending.seeking = mark, True
                return [Seek(tid, mark)]
        pending.ready = True
        self.ledger.note(tid, m.TransferPhase.PREROLLED)
        ready = m.TransferReady(
            tid, pending.position_ms, now, output_delay_us=pending.output_delay_us,
            start_lead_us=pending.start_lead_us, offer_received_at_us=pending.offered_at,
        )  # fmt: skip
        return [Reply(pending.link, ready)]

    # -------------------------------------------------------------------------- prepare

    def _prepare(self, event: Offer, now: int) -> list[TargetAction]:
        offer, own = event.offer, event.own
        tid, link = offer.transfer_id, event.link
        refusal = None
        if self._pending is not None or event.source_holding:
            refusal = m.Failure(m.ErrorCode.BUSY, "another transfer is in progress")
        elif own.status is not m.PlaybackStatus.STOPPED:
            # Its player holds its own music (playing or paused): a picker must not touch it.
            refusal = m.Failure(m.ErrorCode.BUSY, "it has music of its own loaded")
        else:
            refusal = _media_refusal(offer, self.codecs, now)
        if refusal is not None:
            return [Reply(link, m.TransferRejected(tid, refusal))]
        item = offer.state.current_item
        assert item is not None
        if offer.state.live:
            # A live stream cannot be held pre-rolled: the real offer opens it at its edge.
            position = position_at(offer.state.clock, now)
            return [Reply(link, m.TransferReady(tid, position, now, offer_received_at_us=now))]
        expiry = ArmTimer(_PREPARED, now + PREPARED_TTL_US)
        prepared = self._prepared
        if prepared is not None and prepared.url == item.url:
            if prepared.ready:
                ready = m.TransferReady(tid, prepared.position_ms, now, offer_received_at_us=now)
                return [expiry, Reply(link, ready)]
            prepared.waiting.append((tid, link))
            return [expiry]
        position = position_at(offer.state.clock, now + self._preroll_guess_us(), item.duration_ms)
        self._prepared = _Prepared(item.url, tid, [(tid, link)], position)
        budget = offer.deadline_us - REPLY_MARGIN_US - now
        return [expiry, Load(tid, item.url, position, budget)]

    def _prepared_loaded(
        self, prepared: _Prepared, event: LoadDone, now: int
    ) -> list[TargetAction]:
        waiting, prepared.waiting = prepared.waiting, []
        if event.failure is not None:
            self._prepared = None
            failure = event.failure
            return [
                CancelTimer(_PREPARED),
                *(Reply(link, m.TransferRejected(tid, failure)) for tid, link in waiting),
            ]
        prepared.ready = True
        return [
            Reply(link, m.TransferReady(tid, prepared.position_ms, now, offer_received_at_us=now))
            for tid, link in waiting
        ]

    # -------------------------------------------------------------------------- commit, abort

    def _commit(self, event: Commit, now: int) -> list[TargetAction]:
        commit, pending = event.commit, self._pending
        tid = commit.transfer_id
        if pending is None or pending.offer.transfer_id != tid or not pending.ready:
            return [Reply(event.link, m.Error(m.ErrorCode.NOT_FOUND, f"no pending transfer {tid}"))]
        self._pending = None
        offer, own = pending.offer, event.own
        if commit.revision and commit.revision <= own.revision:
            return self._refuse_commit(pending, event)
        paused = offer.options.paused
        rate = offer.state.clock.rate
        start_at, position, late = _start_point(commit, now, rate, paused)
        clock = m.PlaybackClock(position, start_at, rate, not paused)
        state = replace(
            offer.state,
            revision=commit.revision or own.revision + 1,  # 0: an older controller
            device_id=own.device_id,
            clock=clock,
            status=m.PlaybackStatus.PAUSED if paused else m.PlaybackStatus.PLAYING,
            volume=pending.volume,
            active=True,
            error=None,
            epoch=commit.epoch or offer.state.epoch + 1,
            group=own.group,  # the source's group is the source's: a session carries none
        )
        live_from = (start_at, position) if pending.live else None
        self._started = _Started(
            tid, own, event.link, state.revision, offer.source_device_id, paused, live_from
        )
        self.ledger.saw(state.session_id, state.epoch, own.device_id)
        self._started_once = True
        self.ledger.note(tid, m.TransferPhase.STARTED)
        # Ready or Commit came late: seek (a live stream is where it is, at its edge).
        seek = abs(position - pending.position_ms) > SEEK_OVER_MS and not pending.live
        start = StartAt(
            tid, start_at, position, commit.fade_ms, pending.volume, seek, paused, pending.live
        )
        actions: list[TargetAction] = [start, TakeSession(state)]
        if late:
            actions.append(late)
        if paused:
            done = m.TransferDone(
                tid, m.TransferRole.TARGET, commit.switch_at_us, commit.position_ms, state.revision
            )
            actions.append(Reply(event.link, done))
        return actions

    def _refuse_commit(self, pending: _Pending, event: Commit) -> list[TargetAction]:
        """Refuse a commit naming a revision this device has reached already (its state moved
        on since its controller looked): the source was told that revision and takes the
        session back above it if the switch fails, so a higher one here could leave the source
        at or below a revision this device held. The controller rolls the source back."""
        tid, own = pending.offer.transfer_id, event.own.revision
        self.ledger.note(tid, m.TransferPhase.ABORTED)
        why = f"its state moved on since (revision {own}, the commit names {event.commit.revision})"
        rejected = m.TransferRejected(tid, m.Failure(m.ErrorCode.CONFLICT, why))
        return [Log("warning", f"transfer {tid}: refusing the commit: {why}"), StopPlayer(),
                Reply(event.link, rejected)]  # fmt: skip

    def _abort(self, event: Abort, now: int) -> list[TargetAction]:
        tid, pending = event.aborted.transfer_id, self._pending
        if pending is not None and pending.offer.transfer_id == tid:
            self.ledger.note(tid, m.TransferPhase.ABORTED)
            if not pending.ready:
                pending.aborted = True  # the load ends into nothing
                return []
            self._pending = None  # we never changed our state: just drop the pre-roll
            return [StopPlayer()]
        started = self._started
        if started is None or started.transfer_id != tid:
            return []
        self._started = None
        self.ledger.note(tid, m.TransferPhase.ABORTED)
        # The source takes the session back (at a newer epoch than ours): it holds it again.
        if event.own.session_id:
            self.ledger.saw(event.own.session_id, event.own.epoch, started.source_id)
        before = started.before
        state = replace(
            before,
            revision=event.own.revision + 1,
            status=m.PlaybackStatus.STOPPED,
            clock=m.PlaybackClock(before.clock.position_ms, now),
            active=False,
        )
        why = event.aborted.failure.message
        return [
            Log("warning", f"transfer {tid} called off after the start: {why}"),
            HandBack(state),
        ]


def _media_refusal(offer: m.TransferOffer, codecs: tuple[str, ...], now: int) -> m.Failure | None:
    """Return why this device cannot take *offer*'s media in time (None: it can try)."""
    item = offer.state.current_item
    if item is None:
        return m.Failure(m.ErrorCode.INVALID_ARGUMENT, "the offered session has no item")
    refused = media_url_refusal(offer.state.queue)  # the whole queue is taken over
    if refused is not None:
        return refused
    why = why_unplayable(codecs, item.url, item.content_type)
    if why:
        return m.Failure(m.ErrorCode.MEDIA_UNSUPPORTED, why)
    if now > offer.deadline_us - REPLY_MARGIN_US:
        return m.Failure(m.ErrorCode.TIMEOUT, "the offer arrived after its deadline")
    return None


def _target_volume(offer: m.TransferOffer, own: int) -> int:
    policy = offer.options.volume_policy
    if policy is m.VolumePolicy.CARRY_SOURCE:
        return offer.source_volume
    if policy is m.VolumePolicy.LOWER:
        return min(offer.source_volume, own)
    return own


def _start_point(
    commit: m.TransferCommit, now: int, rate: float, paused: bool
) -> tuple[int, int, Log | None]:
    """Return when to start, at which content, and a line saying why if not the commit's.

    A commit held up on the way (a late packet on Wi-Fi) can arrive after its switch instant,
    when the source has already faded out. Starting the pre-rolled content then would put the
    target behind the session by the delay, and the clock it publishes ahead of what it plays.
    So it starts a start lead from now, at the content the session has reached by then: the
    silence is the delay, the position stays right.
    """
    late_us = now + START_LEAD_US - commit.switch_at_us
    if paused or late_us <= 0:
        return commit.switch_at_us, commit.position_ms, None
    log = Log(
        "warning",
        f"transfer {commit.transfer_id[:8]}: commit arrived {late_us // 1000} ms late for its "
        "switch; starting later, in step",
    )
    position = commit.position_ms + round(late_us * rate / 1000)
    return commit.switch_at_us + late_us, position, log
