"""Queues as large as a library, measured: what a queue of 100, 10 000 and 50 000 items costs.

For each size a fresh `baton-receiver` (`--audio-output none`) is started and two controllers
connect; one queues the items (realistic URLs of ~110 bytes, `Controller.async_play_items`:
SetQueue, then AddToQueue 1 000 at a time, not playing). Then, as `bench.session` does:
* command → echo: SetVolume, alternating, until both controllers saw the state it made (ms);
* snapshot bytes per state change: the encoded size of each echo the watching controller got;
* receiver RSS: VmRSS of the receiver process after the upload and after the echoes (MB);
* upload: how long queueing the items took (s, reported).
The targets compare the 50 000-item figures with the 100-item ones of the same run: echo p99
within 10 ms, bytes per change within 5 %, RSS at most 20 MB more.

`python -m bench._queue_sizes session|transfer` runs the same in a process of its own and prints
its measurements as JSON lines: with PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python (what armhf
runs: no upb wheel) for the receiver and the controller alike (`pure_python`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

import aiohttp

from bench._runner import Measurement
from connect.session import ConnectionEvent, StateChanged
from connect.session.queue_upload import async_play_items, items_for_urls
from connect.wire import codec
from connect.wire import messages as m

QUEUE_SIZES = (100, 10_000, 50_000)
QUICK_SIZES = (100, 2_000)  # a smoke: over a window (64) and one command (1 000)
ECHO_MARGIN_MS = 10.0
BYTES_MARGIN = 0.05
RSS_MARGIN_MB = 20.0
SETTLE_S = 1.0
UPLOAD_TIMEOUT_S = 120.0  # a command of 1 000 items in pure-Python protobuf on a busy machine


def library_urls(count: int, host: str = "http://192.168.1.20:8000") -> list[str]:
    """Return *count* URLs of a plausible music library (about 110 bytes each)."""
    return [
        f"{host}/media/Artist%20Number%20{i // 120:04d}/Album%20Title%20{i // 12:05d}/"
        f"{i % 12 + 1:02d}%20-%20A%20Track%20Title%20{i:05d}.flac"
        for i in range(count)
    ]


def rss_mb(pid: int) -> float:
    """Return a process's VmRSS in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


# ------------------------------------------------------------------------------ session


async def session_sizes(sizes: Sequence[int], samples: int, suffix: str = "") -> list[Measurement]:
    """Measure echo, bytes per change and RSS at each queue size (see the module docstring)."""
    from bench.receiver_memory import _write_tone
    from bench.session import (  # the receiver and echo helpers of bench.session
        _echo_samples,
        close_controllers,
        connect_controllers,
        receiver_argv,
        running_receiver,
    )
    from tests.media_server import MediaServer

    figures: dict[int, list[Measurement]] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="baton-bench-queues-") as tmp:
            workdir = Path(tmp)
            (workdir / "media").mkdir()
            _write_tone(workdir / "media" / "tone.wav", 2)
            argv = receiver_argv("none", workdir / "state")
            async with (
                MediaServer(workdir / "media") as media,
                running_receiver(argv, workdir) as receiver,
                aiohttp.ClientSession() as http,
            ):
                connections = await connect_controllers(receiver, http, 2)
                try:
                    # The first item is real: the receiver opens it (paused) as SetQueue asks.
                    urls = [media.url("tone.wav"), *library_urls(size - 1)]
                    items = items_for_urls(urls)
                    started = time.perf_counter()
                    await async_play_items(
                        connections[0], items, play=False, timeout=UPLOAD_TIMEOUT_S
                    )
                    upload_s = time.perf_counter() - started
                    await asyncio.sleep(SETTLE_S)
                    rss = [rss_mb(receiver.pid)]
                    sizes_seen: list[float] = []

                    def watch(event: ConnectionEvent, seen: list[float] = sizes_seen) -> None:
                        if isinstance(event, StateChanged):
                            frame = m.Envelope(1, "0" * 32, event.snapshot)
                            seen.append(len(codec.encode(frame)))

                    unsubscribe = connections[1].subscribe(watch)
                    try:
                        echoes = await _echo_samples(connections, samples)
                    finally:
                        unsubscribe()
                    rss.append(rss_mb(receiver.pid))
                finally:
                    await close_controllers(connections)
        name = f"session.queue_{size}"
        figures[size] = [
            Measurement(f"{name}.command_echo{suffix}", "ms", echoes, extra={"upload_s": upload_s}),
            Measurement(f"{name}.snapshot_bytes{suffix}", "B", sizes_seen),
            Measurement(f"{name}.receiver_rss{suffix}", "MB", rss),
        ]
    return judge(figures)


