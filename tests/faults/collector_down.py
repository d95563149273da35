"""Commands to a receiver whose trace collector is down, then up: shared with bench/faults.py.

The receiver traces to a port where nothing listens yet (`--trace-endpoint`); a controller
(not tracing itself) sends volume commands and times each one, command sent → its result back
(the receiver pushes the state echo just before the result). Then a collector starts on that
port (its own process); the receiver's spooled spans and the new ones arrive. The caller judges.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from connect.clock import monotonic_us
from connect.controller import Controller
from connect.wire import messages as m
from tests.faults.helpers import start_open_receiver
from tests.integration.transfer.fault_bench import EVENT_TIMEOUT_S, identity
from tracing._store import Store

USER = "alice"
DELIVERY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CollectorOutage:
    """Command latencies (ms) with the collector down and up, and what reached it."""

    down_ms: list[float]
    up_ms: list[float]
    failed: int  # commands that did not succeed
    handled: dict[str, int]  # span name → how many the collector holds for the receiver
    device_id: str

    @staticmethod
    def median(samples: list[float]) -> float:
        return statistics.median(samples)


def free_port() -> int:
    """Return a TCP port nothing listens on now (the collector takes it later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def collector_on(db: Path, port: int) -> AsyncIterator[tuple[str, str]]:
    """Run `baton-traces serve` on *port* in its own process; yield its URL and USER's token.

    Its own process, as in real life: in this one it would share the controller's event loop,
    and its ingest of the replayed spool would be counted in the command latencies.
    """
    store = Store(db)
    token = store.add_user(USER)
    store.close()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tracing.cli", "serve", "--port", str(port), "--db", str(db),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), EVENT_TIMEOUT_S)
        assert line.startswith(b"baton-traces: collecting on"), line
        yield f"http://127.0.0.1:{port}", token
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await asyncio.wait_for(process.wait(), EVENT_TIMEOUT_S)


def ingest_token(db: Path) -> str:
    """Make USER and an ingest token for the receiver, before anything runs."""
    store = Store(db)
    try:
        store.add_user(USER)
        return store.add_ingest_token(USER, "receiver")
    finally:
        store.close()


async def commands_with_collector_down(tmp_path: Path, count: int = 20) -> CollectorOutage:
    """Time *count* commands with the collector down and *count* with it up; count spans."""
    port = free_port()
    traced = ["--trace-endpoint", f"http://127.0.0.1:{port}", "--user", USER]
    traced += ["--trace-token", ingest_token(tmp_path / "traces.db")]
    receiver = await start_open_receiver(tmp_path, "Traced", extra=traced)
    try:
        controller = Controller(identity(), browse=False)
        await controller.async_start()
        try:
            await controller.async_add_address(receiver.host, receiver.port)
            await controller.async_connect(receiver.device_id, EVENT_TIMEOUT_S)
            down, failed = await _time_commands(controller, receiver.device_id, count, 0)
            async with collector_on(tmp_path / "traces.db", port) as (base, token):
                up, failed_up = await _time_commands(controller, receiver.device_id, count, 1)
                handled = await _wait_delivered(base, token, receiver.device_id, 2 * count)
        finally:
            await controller.async_close()
    finally:
        await receiver.stop()
    return CollectorOutage(down, up, failed + failed_up, handled, receiver.device_id)


async def _time_commands(
    controller: Controller, device_id: str, count: int, parity: int
) -> tuple[list[float], int]:
    took, failed = [], 0
    for n in range(count):
        started = monotonic_us()
        # Alternate between two values so each command changes the state (and is saved).
        result = await controller.async_command(device_id, m.SetVolume(30 + 2 * (n % 2) + parity))
        took.append((monotonic_us() - started) / 1000)
        failed += not result.ok
    return took, failed


async def _wait_delivered(base: str, token: str, device_id: str, commands: int) -> dict[str, int]:
    """Poll the collector until it holds a handle span for every command; count spans by name."""
    headers = {"Authorization": f"Bearer {token}"}
    names: dict[str, int] = {}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            while True:
                url = f"{base}/api/search?device={device_id}&limit=5000"
                async with http.get(url) as response:
                    rows: list[dict[str, Any]] = await response.json()
                names = {}
                for row in rows:
                    names[row["name"]] = names.get(row["name"], 0) + 1
                if names.get("handle Command", 0) >= commands:
                    return names
                await asyncio.sleep(0.25)  # the spool replays on its own schedule: no event here
