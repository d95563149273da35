"""Discovery benchmark: receiver process start → listed in a controller's DeviceRegistry (mDNS).

Each sample starts a fresh real `baton-receiver` process (`python -m devices.cli` on `lo`,
`--audio-output none`, `--pairing open`, its own name, and its own state directory seeded
with a TLS identity, whose fingerprint is its id) and times from just before the spawn until the
registry, already browsing in this process, emits the device. Python start, imports, libVLC
start-up, the session server, the advertiser's 250 ms name check and the announcement are all
inside the figure, as a listener would experience them; the receiver advertises only once its
server listens, so "listed" also means "reachable". Two more figures: the same with the bare
advertiser (`python -m connect.discovery.advertise`, no player and no server: what mDNS alone
costs), and a controller starting while a real receiver already runs. Everything is on 127.0.0.1
(`./dev bench` runs in a fresh namespace). Accuracy: one monotonic clock in this process; the
end is when the registry's callback runs, so it includes this process's mDNS handling.
Controller starts are spaced so none falls within a second of the previous answer (the
responder's multicast rate limit). A loopback caveat for the controller figure: every mDNS
socket on one host shares port 5353, so a unicast answer to a browser's first (QU) question
reaches whichever of them the kernel picks, often not the new browser, which then hears the
device only from its second, multicast-answered query about a second later.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bench._runner import Measurement
from bench.session import log_tail, receiver_argv, stop_process
from connect.discovery import DeviceEntry, DeviceRegistry
from devices.persistence import SessionStore

# mDNS only: no player, no server
ADVERTISER = [sys.executable, "-m", "connect.discovery.advertise"]
TARGET_MS = 1000.0
STEP_TIMEOUT_S = 10.0
MULTICAST_LIMIT_S = 1.1  # RFC 6762's one multicast per record per second, and a margin


def receiver_command(name: str, label: str, workdir: Path) -> tuple[list[str], str]:
    """Return a real receiver's argv and the id it will advertise on 127.0.0.1."""
    state_dir = workdir / label
    state_dir.mkdir()
    # The id is the certificate's fingerprint: made here, before the clock starts, as a
    # receiver that has run before already has it.
    device_id = SessionStore(state_dir).device_id()
    return receiver_argv("none", state_dir, name), device_id


def advertiser_command(name: str, device_id: str, workdir: Path) -> tuple[list[str], str]:
    """Return the bare advertiser's argv (it advertises *device_id* on 127.0.0.1) and that id."""
    argv = [*ADVERTISER, "--name", name, "--id", device_id, "--interface", "127.0.0.1"]
    return argv, device_id


def run(quick: bool) -> Iterable[Measurement]:
    """Yield the start → listed figures (quick: one of each; full: 30)."""
    starts, others = (1, 1) if quick else (30, 30)
    listed, advertiser, controller = asyncio.run(_measure(starts, others))
    yield Measurement(
        name="discovery.receiver_start_to_listed",
        unit="ms",
        samples=listed,
        target="≤ 1 s p95 (receiver start → listed)",
        met=_p95(listed) <= TARGET_MS,
    )
    yield Measurement(
        name="discovery.advertiser_only_start_to_listed",
        unit="ms",
        samples=advertiser,
        target="reported, not judged (mDNS advertiser alone, no receiver)",
    )
    yield Measurement(
        name="discovery.controller_start_to_listed",
        unit="ms",
        samples=controller,
        target="≤ 1 s p95 (controller start → running receiver listed)",
        met=_p95(controller) <= TARGET_MS,
    )


def _p95(samples: list[float]) -> float:
    return Measurement("p95", "ms", samples).percentile(95)


Command = Callable[[str, str, Path], tuple[list[str], str]]


async def _measure(starts: int, others: int) -> tuple[list[float], list[float], list[float]]:
    registry = DeviceRegistry(interfaces=["127.0.0.1"])
    await registry.async_start()
    try:
        with tempfile.TemporaryDirectory(prefix="baton-bench-discovery-") as tmp:
            workdir = Path(tmp)
            advertiser, _ = await _starts(
                registry, advertiser_command, "advertiser", others, workdir
            )
            listed, controller = await _starts(
                registry, receiver_command, "receiver", starts, workdir, controllers=others
            )
            return listed, advertiser, controller
    finally:
        await registry.async_close()


async def _starts(
    registry: DeviceRegistry,
    command: Command,
    kind: str,
    starts: int,
    workdir: Path,
    *,
    controllers: int = 0,
) -> tuple[list[float], list[float]]:
    """Time *starts* fresh processes until listed; then, with the last still running, time
    *controllers* controller starts until it is listed."""
    samples: list[float] = []
    controller: list[float] = []
    for i in range(starts):
        label = f"bench-{kind}-{i}"
        argv, device_id = command(f"Bench {kind} {i}", label, workdir)
        started = time.perf_counter()
        proc, log = await _spawn(argv, workdir / f"{label}.log")
        try:
            await _wait_listed(registry, device_id, log)
            samples.append((time.perf_counter() - started) * 1000)
            if i == starts - 1 and controllers:
                controller = await _controller_starts(device_id, log, controllers)
        finally:
            await stop_process(proc)
    return samples, controller


async def _controller_starts(device_id: str, log: Path, starts: int) -> list[float]:
    samples = []
    last_answer = time.perf_counter()  # the receiver was just listed by the main registry
    for _ in range(starts):
        # A responder multicasts a record at most once a second (RFC 6762 §6): a controller
        # starting within a second of the previous answer would time that limit instead.
        await asyncio.sleep(max(0.0, last_answer + MULTICAST_LIMIT_S - time.perf_counter()))
        started = time.perf_counter()
        registry = DeviceRegistry(interfaces=["127.0.0.1"])
        await registry.async_start()
        try:
            await _wait_listed(registry, device_id, log)
            last_answer = time.perf_counter()
            samples.append((last_answer - started) * 1000)
        finally:
            await registry.async_close()
    return samples


async def _spawn(argv: list[str], log: Path) -> tuple[asyncio.subprocess.Process, Path]:
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    return proc, log


async def _wait_listed(registry: DeviceRegistry, device_id: str, log: Path) -> None:
    try:
        await registry.async_wait_for(_has_id(device_id), STEP_TIMEOUT_S)
    except Exception as exc:
        raise RuntimeError(f"{device_id} not listed: {exc}; its log:\n{log_tail(log)}") from exc


def _has_id(device_id: str) -> Callable[[DeviceEntry], bool]:
    return lambda entry: entry.id == device_id
