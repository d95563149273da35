"""The source's role in a transfer: fade out at the switch instant, hold, let go or roll back.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from connect import messages as m
from connect.errors import ConnectError
from connect.server import ControllerLink
from devices._transfer_host import OutputEdges, TransferHost
from devices.player_types import OutputStopped

# Logged under the facade's name, as before the split: where a log line comes from should not
# change with the file layout.
_LOG = logging.getLogger("devices.transfer")

HOLD_S = 10.0  # how long a source keeps the media after the switch, waiting for the verdict
LATE_COMMIT_US = 100_000  # a source refuses a commit that comes this long after its switch

AskTarget = Callable[[str, str, str], Awaitable[m.TransferPhase]]
"""(target device id, target base URL, transfer id) -> the phase there; raises ConnectError."""


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


class TransferSource:
    """A receiver's source role: the commit, the hold after it, and the verdict's outcome."""

    def __init__(
        self, host: TransferHost, edges: OutputEdges, aborted_ids: set[str], ask: AskTarget
    ) -> None:
        self._host = host
        self._edges = edges
        self._aborted_ids = aborted_ids  # shared with the target role: aborts before their commit
        self._ask = ask
        self._holding: _SourceHolding | None = None

    @property
    def busy(self) -> bool:
        """Return True while a transfer's media is held here, waiting for its verdict."""
        return self._holding is not None

    async def async_commit(self, commit: m.TransferCommit, link: ControllerLink) -> None:
        """Acknowledge *commit*, fade out at its switch instant, then hold for the verdict."""
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
            self._edges.drain()
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
            edge_at, position = await self._edges.next(OutputStopped, edge_at, position)
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

    async def async_let_go(self, transfer_id: str) -> None:
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

    async def async_abort(self, aborted: m.TransferAborted) -> bool:
        """Roll back the hold *aborted* names (after the fade-out); False if it is not ours."""
        holding = self._holding
        if holding is None or holding.transfer_id != aborted.transfer_id:
            return False
        if holding.timer is None:
            holding.aborted = aborted.failure  # the fade-out is under way: roll back after it
            return True
        self._holding = None
        holding.timer.cancel()
        await self._roll_back(holding, aborted.failure)
        return True

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
