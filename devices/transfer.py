"""The receiver's side of a playback transfer: as the target (offer, pre-roll, start at the
switch instant) and as the source (fade out at the switch instant, hold, let go or roll back).

`TransferSide` routes each transfer message to the role it concerns; the rules live with the
code that carries them out:

- devices/_transfer_target.py: a target pre-rolls ahead of the source and answers Ready or
  Rejected; on Commit it starts at the switch instant and takes the session. It drops a
  pre-roll whose controller is gone, or that a source asked about (it then never starts it),
  remembers the phase of its last MAX_PHASES transfers for the status endpoint, and hands the
  session back when told to abort after it started.
- devices/_transfer_source.py: a source acknowledges its commit at once, refuses one that is
  late, fades out and holds the media until the controller's verdict: let go, or roll back.
  Left without one (Baton issue 9), it asks the target: STARTED lets go, any other answer rolls
  back, no answer lets go (never two players after a switch).

A receiver is one player: while a source holds media it refuses offers as busy, and an abort
that overtakes its own offer or commit is remembered for either role.
"""

from __future__ import annotations

from connect import messages as m
from connect.server import ControllerLink
from connect.transfer import ask_transfer_phase
from devices._transfer_host import EDGE_TIMEOUT_S, OutputEdges, TransferHost
from devices._transfer_source import HOLD_S, LATE_COMMIT_US, AskTarget, TransferSource
from devices._transfer_target import (
    LEAD_MARGIN_US,
    MAX_LEAD_US,
    MAX_PHASES,
    PREROLL_LEAD_US,
    REPLY_MARGIN_US,
    STALE_US,
    START_LEAD_US,
    TransferTarget,
)
from devices.player_types import OutputStarted, OutputStopped, PlayerEvent

# Callers import these from here. The timing figures are read where they are used, in the
# role modules: a test that shortens one patches it there.
__all__ = [
    "EDGE_TIMEOUT_S",
    "HOLD_S",
    "LATE_COMMIT_US",
    "LEAD_MARGIN_US",
    "MAX_LEAD_US",
    "MAX_PHASES",
    "PREROLL_LEAD_US",
    "REPLY_MARGIN_US",
    "STALE_US",
    "START_LEAD_US",
    "AskTarget",
    "TransferHost",
    "TransferSide",
]


class TransferSide:
    """Handles transfer messages for one receiver."""

    def __init__(self, host: TransferHost, ask: AskTarget = ask_transfer_phase) -> None:
        edges = OutputEdges()
        aborted_ids: set[str] = set()  # aborts that may overtake their own offer or commit
        self._edges = edges
        self._aborted_ids = aborted_ids
        self._source = TransferSource(host, edges, aborted_ids, ask)
        self._target = TransferTarget(host, edges, aborted_ids, lambda: self._source.busy)

    def on_player_event(self, event: PlayerEvent) -> None:
        """Feed player events in; output edges become the instants reported in Done."""
        if isinstance(event, OutputStarted | OutputStopped):
            self._edges.put(event)

    async def handle(self, body: m.Body, link: ControllerLink) -> None:
        """Dispatch one transfer message from a controller."""
        if isinstance(body, m.TransferOffer):
            await self._target.async_offer(body, link)
        elif isinstance(body, m.TransferCommit):
            if body.role is m.TransferRole.TARGET:
                await self._target.async_commit(body, link)
            else:
                await self._source.async_commit(body, link)
        elif isinstance(body, m.TransferAborted):
            await self._aborted(body)
        elif isinstance(body, m.TransferDone):
            await self._source.async_let_go(body.transfer_id)

    def phase(self, transfer_id: str) -> m.TransferPhase:
        """Return how far *transfer_id* got here as a target; asked about a pre-roll, drop it."""
        return self._target.phase(transfer_id)

    async def _aborted(self, aborted: m.TransferAborted) -> None:
        if await self._target.async_abort(aborted) or await self._source.async_abort(aborted):
            return
        self._aborted_ids.add(aborted.transfer_id)  # its offer may still be pre-rolling
