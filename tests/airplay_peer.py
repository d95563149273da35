"""A real AirPlay speaker for tests (Debian's shairport-sync), recording what it plays.

shairport-sync will not start without announcing itself through Avahi, so `start_speaker`
starts, in the test's own network namespace (only lo, made multicast for the test), a private
D-Bus bus and an avahi-daemon on lo only (in a mount namespace of its own, with a /run of its
own: its pid file and socket never meet the machine's), then shairport-sync on a free port
with its `pipe` output into a FIFO: raw PCM, 44.1 kHz, 16 bit, stereo, written as it is due,
so the instant each chunk is read is the instant it plays (its left channel becomes a
`tests.audio.Capture`, as MPD's is in tests/mpd_peer.py). Its metadata pipe is read too: the
title a stream carried. Nothing is announced anywhere but on this namespace's lo.
"""

from __future__ import annotations

import array
import asyncio
import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.audio import Capture
from tests.mpd_peer import capture_of, free_port
from tests.waiting import until

SHAIRPORT = shutil.which("shairport-sync") or "/usr/bin/shairport-sync"
AVAHI = shutil.which("avahi-daemon") or "/usr/sbin/avahi-daemon"
DBUS = shutil.which("dbus-daemon") or "/usr/bin/dbus-daemon"
START_TIMEOUT_S = 10.0
# One metadata item of the pipe: its code (hex of four letters) and its data (base64).
_ITEM = re.compile(rb"<code>([0-9a-f]{8})</code><length>\d+</length>\s*"
                   rb"<data encoding=\"base64\">\s*([A-Za-z0-9+/=\s]+?)\s*</data>")  # fmt: skip


def shairport_installed() -> bool:
    """Return True if Debian's shairport-sync and avahi-daemon are here (`./dev setup`)."""
    return Path(SHAIRPORT).exists() and Path(AVAHI).exists() and Path(DBUS).exists()


