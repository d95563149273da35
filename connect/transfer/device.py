"""A device's part in transfers: its target and source machines, routed, and its ledger.

A device is one player: while its source role holds media for a verdict, offers are refused as
busy; an abort that belongs to neither role is remembered, because it may have overtaken its
own offer or commit. `DeviceTransfers.step(event, now)` routes each event to the role it
concerns and returns that role's actions (target.py and source.py list them). Pure: the device's
adapter (devices/transfer.py) feeds it and carries the actions out.
"""

from __future__ import annotations

from dataclasses import replace

from connect.transfer import source as s
from connect.transfer import target as t
from connect.transfer.ledger import Ledger
from connect.transfer.roles import LinkClosed
from connect.wire import messages as m

__all__ = ["Action", "DeviceTransfers", "Event"]

Event = t.TargetEvent | s.SourceEvent
Action = t.TargetAction | s.SourceAction

_TARGET_ONLY = (t.LoadDone, t.OutputEdge, t.PrepareExpired)


class DeviceTransfers:
    """Routes a device's transfer events to its target or source role."""

    def __init__(
        self,
        codecs: tuple[str, ...],
        *,
        ledger: Ledger | None = None,
        hold_us: int = s.HOLD_US,
        late_commit_us: int = s.LATE_COMMIT_US,
    ) -> None:
        self.ledger = ledger if ledger is not None else Ledger()
        self.target = t.TargetMachine(self.ledger, codecs)
        self.source = s.SourceMachine(self.ledger, hold_us=hold_us, late_commit_us=late_commit_us)

    def step(self, event: Event, now: int) -> list[Action]:
        """Feed one event to the role it concerns; return that role's actions."""
        target: list[t.TargetAction]
        if isinstance(event, t.Offer):
            event = replace(event, source_holding=self.source.busy)
            return list(self.target.step(event, now))
        if isinstance(event, t.Commit):
            if event.commit.role is m.TransferRole.TARGET:
                return list(self.target.step(event, now))
            return list(self.source.step(s.SourceCommit(event.commit, event.link, event.own), now))
        if isinstance(event, t.Abort):
            tid = event.aborted.transfer_id
            if self.target.owns(tid):
                return list(self.target.step(event, now))
            if self.source.owns(tid):
                return list(self.source.step(s.SourceAbort(event.aborted), now))
            self.ledger.abort_early(tid)  # its offer or commit may still be on its way
            return []
        if isinstance(event, LinkClosed):
            target = self.target.step(event, now)
            return [*target, *self.source.step(event, now)]
        if isinstance(event, _TARGET_ONLY):
            return list(self.target.step(event, now))
        if isinstance(event, s.SourceCommit | s.SourceAbort):
            raise TypeError(f"{type(event).__name__} is routed by the device, not fed to it")
        return list(self.source.step(event, now))

    def ask(self, transfer_id: str) -> tuple[m.TransferPhase, list[Action]]:
        """Return how far *transfer_id* got here as a target (asked about a pre-roll: dropped)."""
        phase, actions = self.target.ask(transfer_id)
        return phase, list(actions)

    def forget_prepared(self) -> bool:
        """The player is taken for a command: return whether prepared media must be stopped."""
        return self.target.forget_prepared()
