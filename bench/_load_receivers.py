"""Receiver hosts for the load benchmark: several real `Receiver`s in one process, and its parent.

Run as `python -m bench._load_receivers --count N --first K --state-root DIR ...`, a host starts
N `devices.Receiver` objects (each with its own state directory, port, libVLC player and, with
`--advertise`, its own mDNS advertiser on `lo`), prints one JSON line per receiver once all are
listening, then `{"ready": N}`, and closes them all on SIGTERM. Pairing is set to "open"
explicitly: these receivers are measured, not paired with.

Why several receivers per process: fifty Python interpreters with libVLC would cost fifty
start-ups and ~50 × 60 MB on a two-core machine shared with the controller being measured;
receivers in one process share the interpreter and libraries but nothing of Baton's own state
(each has its own server, player thread, store and advertiser), so each is a full device on
the wire. What they share is an event loop, which a real device would not: a command to one
may wait for work of its neighbours, so latencies are upper bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

READY_TIMEOUT_S = 60.0  # ten libVLC start-ups and name checks at once on a loaded machine
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class HostedReceiver:
    """One receiver of a host process, as the benchmark reaches it."""

    device_id: str
    name: str
    port: int
    pid: int  # of its host process


@dataclass(frozen=True)
class ReceiverHost:
    """A started host process and the receivers it runs."""

    process: asyncio.subprocess.Process
    receivers: tuple[HostedReceiver, ...]
    log: Path


@contextlib.asynccontextmanager
async def receiver_hosts(
    count: int,
    per_process: int,
    workdir: Path,
    *,
    advertise: bool,
    audio_output: str = "none",
) -> AsyncIterator[list[HostedReceiver]]:
    """Start *count* receivers in hosts of *per_process*; yield them all; always stop the hosts."""
    hosts: list[ReceiverHost] = []
    try:
        starting = [
            _start_host(first, min(per_process, count - first), workdir, advertise, audio_output)
            for first in range(0, count, per_process)
        ]
        results = await asyncio.gather(*starting, return_exceptions=True)
        hosts = [r for r in results if isinstance(r, ReceiverHost)]
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        yield [receiver for host in hosts for receiver in host.receivers]
    finally:
        await asyncio.gather(*(_stop(host.process) for host in hosts))


async def _start_host(
    first: int, count: int, workdir: Path, advertise: bool, audio_output: str
) -> ReceiverHost:
    log = workdir / f"host-{first:03d}.log"
    argv = [
        sys.executable, "-m", "bench._load_receivers", "--first", str(first),
        "--count", str(count), "--state-root", str(workdir), "--audio-output", audio_output,
    ]  # fmt: skip
    if advertise:
        argv.append("--advertise")
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=stderr
        )
    try:
        receivers = await asyncio.wait_for(_read_ready(process), READY_TIMEOUT_S)
    except (TimeoutError, RuntimeError) as exc:
        await _stop(process)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        why = str(exc) or "timed out"
        raise RuntimeError(f"receiver host {first}: not ready ({why}); log:\n{tail}") from None
    return ReceiverHost(process, receivers, log)


async def _read_ready(process: asyncio.subprocess.Process) -> tuple[HostedReceiver, ...]:
    assert process.stdout is not None
    receivers: list[HostedReceiver] = []
    while line := await process.stdout.readline():
        record = json.loads(line)
        if "ready" in record:
            return tuple(receivers)
        receivers.append(
            HostedReceiver(record["device_id"], record["name"], record["port"], process.pid)
        )
    raise RuntimeError(f"exited with {await process.wait()}")


def cpu_seconds(pids: Iterable[int]) -> float:
    """Return the user + system CPU time the processes *pids* have used so far (Linux /proc)."""
    total = 0.0
    for pid in set(pids):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


# ------------------------------------------------------------------------------ the host process


async def _host(args: argparse.Namespace) -> int:
    # Imported here: the parent side above needs neither libVLC nor the receiver.
    from devices.config import ReceiverConfig
    from devices.receiver import Receiver

    receivers = []
    for index in range(args.first, args.first + args.count):
        state_dir = Path(args.state_root) / f"receiver-{index:03d}"
        config = ReceiverConfig(
            name=f"Load Speaker {index:03d}",
            interfaces=("lo",),
            audio_output=args.audio_output,
            state_dir=state_dir,
            pairing="open",  # explicit: the default is moving to PIN pairing
            resume_window=0.0,
        )
        receivers.append(Receiver(config, advertise=args.advertise))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        started = await asyncio.gather(*(r.async_start() for r in receivers))
        gc.freeze()  # as devices/service.py does once a receiver has started
        for receiver, where in zip(receivers, started, strict=True):
            line = {"device_id": where.device_id, "name": receiver.config.name, "port": where.port}
            print(json.dumps(line), flush=True)
        print(json.dumps({"ready": len(receivers)}), flush=True)
        await stop.wait()
    finally:
        await asyncio.gather(*(r.async_close() for r in receivers), return_exceptions=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run a receiver host until SIGTERM (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench._load_receivers")
    parser.add_argument("--first", type=int, required=True, help="index of the first receiver")
    parser.add_argument("--count", type=int, required=True, help="receivers in this process")
    parser.add_argument("--state-root", required=True, help="their state dirs go in here")
    parser.add_argument("--audio-output", default="none")
    parser.add_argument("--advertise", action="store_true", help="advertise each over mDNS")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return asyncio.run(_host(args))


if __name__ == "__main__":
    sys.exit(main())
