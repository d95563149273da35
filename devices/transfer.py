"""The receiver's side of a playback transfer: an adapter between its controllers' links, its
player and the pure transfer machines of connect/transfer/ (device.py routes to target.py and
source.py; the rules are theirs, with their docstrings).

`TransferSide` turns each transfer message into an event, steps the machines, and carries the
actions out: replies go to the link, player actions run under the receiver's lock
(devices/_transfer_target.py, devices/_transfer_source.py), timers become loop timers, and what
answers an action (the load's end, the output's edges, the target's phase) is fed back as the
next event. It owns every task and timer it starts (`async_close`). The device's ledger (the
transfers' phases) is saved with its session (`changed_ledger`, devices/_transfer_saving.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine, Hashable
from typing import Any

from connect.errors import ConnectError
from connect.session import ControllerLink
from connect.transfer import async_ask_transfer_phase
from connect.transfer import source as s
from connect.transfer import target as t
from connect.transfer.device import Action, DeviceTransfers, Event
from connect.transfer.ledger import MAX_PHASES, Ledger, LedgerRecord
from connect.transfer.roles import (
    ArmTimer,
    CancelTimer,
    LinkClosed,
    Log,
    Reply,
    TimerKey,
)
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

_LOG = logging.getLogger(__name__)

_LOCKED = (
    t.Load, t.Seek, t.StartAt, t.TakeSession, t.HandBack, t.StopPlayer,
    s.Publish, s.FadeOutAt, s.Release, s.RollBack,
)  # fmt: skip


class TransferSide:
    """Handles transfer messages for one receiver."""

    def __init__(self, host: TransferHost, ask: AskTarget = async_ask_transfer_phase) -> None:
        self._host = host
        self._ask = ask
        self._edges = OutputEdges()
        self._machine = DeviceTransfers(
            host.codecs,
            hold_us=round(_transfer_source.HOLD_S * 1e6),
            late_commit_us=_transfer_source.LATE_COMMIT_US,
        )
        self._timers: dict[TimerKey, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._watched: set[int] = set()  # ids of the links whose closing we wait for

    # -------------------------------------------------------------------------- the receiver's

    def on_player_event(self, event: PlayerEvent) -> None:
        """Feed player events in; output edges become the instants reported in Done."""
        if isinstance(event, OutputStarted | OutputStopped):
            self._edges.put(event)

    async def async_handle(self, body: m.Body, link: ControllerLink) -> None:
        """Handle one transfer message from a controller, up to its last answer."""
        own = self._host.state
        event: Event
        if isinstance(body, m.TransferOffer):
            # The player starts its output that long before the switch: the machine plans for it.
            event = t.Offer(body, link, own, output_delay_us=self._host.player.output_delay_us)
        elif isinstance(body, m.TransferCommit):
            event = t.Commit(body, link, own)
        elif isinstance(body, m.TransferAborted):
            event = t.Abort(body, own)
        elif isinstance(body, m.TransferDone):
            event = s.Verdict(body.transfer_id)
        else:
            return
        self._watch(link)
        await self._feed(event)

    def phase(self, transfer_id: str) -> m.TransferPhase:
        """Return how far *transfer_id* got here as a target; asked about a pre-roll, drop it."""
        phase, actions = self._machine.ask(transfer_id)
        if actions:
            self._spawn(self._run(actions))
        return phase

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

    async def async_close(self) -> None:
        """Cancel every timer and task (idempotent)."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -------------------------------------------------------------------------- machinery

    async def _feed(self, event: Event) -> None:
        """Step the machines with *event* and carry out what they say, answers included."""
        await self._run(self._machine.step(event, self._host.clock()))

    async def _run(self, actions: list[Action]) -> None:
        """Carry out one batch in order, under the lock from its first player action on; then
        wait for what answers it and feed that in."""
        answers: list[Awaitable[Any]] = []
        async with contextlib.AsyncExitStack() as stack:
            locked = False
            for action in actions:
                if isinstance(action, _LOCKED) and not locked:
                    await stack.enter_async_context(self._host.lock)
                    locked = True
                answer = await self._do(action)
                if answer is not None:
                    answers.append(answer)
        for answer in answers:
            await self._feed(await answer)

    async def _do(self, action: Action) -> Awaitable[Any] | None:
        host, edges = self._host, self._edges
        if isinstance(action, Reply):
            assert isinstance(action.link, ControllerLink)
            action.link.send(action.body)
        elif isinstance(action, Log):
            _LOG.log(logging.WARNING if action.level == "warning" else logging.INFO, action.message)
        elif isinstance(action, ArmTimer):
            self._arm(action)
        elif isinstance(action, CancelTimer):
            handle = self._timers.pop(action.key, None)
            if handle is not None:
                handle.cancel()
        elif isinstance(action, s.AskTarget):
            self._spawn(self._ask_target(action))
        elif isinstance(action, s.Publish | s.FadeOutAt | s.Release | s.RollBack):
            return await _transfer_source.async_carry_out(host, edges, action)
        else:
            return await _transfer_target.async_carry_out(host, edges, action)
        return None

    def _arm(self, action: ArmTimer) -> None:
        old = self._timers.pop(action.key, None)
        if old is not None:
            old.cancel()
        what, tid = action.key
        event: Event = s.HoldExpired(tid) if what == "hold" else t.PrepareExpired()
        delay_s = max(0.0, (action.at_us - self._host.clock()) / 1e6)

        def fire() -> None:
            self._timers.pop(action.key, None)
            self._spawn(self._feed(event))

        self._timers[action.key] = asyncio.get_running_loop().call_later(delay_s, fire)

    async def _ask_target(self, action: s.AskTarget) -> None:
        try:
            phase = await self._ask(action.target_device_id, action.target_url, action.transfer_id)
        except (ConnectError, OSError, ValueError) as exc:
            await self._feed(s.PhaseAnswer(action.transfer_id, None, str(exc)))
            return
        await self._feed(s.PhaseAnswer(action.transfer_id, phase))

    def _watch(self, link: Hashable) -> None:
        """Feed LinkClosed once *link* closes (a source then asks, a target drops its pre-roll)."""
        if id(link) in self._watched or not isinstance(link, ControllerLink):
            return
        self._watched.add(id(link))

        async def watch(link: ControllerLink) -> None:
            try:
                await link.closed.wait()
            finally:
                self._watched.discard(id(link))
            await self._feed(LinkClosed(link))

        self._spawn(watch(link))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOG.error("transfer task failed", exc_info=task.exception())
