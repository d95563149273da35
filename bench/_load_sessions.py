"""Session load for bench/load.py: many controllers on one receiver, one controller on many.

Both scenarios send commands on an open-loop schedule (each command its own task, started at
its instant whether or not earlier ones have been answered, so a slow receiver cannot slow
the offered load and hide its own latency) and keep two records per link (one controller's
session with one receiver): the revision of every StateSnapshot pushed over it, in arrival
order, and the instant each command id was first echoed in a snapshot. At the end, once every
link has reached the revision the receiver itself reports over HTTP, a link that did not see
every revision from its start to that final one, in order, lost state.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import aiohttp

from bench._load_receivers import HostedReceiver, cpu_seconds, receiver_hosts
from connect import codec
from connect import messages as m
from connect.connection import (
    ConnectionEvent,
    DeviceConnection,
    Disconnected,
    Endpoint,
    StateChanged,
)
from connect.controller import Controller
from connect.discovery import DeviceEvent, DeviceRemoved
from connect.errors import ConnectError
from connect.server import INFO_PATH
from tests.audio import write_tone
from tests.media_server import MediaServer

COMMAND_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 30.0
LISTED_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 15.0
TRACK_MS = 120_000  # longer than any run, so the track never ends under the load


@dataclass
class LoadResult:
    """What one scenario measured; `lost` counts revisions some link never saw."""

    result_ms: list[float] = field(default_factory=list)  # send → CommandResult at the sender
    echo_ms: list[float] = field(default_factory=list)  # send → echo at every link of the device
    errors: list[str] = field(default_factory=list)
    lost: int = 0
    commands: int = 0
    load_s: float = 0.0  # wall time from the first command sent to the last answered
    listed_ms: list[float] = field(default_factory=list)  # controller start → each listed
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # result_ms by action
    extra: dict[str, float] = field(default_factory=dict)


class LinkWatch:
    """Records what every link received: revisions in order, first echo of each command id."""

    def __init__(self, links: Sequence[tuple[str, DeviceConnection]]) -> None:
        # Each record starts at what the link already holds (its connect-time snapshot).
        self.revisions = [[conn.state.revision] if conn.state else [] for _, conn in links]
        self.devices = [device for device, _ in links]
        self.echoes: dict[str, dict[int, float]] = {}
        self.disconnects: list[str] = []
        self.changed = asyncio.Event()
        self._unsubscribe = [
            conn.subscribe(partial(self._on_event, i)) for i, (_, conn) in enumerate(links)
        ]

    def _on_event(self, link: int, event: ConnectionEvent) -> None:
        now = time.perf_counter()
        if isinstance(event, Disconnected):
            self.disconnects.append(f"link {link} ({event.device_id}) lost: {event.reason}")
            return
        if not isinstance(event, StateChanged):
            return
        snapshot = event.snapshot
        self.revisions[link].append(snapshot.state.revision)
        self.echoes.setdefault(snapshot.state.last_command_id, {}).setdefault(link, now)
        self.changed.set()

    def latest(self, link: int) -> int:
        """Return the last revision *link* received (0 before any)."""
        return self.revisions[link][-1] if self.revisions[link] else 0

    def mark(self) -> list[int]:
        """Return where each link's record stands now, to check only what follows."""
        return [len(r) for r in self.revisions]

    def lost_since(self, marks: Sequence[int], finals: dict[str, int]) -> tuple[int, list[str]]:
        """Count revisions each link missed after *marks*, up to its device's final revision."""
        lost, notes = 0, []
        for link, seen in enumerate(self.revisions):
            start = max(marks[link] - 1, 0)  # the revision it had at the mark, if any
            got = seen[start:]
            final = finals[self.devices[link]]
            expected = list(range(got[0], final + 1)) if got else []
            if got != expected:
                missing = len(set(expected) - set(got))
                lost += missing
                notes.append(f"link {link}: {missing} revision(s) missing or out of order")
        return lost, notes

    def close(self) -> None:
        """Stop listening."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()


Sender = Callable[[int], tuple[DeviceConnection, str, m.Action]]


async def run_schedule(
    sender: Sender, count: int, period_s: float, watch: LinkWatch, links_of: Callable[[str], int]
) -> LoadResult:
    """Send command k of *count* at k × *period_s*; time its result and its echo at every link.

    *sender(k)* says which connection sends what to which device; *links_of(device)* is how
    many links should echo it.
    """
    result = LoadResult(commands=count)
    started = time.perf_counter()

    async def one(k: int) -> None:
        await asyncio.sleep(max(0.0, started + k * period_s - time.perf_counter()))
        conn, device, action = sender(k)
        sent = time.perf_counter()
        try:
            answer = await conn.command(action, timeout=COMMAND_TIMEOUT_S)
        except ConnectError as exc:
            result.errors.append(f"command {k} to {device}: {type(exc).__name__}: {exc}")
            return
        took = (time.perf_counter() - sent) * 1000
        result.result_ms.append(took)
        result.by_kind.setdefault(type(action).__name__, []).append(took)
        if answer.failure is not None:
            result.errors.append(f"command {k} to {device}: {answer.failure.code.name}")
            return
        pending[answer.command_id] = (sent, links_of(device))

    pending: dict[str, tuple[float, int]] = {}
    await asyncio.gather(*(one(k) for k in range(count)))
    result.load_s = time.perf_counter() - started
    await _wait_for_echoes(watch, pending)
    for command_id, (sent, links) in pending.items():
        echoed = watch.echoes.get(command_id, {})
        if len(echoed) < links:
            result.errors.append(f"command {command_id}: echoed on {len(echoed)} of {links} links")
        else:
            result.echo_ms.append((max(echoed.values()) - sent) * 1000)
    return result


async def _wait_for_echoes(watch: LinkWatch, pending: dict[str, tuple[float, int]]) -> None:
    def complete() -> bool:
        return all(len(watch.echoes.get(c, ())) >= n for c, (_, n) in pending.items())

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE_TIMEOUT_S):
            while not complete():
                watch.changed.clear()
                await watch.changed.wait()


async def settle(
    watch: LinkWatch, final_revision: Callable[[str], Awaitable[int]]
) -> dict[str, int]:
    """Return each device's final revision once every link has it and it no longer moves."""
    devices = sorted(set(watch.devices))
    finals: dict[str, int] = {}
    async with asyncio.timeout(SETTLE_TIMEOUT_S):
        while True:
            now = {d: await final_revision(d) for d in devices}
            if now == finals:
                return finals
            finals = now
            while any(watch.latest(i) < finals[d] for i, d in enumerate(watch.devices)):
                watch.changed.clear()
                await watch.changed.wait()


