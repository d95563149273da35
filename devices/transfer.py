"""The receiver's side of a playback transfer: an adapter between its controllers' links, its
player and the pure transfer machines of connect/transfer/ (device.py routes to target.py and
source.py; the rules are theirs, with their docstrings).

`TransferSide` is the receiver's `connect.transfer.driver.TransferDriver` (which turns each
transfer message into an event, steps the machines, sends replies, arms timers and feeds back
what answers an action): its player actions run under the receiver's lock
(devices/_transfer_target.py, devices/_transfer_source.py), and the output's edges answer
them. The device's ledger (the
transfers' phases) is saved with its session (`changed_ledger`, devices/_transfer_saving.py).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from connect.session import ControllerLink
from connect.transfer import async_ask_transfer_phase
from connect.transfer import source as s
from connect.transfer import target as t
from connect.transfer.device import Action, DeviceTransfers
from connect.transfer.driver import TransferDriver
from connect.transfer.ledger import MAX_PHASES, Ledger, LedgerRecord
from connect.wire import messages as m
from devices import _transfer_source, _transfer_target
from devices._transfer_host import EDGE_TIMEOUT_S, OutputEdges, TransferHost
from devices._transfer_source import HOLD_S, LATE_COMMIT_US, AskTarget
from devices.player_types import OutputStarted, OutputStopped, PlayerEvent

# Callers import these from here. The timing figures are read where they are used: a test that
# shortens the hold patches devices._transfer_source.HOLD_S.
START_LEAD_US = t.START_LEAD_US
REPLY_MARGIN_US = t.REPLY_MARGIN_US
STALE_US = t.STALE_US

__all__ = [
    "EDGE_TIMEOUT_S",
    "HOLD_S",
    "LATE_COMMIT_US",
    "MAX_PHASES",
    "REPLY_MARGIN_US",
    "STALE_US",
    "START_LEAD_US",
    "AskTarget",
    "TransferHost",
    "TransferSide",
]


class TransferSide(TransferDriver):
    """Handles transfer messages for one receiver."""

    def __init__(self, host: TransferHost, ask: AskTarget = async_ask_transfer_phase) -> None:
        super().__init__(host, ask)
        self._host = host
        self._edges = OutputEdges()
        self._machine = DeviceTransfers(
            host.codecs,
            hold_us=round(_transfer_source.HOLD_S * 1e6),
            late_commit_us=_transfer_source.LATE_COMMIT_US,
        )

    @property
    def machine(self) -> DeviceTransfers:
        """Return the machines this receiver steps."""
        return self._machine

    # -------------------------------------------------------------------------- the receiver's

    def on_player_event(self, event: PlayerEvent) -> None:
        """Feed player events in; output edges become the instants reported in Done."""
        if isinstance(event, OutputStarted | OutputStopped):
            self._edges.put(event)

    def take_player(self) -> bool:
        """A command takes the player: return True if prepared media must be stopped first."""
        return self._machine.forget_prepared()

    def restore(self, ledger: Ledger) -> None:
        """Continue from the ledger saved before a restart (before any transfer message)."""
        self._machine = DeviceTransfers(
            self._host.codecs,
            ledger=ledger,
            hold_us=self._machine.source.hold_us,
            late_commit_us=self._machine.source.late_commit_us,
        )

    def changed_ledger(self) -> LedgerRecord | None:
        """Return the ledger's record if it changed since the last call (to save it)."""
        ledger = self._machine.ledger
        if not ledger.changed:
            return None
        ledger.changed = False
        return ledger.to_record()

    # -------------------------------------------------------------------------- the player

    def _offer(self, body: m.TransferOffer, link: ControllerLink, own: m.PlaybackState) -> t.Offer:
        # The player starts its output that long before the switch: the machine plans for it.
        return t.Offer(body, link, own, output_delay_us=self._host.player.output_delay_us)

    async def _carry_out(self, action: Action) -> Awaitable[Any] | None:
        if isinstance(action, s.Publish | s.FadeOutAt | s.Release | s.RollBack):
            return await _transfer_source.async_carry_out(self._host, self._edges, action)
        assert isinstance(
            action, t.Load | t.Seek | t.StartAt | t.TakeSession | t.HandBack | t.StopPlayer
        )
        return await _transfer_target.async_carry_out(self._host, self._edges, action)
