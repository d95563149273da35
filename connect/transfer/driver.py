"""The device side's driver of the transfer machines: what a receiver and a bridge share.

`TransferDriver` turns each transfer message from a controller into an event, steps the pure
machines (device.py routes to target.py and source.py), and carries the actions out: replies go
to the link, timers become loop timers, a source without a verdict asks its target, and a
closed link is fed back in. What the device itself does (load, start, fade, publish) is its
subclass's `_carry_out`, run under the device's lock from the batch's first such action on;
what answers an action is fed back as the next event. It owns every task and timer it starts
(`async_close`). A receiver (devices/transfer.py) and a bridged device (bridges/_transfer.py)
differ only in their devices.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, Protocol

from connect.clock import Clock
from connect.errors import ConnectError
from connect.session import ControllerLink
from connect.transfer import source as s
from connect.transfer import target as t
from connect.transfer._status import async_ask_transfer_phase
from connect.transfer.device import Action, DeviceTransfers, Event
from connect.transfer.roles import ArmTimer, CancelTimer, LinkClosed, Log, Reply, TimerKey
from connect.wire import messages as m

__all__ = ["DEVICE_ACTIONS", "AskTarget", "DriverHost", "TransferDriver"]

_LOG = logging.getLogger(__name__)

DEVICE_ACTIONS = (
    t.Load, t.Seek, t.StartAt, t.TakeSession, t.HandBack, t.StopPlayer,
    s.Publish, s.FadeOutAt, s.Release, s.RollBack,
)  # fmt: skip
"""The actions a device carries out itself, under its lock."""

AskTarget = Callable[[str, str, str], Awaitable[m.TransferPhase]]
"""How a source asks its target how far a transfer got: (device id, base URL, transfer id)."""


class DriverHost(Protocol):
    """What the driver needs of its device: its clock, its lock, its state."""

    clock: Clock
    lock: asyncio.Lock

    @property
    def state(self) -> m.PlaybackState: ...


class TransferDriver(abc.ABC):
    """Carries out the transfer machines' actions for one device; subclasses do its part."""

    def __init__(self, device: DriverHost, ask: AskTarget = async_ask_transfer_phase) -> None:
        self._device = device
        self._ask = ask
        self._timers: dict[TimerKey, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._watched: set[int] = set()  # ids of the links whose closing we wait for

    # -------------------------------------------------------------------------- the device's

    @property
    @abc.abstractmethod
    def machine(self) -> DeviceTransfers:
        """Return the machines this driver steps."""

    def _offer(self, body: m.TransferOffer, link: ControllerLink, own: m.PlaybackState) -> t.Offer:
        """Return the event an offer makes (a device with an output delay says it)."""
        return t.Offer(body, link, own)

    @abc.abstractmethod
    async def _carry_out(self, action: Action) -> Awaitable[Any] | None:
        """Do one of DEVICE_ACTIONS on the device; return what will answer it, if anything."""

    # -------------------------------------------------------------------------- public

    async def async_handle(self, body: m.Body, link: ControllerLink) -> None:
        """Handle one transfer message from a controller, up to its last answer."""
        own = self._device.state
        event: Event
        if isinstance(body, m.TransferOffer):
            event = self._offer(body, link, own)
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
        phase, actions = self.machine.ask(transfer_id)
        if actions:
            self._spawn(self._run(actions))
        return phase

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
        await self._run(self.machine.step(event, self._device.clock()))

    async def _run(self, actions: list[Action]) -> None:
        """Carry out one batch in order, under the lock from its first device action on; then
        wait for what answers it and feed that in."""
        answers: list[Awaitable[Any]] = []
        async with contextlib.AsyncExitStack() as stack:
            locked = False
            for action in actions:
                if isinstance(action, DEVICE_ACTIONS) and not locked:
                    await stack.enter_async_context(self._device.lock)
                    locked = True
                answer = await self._do(action)
                if answer is not None:
                    answers.append(answer)
        for answer in answers:
            await self._feed(await answer)

    async def _do(self, action: Action) -> Awaitable[Any] | None:
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
        else:
            return await self._carry_out(action)
        return None

    def _arm(self, action: ArmTimer) -> None:
        old = self._timers.pop(action.key, None)
        if old is not None:
            old.cancel()
        what, tid = action.key
        event: Event = s.HoldExpired(tid) if what == "hold" else t.PrepareExpired()
        delay_s = max(0.0, (action.at_us - self._device.clock()) / 1e6)

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
