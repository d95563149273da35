"""A bridged device's side of a transfer: connect/transfer's pure machines, carried out on a
device that cannot start at an instant.

The same machines and the same driver as a receiver's (connect/transfer/driver.py); only the
device's part is the bridge's own, since a receiver's (devices/transfer.py) drives a libVLC
player, which bridges may not import. Its controller runs it stop-first (the device
says `no_timed_start`): as a source it pauses the device at once and reports where it stopped;
as a target it queues the media silent at the offered position (its "pre-roll"), starts it on
the commit, and reports as its start the instant the device's own position says it began.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any, Protocol

from bridges.errors import PlayerError
from bridges.player import BridgedPlayer, PlayerStatus
from connect.clock import Clock
from connect.session import ControllerLink
from connect.transfer import source as s
from connect.transfer import target as t
from connect.transfer.device import Action, DeviceTransfers
from connect.transfer.driver import TransferDriver
from connect.wire import messages as m

__all__ = ["EDGE_SETTLE_S", "BridgeTransfers", "TransferHost"]

_LOG = logging.getLogger(__name__)

EDGE_SETTLE_S = 0.25
"""After starting the device, how long before its position is read back to date the start: the
device reports the commanded position at once, and its count moves only once audio flows."""


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


class BridgeTransfers(TransferDriver):
    """Handles transfer messages for one bridged device."""

    def __init__(self, host: TransferHost) -> None:
        super().__init__(host)
        self._host = host
        self._machine: DeviceTransfers | None = None
        self._offered: m.QueueItem | None = None  # the last offer's item: its title, artist

    @property
    def machine(self) -> DeviceTransfers:
        """Return the machines (made on first use: the device's codecs are known by then)."""
        if self._machine is None:
            self._machine = DeviceTransfers(self._host.codecs)
        return self._machine

    async def async_handle(self, body: m.Body, link: ControllerLink) -> None:
        """Handle one transfer message (an offer's item is kept: a Load names only its URL,
        and a device that shows what it plays is told its title and artist too)."""
        if isinstance(body, m.TransferOffer):
            self._offered = body.state.current_item
        await super().async_handle(body, link)

    async def _carry_out(self, action: Action) -> Awaitable[Any] | None:
        if isinstance(action, s.Publish | s.FadeOutAt | s.Release | s.RollBack):
            return await self._as_source(action)
        assert isinstance(
            action, t.Load | t.Seek | t.StartAt | t.TakeSession | t.HandBack | t.StopPlayer
        )
        return await self._as_target(action)

    # -------------------------------------------------------------------------- the roles

    async def _as_target(
        self, action: t.Load | t.Seek | t.StartAt | t.TakeSession | t.HandBack | t.StopPlayer
    ) -> Awaitable[t.TargetEvent] | None:
        player = self._host.player
        if isinstance(action, t.Load | t.Seek):
            failure = None
            try:
                if isinstance(action, t.Load):
                    item = self._offered
                    item = item if item is not None and item.url == action.url else None
                    await player.async_load(
                        action.url, action.position_ms, play=False,
                        title=item.title if item else "", artist=item.artist if item else "",
                        content_type=item.content_type if item else "",
                    )  # fmt: skip
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


async def _until(clock: Clock, at_us: int) -> None:
    """Wait until the clock reaches *at_us* (a scheduled instant: the switch)."""
    delay_s = (at_us - clock()) / 1e6
    if delay_s > 0:
        await asyncio.sleep(delay_s)


async def _now(event: Any) -> Any:
    return event
