"""The demo's three receivers (`baton-receiver` processes on loopback, in pin mode): started,
found ready by the line each prints, and stopped."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from client.demo_traces import DEMO_USER

RECEIVERS = (("Living Room", "speaker"), ("Car", "car"), ("Bedroom TV", "tv"))
_READY = re.compile(r"id (?P<id>[0-9a-f]+)\) listening on [^:]+:(?P<port>\d+)")
_STEP_TIMEOUT_S = 20.0


class DemoFailed(Exception):  # noqa: N818 - a user-facing outcome, printed as one line
    """A tour step did not work; the message says which and why."""


@dataclass
class DemoReceiver:
    """One receiver process the demo started, and where it listens."""

    name: str
    process: asyncio.subprocess.Process
    state_dir: Path
    device_id: str = ""
    port: int = 0

    def pairing_code(self) -> str:
        """Return the code the receiver shows now (it writes it to its state directory)."""
        try:
            return (self.state_dir / "pairing-code").read_text(encoding="utf-8").strip()
        except (OSError, ValueError) as exc:  # ValueError: bytes that are not UTF-8
            raise DemoFailed(f"cannot read {self.name!r}'s pairing code: {exc}") from exc


def output_for(work: Path, slug: str, audio: str) -> str:
    """Return the audio output of the device *slug*: its own WAV file for `afile`."""
    return f"afile:{work / (slug + '.wav')}" if audio == "afile" else audio


async def start_receivers(
    say: Callable[[str], None], work: Path, audio: str, collector: str = "", token: str = ""
) -> list[DemoReceiver]:
    """Start the receivers, tracing to *collector*; return them once each is listening."""
    traced = ["--trace-endpoint", collector, "--user", DEMO_USER] if collector else []
    if collector and token:
        traced += ["--trace-token", token]
    started = []
    try:
        for name, kind in RECEIVERS:
            slug = name.lower().replace(" ", "-")
            output = output_for(work, slug, audio)
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "devices.cli", "--name", name, "--type", kind,
                "--interface", "lo", "--audio-output", output,
                "--state-dir", str(work / f"{slug}-state"), "--pairing", "pin", *traced,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            receiver = DemoReceiver(name, process, work / f"{slug}-state")
            started.append(receiver)
            await _wait_ready(receiver)
            say(f"started {name!r} ({kind}) on 127.0.0.1:{receiver.port}, audio -> {output}")
    except BaseException:
        await stop_receivers(say, started)
        raise
    return started


async def _wait_ready(receiver: DemoReceiver) -> None:
    stdout = receiver.process.stdout
    assert stdout is not None
    async with asyncio.timeout(_STEP_TIMEOUT_S):
        while line := (await stdout.readline()).decode(errors="replace"):
            found = _READY.search(line)
            if found:
                receiver.device_id, receiver.port = found["id"], int(found["port"])
                return
    raise DemoFailed(f"receiver {receiver.name!r} did not start (is libVLC installed?)")


async def stop_receivers(say: Callable[[str], None], receivers: list[DemoReceiver]) -> None:
    """Stop the receivers (SIGTERM, then SIGKILL after 10 s)."""
    for receiver in receivers:
        if receiver.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                receiver.process.send_signal(signal.SIGTERM)
    for receiver in receivers:
        try:
            await asyncio.wait_for(receiver.process.wait(), timeout=10)
        except TimeoutError:
            receiver.process.kill()
            await receiver.process.wait()
    if receivers:
        say(f"stopped {len(receivers)} receivers")
