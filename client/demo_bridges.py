"""The demo's device people already own: an MPD on loopback, bridged by `baton-bridge`.

When Debian's `mpd` is installed, the demo starts one on 127.0.0.1 (a free port, its own
database, a null output paced in real time: nothing to hear, everything to see) and
`python -m bridges` for it, so "Hi-fi (MPD)" shows in the app beside the receivers and the
tour moves music to it and back. The UPnP renderer is client/demo_upnp.py's; both start their
bridge with `start_bridge`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

NAME = "Hi-fi (MPD)"
_READY = re.compile(r"id (?P<id>mpd-[0-9a-f]+)\) listening on [^:]+:(?P<port>\d+)")
_STEP_TIMEOUT_S = 20.0


class DemoBridge:
    """An mpd and the bridge that shows it as a Baton device, both stopped by `async_close`."""

    name = NAME

    def __init__(self) -> None:
        self.device_id = ""
        self.port = 0
        self._processes: list[asyncio.subprocess.Process] = []

    async def async_start(self, work: Path, say: Callable[[str], None]) -> bool:
        """Start both; return False (saying why) when mpd is not installed."""
        mpd = shutil.which("mpd")
        if mpd is None:
            say(f"no {NAME!r}: mpd is not installed (./dev setup installs it)")
            return False
        conf, port = await asyncio.to_thread(_configure, work / "mpd")
        daemon = await asyncio.create_subprocess_exec(
            mpd, "--no-daemon", str(conf),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        self._processes.append(daemon)
        if not await _listening(port):
            say(f"no {NAME!r}: mpd did not start")
            return False
        argv = ("--mpd", f"127.0.0.1:{port}", "--name", NAME, "--interface", "lo")
        bridge, found = await start_bridge(argv, _READY)
        self._processes.append(bridge)
        if found is not None:
            self.device_id, self.port = found["id"], int(found["port"])
            say(f"started {NAME!r} (an MPD, bridged) on 127.0.0.1:{self.port}")
            return True
        say(f"no {NAME!r}: the bridge did not start")
        return False

    async def async_close(self) -> None:
        """Stop the bridge, then mpd (idempotent)."""
        await stop_processes(self._processes)


async def start_bridge(
    argv: Sequence[str], ready: re.Pattern[str]
) -> tuple[asyncio.subprocess.Process, re.Match[str] | None]:
    """Start `python -m bridges ARGV`; return it and its listening line matched by *ready*
    (None if it ended or took too long)."""
    bridge = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridges", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert bridge.stdout is not None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_STEP_TIMEOUT_S):
            while line := (await bridge.stdout.readline()).decode(errors="replace"):
                if found := ready.search(line):
                    return bridge, found
    return bridge, None


async def stop_processes(processes: list[asyncio.subprocess.Process]) -> None:
    """Stop *processes*, last started first (SIGTERM, then SIGKILL after 10 s); empty the list."""
    for process in reversed(processes):
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()
    processes.clear()


async def _listening(port: int) -> bool:
    """Wait until mpd accepts connections on *port* (it has no readiness signal of its own)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _STEP_TIMEOUT_S
    while loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)  # not listening yet: try again shortly
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False


def _configure(folder: Path) -> tuple[Path, int]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "music").mkdir(exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    conf = folder / "mpd.conf"
    conf.write_text(
        f'music_directory "{folder / "music"}"\n'
        f'db_file "{folder / "db"}"\n'
        'bind_to_address "127.0.0.1"\n'
        f'port "{port}"\n'
        'zeroconf_enabled "no"\n'
        'auto_update "no"\n'
        'audio_output {\n  type "null"\n  name "demo"\n  mixer_type "software"\n}\n',
        encoding="utf-8",
    )
    return conf, port
