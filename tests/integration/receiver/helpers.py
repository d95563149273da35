"""Scenario helpers shared by the receiver tests, on loopback and across namespaces."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from connect.clock import monotonic_us
from connect.controller import Controller
from connect.session import ConnectionEvent, DeviceConnection, StateChanged
from connect.wire import messages as m
from devices.persistence import SessionStore

EVENT_TIMEOUT_S = 15.0


def identity(n: int) -> m.ClientIdentity:
    return m.ClientIdentity(f"test-ctl-{n}", f"Test controller {n}")


class Events:
    """Collects a controller's session events; waits for one matching a condition."""

    def __init__(self, controller: Controller) -> None:
        self.seen: list[ConnectionEvent] = []
        self._changed = asyncio.Condition()
        controller.subscribe(self._add)

    def _add(self, event: ConnectionEvent) -> None:
        self.seen.append(event)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(
        self, match: Callable[[ConnectionEvent], bool], timeout: float = EVENT_TIMEOUT_S
    ) -> ConnectionEvent:
        async with asyncio.timeout(timeout), self._changed:
            while True:
                for event in self.seen:
                    if match(event):
                        self.seen.remove(event)
                        return event
                await self._changed.wait()


def state_is(status: m.PlaybackStatus, reason: m.StateChangeReason | None = None):
    def match(event: ConnectionEvent) -> bool:
        return (
            isinstance(event, StateChanged)
            and event.snapshot.state.status is status
            and (reason is None or event.snapshot.reason is reason)
        )

    return match


async def play(controller: Controller, device_id: str, url: str) -> m.CommandResult:
    item = m.QueueItem("item-1", url, title="test")
    return await controller.async_command(device_id, m.SetQueue((item,), play=True))


async def until_position(conn: DeviceConnection, position_ms: int) -> None:
    """Wait (bounded) until the device's extrapolated position passes *position_ms*."""
    state = conn.state
    assert state is not None
    assert state.clock.playing
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        while True:
            await conn.async_sync_clock(samples=1)
            assert conn.clock is not None
            assert conn.state is not None
            now = conn.clock.to_device(monotonic_us())
            remaining = position_ms - conn.state.clock.position_at(now)
            if remaining <= 0:
                return
            await asyncio.sleep(remaining / 1000)  # the music's own pace; re-checked above


async def until_saved(state_dir: Path, holds: Callable[[m.PlaybackState], bool]) -> None:
    """Wait (bounded) until the receiver's saved session satisfies *holds*."""
    store = SessionStore(state_dir)
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        while (saved := store.load_session()) is None or not holds(saved):  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # another process writes it: no event to wait on
