"""A real Snapcast server and client for tests (Debian's snapserver and snapclient), recording
what the client plays, and `baton-bridge --snapcast` around them.

`start_snapcast` writes a snapserver.conf into the test's folder: loopback only, free ports for
the control (JSON-RPC), the clients' stream and the Baton source (`tcp`, server mode, 44.1 kHz
16 bit mono: what the position track is), plain PCM to its clients, no HTTP (Snapweb), its
data (server.json) in the folder. snapserver 0.26 has no switch for its mDNS announcement: it
publishes through avahi-daemon when one runs, and none runs in the test's namespace (only lo).
The client is `snapclient --player file` writing raw PCM into a FIFO the test reads: it writes
a 50 ms block every 50 ms, silence too, each 10 ms before it begins to play (its
client/player/file_player.cpp), without a break; so `continuous_capture` dates the blocks
from the reads, each read being late, never early.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.audio import RATE, Capture, Recording
from tests.mpd_peer import RunningBridge, start_bridge_with
from tests.waiting import until

LATE_READ_US = 500_000  # a read later than this after its data was written: a writer's break
PLAYOUT_AHEAD_US = 10_000  # snapclient's file player writes each block this long ahead
BLOCK_FRAMES = RATE // 20  # and its blocks are 50 ms

SNAPSERVER = shutil.which("snapserver") or "/usr/bin/snapserver"
SNAPCLIENT = shutil.which("snapclient") or "/usr/bin/snapclient"
START_TIMEOUT_S = 10.0
CLIENT_ID = "baton-test-client"
READY = re.compile(r"id (?P<id>snapcast-[0-9a-f]+)\) listening on (?P<host>[0-9.]+):(?P<port>\d+)")


def snapcast_installed() -> bool:
    """Return True if Debian's snapserver and snapclient are here (`./dev setup` installs them)."""
    return Path(SNAPSERVER).exists() and Path(SNAPCLIENT).exists()


