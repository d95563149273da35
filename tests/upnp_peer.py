"""A real UPnP/DLNA renderer for tests (Debian's gmediarender), recording what it plays.

libupnp refuses the loopback interface, so `renderer_link` puts a veth pair into the test's
own network namespace (only lo otherwise) for the length of the test: the renderer and the
bridge meet on its first end, 10.231.0.1. gmediarender's GStreamer output goes through a
pipeline ending in a FIFO in raw PCM (44.1 kHz, 16 bit, mono), synchronised to the clock so it
is written in real time; `RunningRenderer.capture()` reads it as MPD's is (tests/mpd_peer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.audio import Capture
from tests.mpd_peer import capture_of
from tests.waiting import until

GMEDIARENDER = shutil.which("gmediarender") or "/usr/bin/gmediarender"
LINK, PEER, ADDRESS = "baton-upnp0", "baton-upnp1", "10.231.0.1"
START_TIMEOUT_S = 15.0


def gmediarender_installed() -> bool:
    """Return True if Debian's gmediarender is here (`./dev setup` installs it for the tests)."""
    return Path(GMEDIARENDER).exists()


@contextlib.contextmanager
def renderer_link() -> Iterator[str]:
    """A veth pair up in this namespace for the test, its first end at ADDRESS; yields its name."""
    subprocess.run(["ip", "link", "add", LINK, "type", "veth", "peer", "name", PEER], check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{ADDRESS}/24", "dev", LINK], check=True)
        for name in (LINK, PEER):
            subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield LINK
    finally:
        subprocess.run(["ip", "link", "del", LINK], check=False)


@dataclass
class RunningRenderer:
    """A gmediarender process started by a test, and what it played."""

    process: asyncio.subprocess.Process
    udn: str
    folder: Path
    chunks: list[tuple[int, bytes]] = field(default_factory=list)
    _fd: int = -1

    def capture(self) -> Capture:
        """Return what it played so far (see tests/mpd_peer.py, RunningMpd.capture)."""
        return capture_of(self.chunks)

    def played_frames(self) -> int:
        """Return how many samples it has played."""
        return sum(len(data) // 2 for _, data in self.chunks)

    async def stop(self) -> None:
        """Stop it and stop recording."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self._fd >= 0:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1


async def start_renderer(folder: Path, name: str, interface: str) -> RunningRenderer:
    """Start gmediarender as *name* on *interface*; wait until it serves its description."""
    fifo = _prepare(folder)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    udn = f"uuid:{uuid.uuid4()}"
    pipe = (
        "audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=44100,channels=1 ! "
        f"filesink location={fifo} sync=true buffer-mode=unbuffered"
    )
    with (folder / "gmediarender.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            GMEDIARENDER, "-I", interface, "-f", name, "-u", udn.removeprefix("uuid:"),
            "--gstout-audiopipe", pipe, "--logfile", "stderr",
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    running = RunningRenderer(process, udn, folder, _fd=fd)

    def readable() -> None:
        with contextlib.suppress(BlockingIOError):
            data = os.read(fd, 1 << 16)
            if data:
                running.chunks.append((time.monotonic_ns() // 1000, data))

    asyncio.get_running_loop().add_reader(fd, readable)
    log_path = folder / "gmediarender.log"
    try:
        await until(
            lambda: "Ready for rendering" in log_path.read_text(errors="replace")
            or process.returncode is not None,
            START_TIMEOUT_S, "gmediarender ready",
        )  # fmt: skip
        if process.returncode is not None:
            raise RuntimeError(f"gmediarender exited: {log_path.read_text(errors='replace')}")
    except BaseException:
        await running.stop()
        raise
    return running


def _prepare(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fifo = folder / "out.fifo"
    os.mkfifo(fifo)
    return fifo