async def fetch_revision(http: aiohttp.ClientSession, port: int) -> int:
    """Return the revision a receiver reports in `GET /connect/v1/info`."""
    async with http.get(f"http://127.0.0.1:{port}{INFO_PATH}") as response:
        response.raise_for_status()
        return codec.decode_device_info(await response.read()).revision


def identity(index: int) -> m.ClientIdentity:
    """Return a distinct identity for controller *index* (each is its own device)."""
    return m.ClientIdentity(f"load-ctl-{index:03d}", f"Load controller {index}")


class _CpuMeter:
    """CPU used by the receiver processes and by this one (the controllers) over the load."""

    def __init__(self, receiver_pids: Sequence[int]) -> None:
        self._pids = receiver_pids
        self._receivers = cpu_seconds(receiver_pids)
        self._own = time.process_time()

    def note(self, result: LoadResult) -> None:
        """Add both, in cores (CPU seconds per second of load), to *result*'s extras."""
        result.extra["receivers_cpu_cores"] = (
            cpu_seconds(self._pids) - self._receivers
        ) / result.load_s
        result.extra["controllers_cpu_cores"] = (time.process_time() - self._own) / result.load_s


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
        started = await conns[0].command(m.SetQueue((item,), play=True), timeout=COMMAND_TIMEOUT_S)
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

        cpu = _CpuMeter([receiver.pid])
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
    await asyncio.gather(*(c.wait_connected(CONNECT_TIMEOUT_S) for c in conns))
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
        cpu = _CpuMeter([r.pid for r in hosted])
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
