"""Stand-in peers run as subprocesses: an advertising receiver and a browsing controller."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from connect.discovery import DeviceEntry, DeviceEvent, DeviceRegistry

# The command that starts one advertising receiver. When the real receiver exists, this is
# the one line to change (bench/discovery.py uses the same shape).
ADVERTISER = [sys.executable, "-m", "connect.discovery.advertise"]

STEP_TIMEOUT_S = 10.0  # generous: CI machines are slow; a pass takes well under a second


class AdvertiserProcess:
    """A `python -m connect.discovery.advertise` child: wait until advertised, change rev, close."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.instance_name = ""

    @classmethod
    async def start(
        cls,
        name: str,
        device_id: str,
        interfaces: Sequence[str] = ("127.0.0.1",),
        *extra: str,
        wrap: Callable[[list[str]], list[str]] = lambda argv: argv,
    ) -> AdvertiserProcess:
        """Start an advertiser (argv optionally wrapped, e.g. into a namespace) and wait for it."""
        argv = [*ADVERTISER, "--name", name, "--id", device_id, *extra]
        for iface in interfaces:
            argv += ["--interface", iface]
        proc = await asyncio.create_subprocess_exec(
            *wrap(argv), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        peer = cls(proc)
        line = await peer.readline()
        if not line.startswith("advertised "):
            await peer.kill()
            raise AssertionError(f"advertiser {device_id} did not start: {line!r}")
        peer.instance_name = line.removeprefix("advertised ")
        return peer

    async def readline(self) -> str:
        """Return the child's next stdout line (stripped), "" at end of file."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(STEP_TIMEOUT_S):
            return (await self.proc.stdout.readline()).decode().strip()

    async def send(self, command: str) -> None:
        """Send one control line ("rev 7", "quit")."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

    async def close(self) -> None:
        """Ask for a clean exit (goodbye sent) and wait for it."""
        await self.send("quit")
        assert await self.readline() == "closed"
        async with asyncio.timeout(STEP_TIMEOUT_S):
            assert await self.proc.wait() == 0

    async def kill(self) -> None:
        """Kill the child if it still runs (test cleanup)."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


def event_json(event: DeviceEvent) -> str:
    """Render an event as one JSON line (what the browsing subprocess prints)."""
    e = event.entry
    return json.dumps(
        {
            "event": type(event).__name__,
            "id": e.id,
            "name": e.name,
            "addresses": list(e.addresses),
            "port": e.port,
            "rev": e.record.revision if e.record else None,
            "mdns_present": e.mdns_present,
        }
    )


async def _browse(interfaces: list[str], poll_interval_s: float) -> None:
    registry = DeviceRegistry(interfaces=interfaces, poll_interval_s=poll_interval_s)
    registry.subscribe(lambda event: print(event_json(event), flush=True))
    await registry.async_start()
    print(json.dumps({"event": "started"}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()  # until the test closes stdin
    await registry.async_close()


def parse_event(line: str) -> dict[str, Any]:
    """Parse one line printed by the browsing subprocess."""
    return dict(json.loads(line))


if __name__ == "__main__":
    # A controller stand-in: browse on the given interfaces (polled for changes every 0.2 s),
    # print every event as JSON, stop when stdin closes.
    asyncio.run(_browse(sys.argv[1:], poll_interval_s=0.2))


async def wait_until(
    registry: DeviceRegistry,
    condition: Callable[[tuple[DeviceEntry, ...]], bool],
    timeout_s: float = STEP_TIMEOUT_S,
) -> tuple[DeviceEntry, ...]:
    """Wait (on registry events, no polling) until *condition* holds for all entries."""
    changed = asyncio.Event()
    unsubscribe = registry.subscribe(lambda _: changed.set())
    try:
        async with asyncio.timeout(timeout_s):
            while not condition(registry.entries()):
                changed.clear()
                await changed.wait()
        return registry.entries()
    finally:
        unsubscribe()
