"""`python -m tests.impairment`: an impaired link between two network namespaces, as a process.

    python -m tests.impairment --profile wifi --origin T \\
        --tcp B/127.0.0.1:47200=A/127.0.0.1:47200 ... --mdns A,B

`--tcp LNS/HOST:PORT=TNS/HOST:PORT` listens on HOST:PORT in namespace LNS (an `ip netns` name)
and relays each connection to HOST:PORT in namespace TNS. With the same address on both sides
("mirror"), a peer in LNS reaches the device at the address the device itself advertises, and
everything it sends crosses the impaired link. `--mdns A,B` relays mDNS between the two
namespaces' loopbacks. `--origin` is the CLOCK_MONOTONIC instant stall and reset periods count
from (default: now), so the caller knows when they fall.

Prints `ready` once every socket is open. Reads commands on stdin: `reset` resets every open
TCP connection now (prints `reset N`); `stats` prints one JSON line of what was carried. Stops
on end of stdin or SIGTERM, printing the stats.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict

from tests.impairment.mdns import MdnsRelay, mdns_socket
from tests.impairment.profile import PROFILES, Profile
from tests.impairment.tcp import TcpImpairer

_CLONE_NEWNET = 0x40000000


def socket_in(netns: str) -> Callable[[int, int], socket.socket]:
    """Return a socket factory for namespace *netns* ("" for this process's own)."""

    def make(family: int, kind: int) -> socket.socket:
        if not netns:
            return socket.socket(family, kind)
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        try:
            # setns(2) moves only this thread, and only for the socket() call: a socket stays
            # in the namespace it was created in. Python 3.11 has no os.setns.
            if libc.setns(target, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {netns}")
            try:
                return socket.socket(family, kind)
            finally:
                if libc.setns(own, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(own)
            os.close(target)

    return make


def _endpoint(text: str) -> tuple[str, str, int]:
    netns, _, where = text.partition("/")
    host, _, port = where.rpartition(":")
    return netns, host, int(port)


async def _serve(args: argparse.Namespace, profile: Profile) -> dict[str, object]:
    origin = args.origin if args.origin is not None else time.monotonic()
    loop = asyncio.get_running_loop()
    impairers: list[TcpImpairer] = []
    servers = []
    for i, spec in enumerate(args.tcp):
        left, right = spec.split("=")
        lns, lhost, lport = _endpoint(left)
        tns, thost, tport = _endpoint(right)

        async def connect(
            tns: str = tns, thost: str = thost, tport: int = tport
        ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            sock = socket_in(tns)(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, (thost, tport))
            except OSError:
                sock.close()
                raise
            return await asyncio.open_connection(sock=sock)

        impairer = TcpImpairer(profile, origin, connect, seed=args.seed + i)
        listener = socket_in(lns)(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((lhost, lport))
        servers.append(await asyncio.start_server(impairer.handle, sock=listener))
        impairers.append(impairer)
    relay = None
    tasks = []
    if args.mdns:
        a, b = args.mdns.split(",")
        relay = MdnsRelay(
            mdns_socket(socket_in(a)), mdns_socket(socket_in(b)), profile, origin, args.seed
        )
        tasks.append(asyncio.ensure_future(relay.run()))
    if profile.reset_every_s:
        tasks.append(asyncio.ensure_future(_periodic_resets(impairers, profile, origin)))

    def stats() -> dict[str, object]:
        return {
            "profile": profile.name,
            "tcp": [asdict(i.stats) for i in impairers],
            "mdns": asdict(relay.stats) if relay else None,
        }

    print("ready", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def commands() -> None:
        while line := (await reader.readline()).decode().strip():
            if line == "reset":
                print(f"reset {sum(i.reset() for i in impairers)}", flush=True)
            elif line == "stats":
                print(json.dumps(stats()), flush=True)
        stop.set()

    tasks.append(asyncio.ensure_future(commands()))
    await stop.wait()
    for task in tasks:
        task.cancel()
    for server in servers:
        server.close()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, return_exceptions=True)
    return stats()


async def _periodic_resets(impairers: list[TcpImpairer], profile: Profile, origin: float) -> None:
    loop = asyncio.get_running_loop()
    period = profile.reset_every_s
    while True:
        now = loop.time()
        await asyncio.sleep(period - (now - origin) % period)  # the profile's reset timer
        for impairer in impairers:
            impairer.reset()


def main(argv: list[str] | None = None) -> int:
    """Run the impaired link until stdin closes or SIGTERM (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tests.impairment")
    parser.add_argument("--profile", default="wifi", choices=sorted(PROFILES))
    parser.add_argument("--tcp", action="append", default=[], metavar="LNS/H:P=TNS/H:P")
    parser.add_argument("--mdns", default="", metavar="NS_A,NS_B")
    parser.add_argument("--origin", type=float, help="CLOCK_MONOTONIC start of the periods")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    result = asyncio.run(_serve(args, PROFILES[args.profile]))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
