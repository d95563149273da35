"""A real Music Player Daemon for tests, recording what it plays, and `baton-bridge` around it.

`start_mpd` writes an mpd.conf into the test's folder (loopback, a free port, no zeroconf, a
database of its own) whose only output is a FIFO in raw PCM (44.1 kHz, 16 bit, mono: what the
position track is): MPD paces a FIFO output in real time, so the instant each chunk is read is
the instant it plays, and `RunningMpd.capture()` gives it as a `tests.audio.Capture`.
`start_bridge` starts `python -m bridges` for it and waits for its "listening" line.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.audio import RATE, Capture, Recording
from tests.waiting import until

START_TIMEOUT_S = 10.0
CONTIGUOUS_US = 100_000  # see capture_of
READY = re.compile(  # a bridged device of any kind, as baton-bridge says it listens
    r"id (?P<id>(?:mpd|upnp|airplay|snapcast)-[0-9a-f]+)\) listening on "
    r"(?P<host>[0-9.]+):(?P<port>\d+)"
)

MPD = shutil.which("mpd") or "/usr/bin/mpd"


def mpd_installed() -> bool:
    """Return True if Debian's mpd is here (`./dev setup` installs it for the tests)."""
    return Path(MPD).exists()


@dataclass
class RunningMpd:
    """An mpd process started by a test, and what it played."""

    process: asyncio.subprocess.Process
    port: int
    folder: Path
    chunks: list[tuple[int, bytes]] = field(default_factory=list)  # (read at, µs; PCM)
    _fd: int = -1

    def capture(self) -> Capture:
        """Return what it played so far, each chunk at the instant it was read."""
        return capture_of(self.chunks)

    def played_frames(self) -> int:
        """Return how many samples it has played."""
        return sum(len(data) // 2 for _, data in self.chunks)

    async def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) and stop recording."""
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


async def start_mpd(folder: Path, port: int = 0) -> RunningMpd:
    """Start mpd on 127.0.0.1 (*port*, or a free one) with a FIFO output in *folder*; wait
    until it answers."""
    conf, fifo, port = _configure(folder, port)
    # Opened before mpd opens it for writing, so nothing it plays is missed.
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    with (folder / "mpd.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            MPD, "--no-daemon", "--stderr", str(conf),
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    running = RunningMpd(process, port, folder, _fd=fd)

    def readable() -> None:
        with contextlib.suppress(BlockingIOError):
            data = os.read(fd, 1 << 16)
            if data:
                running.chunks.append((time.monotonic_ns() // 1000, data))

    asyncio.get_running_loop().add_reader(fd, readable)
    try:
        await until(lambda: _answers(port) or process.returncode is not None, START_TIMEOUT_S,
                    "mpd listens")  # fmt: skip
        if process.returncode is not None:
            raise RuntimeError(f"mpd exited: {(folder / 'mpd.log').read_text()}")
    except AssertionError as exc:
        await running.stop()
        raise AssertionError(f"{exc}; mpd's log: {(folder / 'mpd.log').read_text()!r}") from None
    except BaseException:
        await running.stop()
        raise
    return running


def capture_of(chunks: list[tuple[int, bytes]]) -> Capture:
    """Return chunks of mono s16 PCM read from a FIFO (read at, µs; bytes) as a capture.

    A chunk read less than CONTIGUOUS_US after the previous one's end follows it without a
    break: the player writes in real time, and a read is only ever late (this process was
    busy), never early; a longer silence is the player's (paused, stopped).
    """
    samples: array.array[int] = array.array("h")
    blocks: list[tuple[int, int, int]] = []
    end_us = 0
    for at_us, data in chunks:
        frames = len(data) // 2
        start_us = end_us if at_us - end_us < CONTIGUOUS_US else at_us
        blocks.append((start_us, len(samples), frames))
        samples.frombytes(data[: frames * 2])
        end_us = start_us + frames * 1_000_000 // RATE
    return Capture(Recording(samples, RATE), tuple(blocks))


@dataclass
class RunningBridge:
    """A `baton-bridge` process started by a test."""

    process: asyncio.subprocess.Process
    device_id: str
    host: str
    port: int
    output: list[str]
    drain: asyncio.Task[None] | None = None

    async def stop(self) -> int:
        """SIGTERM it and wait for a clean exit; return the exit code."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise
        if self.drain is not None:
            await self.drain
        return code


async def start_bridge(mpd: RunningMpd, name: str, *, interface: str = "lo") -> RunningBridge:
    """Start `python -m bridges` for *mpd* as *name*; wait until it listens."""
    return await start_bridge_with(
        ["--mpd", f"127.0.0.1:{mpd.port}", "--name", name, "--interface", interface]
    )


async def start_bridge_with(words: list[str]) -> RunningBridge:
    """Start `python -m bridges WORDS...`; wait until its first device listens."""
    argv = [sys.executable, "-m", "bridges", *words]
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while True:
                line = (await process.stdout.readline()).decode(errors="replace")
                if not line:
                    raise RuntimeError(f"baton-bridge exited: {''.join(lines)}")
                lines.append(line)
                if found := READY.search(line):
                    break
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    bridge = RunningBridge(process, found["id"], found["host"], int(found["port"]), lines)
    bridge.drain = asyncio.get_running_loop().create_task(_drain(process, lines))
    return bridge


async def _drain(process: asyncio.subprocess.Process, into: list[str]) -> None:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        into.append(line.decode(errors="replace"))


def _configure(folder: Path, port: int) -> tuple[Path, Path, int]:
    """Write mpd.conf and make the FIFO; return them and the port."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "music").mkdir(exist_ok=True)
    fifo = folder / "out.fifo"
    os.mkfifo(fifo)
    port = port or free_port()
    conf = folder / "mpd.conf"
    conf.write_text(
        f'music_directory "{folder / "music"}"\n'
        f'db_file "{folder / "db"}"\n'
        f'state_file "{folder / "state"}"\n'
        'bind_to_address "127.0.0.1"\n'
        f'port "{port}"\n'
        'zeroconf_enabled "no"\n'
        'auto_update "no"\n'
        "audio_output {\n"
        '  type "fifo"\n'
        '  name "recording"\n'
        f'  path "{fifo}"\n'
        '  format "44100:16:1"\n'
        '  mixer_type "software"\n'
        "}\n",
        encoding="utf-8",
    )
    return conf, fifo, port


def free_port() -> int:
    """Return a port free on 127.0.0.1 now (for a peer that must be told its port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    """Return whether mpd on *port* greets a connection now.

    A greeting slow to come (a loaded machine) is a "not yet", never an error: a recv timeout
    is a TimeoutError, which escaping here would end `until` at once with its own message."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(("127.0.0.1", port))
            return sock.recv(64).startswith(b"OK MPD")
        except OSError:  # refused, reset, or no greeting yet (socket.timeout is an OSError)
            return False