@dataclass
class RunningSpeaker:
    """shairport-sync (with its bus and Avahi) started by a test, and what it played."""

    processes: list[asyncio.subprocess.Process]
    port: int
    name: str
    folder: Path
    chunks: list[tuple[int, bytes]] = field(default_factory=list)  # (read at, µs; mono PCM)
    metadata: bytearray = field(default_factory=bytearray)
    _fds: list[int] = field(default_factory=list)
    _rest: bytes = b""
    _multicast_was_off: bool = False

    def capture(self) -> Capture:
        """Return what it played so far (its left channel), each chunk when it was read."""
        return capture_of(self.chunks)

    def played_frames(self) -> int:
        """Return how many frames it has played."""
        return sum(len(data) // 2 for _, data in self.chunks)

    def shown(self, code: str) -> list[str]:
        """Return what streams to it carried as DMAP *code* ("minm" title, "asar" artist)."""
        wanted = code.encode().hex().encode()
        items = _ITEM.findall(bytes(self.metadata))
        return [base64.b64decode(data).decode(errors="replace")
                for found, data in items if found == wanted]  # fmt: skip

    def log(self) -> str:
        """Return shairport-sync's log."""
        return (self.folder / "shairport.log").read_text(errors="replace")

    def _pcm(self, data: bytes) -> None:
        data = self._rest + data
        whole = len(data) // 4 * 4
        self._rest = data[whole:]
        stereo = array.array("h")
        stereo.frombytes(data[:whole])
        self.chunks.append((time.monotonic_ns() // 1000, stereo[0::2].tobytes()))

    async def stop(self) -> None:
        """Stop shairport-sync, then Avahi and the bus; stop recording."""
        for process in reversed(self.processes):  # shairport-sync first
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        loop = asyncio.get_running_loop()
        for fd in self._fds:
            loop.remove_reader(fd)
            os.close(fd)
        self._fds.clear()
        if self._multicast_was_off:
            _lo_multicast(on=False)


async def start_speaker(folder: Path, name: str) -> RunningSpeaker:
    """Start shairport-sync as *name* on a free port of lo, announced by Avahi on lo only."""
    fifo, meta = _prepare(folder)
    port = free_port()
    bus = folder / "bus"
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={bus}"}
    was_off = _lo_multicast(on=True)
    running = RunningSpeaker([], port, name, folder, _multicast_was_off=was_off)
    loop = asyncio.get_running_loop()
    for path, take in ((fifo, running._pcm), (meta, running.metadata.extend)):
        # Opened before shairport-sync opens them for writing, so nothing is missed.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        running._fds.append(fd)

        def readable(fd: int = fd, take: object = take) -> None:
            with contextlib.suppress(BlockingIOError):
                data = os.read(fd, 1 << 16)
                if data:
                    take(data)  # type: ignore[operator]

        loop.add_reader(fd, readable)
    try:
        await _start_bus(running, folder, bus)
        await _start_avahi(running, folder, env)
        await _start_shairport(running, folder, env, fifo, meta)
    except BaseException:
        await running.stop()
        raise
    return running


async def _start_bus(running: RunningSpeaker, folder: Path, bus: Path) -> None:
    conf = folder / "bus.conf"
    conf.write_text(
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
        f"<busconfig><type>system</type><listen>unix:path={bus}</listen><auth>EXTERNAL</auth>"
        '<policy context="default"><allow user="*"/><allow own="*"/>'
        '<allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>\n',
        encoding="utf-8",
    )
    with (folder / "dbus.log").open("wb") as log:
        running.processes.append(await asyncio.create_subprocess_exec(
            DBUS, f"--config-file={conf}", "--nofork", "--nopidfile",
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        ))  # fmt: skip
    await until(bus.exists, START_TIMEOUT_S, "the private bus listens")


async def _start_avahi(running: RunningSpeaker, folder: Path, env: dict[str, str]) -> None:
    conf = folder / "avahi.conf"
    conf.write_text(
        "[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=lo\nenable-dbus=yes\n"
        "ratelimit-interval-usec=0\n[wide-area]\nenable-wide-area=no\n"
        "[publish]\npublish-hinfo=no\npublish-workstation=no\n",
        encoding="utf-8",
    )
    script = (
        'mount -t tmpfs tmpfs /run && mkdir -p /run/avahi-daemon && exec "$0" -f "$1" '
        "--no-drop-root --no-chroot --no-rlimits --no-proc-title"
    )
    log_path = folder / "avahi.log"
    with log_path.open("wb") as log:
        running.processes.append(await asyncio.create_subprocess_exec(
            "unshare", "-m", "--propagation", "private", "sh", "-c", script, AVAHI, str(conf),
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
        ))  # fmt: skip
    await until(
        lambda: "Server startup complete" in log_path.read_text(errors="replace")
        or running.processes[-1].returncode is not None,
        START_TIMEOUT_S, "avahi-daemon up",
    )  # fmt: skip
    if running.processes[-1].returncode is not None:
        raise RuntimeError(f"avahi-daemon exited: {log_path.read_text(errors='replace')}")


async def _start_shairport(
    running: RunningSpeaker, folder: Path, env: dict[str, str], fifo: Path, meta: Path
) -> None:
    conf = folder / "shairport-sync.conf"
    conf.write_text(
        f'general = {{ name = "{running.name}"; port = {running.port}; '
        f'udp_port_base = {free_port()}; interpolation = "basic"; }};\n'
        'sessioncontrol = { allow_session_interruption = "yes"; session_timeout = 20; };\n'
        f'pipe = {{ name = "{fifo}"; }};\n'
        f'metadata = {{ enabled = "yes"; include_cover_art = "no"; pipe_name = "{meta}"; }};\n',
        encoding="utf-8",
    )
    log_path = folder / "shairport.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            SHAIRPORT, "-c", str(conf), "-u", "-v", "-o", "pipe",
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    running.processes.append(process)
    await until(
        lambda: _listens(running.port) or process.returncode is not None,
        START_TIMEOUT_S, "shairport-sync listens",
    )  # fmt: skip
    if process.returncode is not None:
        raise RuntimeError(f"shairport-sync exited: {log_path.read_text(errors='replace')}")


def _prepare(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    fifo, meta = folder / "out.fifo", folder / "meta.fifo"
    os.mkfifo(fifo)
    os.mkfifo(meta)
    return fifo, meta


def _lo_multicast(*, on: bool) -> bool:
    """Set lo's MULTICAST flag (Avahi uses no interface without it); return if it was off."""
    shown = subprocess.run(["ip", "link", "show", "lo"], capture_output=True, text=True,
                           check=True).stdout  # fmt: skip
    subprocess.run(["ip", "link", "set", "lo", "multicast", "on" if on else "off"], check=True)
    return "MULTICAST" not in shown


def _listens(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
