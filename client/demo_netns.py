"""The demo's private network: a network namespace of its own, when the demo runs as root.

libupnp refuses the loopback interface, so a UPnP renderer (gmediarender) needs a real one; the
demo must not add one to the user's network, nor let mDNS or SSDP out. As root, `baton demo`
moves itself (before any thread starts) into a new network namespace with `lo` up and a veth
pair whose both ends stay inside it, the first addressed ADDRESS: everything the demo starts
lives there and disappears with it. The trace viewer's address, which the user opens in a
browser on this machine, is a socket made on the host's loopback before the move; the demo
relays what arrives there to the collector inside. Path sockets (X11's fallback from its
abstract one, Wayland, PulseAudio, D-Bus) reach across namespaces; TCP ones do not, so a
display or sound server over TCP keeps the demo here. (A D-Bus session bus on an abstract
socket, as on old systems, is out of reach: the app then has no media keys, as without a bus.)
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from taskowner import TaskOwner

LINK, PEER = "baton-demo0", "baton-demo1"
ADDRESS = "10.231.9.1"  # exists only inside the demo's namespace
_CLONE_NEWNET = 0x40000000
_RELAY_CHUNK = 1 << 16
_log = logging.getLogger(__name__)


@dataclass
class PrivateNetwork:
    """The namespace the demo moved into: the renderer's link, and the viewer's host socket."""

    link: str
    viewer_socket: socket.socket  # listening on the host's 127.0.0.1, not the namespace's

    @property
    def viewer_port(self) -> int:
        """Return the port the viewer has on the host's loopback."""
        return int(self.viewer_socket.getsockname()[1])

    def cli_prefix(self) -> str:
        """Return the words that run a command in the demo's network from another terminal."""
        return f"nsenter --net=/proc/{os.getpid()}/ns/net "


def enter_private_network(*, windowed: bool) -> tuple[PrivateNetwork | None, str]:
    """Move this process into a namespace of its own; return it, or None and why it did not."""
    why_not = _why_not(windowed)
    if why_not:
        return None, why_not
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        home = os.open("/proc/self/ns/net", os.O_RDONLY)  # the way back, if the links fail
    except OSError as exc:
        return None, f"cannot read this process's network namespace: {exc}"
    try:
        viewer = socket.create_server(("127.0.0.1", 0))
    except OSError as exc:
        os.close(home)
        return None, f"cannot listen on this machine's loopback for the trace viewer: {exc}"
    try:
        if libc.unshare(_CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            viewer.close()
            return None, f"cannot make a network namespace: {os.strerror(error)}"
        problem = _set_up_links(shutil.which("ip") or "ip")
        if problem:
            # Back to the user's network, as if nothing happened: the demo runs as without root.
            if libc.setns(home, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "cannot return to this machine's network")
            viewer.close()
            return None, problem
    finally:
        os.close(home)
    return PrivateNetwork(LINK, viewer), ""


def _why_not(windowed: bool) -> str:
    """Return why the demo keeps to this machine's loopback, or "" when it can go private."""
    if os.geteuid() != 0:
        return "the demo is not running as root (./dev demo is) to have a network of its own"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    display = os.environ.get("DISPLAY", "")
    x_over_tcp = display.partition(":")[0] not in ("", "unix")  # ssh -X's localhost:10
    if windowed and x_over_tcp and not os.environ.get("WAYLAND_DISPLAY"):
        # A TCP address on this machine's loopback is not reachable from another namespace.
        return f"the display {display} is reached over TCP"
    if "tcp:" in os.environ.get("PULSE_SERVER", ""):
        return "the sound server (PULSE_SERVER) is reached over TCP"
    if threading.active_count() > 1:  # unshare moves the calling thread only
        return "threads are already running"
    return ""


def _set_up_links(ip: str) -> str:
    """Bring up lo and the veth pair in the new namespace; return what failed, or ""."""
    steps = (
        ["link", "set", "lo", "up"],
        ["link", "add", LINK, "type", "veth", "peer", "name", PEER],
        ["addr", "add", f"{ADDRESS}/24", "dev", LINK],
        ["link", "set", LINK, "up"],
        ["link", "set", PEER, "up"],
    )
    for n, step in enumerate(steps):
        if n == 2:
            # Without IPv6 on the link libupnp binds at once, instead of retrying for a second
            # or two while the link's IPv6 address is still tentative.
            _disable_ipv6(LINK)
        done = subprocess.run([ip, *step], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"ip {' '.join(step)}: {done.stderr.strip()}"
    return ""


def _disable_ipv6(link: str) -> None:
    with contextlib.suppress(OSError):  # a kernel without IPv6: nothing to wait for
        Path(f"/proc/sys/net/ipv6/conf/{link}/disable_ipv6").write_text("1", encoding="ascii")


class ViewerRelay:
    """Relays connections made to the host-side socket to a port on the namespace's loopback."""

    def __init__(self, listening: socket.socket, port: int) -> None:
        self._listening = listening
        self._port = port
        self._server: asyncio.Server | None = None
        self._tasks = TaskOwner("demo viewer relay", _log)

    async def async_start(self) -> None:
        """Start accepting on the host-side socket."""
        self._server = await asyncio.start_server(self._async_relay, sock=self._listening)

    async def async_close(self) -> None:
        """Stop accepting and end every relayed connection (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self._tasks.async_close(5.0)

    async def _async_relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            inner_reader, inner_writer = await asyncio.open_connection("127.0.0.1", self._port)
        except OSError:
            writer.close()
            return
        self._tasks.async_spawn(_join(reader, writer, inner_reader, inner_writer), "connection")


async def _join(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    inner_reader: asyncio.StreamReader,
    inner_writer: asyncio.StreamWriter,
) -> None:
    """Relay both ways until both have ended, or either side fails; then close both."""
    try:
        async with asyncio.TaskGroup() as both:
            both.create_task(_pipe(reader, inner_writer))
            both.create_task(_pipe(inner_reader, writer))
    except* (ConnectionError, OSError):
        pass  # one side went away: the other connection goes too
    finally:
        for each in (writer, inner_writer):
            each.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy *reader* to *writer* until it ends; then pass its end on (a half close)."""
    while data := await reader.read(_RELAY_CHUNK):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()
