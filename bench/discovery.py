"""Discovery benchmark: receiver process start → listed in a controller's DeviceRegistry (mDNS).

Each sample starts a fresh receiver process (its own name and id) and times from just before
the spawn until the registry, already browsing in this process, emits the device. Python start,
imports, the advertiser's 250 ms name check and the announcement are all inside the figure,
as a listener would experience them. A second figure times a controller starting while a
receiver already runs. Everything is on 127.0.0.1 (`./dev bench` runs in a fresh namespace).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable, Iterable

from bench._runner import Measurement
from connect.discovery import DeviceEntry, DeviceRegistry

ADVERTISER = [sys.executable, "-m", "connect.advertise"]  # a stand-in receiver
TARGET_MS = 1000.0
STEP_TIMEOUT_S = 10.0


def receiver_command(name: str, device_id: str) -> list[str]:
    """Return the measured receiver's argv: it advertises *device_id* on 127.0.0.1, ends on TERM."""
    # The one statement to replace with the real receiver's command once it exists.
    return [*ADVERTISER, "--name", name, "--id", device_id, "--interface", "127.0.0.1"]


def run(quick: bool) -> Iterable[Measurement]:
    """Yield the start → listed figures (quick: 3 starts, full: 30)."""
    starts = 3 if quick else 30
    listed, controller = asyncio.run(_measure(starts))
    yield Measurement(
        name="discovery.receiver_start_to_listed",
        unit="ms",
        samples=listed,
        target="≤ 1 s p95 (receiver start → listed)",
        met=_p95(listed) <= TARGET_MS,
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


async def _measure(starts: int) -> tuple[list[float], list[float]]:
    registry = DeviceRegistry(interfaces=["127.0.0.1"])
    await registry.async_start()
    listed: list[float] = []
    try:
        for i in range(starts):
            device_id = f"bench-{i}"
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                *receiver_command(f"Bench receiver {i}", device_id),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                await registry.async_wait_for(_has_id(device_id), STEP_TIMEOUT_S)
                listed.append((time.perf_counter() - started) * 1000)
                if i == starts - 1:  # keep the last one running for the controller figure
                    return listed, await _controller_starts(device_id, starts)
            finally:
                await _stop(proc)
    finally:
        await registry.async_close()
    return listed, []


async def _controller_starts(device_id: str, starts: int) -> list[float]:
    samples = []
    for _ in range(starts):
        started = time.perf_counter()
        registry = DeviceRegistry(interfaces=["127.0.0.1"])
        await registry.async_start()
        try:
            await registry.async_wait_for(_has_id(device_id), STEP_TIMEOUT_S)
            samples.append((time.perf_counter() - started) * 1000)
        finally:
            await registry.async_close()
    return samples


def _has_id(device_id: str) -> Callable[[DeviceEntry], bool]:
    return lambda entry: entry.id == device_id


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)  # what systemd sends the real receiver
        try:
            async with asyncio.timeout(STEP_TIMEOUT_S):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
