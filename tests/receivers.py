"""Real `baton-receiver` processes for tests: start, wait until listening, kill, restart.

A receiver prints one line when it is up (`... (type, id ID) listening on HOST:PORT ...`);
`start_receiver` waits for that line (or the process's death) with a timeout and returns a
handle that knows the device id, port and recording file.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

READY = re.compile(r"id (?P<id>[0-9a-f]+)\) listening on (?P<host>\[?[0-9a-f.:]+\]?):(?P<port>\d+)")
START_TIMEOUT_S = 20.0
_FILE_OUTPUTS = ("afile", "capture")  # outputs that write `recording`; others are passed as is


@dataclass
class RunningReceiver:
    """A receiver process started by a test."""

    name: str
    process: asyncio.subprocess.Process
    device_id: str
    host: str
    port: int
    recording: Path
    state_dir: Path
    argv: list[str]
    output: list[str] = field(default_factory=list)
    drain: asyncio.Task[None] | None = None  # reads its output until the process exits

    async def kill(self) -> None:
        """SIGKILL it (a power cut, from the network's point of view) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        if self.drain is not None:
            await self.drain

    async def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM it and wait for a clean exit; return the exit code."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            await self.kill()
            raise
        if self.drain is not None:
            await self.drain
        return code


async def start_receiver(
    tmp_path: Path,
    name: str,
    *,
    interface: str = "lo",
    extra: Sequence[str] = (),
    state_dir: Path | None = None,
    recording: Path | None = None,
    wrapper: Sequence[str] = (),
    port: int = 0,
    output: str = "afile",
    pairing: str = "open",
    env: Mapping[str, str] | None = None,
) -> RunningReceiver:
    """Start a receiver recording to a WAV in *tmp_path*; wait until it listens.

    *output* is `afile` (libVLC writes what it plays, ahead of real time) or `capture` (Baton
    writes each sample with its presentation instant: `recording` + ".timeline"). *pairing*
    is `open` unless a test is about pairing: the others test the protocol, not access.
    *env* is the process's environment (default: ours), e.g. a test audio server's.
    """
    slug = re.sub(r"\W+", "-", name.lower())
    state_dir = state_dir or tmp_path / f"{slug}-state"
    recording = recording or tmp_path / f"{slug}.wav"
    argv = [
        *wrapper,
        sys.executable, "-m", "devices.cli",
        "--name", name,
        "--interface", interface,
        "--audio-output", f"{output}:{recording}" if output in _FILE_OUTPUTS else output,
        "--state-dir", str(state_dir),
        "--port", str(port),
        "--pairing", pairing,
        *extra,
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    lines: list[str] = []
    assert process.stdout is not None
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while True:
                line = (await process.stdout.readline()).decode(errors="replace")
                if not line:
                    raise RuntimeError(f"receiver {name!r} exited: {''.join(lines)}")
                lines.append(line)
                found = READY.search(line)
                if found:
                    break
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    receiver = RunningReceiver(
        name, process, found["id"], found["host"].strip("[]"), int(found["port"]),
        recording, state_dir, argv, lines,
    )  # fmt: skip
    # Keep draining its output, so a chatty receiver never blocks on a full pipe; the task
    # ends by itself at end of file, when the process exits.
    receiver.drain = asyncio.get_running_loop().create_task(_drain(process, lines))
    return receiver


async def _drain(process: asyncio.subprocess.Process, into: list[str]) -> None:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        into.append(line.decode(errors="replace"))


async def stop_all(receivers: Sequence[RunningReceiver]) -> None:
    """Stop those of *receivers* still running, together (each waits only for its own clean
    exit); a capture is whole once its receiver stopped."""
    await asyncio.gather(*(r.stop() for r in receivers if r.process.returncode is None))
