"""Two network namespaces joined by a veth pair, for tests that need a real link between peers.

Usage (root only; `netns_skip_reason()` says why not)::

    with netns_pair() as pair:
        proc = pair.popen("a", [sys.executable, "-m", "connect.discovery.advertise", ...])
        ...  # a peer in namespace "b" reaches it at pair.address("a")
        pair.set_link("a", up=False)  # simulate the network going away

The veth ends are created directly inside the namespaces and the 10.x addresses exist only
there, so nothing touches the namespace the test runs in. Names carry the pid and a counter, so
parallel runs never collide (`ip netns` names are global, in /run/netns). Everything is torn
down in a `finally`: the processes started here, then both namespaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import subprocess
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

Side = Literal["a", "b"]

_counter = itertools.count()
_SIDES: tuple[Side, Side] = ("a", "b")
_SUBNET = "10.213.0"  # a /24 that exists only inside the pair's two namespaces
_CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def netns_skip_reason() -> str | None:
    """Return why namespaces cannot be made here (not root, no `ip`), or None when they can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces (ip netns add)"
    if shutil.which("ip") is None:
        return "needs iproute2's `ip` command"
    # Root inside a user namespace (`unshare -rn`, how non-root runs the suite) cannot write
    # /run/netns, where `ip netns add` pins namespaces.
    run_netns = Path("/run/netns")
    if not os.access(run_netns if run_netns.exists() else run_netns.parent, os.W_OK):
        return "needs write access to /run/netns (real root, not root in a user namespace)"
    return None


@dataclass
class NetnsPair:
    """Namespaces `a` and `b`, each with `lo` and one veth end up and a 10.213.0.x/24 address."""

    names: dict[Side, str]
    links: dict[Side, str]  # the first link's veth ends, addressed 10.213.0.1 and .2
    extra_links: list[dict[Side, str]] = field(default_factory=list)
    _procs: list[subprocess.Popen[Any] | asyncio.subprocess.Process] = field(default_factory=list)

    def address(self, side: Side) -> str:
        """Return the IPv4 address of the veth end in namespace *side*."""
        return f"{_SUBNET}.{1 if side == 'a' else 2}"

    def exec_argv(self, side: Side, argv: Sequence[str]) -> list[str]:
        """Return *argv* wrapped to run inside namespace *side*."""
        return ["ip", "netns", "exec", self.names[side], *argv]

    def popen(self, side: Side, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start *argv* inside namespace *side*; it is terminated when the pair is torn down."""
        proc = subprocess.Popen(self.exec_argv(side, argv), **kwargs)
        self._procs.append(proc)
        return proc

    async def async_start(
        self, side: Side, argv: Sequence[str], **kwargs: Any
    ) -> asyncio.subprocess.Process:
        """Start *argv* inside namespace *side* as an asyncio subprocess (ended on teardown)."""
        proc = await asyncio.create_subprocess_exec(*self.exec_argv(side, argv), **kwargs)
        self._procs.append(proc)
        return proc

    def run(self, side: Side, argv: Sequence[str]) -> str:
        """Run *argv* to completion inside namespace *side*; return its stdout, raise on failure."""
        done = subprocess.run(
            self.exec_argv(side, argv), check=True, capture_output=True, text=True, timeout=30
        )
        return done.stdout

    def set_link(self, side: Side, *, up: bool) -> None:
        """Bring the veth end in namespace *side* down or up (the link to the other side)."""
        _ip("-n", self.names[side], "link", "set", self.links[side], "up" if up else "down")

    def add_address(self, side: Side, cidr: str, link: str = "") -> None:
        """Add an address (e.g. "10.213.0.11/24") to a veth end (default: the first link)."""
        _ip("-n", self.names[side], "addr", "add", cidr, "dev", link or self.links[side])

    def remove_address(self, side: Side, cidr: str, link: str = "") -> None:
        """Remove an address (e.g. "10.213.0.2/24") from a veth end (default: the first link)."""
        _ip("-n", self.names[side], "addr", "del", cidr, "dev", link or self.links[side])

    def add_link(self) -> dict[Side, str]:
        """Join the namespaces by one more veth pair, up but unaddressed; return its ends."""
        n = len(self.extra_links) + 2
        ends: dict[Side, str] = {side: f"{self.links[side]}{n}" for side in _SIDES}
        _create_veth(self.names, ends)
        for side in _SIDES:
            _ip("-n", self.names[side], "link", "set", ends[side], "up")
        self.extra_links.append(ends)
        return ends

    async def async_run_in(self, side: Side, scenario: Callable[[], Awaitable[T]]) -> T:
        """Run *scenario* on its own event loop in a thread that joined namespace *side*.

        Every socket the scenario opens (aiohttp, zeroconf) lives in that namespace, so an
        in-process controller can sit on "the other host". The thread's namespace changes,
        never the test's.
        """
        return await asyncio.to_thread(self._run_in_thread, side, scenario)

    def _run_in_thread(self, side: Side, scenario: Callable[[], Awaitable[T]]) -> T:
        descriptor = os.open(f"/run/netns/{self.names[side]}", os.O_RDONLY)
        try:
            # setns(2) moves only the calling thread; Python 3.11 has no os.setns.
            if _libc().setns(descriptor, _CLONE_NEWNET) != 0:
                error = ctypes.get_errno()
                raise OSError(error, f"setns into {self.names[side]}: {os.strerror(error)}")
        finally:
            os.close(descriptor)

        async def wrapped() -> T:
            return await scenario()

        return asyncio.run(wrapped())

    def _stop_processes(self) -> None:
        for proc in reversed(self._procs):
            if proc.returncode is not None:
                continue
            # By pid, not through the asyncio transport: the test's loop may be closed by now.
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            if isinstance(proc, subprocess.Popen):
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            # An asyncio process is reaped by its own loop (or by init once that loop is gone).


@contextlib.contextmanager
def netns_pair(*, linked: bool = True) -> Iterator[NetnsPair]:
    """Create two namespaces joined by a veth pair; always delete them (and their processes).

    With *linked* False there is no veth (`links` is empty): only `lo` in each, so whatever
    crosses between them goes through a relay the caller runs (tests/impairment).
    """
    tag = f"{os.getpid()}-{next(_counter)}"
    names: dict[Side, str] = {"a": f"baton-{tag}-a", "b": f"baton-{tag}-b"}
    short = f"bv{os.getpid() % 10**7}{next(_counter) % 100}"  # interface names: at most 15 chars
    links: dict[Side, str] = {"a": f"{short}a", "b": f"{short}b"}
    pair = NetnsPair(names=names, links=links)
    created: list[str] = []
    try:
        for side in _SIDES:
            _ip("netns", "add", names[side])
            created.append(names[side])
        if not linked:
            pair.links = {}
        else:
            _create_veth(names, links)
        for side in _SIDES:
            ns = names[side]
            _ip("-n", ns, "link", "set", "lo", "up")
            if linked:
                _ip("-n", ns, "addr", "add", f"{pair.address(side)}/24", "dev", links[side])
                _ip("-n", ns, "link", "set", links[side], "up")
        yield pair
    finally:
        try:
            pair._stop_processes()
        finally:
            for ns in created:
                subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def _create_veth(names: dict[Side, str], ends: dict[Side, str]) -> None:
    # Both ends are made directly inside their namespaces: no interface, even briefly, in the
    # namespace running the test.
    _ip("-n", names["a"], "link", "add", ends["a"], "type", "veth",
        "peer", "name", ends["b"], "netns", names["b"])  # fmt: skip


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
