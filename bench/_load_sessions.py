"""Session load for bench/load.py: many controllers on one receiver, one controller on many.

How commands are scheduled and what counts as lost is in bench/_load_links.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import aiohttp

from bench._load_links import (
    COMMAND_TIMEOUT_S,
    CpuMeter,
    LinkWatch,
    LoadResult,
    fetch_revision,
    identity,
    run_schedule,
    settle,
)
from bench._load_receivers import HostedReceiver, receiver_hosts
from connect.controller import Controller
from connect.discovery import DeviceEvent, DeviceRemoved
from connect.session import DeviceConnection, Endpoint
from connect.wire import messages as m
from tests.audio import write_tone
from tests.media_server import MediaServer

CONNECT_TIMEOUT_S = 30.0
LISTED_TIMEOUT_S = 60.0
TRACK_MS = 120_000  # longer than any run, so the track never ends under the load


# ------------------------------------------------------------------------------ scenario 1


def controller_mix(rng: random.Random, k: int) -> m.Action:
    """Return command *k* of a controller: volume, seek, volume, pause, volume, resume, ..."""
    step = k % 6
    if step == 1:
        return m.Seek(rng.randrange(0, TRACK_MS // 2))
    if step == 3:
        return m.Pause()
    if step == 5:
        return m.Resume()
    return m.SetVolume(rng.randrange(0, 101))


async def many_controllers(
    controllers: int, rate_hz: float, duration_s: float, workdir: Path
) -> LoadResult:
    """Scenario 1: *controllers* sessions, each with its own aiohttp session, on one receiver.

    The receiver plays a long WAV served by this process; each controller sends *rate_hz*
    commands a second (the mix above), staggered so the load is even, for *duration_s*.
    """
    (workdir / "media").mkdir()
    write_tone(workdir / "media" / "tone.wav", 440.0, TRACK_MS, amplitude=0.2)
    async with (
        MediaServer(workdir / "media") as media,
        receiver_hosts(1, 1, workdir, advertise=False) as (receiver,),
        contextlib.AsyncExitStack() as stack,
    ):
        https = [
            await stack.enter_async_context(aiohttp.ClientSession()) for _ in range(controllers)
        ]
        conns = await _connect_direct(receiver, https, stack)
        item = m.QueueItem("tone", media.url("tone.wav"), "Tone", duration_ms=TRACK_MS)
        started = await conns[0].async_command(
            m.SetQueue((item,), play=True), timeout=COMMAND_TIMEOUT_S
        )
        if started.failure is not None:
            raise RuntimeError(f"the receiver cannot play the test track: {started.failure}")
        watch = LinkWatch([(receiver.device_id, c) for c in conns])
        stack.callback(watch.close)
        revision = partial(_revision_of, https[0], {receiver.device_id: receiver.port})
        await settle(watch, revision)
        marks = watch.mark()
        rngs = [random.Random(i) for i in range(controllers)]
        per_controller = max(1, round(rate_hz * duration_s))

        def sender(k: int) -> tuple[DeviceConnection, str, m.Action]:
            index, nth = k % controllers, k // controllers
            # Each controller starts at its own place in the mix, so all kinds interleave.
            return conns[index], receiver.device_id, controller_mix(rngs[index], nth + index)

        cpu = CpuMeter([receiver.pid])
        result = await run_schedule(
            sender,
            per_controller * controllers,
            1 / (rate_hz * controllers),
            watch,
            lambda _: controllers,
        )
        cpu.note(result)
        finals = await settle(watch, revision)
        result.lost, notes = watch.lost_since(marks, finals)
        result.errors += notes + watch.disconnects
        result.extra |= {"controllers": controllers, "final_revision": finals[receiver.device_id]}
        return result


async def _connect_direct(
    receiver: HostedReceiver,
    https: Sequence[aiohttp.ClientSession],
    stack: contextlib.AsyncExitStack,
) -> list[DeviceConnection]:
    endpoint = Endpoint("127.0.0.1", receiver.port)

    async def resolve() -> Endpoint:
        return endpoint

    conns = [
        DeviceConnection(receiver.device_id, resolve, identity(i), http)
        for i, http in enumerate(https)
    ]
    for conn in conns:
        stack.push_async_callback(conn.async_close)
        conn.async_start()
    await asyncio.gather(*(c.async_wait_connected(CONNECT_TIMEOUT_S) for c in conns))
    return conns


async def _revision_of(http: aiohttp.ClientSession, ports: dict[str, int], device: str) -> int:
    return await fetch_revision(http, ports[device])


# ------------------------------------------------------------------------------ scenario 2


async def many_receivers(
    receivers: int,
    per_process: int,
    rate_hz: float,
    duration_s: float,
    workdir: Path,
    *,
    mdns: bool = True,
) -> LoadResult:
    """Scenario 2: one Controller finds *receivers* over mDNS, connects to all, then sends
    `SetVolume` to each in turn, *rate_hz* commands a second in all, for *duration_s*.

    Without *mdns* nobody advertises or browses and the sessions are opened straight to each
    receiver's port: the same load without mDNS, to show what mDNS costs under it.
    """
    async with (
        receiver_hosts(receivers, per_process, workdir, advertise=mdns) as hosted,
        aiohttp.ClientSession() as http,
        contextlib.AsyncExitStack() as stack,
    ):
        ports = {r.device_id: r.port for r in hosted}
        ids = sorted(ports)
        result = LoadResult()
        if mdns:
            conns = await _connect_by_mdns(ids, stack, result)
        else:
            conns = await _connect_by_address(hosted, ids, http, stack, result)
        watch = LinkWatch(list(zip(ids, conns, strict=True)))
        stack.callback(watch.close)
        revision = partial(_revision_of, http, ports)
        await settle(watch, revision)
        marks = watch.mark()

        def sender(k: int) -> tuple[DeviceConnection, str, m.Action]:
            index = k % receivers
            volume = 30 + (k // receivers) % 2 * 40  # alternating: each command changes the state
            return conns[index], ids[index], m.SetVolume(volume)

        count = max(receivers, round(rate_hz * duration_s))
        cpu = CpuMeter([r.pid for r in hosted])
        loaded = await run_schedule(sender, count, 1 / rate_hz, watch, lambda _: 1)
        cpu.note(loaded)
        finals = await settle(watch, revision)
        loaded.lost, notes = watch.lost_since(marks, finals)
        loaded.errors += notes + watch.disconnects
        loaded.listed_ms = result.listed_ms
        loaded.extra |= result.extra | {"receivers": receivers}
        return loaded


async def _connect_by_mdns(
    ids: Sequence[str], stack: contextlib.AsyncExitStack, result: LoadResult
) -> list[DeviceConnection]:
    """Start a Controller; note when it lists each device and how long connecting to all takes."""
    controller = Controller(identity(0), interfaces=["127.0.0.1"])
    listed = _ListedClock(controller, set(ids))
    started = time.perf_counter()
    await controller.async_start()
    stack.push_async_callback(controller.async_close)
    await listed.wait_all(LISTED_TIMEOUT_S)
    result.listed_ms = [(t - started) * 1000 for t in listed.instants.values()]
    connect_started = time.perf_counter()
    conns = await asyncio.gather(*(controller.async_connect(d, CONNECT_TIMEOUT_S) for d in ids))
    result.extra["connect_all_ms"] = (time.perf_counter() - connect_started) * 1000
    return list(conns)


async def _connect_by_address(
    hosted: Sequence[HostedReceiver],
    ids: Sequence[str],
    http: aiohttp.ClientSession,
    stack: contextlib.AsyncExitStack,
    result: LoadResult,
) -> list[DeviceConnection]:
    """Open one session per receiver straight to its port, in *ids* order."""
    by_id = {r.device_id: r for r in hosted}
    connect_started = time.perf_counter()
    opened = await asyncio.gather(*(_connect_direct(by_id[d], [http], stack) for d in ids))
    conns = [conn for (conn,) in opened]
    result.extra["connect_all_ms"] = (time.perf_counter() - connect_started) * 1000
    return conns


class _ListedClock:
    """Notes the instant each expected device is first listed by a controller's registry."""

    def __init__(self, controller: Controller, expected: set[str]) -> None:
        self.instants: dict[str, float] = {}
        self._expected = expected
        self._all = asyncio.Event()
        self._unsubscribe = controller.registry.subscribe(self._on_event)

    def _on_event(self, event: DeviceEvent) -> None:
        entry = event.entry
        if isinstance(event, DeviceRemoved) or entry.id not in self._expected or not entry.listed:
            return
        self.instants.setdefault(entry.id, time.perf_counter())
        if len(self.instants) == len(self._expected):
            self._all.set()

    async def wait_all(self, timeout: float) -> None:
        """Wait until every expected device is listed; raise RuntimeError naming the missing."""
        try:
            await asyncio.wait_for(self._all.wait(), timeout)
        except TimeoutError:
            missing = sorted(self._expected - set(self.instants))
            raise RuntimeError(
                f"{len(missing)} receivers not listed in {timeout:g} s: {', '.join(missing[:5])}..."
            ) from None
        finally:
            self._unsubscribe()
