"""What the impaired benchmark measures, from the controller's side of the impaired link.

Each step runs in namespace `b` (bench/_impaired_net.py) on the controller's event loop:
* `discover`: a fresh Controller starts browsing; time until both receivers are listed.
* `echoes`: SetVolume on an open-loop schedule; command sent → its echo (the StateSnapshot
  carrying its command id) and → its result, on one `perf_counter` clock.
* `transfers`: handoffs back and forth; after each, the devices' own states must show exactly
  one player (a failed transfer must leave the music where it was). The audio is judged later.
* `reconnects`: the proxy resets every connection (RST both ways, as when a phone roams); time
  until the session is back with the device's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench._impaired_net import Proxy
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.discovery import DeviceEntry
from connect.session import Connected, ConnectionEvent, DeviceConnection, StateChanged
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.faults.outages import Timeline

STEP_TIMEOUT_S = 30.0  # generous: a 2 s stall plus retries fit many times over
FADE_MS = 30
SETTLE_S = 0.8  # play between transfers: the 400 ms steady stretches the analysis reads


@dataclass(frozen=True)
class Transfer:
    """One transfer as the controller ran it (instants in monotonic µs)."""

    source: int  # receiver index
    target: int
    requested_us: int
    returned_us: int
    ok: bool
    failure: str
    one_player: bool  # the states settled to exactly one PLAYING, where they should
    met_stall: bool  # the link stalled at some point of it


@dataclass
class Echoes:
    """Command → echo and → result, ms; failures in words."""

    echo_ms: list[float] = field(default_factory=list)
    result_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def listed(device_id: str) -> Callable[[DeviceEntry], bool]:
    """Return a registry predicate: *device_id* is listed."""
    return lambda entry: entry.id == device_id and entry.listed


async def discover(identity: m.ClientIdentity, ids: Sequence[str]) -> float:
    """Start a browsing controller; return ms until every id in *ids* is listed."""
    controller = Controller(identity, interfaces=["lo"])
    started = time.perf_counter()
    await controller.async_start()
    try:
        for device_id in ids:
            await controller.registry.async_wait_for(listed(device_id), STEP_TIMEOUT_S)
        return (time.perf_counter() - started) * 1000
    finally:
        await controller.async_close()


async def echoes(conn: DeviceConnection, seconds: float, period_s: float) -> Echoes:
    """Send SetVolume every *period_s* for *seconds* (open loop); measure each one's echo."""
    out = Echoes()
    seen: dict[str, float] = {}
    arrived = asyncio.Event()

    def on_event(event: ConnectionEvent) -> None:
        if isinstance(event, StateChanged):
            seen.setdefault(event.snapshot.state.last_command_id, time.perf_counter())
            arrived.set()

    async def one(volume: int) -> None:
        sent = time.perf_counter()
        try:
            result = await conn.async_command(m.SetVolume(volume), timeout=STEP_TIMEOUT_S)
        except Exception as exc:  # counted: an impaired link may lose a session mid-command
            out.failures.append(f"{type(exc).__name__}: {exc}")
            return
        out.result_ms.append((time.perf_counter() - sent) * 1000)
        if result.failure is not None:
            out.failures.append(str(result.failure))
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STEP_TIMEOUT_S):
                while result.command_id not in seen:
                    arrived.clear()
                    await arrived.wait()
        if result.command_id in seen:
            out.echo_ms.append((seen[result.command_id] - sent) * 1000)
        else:
            out.failures.append(f"no echo of {result.command_id}")

    unsubscribe = conn.subscribe(on_event)
    rng = random.Random(3)
    tasks = []
    try:
        start = time.monotonic()
        for k in range(round(seconds / period_s)):
            await asyncio.sleep(max(0.0, start + k * period_s - time.monotonic()))  # the schedule
            tasks.append(asyncio.ensure_future(one(rng.randrange(30, 101))))
        await asyncio.gather(*tasks)
    finally:
        unsubscribe()
    return out


async def transfers(
    controller: Controller, ids: Sequence[str], count: int, proxy: Proxy
) -> list[Transfer]:
    """Run *count* handoffs, always from whoever plays to the other; check one player each."""
    coordinator = TransferCoordinator(controller)
    options = m.TransferOptions(mode=m.TransferMode.HANDOFF, fade_ms=FADE_MS)
    player = 0
    out = []
    for _ in range(count):
        source, target = player, 1 - player
        requested = monotonic_us()
        outcome = await coordinator.async_transfer(ids[source], ids[target], options)
        returned = monotonic_us()
        ok = outcome.failure is None
        if ok:
            player = target
        one = await _settled(controller, ids, player)
        out.append(
            Transfer(
                source, target, requested, returned, ok,
                "" if ok else str(outcome.failure), one,
                proxy.in_stall(requested / 1e6, returned / 1e6),
            )
        )  # fmt: skip
        await asyncio.sleep(SETTLE_S)  # steady play for the analysis, not a wait for an event
    return out


async def _settled(controller: Controller, ids: Sequence[str], player: int) -> bool:
    """Return whether, within STEP_TIMEOUT_S, only ids[player] is PLAYING."""

    def exactly() -> bool:
        states = [controller.connection(d).state for d in ids]
        playing = [s is not None and s.status is m.PlaybackStatus.PLAYING for s in states]
        return playing == [i == player for i in range(len(ids))]

    changed = asyncio.Event()
    unsubscribe = controller.subscribe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            while not exactly():
                changed.clear()
                await changed.wait()
        return True
    except TimeoutError:
        return False
    finally:
        unsubscribe()


async def reconnects(
    controller: Controller, device_id: str, proxy: Proxy, count: int
) -> list[float]:
    """Reset every connection *count* times; return ms until the session is back with state."""
    timeline = Timeline(controller)
    out = []
    for _ in range(count):
        conn = controller.connection(device_id)
        if not conn.connected:
            await controller.async_connect(device_id, timeout=STEP_TIMEOUT_S)
        cut = monotonic_us()
        await proxy.reset()
        back, _ = await timeline.first(
            lambda e: isinstance(e, Connected) and e.device_id == device_id, cut, STEP_TIMEOUT_S
        )
        state_at, _ = await timeline.first(
            lambda e: isinstance(e, StateChanged) and e.device_id == device_id, back, STEP_TIMEOUT_S
        )
        out.append((state_at - cut) / 1000)
        await asyncio.sleep(1.0)  # room between resets, so each starts from a settled session
    return out