def judge(figures: dict[int, list[Measurement]]) -> list[Measurement]:
    """Mark the largest size's figures against the smallest's (echo, bytes, RSS, in order)."""
    small, large = min(figures), max(figures)
    base_echo, base_bytes, base_rss = figures[small]
    echo, size, rss = figures[large]
    judged = {
        small: figures[small],
        large: [
            _with(
                echo,
                f"p99 ≤ the {small}-item p99 + {ECHO_MARGIN_MS:g} ms",
                echo.percentile(99) <= base_echo.percentile(99) + ECHO_MARGIN_MS,
            ),
            _with(
                size,
                f"median within {BYTES_MARGIN:.0%} of the {small}-item median (independent of "
                "the queue's length)",
                abs(_median(size) - _median(base_bytes)) <= BYTES_MARGIN * _median(base_bytes),
            ),
            _with(
                rss,
                f"≤ the {small}-item RSS + {RSS_MARGIN_MB:g} MB",
                max(rss.samples) <= max(base_rss.samples) + RSS_MARGIN_MB,
            ),
        ],
    }
    return [f for size_ in sorted(figures) for f in judged.get(size_, figures[size_])]


def judge_latency(
    latency: dict[int, Measurement], memory: dict[int, Measurement]
) -> list[Measurement]:
    """Mark the largest size's transfer latency and RSS against the smallest's."""
    small, large = min(latency), max(latency)
    base, base_rss = latency[small], memory[small]
    latency[large] = _with(
        latency[large],
        f"median ≤ the {small}-item median + {ECHO_MARGIN_MS:g} ms (request → target audible)",
        _median(latency[large]) <= _median(base) + ECHO_MARGIN_MS,
    )
    memory[large] = _with(
        memory[large],
        f"≤ the {small}-item RSS + {RSS_MARGIN_MB:g} MB (either receiver)",
        max(memory[large].samples) <= max(base_rss.samples) + RSS_MARGIN_MB,
    )
    return [figure for size in sorted(latency) for figure in (latency[size], memory[size])]


def _with(figure: Measurement, target: str, met: bool) -> Measurement:
    return Measurement(figure.name, figure.unit, figure.samples, target, figure.extra, met)


def _median(figure: Measurement) -> float:
    return figure.percentile(50)


# ------------------------------------------------------------------------------ pure Python


def pure_python(what: str, quick: bool) -> Iterable[Measurement]:
    """Run `what` (session or transfer) with pure-Python protobuf in a process of its own."""
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    args = [sys.executable, "-m", "bench._queue_sizes", what] + (["--quick"] if quick else [])
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[1:])} failed:\n{done.stdout}\n{done.stderr}")
    for line in done.stdout.splitlines():
        if line.startswith("MEASUREMENT "):
            yield Measurement(**json.loads(line.removeprefix("MEASUREMENT ")))


def main(argv: list[str] | None = None) -> int:
    """Print the measurements of one part as JSON lines (for `pure_python`)."""
    parser = argparse.ArgumentParser(prog="python -m bench._queue_sizes")
    parser.add_argument("what", choices=("session", "transfer"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from google.protobuf.internal import api_implementation

    suffix = f".{api_implementation.Type()}"
    sizes = QUICK_SIZES if args.quick else QUEUE_SIZES
    if args.what == "session":
        found = asyncio.run(session_sizes(sizes, 20 if args.quick else 200, suffix))
    else:
        from bench.transfer import queue_sizes

        found = asyncio.run(queue_sizes(sizes, 1 if args.quick else 6, suffix))
    for figure in found:
        print("MEASUREMENT " + json.dumps(asdict(figure)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
