"""A hostile host's slow clients: many connections, each sending its request head a line at a time.

`python -m tests.faults.slow_clients HOST PORT --count 1000 --interval 5 --tls` opens *count*
connections (TLS without checking the certificate, as an attacker would), sends a request line
on each and then one more header line every *interval* seconds, forever: the head never ends,
so a server without a deadline for it holds every socket until it runs out of descriptors.
With `--reopen` a connection the server closed is opened again, as a patient attacker would.
`--source` binds the clients to one local address (a distinct peer address for the server).

It prints one JSON line a second: `open` (connected now), `opened` (connections that got
through the TCP handshake, in all), `closed` (ended by the server), `failed` (could not
connect, or TLS failed). It runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import ssl
from collections.abc import Sequence
from dataclasses import asdict, dataclass

CONNECT_TIMEOUT_S = 30.0
_IN_FLIGHT = 64  # connection attempts at once: the ramp-up of a real attack, not a SYN flood


@dataclass
class Tally:
    """What the clients saw so far."""

    open: int = 0
    opened: int = 0
    closed: int = 0
    failed: int = 0


class SlowClients:
    """Keeps *count* slow connections to HOST:PORT (see the module docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        count: int,
        interval_s: float,
        tls: bool,
        source: str = "",
        reopen: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.count = count
        self.interval_s = interval_s
        self.source = source
        self.reopen = reopen
        self.tally = Tally()
        self._ssl: ssl.SSLContext | None = None
        if tls:
            self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        self._gate = asyncio.Semaphore(_IN_FLIGHT)

    async def async_run(self) -> None:
        """Open the connections and keep them dribbling until cancelled."""
        async with asyncio.TaskGroup() as group:
            for n in range(self.count):
                group.create_task(self._client(n))

    async def _client(self, n: int) -> None:
        while True:
            await self._one_connection(n)
            if not self.reopen:
                return
            await asyncio.sleep(0.05)  # a reopening attacker, not a busy loop on one core

    async def _one_connection(self, n: int) -> None:
        async with self._gate:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        self.host,
                        self.port,
                        ssl=self._ssl,
                        local_addr=(self.source, 0) if self.source else None,
                    ),
                    CONNECT_TIMEOUT_S,
                )
            except (OSError, TimeoutError, ssl.SSLError):
                self.tally.failed += 1
                return
        self.tally.opened += 1
        self.tally.open += 1
        try:
            writer.write(f"GET /connect/v1/info HTTP/1.1\r\nHost: {self.host}\r\n".encode())
            reading = asyncio.ensure_future(reader.read(1))
            line = 0
            while True:
                await writer.drain()
                done, _ = await asyncio.wait({reading}, timeout=self.interval_s)
                if done:  # an answer (a refusal) or the end: the server let go of us
                    return
                line += 1
                writer.write(f"X-Slow-{n}-{line}: still sending\r\n".encode())
        except (OSError, ssl.SSLError):
            return
        finally:
            self.tally.open -= 1
            self.tally.closed += 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _main(args: argparse.Namespace) -> None:
    clients = SlowClients(
        args.host,
        args.port,
        count=args.count,
        interval_s=args.interval,
        tls=args.tls,
        source=args.source,
        reopen=args.reopen,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    attack = asyncio.ensure_future(clients.async_run())
    while not stop.is_set() and not attack.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        print(json.dumps(asdict(clients.tally)), flush=True)
    # No goodbyes: closing a thousand TLS connections politely can take the peer's shutdown
    # timeout each; the kernel closes them all at exit.
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the slow clients until SIGTERM (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tests.faults.slow_clients")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=5.0, metavar="S")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--source", default="", metavar="ADDRESS")
    parser.add_argument("--reopen", action="store_true")
    args = parser.parse_args(argv)
    # The attacker's own descriptors must not be what runs out.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(hard, args.count + 256)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
