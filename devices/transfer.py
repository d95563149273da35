"""The receiver's side of a playback transfer: as the target (offer, pre-roll, start at the
switch instant) and as the source (fade out at the switch instant, hold, let go or roll back).

The source acknowledges its commit at once with a TransferReady (the controller commits the
target only after that, so a source that never heard the commit keeps playing), and refuses a
commit that comes more than LATE_COMMIT_US after its switch instant (one held up by a dropped
link: the controller has called the transfer off by then). It never lets go of the music on its
own say: after fading out it stays paused with the media loaded until the controller confirms
the target plays (then it stops or stays paused as asked) or aborts (then it resumes if it was
playing: a rollback). An abort that comes during the fade-out is kept and acted on once the
fade ends.

A source left without a verdict asks the target, when its Commit named one (Baton issue 9: a
controller that dies between the two commits leaves a source that faded out and a target that
was never committed). It asks once its controller's session has closed (a dead process's
closes at once, so the music comes back within a fraction of a second; a silent controller's
after the dead-peer timeout) or when HOLD_S has passed without a word:
`GET /connect/v1/transfers/{id}` on the target (connect.transfer.ask_transfer_phase). STARTED:
the target took the session, let go (apply `source_after`). PREROLLED, UNKNOWN or ABORTED: it
never started and, asked, never will (a target that is asked about a pre-roll drops it and
refuses a later commit), so roll back: resume if the source was playing. Unreachable (a
partition, a dead target, no address): let go as before the question existed. The target may be
playing beyond the partition, and two players after a switch is the failure the user cannot
undo from either device, whereas a let-go session stays on the source, paused, one press of play
away. A Commit that names no target (an older controller) gets the same let-go after HOLD_S.

A target drops a pre-roll whose controller's session has closed (no commit can follow) when
the next offer comes, so a controller that died after Ready does not leave it busy. It remembers
the phase of its last MAX_PHASES transfers for the status endpoint.

A target that has started and is then told to abort (the controller gave up on its Done)
stops and hands the session back: it must not play on beside a source that resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from connect import messages as m
from connect.clock import Clock
from connect.errors import ConnectError
from connect.server import ControllerLink
from connect.transfer import ask_transfer_phase, codec_of
from devices.errors import ReceiverError
from devices.failures import failure_from
from devices.player import LOAD_TIMEOUT_S, Player
from devices.player_types import OutputStarted, OutputStopped, PlayerEvent

_LOG = logging.getLogger(__name__)

HOLD_S = 10.0  # how long a source keeps the media after the switch, waiting for the verdict
# How far ahead of the source's position the target pre-rolls: the switch happens when the
# source reaches that position, so this lead is most of a transfer's latency. It follows the
# typical pre-roll (median of the last few, times 1.5) plus a margin for Ready -> Commit ->
# switch on a LAN, so one slow pre-roll under load does not slow every transfer after it.
PREROLL_LEAD_US = 200_000  # before any pre-roll was measured
LEAD_MARGIN_US = 100_000
MAX_LEAD_US = 400_000
START_LEAD_US = 30_000  # what the target needs between Commit and the switch instant
EDGE_TIMEOUT_S = 2.0
REPLY_MARGIN_US = 150_000  # an answer to an offer leaves this long before the offer's deadline
LATE_COMMIT_US = 100_000  # a source refuses a commit that comes this long after its switch
STALE_US = 5_000_000  # a pre-roll never committed this long after its offer's deadline is dropped
MAX_PHASES = 64  # transfers whose phase a target remembers; a source asks within seconds

AskTarget = Callable[[str, str, str], Awaitable[m.TransferPhase]]
"""(target device id, target base URL, transfer id) -> the phase there; raises ConnectError."""


class TransferHost(Protocol):
    """What the transfer logic needs from its receiver."""

    clock: Clock
    lock: asyncio.Lock

    @property
    def player(self) -> Player: ...

    @property
    def state(self) -> m.PlaybackState: ...

    @property
    def codecs(self) -> tuple[str, ...]: ...

    def publish_state(self, state: m.PlaybackState, reason: m.StateChangeReason) -> None: ...


@dataclass
class _TargetPending:
    offer: m.TransferOffer
    prerolled_ms: int
    volume: int
    link: ControllerLink


@dataclass
class _SourceHolding:
    transfer_id: str
    source_after: m.SourceAfter
    resume_volume: int
    was_playing: bool
    target_device_id: str  # whom to ask if no verdict comes (no URL: nobody)
    target_url: str
    timer: asyncio.Task[None] | None = None  # None while the fade-out is under way
    aborted: m.Failure | None = None  # an abort that came during the fade-out


@dataclass
class _TargetStarted:
    transfer_id: str
    before: m.PlaybackState  # the target's own state before it took the session


class TransferSide:
    """Handles transfer messages for one receiver."""

    def __init__(self, host: TransferHost, ask: AskTarget = ask_transfer_phase) -> None:
        self._host = host
        self._ask = ask
        self._phases: OrderedDict[str, m.TransferPhase] = OrderedDict()
        self._target: _TargetPending | None = None
        self._holding: _SourceHolding | None = None
        self._started: _TargetStarted | None = None
        self._preroll_takes: deque[int] = deque(maxlen=5)  # µs, the last few pre-rolls
        self._aborted_ids: set[str] = set()  # aborts that may overtake their own offer
        self._edges: asyncio.Queue[OutputStarted | OutputStopped] = asyncio.Queue()

    def on_player_event(self, event: PlayerEvent) -> None:
        """Feed player events in; output edges become the instants reported in Done."""
        if isinstance(event, OutputStarted | OutputStopped):
            self._edges.put_nowait(event)

    async def handle(self, body: m.Body, link: ControllerLink) -> None:
        """Dispatch one transfer message from a controller."""
        if isinstance(body, m.TransferOffer):
            await self._offer(body, link)
        elif isinstance(body, m.TransferCommit):
            if body.role is m.TransferRole.TARGET:
                await self._commit_target(body, link)
            else:
                await self._commit_source(body, link)
        elif isinstance(body, m.TransferAborted):
            await self._aborted(body)
        elif isinstance(body, m.TransferDone):
            await self._let_go(body.transfer_id)

    def phase(self, transfer_id: str) -> m.TransferPhase:
        """Return how far *transfer_id* got here as a target; asked about a pre-roll, drop it.

        The asker is the source deciding whether to take the music back: once told PREROLLED,
        a later commit must not start us beside it, so the pending transfer ends here.
        """
        pending = self._target
        if pending is not None and pending.offer.transfer_id == transfer_id:
            _LOG.warning("transfer %s: the source asked before any commit; dropping the pre-roll",
                         transfer_id)  # fmt: skip
            self._target = None
            self._note(transfer_id, m.TransferPhase.ABORTED)
            return m.TransferPhase.PREROLLED
        return self._phases.get(transfer_id, m.TransferPhase.UNKNOWN)

    def _note(self, transfer_id: str, phase: m.TransferPhase) -> None:
        self._phases[transfer_id] = phase
        self._phases.move_to_end(transfer_id)
        while len(self._phases) > MAX_PHASES:
            self._phases.popitem(last=False)

    # -------------------------------------------------------------------------- target

    async def _offer(self, offer: m.TransferOffer, link: ControllerLink) -> None:
        host = self._host
        reason = self._refusal(offer)
        if reason is not None:
            self._note(offer.transfer_id, m.TransferPhase.ABORTED)
            link.send(m.TransferRejected(offer.transfer_id, reason))
            return
        self._started = None  # a new offer: whatever we started before is settled
        state, item = offer.state, offer.state.current_item
        assert item is not None
        paused = offer.options.paused or not state.clock.playing
        started = host.clock()
        position = state.clock.position_at(started + (0 if paused else self._preroll_lead_us()))
        if item.duration_ms:
            position = min(position, max(0, item.duration_ms - 1))
        # The pre-roll must end in time for its answer to beat the offer's deadline: media that
        # never buffers (bytes no demuxer reads) is then refused, not left to the controller's
        # timeout.
        budget_s = (offer.deadline_us - REPLY_MARGIN_US - started) / 1e6
        try:
            async with host.lock:
                await host.player.async_load(
                    item.url, position, play=False, timeout_s=min(budget_s, LOAD_TIMEOUT_S)
                )
        except ReceiverError as exc:
            self._note(offer.transfer_id, m.TransferPhase.ABORTED)
            link.send(m.TransferRejected(offer.transfer_id, failure_from(exc)))
            return
        if offer.transfer_id in self._aborted_ids:
            self._aborted_ids.discard(offer.transfer_id)
            self._note(offer.transfer_id, m.TransferPhase.ABORTED)
            async with host.lock:
                await host.player.async_stop()  # aborted while we pre-rolled: drop it
            return
        self._preroll_takes.append(host.clock() - started)
        volume = _target_volume(offer, host.state.volume)
        self._target = _TargetPending(offer, position, volume, link)
        self._note(offer.transfer_id, m.TransferPhase.PREROLLED)
        link.send(
            m.TransferReady(offer.transfer_id, position, host.clock(), start_lead_us=START_LEAD_US)
        )

    def _preroll_lead_us(self) -> int:
        if not self._preroll_takes:
            return PREROLL_LEAD_US
        typical = statistics.median(self._preroll_takes)
        return min(MAX_LEAD_US, round(1.5 * typical) + LEAD_MARGIN_US)

    def _refusal(self, offer: m.TransferOffer) -> m.Failure | None:
        item = offer.state.current_item
        pending = self._target
        stale = pending is not None and self._host.clock() > pending.offer.deadline_us + STALE_US
        if pending is not None and (stale or pending.link.closed.is_set()):
            # Its controller never committed nor aborted and is gone (its session closed, or
            # silent for long): no commit can come, so this is not a transfer any more.
            _LOG.info("transfer %s: dropping an orphaned pre-roll", pending.offer.transfer_id)
            self._target = None
            self._note(pending.offer.transfer_id, m.TransferPhase.ABORTED)
        if self._target is not None or self._holding is not None:
            return m.Failure(m.ErrorCode.BUSY, "another transfer is in progress")
        if item is None:
            return m.Failure(m.ErrorCode.INVALID_ARGUMENT, "the offered session has no item")
        codec = codec_of(item)
        if codec and codec not in self._host.codecs:
            return m.Failure(m.ErrorCode.MEDIA_UNSUPPORTED, f"cannot play {codec} audio")
        if self._host.clock() > offer.deadline_us - REPLY_MARGIN_US:
            return m.Failure(m.ErrorCode.TIMEOUT, "the offer arrived after its deadline")
        return None

    async def _commit_target(self, commit: m.TransferCommit, link: ControllerLink) -> None:
        pending, self._target = self._target, None
        if pending is None or pending.offer.transfer_id != commit.transfer_id:
            link.send(m.Error(m.ErrorCode.NOT_FOUND, f"no pending transfer {commit.transfer_id}"))
            return
        host = self._host
        offer, paused = pending.offer, pending.offer.options.paused
        self._started = _TargetStarted(commit.transfer_id, host.state)
        self._note(commit.transfer_id, m.TransferPhase.STARTED)
        async with host.lock:
            player = host.player
            if abs(commit.position_ms - pending.prerolled_ms) > 20:
                await player.async_seek(commit.position_ms)  # Ready came late: catch up
            await player.async_set_volume(pending.volume)
            self._drain_edges()
            if not paused:
                await player.async_play_at(commit.switch_at_us, fade_in_ms=commit.fade_ms)
            clock = m.PlaybackClock(
                commit.position_ms, commit.switch_at_us, offer.state.clock.rate, not paused
            )
            state = replace(
                offer.state,
                revision=max(commit.revision, host.state.revision + 1),
                device_id=host.state.device_id,
                clock=clock,
                status=m.PlaybackStatus.PAUSED if paused else m.PlaybackStatus.PLAYING,
                volume=pending.volume,
                active=True,
                error=None,
            )
            host.publish_state(state, m.StateChangeReason.TRANSFER)
        edge_at, position = commit.switch_at_us, commit.position_ms
        if not paused:
            edge_at, position = await self._edge(OutputStarted, edge_at, position)
        link.send(
            m.TransferDone(
                commit.transfer_id, m.TransferRole.TARGET, edge_at, position, state.revision
            )
        )

    # -------------------------------------------------------------------------- source

    async def _commit_source(self, commit: m.TransferCommit, link: ControllerLink) -> None:
        host = self._host
        tid = commit.transfer_id
        if tid in self._aborted_ids:  # its abort overtook it
            self._aborted_ids.discard(tid)
            return
        late_us = host.clock() - commit.switch_at_us
        refusal = None
        if self._holding is not None:
            refusal = m.Failure(m.ErrorCode.BUSY, "another transfer is in progress")
        elif late_us > LATE_COMMIT_US:
            refusal = m.Failure(
                m.ErrorCode.TIMEOUT, f"the commit came {late_us // 1000} ms after its switch"
            )
        if refusal is not None:
            _LOG.warning("transfer %s: refusing the commit: %s", tid, refusal.message)
            link.send(m.TransferRejected(tid, refusal))
            return
        before = host.state
        playing = before.status is m.PlaybackStatus.PLAYING
        holding = _SourceHolding(
            tid, commit.source_after, before.volume, playing,
            commit.target_device_id, commit.target_url,
        )  # fmt: skip
        self._holding = holding
        link.send(m.TransferReady(tid, before.clock.position_at(commit.switch_at_us), host.clock()))
        async with host.lock:
            self._drain_edges()
            if playing:
                await host.player.async_fade_out_at(
                    commit.switch_at_us, commit.fade_ms, then="pause"
                )
            now = host.clock()
            position = before.clock.position_at(
                min(now, commit.switch_at_us + commit.fade_ms * 1000)
            )
            state = replace(
                before,
                revision=before.revision + 1,
                clock=m.PlaybackClock(position, now, before.clock.rate, False),
                status=m.PlaybackStatus.PAUSED,
                active=False,
            )
            host.publish_state(state, m.StateChangeReason.TRANSFER)
        edge_at = commit.switch_at_us + commit.fade_ms * 1000
        if playing:
            edge_at, position = await self._edge(OutputStopped, edge_at, position)
        if self._holding is not holding:
            return  # confirmed during the fade: already let go
        if holding.aborted is not None:
            self._holding = None
            await self._roll_back(holding, holding.aborted)
            return
        holding.timer = asyncio.get_running_loop().create_task(self._hold(holding, link))
        link.send(m.TransferDone(tid, m.TransferRole.SOURCE, edge_at, position, state.revision))

    async def _hold(self, holding: _SourceHolding, link: ControllerLink) -> None:
        """Wait for the verdict; without one, ask the target (if named) what became of it."""
        tid = holding.transfer_id
        if not holding.target_url:
            await asyncio.sleep(HOLD_S)
            _LOG.warning("transfer %s: no verdict within %.0f s; letting go", tid, HOLD_S)
            phase = None
        else:
            # A closed session brings no verdict: ask now rather than at the hold's end.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HOLD_S):
                    await link.closed.wait()
            phase = await self._ask_target(holding)
        # A verdict that came while we asked has settled it (and cancelled us, mostly).
        if self._holding is not holding:
            return
        self._holding = None
        if phase is None or phase is m.TransferPhase.STARTED:
            await self._release(holding)
        else:
            why = f"no verdict, and the target says {phase.name}"
            await self._roll_back(holding, m.Failure(m.ErrorCode.TIMEOUT, why))

    async def _ask_target(self, holding: _SourceHolding) -> m.TransferPhase | None:
        """Return the transfer's phase on the target, or None if it cannot be asked."""
        tid = holding.transfer_id
        _LOG.info("transfer %s: no verdict; asking the target %s", tid, holding.target_url)
        try:
            phase = await self._ask(holding.target_device_id, holding.target_url, tid)
        except (ConnectError, OSError, ValueError) as exc:
            # Whatever the reason, the hold must end: a source stuck holding refuses every
            # transfer as busy and never plays again on its own.
            _LOG.warning("transfer %s: cannot ask the target (%s); letting go", tid, exc)
            return None
        _LOG.info("transfer %s: the target says %s", tid, phase.name)
        return phase

    async def _let_go(self, transfer_id: str) -> None:
        """The controller confirmed the target plays: release the held media."""
        holding = self._holding
        if holding is None or holding.transfer_id != transfer_id:
            return
        self._holding = None
        if holding.timer is not None:
            holding.timer.cancel()
        await self._release(holding)

    async def _release(self, holding: _SourceHolding) -> None:
        """The target plays: stop (or stay paused), as the transfer asked."""
        host = self._host
        async with host.lock:
            if holding.source_after is m.SourceAfter.STOP:
                await host.player.async_stop()
                state = replace(
                    host.state, revision=host.state.revision + 1, status=m.PlaybackStatus.STOPPED
                )
                host.publish_state(state, m.StateChangeReason.TRANSFER)
            await host.player.async_set_volume(holding.resume_volume)

    async def _aborted(self, aborted: m.TransferAborted) -> None:
        pending = self._target
        if pending is not None and pending.offer.transfer_id == aborted.transfer_id:
            self._target = None  # we never changed our state: just drop the pre-roll
            self._note(aborted.transfer_id, m.TransferPhase.ABORTED)
            async with self._host.lock:
                with contextlib.suppress(ReceiverError):
                    await self._host.player.async_stop()
            return
        started = self._started
        if started is not None and started.transfer_id == aborted.transfer_id:
            self._started = None
            self._note(aborted.transfer_id, m.TransferPhase.ABORTED)
            await self._hand_back(started, aborted.failure)
            return
        holding = self._holding
        if holding is None or holding.transfer_id != aborted.transfer_id:
            self._aborted_ids.add(aborted.transfer_id)  # its offer may still be pre-rolling
            return
        if holding.timer is None:
            holding.aborted = aborted.failure  # the fade-out is under way: roll back after it
            return
        self._holding = None
        holding.timer.cancel()
        await self._roll_back(holding, aborted.failure)

    async def _roll_back(self, holding: _SourceHolding, why: m.Failure) -> None:
        """The target failed after the switch: play on (if we played) from where we stopped."""
        _LOG.warning("transfer %s rolled back: %s", holding.transfer_id, why.message)
        host = self._host
        async with host.lock:
            await host.player.async_set_volume(holding.resume_volume)
            state = replace(host.state, revision=host.state.revision + 1, active=True)
            if holding.was_playing:
                await host.player.async_play()
                clock = host.player.clock()
                state = replace(
                    state,
                    clock=m.PlaybackClock(
                        clock.position_ms, clock.as_of_us, host.state.clock.rate, True
                    ),
                    status=m.PlaybackStatus.PLAYING,
                )
            host.publish_state(state, m.StateChangeReason.TRANSFER)

    async def _hand_back(self, started: _TargetStarted, why: m.Failure) -> None:
        """Told to abort after starting: stop, and go back to our own (inactive) session."""
        _LOG.warning("transfer %s called off after the start: %s", started.transfer_id, why.message)
        host = self._host
        async with host.lock:
            with contextlib.suppress(ReceiverError):
                await host.player.async_stop()
            state = replace(
                started.before,
                revision=host.state.revision + 1,
                status=m.PlaybackStatus.STOPPED,
                clock=m.PlaybackClock(started.before.clock.position_ms, host.clock()),
                active=False,
            )
            host.publish_state(state, m.StateChangeReason.TRANSFER)

    # -------------------------------------------------------------------------- helpers

    def _drain_edges(self) -> None:
        while not self._edges.empty():
            self._edges.get_nowait()

    async def _edge(self, kind: type, fallback_at: int, fallback_position: int) -> tuple[int, int]:
        """Return the instant and position of the next output edge of *kind* (or the fallback)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EDGE_TIMEOUT_S):
                while True:
                    edge = await self._edges.get()
                    if isinstance(edge, kind):
                        return edge.at_us, edge.position_ms
        _LOG.warning("no %s edge from the player; reporting the planned instant", kind.__name__)
        return fallback_at, fallback_position


def _target_volume(offer: m.TransferOffer, own: int) -> int:
    policy = offer.options.volume_policy
    if policy is m.VolumePolicy.CARRY_SOURCE:
        return offer.source_volume
    if policy is m.VolumePolicy.LOWER:
        return min(offer.source_volume, own)
    return own
