"""The impaired benchmark's network: two namespaces with nothing between them but the proxy.

Namespace `a` holds the two receivers, namespace `b` the controller and the media server; each
has only `lo` (127.0.0.1), and no link joins them. `tests.impairment` runs between the two as a
mirror: in `b` it listens on each receiver's own 127.0.0.1:PORT and relays to that address in
`a`; in `a` it listens on the media server's 127.0.0.1:PORT and relays to `b`; and it relays
mDNS between the two loopbacks. So the controller finds the receivers by mDNS at the addresses
they advertise, and every byte between controller, receivers and media crosses the impaired
link, in both directions; the two receivers talk to each other on `a`'s loopback, as two
devices on one wired segment would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from dataclasses import dataclass

from tests.impairment.profile import Profile
from tests.netns import NetnsPair

READY_TIMEOUT_S = 10.0


@dataclass
class Proxy:
    """The running impairment process: reset connections, read its stats, stop it."""

    process: asyncio.subprocess.Process
    origin: float  # CLOCK_MONOTONIC (s) its stall and reset periods count from
    profile: Profile

    async def reset(self) -> int:
        """Reset every open connection now; return how many there were."""
        line = await self._ask("reset")
        return int(line.split()[1])

    async def stats(self) -> dict[str, object]:
        """Return what it carried so far."""
        result: dict[str, object] = json.loads(await self._ask("stats"))
        return result

    async def stop(self) -> None:
        """End it (end of stdin) and reap it."""
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                async with asyncio.timeout(5.0):
                    await self.process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()

    def in_stall(self, start_s: float, end_s: float) -> bool:
        """Return whether [start_s, end_s] (CLOCK_MONOTONIC) overlaps one of its stalls."""
        p = self.profile
        if not p.stall_every_s:
            return False
        first = int((start_s - self.origin) // p.stall_every_s)
        last = int((end_s - self.origin) // p.stall_every_s)
        for period in range(first, last + 1):
            stall_end = self.origin + (period + 1) * p.stall_every_s
            if start_s < stall_end and end_s > stall_end - p.stall_s:
                return True
        return False

    async def _ask(self, command: str) -> str:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        async with asyncio.timeout(READY_TIMEOUT_S):
            return (await self.process.stdout.readline()).decode().strip()


async def start_proxy(
    pair: NetnsPair, profile: Profile, receiver_ports: list[int], media_port: int
) -> Proxy:
    """Start the impairment process between the pair's namespaces; return once it is ready."""
    a, b = pair.names["a"], pair.names["b"]
    argv = [sys.executable, "-m", "tests.impairment", "--profile", profile.name]
    for port in receiver_ports:
        argv += ["--tcp", f"{b}/127.0.0.1:{port}={a}/127.0.0.1:{port}"]
    argv += ["--tcp", f"{a}/127.0.0.1:{media_port}={b}/127.0.0.1:{media_port}"]
    origin = time.monotonic()
    argv += ["--mdns", f"{a},{b}", "--origin", repr(origin)]
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    proxy = Proxy(process, origin, profile)
    assert process.stdout is not None
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            line = (await process.stdout.readline()).decode().strip()
    except TimeoutError:
        line = ""
    if line != "ready":
        await proxy.stop()
        raise RuntimeError(f"the impairment proxy did not start (said {line!r})")
    return proxy
