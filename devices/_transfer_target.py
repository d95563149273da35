"""The target's role in a transfer: answer the offer with a pre-roll, start at the switch.

A target refuses an offer it cannot take in time (busy, no item, a codec it does not play, a
deadline already past), pre-rolls the media to the position the source will reach a lead ahead
(the lead follows the typical pre-roll, see PREROLL_LEAD_US), answers Ready, and on Commit plays
from the switch instant and takes the session. It remembers the phase of its last MAX_PHASES
transfers for the status endpoint; asked about a pre-roll (by a source left without a verdict),
it drops it and will refuse a later commit for it.

A target drops a pre-roll whose controller's session has closed (no commit can follow) when
the next offer comes, so a controller that died after Ready does not leave it busy.

A target that has started and is then told to abort (the controller gave up on its Done)
stops and hands the session back: it must not play on beside a source that resumed.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from connect import messages as m
from connect.server import ControllerLink
from connect.transfer import codec_of
from devices._transfer_host import OutputEdges, TransferHost
from devices.errors import ReceiverError
from devices.failures import failure_from
from devices.player import LOAD_TIMEOUT_S
from devices.player_types import OutputStarted

# Logged under the facade's name, as before the split: where a log line comes from should not
# change with the file layout.
_LOG = logging.getLogger("devices.transfer")

# How far ahead of the source's position the target pre-rolls: the switch happens when the
# source reaches that position, so this lead is most of a transfer's latency. It follows the
# typical pre-roll (median of the last few, times 1.5) plus a margin for Ready -> Commit ->
# switch on a LAN, so one slow pre-roll under load does not slow every transfer after it.
PREROLL_LEAD_US = 200_000  # before any pre-roll was measured
LEAD_MARGIN_US = 100_000
MAX_LEAD_US = 400_000
START_LEAD_US = 30_000  # what the target needs between Commit and the switch instant
REPLY_MARGIN_US = 150_000  # an answer to an offer leaves this long before the offer's deadline
STALE_US = 5_000_000  # a pre-roll never committed this long after its offer's deadline is dropped
MAX_PHASES = 64  # transfers whose phase a target remembers; a source asks within seconds


@dataclass
class _TargetPending:
    offer: m.TransferOffer
    prerolled_ms: int
    volume: int
    link: ControllerLink


@dataclass
class _TargetStarted:
    transfer_id: str
    before: m.PlaybackState  # the target's own state before it took the session


class TransferTarget:
    """A receiver's target role: offers, pre-rolls, commits, and the phases it remembers."""

    def __init__(
        self,
        host: TransferHost,
        edges: OutputEdges,
        aborted_ids: set[str],
        source_busy: Callable[[], bool],
    ) -> None:
        self._host = host
        self._edges = edges
        self._aborted_ids = aborted_ids  # shared with the source role: aborts before their offer
        self._source_busy = source_busy  # a receiver is one player: a held source refuses offers
        self._phases: OrderedDict[str, m.TransferPhase] = OrderedDict()
        self._target: _TargetPending | None = None
        self._started: _TargetStarted | None = None
        self._preroll_takes: deque[int] = deque(maxlen=5)  # µs, the last few pre-rolls

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

    async def async_offer(self, offer: m.TransferOffer, link: ControllerLink) -> None:
        """Pre-roll *offer*'s media and answer Ready, or answer Rejected with the reason."""
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
        if self._target is not None or self._source_busy():
            return m.Failure(m.ErrorCode.BUSY, "another transfer is in progress")
        if item is None:
            return m.Failure(m.ErrorCode.INVALID_ARGUMENT, "the offered session has no item")
        codec = codec_of(item)
        if codec and codec not in self._host.codecs:
            return m.Failure(m.ErrorCode.MEDIA_UNSUPPORTED, f"cannot play {codec} audio")
        if self._host.clock() > offer.deadline_us - REPLY_MARGIN_US:
            return m.Failure(m.ErrorCode.TIMEOUT, "the offer arrived after its deadline")
        return None

    async def async_commit(self, commit: m.TransferCommit, link: ControllerLink) -> None:
        """Start the pre-rolled media at the switch instant, take the session, answer Done."""
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
            self._edges.drain()
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
            edge_at, position = await self._edges.next(OutputStarted, edge_at, position)
        link.send(
            m.TransferDone(
                commit.transfer_id, m.TransferRole.TARGET, edge_at, position, state.revision
            )
        )

    async def async_abort(self, aborted: m.TransferAborted) -> bool:
        """Drop the pre-roll or hand back the session *aborted* names; False if it is not ours."""
        pending = self._target
        if pending is not None and pending.offer.transfer_id == aborted.transfer_id:
            self._target = None  # we never changed our state: just drop the pre-roll
            self._note(aborted.transfer_id, m.TransferPhase.ABORTED)
            async with self._host.lock:
                with contextlib.suppress(ReceiverError):
                    await self._host.player.async_stop()
            return True
        started = self._started
        if started is not None and started.transfer_id == aborted.transfer_id:
            self._started = None
            self._note(aborted.transfer_id, m.TransferPhase.ABORTED)
            await self._hand_back(started, aborted.failure)
            return True
        return False

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


def _target_volume(offer: m.TransferOffer, own: int) -> int:
    policy = offer.options.volume_policy
    if policy is m.VolumePolicy.CARRY_SOURCE:
        return offer.source_volume
    if policy is m.VolumePolicy.LOWER:
        return min(offer.source_volume, own)
    return own
