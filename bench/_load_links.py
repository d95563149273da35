"""Measuring sessions under load, for bench/_load_sessions.py: schedule, echoes, revisions.

Commands go out on an open-loop schedule (each command its own task, started at its instant
whether or not earlier ones have been answered, so a slow receiver cannot slow the offered
load and hide its own latency). Two records are kept per link (one controller's session with
one receiver): the revision of every StateSnapshot pushed over it, in arrival order, and the
instant each command id was first echoed in a snapshot. At the end, once every link has
reached the revision the receiver itself reports over HTTP, a link that did not see every
revision from its start to that final one, in order, lost state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import aiohttp

from bench._load_receivers import cpu_seconds
from connect.errors import ConnectError
from connect.paths import INFO_PATH
from connect.session import ConnectionEvent, DeviceConnection, Disconnected, StateChanged
from connect.wire import codec
from connect.wire import messages as m

COMMAND_TIMEOUT_S = 10.0
SETTLE_TIMEOUT_S = 15.0


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
            answer = await conn.async_command(action, timeout=COMMAND_TIMEOUT_S)
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


class CpuMeter:
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
