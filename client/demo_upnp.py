"""The demo's UPnP/DLNA renderer: Debian's gmediarender, bridged by `baton-bridge`.

libupnp will not run on loopback, so the renderer joins only in the demo's private network
(client/demo_netns.py): gmediarender on its veth link, the bridge finding it by SSDP there and
showing it on loopback as "Lounge TV (UPnP)", beside the receivers. Its GStreamer output is a
sink paced in real time (nothing to hear, everything to see), or this machine's sound card
with `--audio default`.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from client.demo_bridges import start_bridge, stop_processes
from client.demo_netns import PrivateNetwork

NAME = "Lounge TV (UPnP)"
_READY = re.compile(r"id (?P<id>upnp-[0-9a-f]+)\) listening on [^:]+:(?P<port>\d+)")
_STEP_TIMEOUT_S = 20.0
_SILENT_SINK = "fakesink sync=true"  # consumes the audio at the pace it would be heard


class DemoRenderer:
    """gmediarender and the bridge that shows it as a Baton device, stopped by `async_close`."""

    name = NAME

    def __init__(self, network: PrivateNetwork | None, why_not: str, audio: str) -> None:
        self.device_id = ""
        self.port = 0
        self._network = network
        self._why_not = why_not
        self._audio = audio
        self._processes: list[asyncio.subprocess.Process] = []
        self._drain: asyncio.Task[None] | None = None

    async def async_start(self, work: Path, say: Callable[[str], None]) -> bool:
        """Start both; return False (saying why in one line) when the renderer cannot join."""
        if self._network is None:
            say(f"no {NAME!r}: libupnp refuses loopback, and {self._why_not}")
            return False
        renderer = shutil.which("gmediarender")
        if renderer is None:
            say(f"no {NAME!r}: gmediarender is not installed (./dev setup installs it)")
            return False
        folder = work / "upnp"
        folder.mkdir(parents=True, exist_ok=True)
        output = [] if self._audio == "default" else ["--gstout-audiopipe", _SILENT_SINK]
        process = await asyncio.create_subprocess_exec(
            renderer, "-I", self._network.link, "-f", NAME, "-u", str(uuid.uuid4()), *output,
            "--logfile", "stderr",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._processes.append(process)
        assert process.stderr is not None
        ready = asyncio.Event()
        log = folder / "gmediarender.log"
        self._drain = asyncio.get_running_loop().create_task(_log(process.stderr, log, ready))
        if not await _ready(ready, self._drain):
            say(f"no {NAME!r}: gmediarender did not start (see {folder / 'gmediarender.log'})")
            return False
        argv = ("--browse-upnp", "--interface", "lo", "--interface", self._network.link)
        bridge, found = await start_bridge(argv, _READY)
        self._processes.append(bridge)
        if found is None:
            say(f"no {NAME!r}: the bridge did not find it")
            return False
        self.device_id, self.port = found["id"], int(found["port"])
        heard = (
            "this machine's sound card"
            if self._audio == "default"
            else "nowhere (paced in real time)"
        )
        say(
            f"started {NAME!r} (gmediarender on {self._network.link} in the demo's own network, "
            f"bridged) on 127.0.0.1:{self.port}, audio -> {heard}"
        )
        return True

    async def async_close(self) -> None:
        """Stop the bridge, then gmediarender (idempotent)."""
        await stop_processes(self._processes)
        drain, self._drain = self._drain, None
        if drain is not None:
            await drain


async def _ready(ready: asyncio.Event, logging: asyncio.Task[None]) -> bool:
    """Wait until gmediarender says it is ready; False if it ends first or takes too long."""
    said = asyncio.ensure_future(ready.wait())
    await asyncio.wait((said, logging), timeout=_STEP_TIMEOUT_S, return_when="FIRST_COMPLETED")
    said.cancel()
    return ready.is_set()


async def _log(stream: asyncio.StreamReader, path: Path, ready: asyncio.Event) -> None:
    """Copy gmediarender's log (its stderr: a pipe would hold back its stdout) to *path*,
    setting *ready* at its "Ready for rendering"."""
    with path.open("ab") as log:
        while line := await stream.readline():
            log.write(line)
            if b"Ready for rendering" in line:
                ready.set()
                log.flush()
