"""A bridged device's side of a transfer: connect/transfer's pure machines, carried out on a
device that cannot start at an instant.

The same machines as a receiver's (connect/transfer/device.py routes to target.py and
source.py); this adapter is the bridge's own because a receiver's (devices/transfer.py) drives
a libVLC player, which bridges may not import. Its controller runs it stop-first (the device
says `no_timed_start`): as a source it pauses the device at once and reports where it stopped;
as a target it queues the media silent at the offered position (its "pre-roll"), starts it on
the commit, and reports as its start the instant the device's own position says it began.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine, Hashable
from dataclasses import replace
from typing import Any, Protocol

from bridges.errors import PlayerError
from bridges.player import BridgedPlayer, PlayerStatus
from connect.clock import Clock
from connect.errors import ConnectError
from connect.session import ControllerLink
from connect.transfer import async_ask_transfer_phase
from connect.transfer import source as s
from connect.transfer import target as t
from connect.transfer.device import Action, DeviceTransfers, Event
from connect.transfer.roles import ArmTimer, CancelTimer, LinkClosed, Log, Reply, TimerKey
from connect.wire import messages as m

__all__ = ["EDGE_SETTLE_S", "BridgeTransfers", "TransferHost"]

_LOG = logging.getLogger(__name__)

EDGE_SETTLE_S = 0.25
"""After starting the device, how long before its position is read back to date the start: the
device reports the commanded position at once, and its count moves only once audio flows."""

_LOCKED = (
    t.Load, t.Seek, t.StartAt, t.TakeSession, t.HandBack, t.StopPlayer,
    s.Publish, s.FadeOutAt, s.Release, s.RollBack,
)  # fmt: skip


class TransferHost(Protocol):
    """What the transfer logic needs from its bridged device."""

    clock: Clock
    lock: asyncio.Lock
    player: BridgedPlayer

    @property
    def state(self) -> m.PlaybackState: ...

    @property
    def codecs(self) -> tuple[str, ...]: ...

    def publish_state(self, state: m.PlaybackState, reason: m.StateChangeReason) -> None: ...


class BridgeTransfers:
    """Handles transfer messages for one bridged device."""

    def __init__(self, host: TransferHost) -> None:
        self._host = host
        self._machine: DeviceTransfers | None = None
        self._timers: dict[TimerKey, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._watched: set[int] = set()

    @property
    def machine(self) -> DeviceTransfers:
        """Return the machines (made on first use: the device's codecs are known by then)."""
        if self._machine is None:
            self._machine = DeviceTransfers(self._host.codecs)
        return self._machine

    async def async_handle(self, body: m.Body, link: ControllerLink) -> None:
        """Handle one transfer message from a controller, up to its last answer."""
        own = self._host.state
        event: Event
        if isinstance(body, m.TransferOffer):
            event = t.Offer(body, link, own)
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
        await self._run(self.machine.step(event, self._host.clock()))

    async def _run(self, actions: list[Action]) -> None:
        """Carry out one batch in order, under the lock from its first device action on; then
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
            return await self._as_source(action)
        else:
            return await self._as_target(action)
        return None

    # -------------------------------------------------------------------------- the roles

    async def _as_target(
        self, action: t.Load | t.Seek | t.StartAt | t.TakeSession | t.HandBack | t.StopPlayer
    ) -> Awaitable[t.TargetEvent] | None:
        player = self._host.player
        if isinstance(action, t.Load | t.Seek):
            failure = None
            try:
                if isinstance(action, t.Load):
                    await player.async_load(action.url, action.position_ms, play=False)
                else:
                    await player.async_seek(action.position_ms)
            except PlayerError as exc:
                failure = exc.failure
            return _now(t.LoadDone(action.transfer_id, failure))
        if isinstance(action, t.StartAt):
            return await self._start(action)
        if isinstance(action, t.TakeSession):
            self._publish(action.state)
            return None
        with contextlib.suppress(PlayerError):
            await player.async_stop()
        if isinstance(action, t.HandBack):
            self._publish(action.state)
        return None

    async def _start(self, action: t.StartAt) -> Awaitable[t.TargetEvent] | None:
        player = self._host.player
        try:
            if action.seek:
                await player.async_seek(action.position_ms)
            await self._set_volume(action.volume)
            if action.paused:
                return None
            await _until(self._host.clock, action.at_us)
            started = await player.async_resume()
        except PlayerError as exc:
            _LOG.warning("transfer %s: the device did not start: %s", action.transfer_id, exc)
            return None  # no Done: the controller's deadline rolls the source back
        return self._started_edge(action, started)

    async def _started_edge(self, action: t.StartAt, started: PlayerStatus) -> t.TargetEvent:
        """Date the start from the device's own count: read back once audio flows."""
        await asyncio.sleep(EDGE_SETTLE_S)  # a measurement's wait, not a wait for a state
        try:
            later = await self._host.player.async_status()
        except PlayerError:
            later = started
        # Where it really started: a device may land off the position asked (a renderer
        # seeks to whole seconds), and Done says so, for the outcome's position error.
        start = started.position_ms if started.url else action.position_ms
        heard_from = later.as_of_us - (later.position_ms - start) * 1000
        at_us = max(started.as_of_us, heard_from) if later.playing else started.as_of_us
        return t.OutputEdge(action.transfer_id, at_us, start)

    async def _as_source(
        self, action: s.Publish | s.FadeOutAt | s.Release | s.RollBack
    ) -> Awaitable[s.SourceEvent] | None:
        player, host = self._host.player, self._host
        if isinstance(action, s.Publish):
            self._publish(action.state)
        elif isinstance(action, s.FadeOutAt):
            # No fade: the device pauses at the instant, and says where it stopped.
            await _until(host.clock, action.at_us)
            try:
                stopped = await player.async_pause()
            except PlayerError as exc:
                _LOG.warning("transfer %s: the device did not pause: %s", action.transfer_id, exc)
                return _now(s.FadedOut(action.transfer_id, action.edge_at_us, action.position_ms))
            position = stopped.position_ms if stopped.url else action.position_ms
            return _now(s.FadedOut(action.transfer_id, stopped.as_of_us, position))
        elif isinstance(action, s.Release):
            with contextlib.suppress(PlayerError):
                if action.stop:
                    await player.async_stop()
                    self._publish(s.released_state(host.state))
                await self._set_volume(action.volume)
        else:
            playing = None
            with contextlib.suppress(PlayerError):
                await self._set_volume(action.volume)
                if action.play:
                    resumed = await player.async_resume()
                    playing = resumed.position_ms, resumed.as_of_us
            self._publish(s.rolled_back_state(host.state, playing, action.revision, action.epoch))
        return None

    async def _set_volume(self, volume: int) -> None:
        if self._host.player.describe().volume_settable:
            await self._host.player.async_set_volume(volume)

    def _publish(self, state: m.PlaybackState) -> None:
        """Adopt *state*, its revision kept above the current one (a command may have come)."""
        revision = max(state.revision, self._host.state.revision + 1)
        self._host.publish_state(replace(state, revision=revision), m.StateChangeReason.TRANSFER)

    # -------------------------------------------------------------------------- timers, tasks

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
            phase = await async_ask_transfer_phase(
                action.target_device_id, action.target_url, action.transfer_id
            )
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


async def _until(clock: Clock, at_us: int) -> None:
    """Wait until the clock reaches *at_us* (a scheduled instant: the switch)."""
    delay_s = (at_us - clock()) / 1e6
    if delay_s > 0:
        await asyncio.sleep(delay_s)


async def _now(event: Any) -> Any:
    return event