@dataclass
class RunningSnapcast:
    """A snapserver and one snapclient started by a test, and what the client played."""

    server: asyncio.subprocess.Process
    client: asyncio.subprocess.Process
    control_port: int
    source_port: int
    stream_port: int
    folder: Path
    group_id: str = ""
    chunks: list[tuple[int, bytes]] = field(default_factory=list)
    others: list[asyncio.subprocess.Process] = field(default_factory=list)
    _fd: int = -1

    def capture(self) -> Capture:
        """Return what the client played so far, each block at the instant it was read."""
        return continuous_capture(self.chunks)

    def played_frames(self) -> int:
        """Return how many samples the client has played (silence included)."""
        return sum(len(data) // 2 for _, data in self.chunks)

    def rpc(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send one JSON-RPC request to the server (a blocking call: short, on loopback)."""
        return rpc(self.control_port, method, params)

    async def add_client(self, host_id: str) -> None:
        """Start one more snapclient (playing nowhere): the server puts it in a new group."""
        with (self.folder / f"{host_id}.log").open("wb") as log:
            client = await asyncio.create_subprocess_exec(
                SNAPCLIENT, "--host", "127.0.0.1", "--port", str(self.stream_port),
                "--hostID", host_id, "--player", "file:filename=null", "--logsink", "stderr",
                stdout=log, stderr=log,
            )  # fmt: skip
        self.others.append(client)

    async def stop(self) -> None:
        """Stop them all (SIGTERM, then SIGKILL) and stop recording."""
        for process in (*self.others, self.client, self.server):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._fd >= 0:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1


def continuous_capture(chunks: list[tuple[int, bytes]]) -> Capture:
    """Return mono s16 PCM read from a FIFO by a writer that writes without a break (read at,
    µs; bytes) as a capture.

    The writer's block holding a chunk's last sample was written by the instant the chunk was
    read, so it began to play at most PLAYOUT_AHEAD_US after that read; and the next chunk
    began where this one ends. So, from the last read back, a chunk ends at the earlier of the
    two (a read delayed by a busy test process dates nothing late), unless the next one starts
    over LATE_READ_US before that (the writer paused: snapclient restarting its clock after it
    fell behind).
    """
    samples: array.array[int] = array.array("h")
    firsts: list[tuple[int, int]] = []  # (first sample index, frames)
    for _, data in chunks:
        firsts.append((len(samples), len(data) // 2))
        samples.frombytes(data[: len(data) // 2 * 2])
    blocks: list[tuple[int, int, int]] = []
    next_start: int | None = None
    for (read_us, _), (first, frames) in zip(reversed(chunks), reversed(firsts), strict=True):
        into_block = (first + frames - 1) % BLOCK_FRAMES + 1  # of the block of its last sample
        end = read_us + PLAYOUT_AHEAD_US + into_block * 1_000_000 // RATE
        if next_start is not None and end - LATE_READ_US < next_start < end:
            end = next_start
        start = end - frames * 1_000_000 // RATE
        blocks.append((start, first, frames))
        next_start = start
    return Capture(Recording(samples, RATE), tuple(reversed(blocks)))


def rpc(port: int, method: str, params: dict[str, Any] | None = None) -> Any:
    """Send one JSON-RPC request to the snapserver at 127.0.0.1:*port*; return its result."""
    request = {"id": 1, "jsonrpc": "2.0", "method": method, "params": params or {}}
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(json.dumps(request).encode() + b"\r\n")
        received = b""
        while True:
            data = sock.recv(1 << 16)
            if not data:
                raise ConnectionError("snapserver closed the connection")
            received += data
            for line in received.split(b"\r\n")[:-1]:
                answer = json.loads(line)
                if answer.get("id") == 1:
                    if "error" in answer:
                        raise RuntimeError(f"snapserver refused {method}: {answer['error']}")
                    return answer["result"]


async def start_snapcast(folder: Path, group_name: str, control_port: int = 0) -> RunningSnapcast:
    """Start snapserver (its control on *control_port*, or a free one) and a snapclient
    recording into a FIFO; wait until the client's group exists, then name it *group_name*."""
    ports = _free_ports(3)
    control, stream, source = control_port or ports[0], ports[1], ports[2]
    conf = _configure(folder, control, stream, source)
    fifo = folder / "out.fifo"
    os.mkfifo(fifo)
    # Opened before snapclient opens it for writing, so nothing it plays is missed.
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    with (folder / "snapserver.log").open("wb") as log:
        server = await asyncio.create_subprocess_exec(
            SNAPSERVER, "-c", str(conf), stdout=log, stderr=log
        )
    await until(lambda: _answers(control) or server.returncode is not None, START_TIMEOUT_S,
                "snapserver listens")  # fmt: skip
    with (folder / "snapclient.log").open("wb") as log:
        client = await asyncio.create_subprocess_exec(
            SNAPCLIENT, "--host", "127.0.0.1", "--port", str(stream), "--hostID", CLIENT_ID,
            "--player", f"file:filename={fifo}", "--logsink", "stderr",
            stdout=log, stderr=log,
        )  # fmt: skip
    running = RunningSnapcast(server, client, control, source, stream, folder, _fd=fd)

    def readable() -> None:
        with contextlib.suppress(BlockingIOError):
            data = os.read(fd, 1 << 16)
            if data:
                running.chunks.append((time.monotonic_ns() // 1000, data))

    asyncio.get_running_loop().add_reader(fd, readable)
    try:
        if server.returncode is not None:
            raise RuntimeError(f"snapserver exited: {(folder / 'snapserver.log').read_text()}")
        await until(lambda: bool(_groups(control)), START_TIMEOUT_S, "the client's group")
        running.group_id = _groups(control)[0]["id"]
        running.rpc("Group.SetName", {"id": running.group_id, "name": group_name})
    except BaseException:
        await running.stop()
        raise
    return running


async def start_snapcast_bridge(snapcast: RunningSnapcast) -> RunningBridge:
    """Start `python -m bridges --snapcast` for the server; wait until its group listens."""
    return await start_bridge_with(
        ["--snapcast", f"127.0.0.1:{snapcast.control_port}", "--interface", "lo"]
    )


def _configure(folder: Path, control: int, stream: int, source: int) -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    conf = folder / "snapserver.conf"
    conf.write_text(
        "[server]\n"
        f"datadir = {folder / 'data'}\n"
        "threads = 1\n"
        "[http]\n"
        "enabled = false\n"
        "[tcp]\n"
        "bind_to_address = 127.0.0.1\n"
        f"port = {control}\n"
        "[stream]\n"
        "bind_to_address = 127.0.0.1\n"
        f"port = {stream}\n"
        f"source = tcp://127.0.0.1:{source}?name=Baton&mode=server&sampleformat=44100:16:1\n"
        f"source = pipe://{folder / 'other.fifo'}?name=Other&mode=create\n"
        "codec = pcm\n"
        "buffer = 1000\n"
        "[logging]\n"
        "sink = stderr\n",
        encoding="utf-8",
    )
    return conf


def _free_ports(count: int) -> list[int]:
    """Return *count* distinct ports free on 127.0.0.1 now (bound at once: one after another,
    two free ports were once the same, and snapserver could not listen on it twice)."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def _answers(port: int) -> bool:
    try:
        rpc(port, "Server.GetRPCVersion")
    except OSError:
        return False
    return True


def _groups(port: int) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = rpc(port, "Server.GetStatus")["server"]["groups"]
    return [g for g in groups if any(c["connected"] for c in g["clients"])]
