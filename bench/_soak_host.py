"""The soak benchmark's receiver: a real receiver that reports its own resources when asked.

`python -m bench._soak_host --stats SOCKET RECEIVER-FLAGS...` runs `devices.cli`'s receiver
(the same flags, the same `async_serve` as `baton-receiver`), and answers every connection to
the Unix socket SOCKET with one JSON line: RSS, open file descriptors, threads and the event
loop's asyncio tasks (the answering task and its socket included, the same in every answer).
Tasks can only be counted from inside the process, hence this wrapper; everything else is what
`/proc` shows of any receiver. The benchmark asks at the same point of every cycle (no
controller connected), so successive answers are comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from devices.cli import build_parser
from devices.config import build_config
from devices.receiver import Receiver
from devices.service import async_serve


def resources() -> dict[str, float]:
    """Return this process's RSS (kB), open fds, threads and asyncio tasks, now."""
    rss_kb = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    return {
        "t": time.monotonic(),
        "rss_kb": rss_kb,
        "fds": sum(1 for _ in Path("/proc/self/fd").iterdir()),
        "threads": sum(1 for _ in Path("/proc/self/task").iterdir()),
        "python_threads": threading.active_count(),
        "tasks": len(asyncio.all_tasks()),
    }


async def _run(argv: list[str], stats: Path) -> int:
    args = build_parser().parse_args(argv)
    flags = {
        "name": args.name,
        "port": args.port,
        "interfaces": args.interfaces,
        "audio_output": args.audio_output,
        "state_dir": args.state_dir,
        "pairing": args.pairing,
    }
    receiver = Receiver(build_config({}, flags))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)

    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(json.dumps(resources()).encode() + b"\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(answer, path=str(stats))
    async with server:
        return await async_serve(receiver, stop)


def main(argv: list[str] | None = None) -> int:
    """Run the receiver until SIGTERM, answering on the stats socket (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench._soak_host", add_help=False)
    parser.add_argument("--stats", type=Path, required=True)
    ours, rest = parser.parse_known_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return asyncio.run(_run(rest, ours.stats))


if __name__ == "__main__":
    sys.exit(main())
