"""The demo's trace collector and viewer (`baton-traces serve` on loopback), its viewer user
and ingest token, and the tour's own controller traced to it. In the demo's private network
(client/demo_netns.py) the viewer's address is the host-side socket relayed to the collector."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from client.demo_bridges import stop_processes
from client.demo_netns import ViewerRelay
from connect.controller import Controller

if TYPE_CHECKING:
    from tracing.setup import Tracing

DEMO_USER = "demo"  # the trace viewer's user: every demo device traces as theirs
_STEP_TIMEOUT_S = 20.0


def trace_controller(
    collector: DemoCollector, controller: Controller, work: Path
) -> Tracing | None:
    """Trace the tour's controller (this process) to the demo's collector, if it runs."""
    if not collector.url:
        return None
    from tracing.setup import TraceSettings, setup

    identity = controller.identity
    settings = TraceSettings(
        collector.url, device_id=identity.id, device_name=identity.name,
        device_type="controller", user=DEMO_USER, token=collector.ingest_token,
        spool=work / "trace-spool.sqlite3",
    )  # fmt: skip
    return setup(settings)


class DemoCollector:
    """The trace collector and viewer (`baton-traces serve`) on loopback, when it starts."""

    def __init__(self, viewer_socket: socket.socket | None = None) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""  # where the demo's devices send their traces
        self.viewer_url = ""  # where the user's browser opens the viewer (on this machine)
        self._viewer_socket = viewer_socket
        self._relay: ViewerRelay | None = None
        self.token = ""  # the viewer's
        self.ingest_token = ""  # the demo devices' (the collector runs without --open-ingest)
        self._drain: asyncio.Task[None] | None = None

    async def async_start(self, say: Callable[[str], None], work: Path) -> None:
        """Start it; if it cannot start, say so and go on without it."""
        try:
            self.token = await _add_viewer_user(work / "traces.sqlite3")
            self.ingest_token = await _add_ingest_token(work / "traces.sqlite3")
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tracing.cli", "serve", "--port", "0",
                "--db", str(work / "traces.sqlite3"),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            assert self.process.stdout is not None
            async with asyncio.timeout(_STEP_TIMEOUT_S):
                line = (await self.process.stdout.readline()).decode(errors="replace")
        except (OSError, TimeoutError) as exc:
            line = f"({exc})"
        found = re.search(r"collecting on (http://\S+?)/?$", line.strip())
        if found is None:
            say(f"trace collector did not start {line.strip()}; going on without it")
            await self.async_close()
            return
        self.url = self.viewer_url = found[1]
        if self._viewer_socket is not None:
            port = int(self.url.rpartition(":")[2])
            self._relay = ViewerRelay(self._viewer_socket, port)
            await self._relay.async_start()
            self.viewer_url = f"http://127.0.0.1:{self._viewer_socket.getsockname()[1]}"
        say(
            f"trace viewer at {self.viewer_url}/ (user {DEMO_USER!r}, token {self.token}): "
            "every device of the demo traces there with the ingest token "
            f"{self.ingest_token} (`baton-traces ingest add {DEMO_USER}`; the collector does "
            "not run with --open-ingest)"
        )
        stdout = self.process.stdout if self.process is not None else None
        assert stdout is not None
        self._drain = asyncio.get_running_loop().create_task(_drain(stdout))

    async def async_close(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 10 s) and the relay to it; idempotent."""
        relay, self._relay = self._relay, None
        if relay is not None:
            await relay.async_close()
        if self._viewer_socket is not None:  # closed by the relay too, if it had started
            self._viewer_socket.close()
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        await stop_processes([process])
        if self._drain is not None:
            await self._drain


async def _add_viewer_user(db: Path) -> str:
    """Add the demo's viewer user to the collector's database; return its token."""
    return await _token_from("user", "add", DEMO_USER, "--db", str(db))


async def _add_ingest_token(db: Path) -> str:
    """Give the demo's devices an ingest token (the demo user's); return it."""
    return await _token_from("ingest", "add", DEMO_USER, "--label", "demo", "--db", str(db))


async def _token_from(*command: str) -> str:
    """Run a `baton-traces` command that prints a token as its last line; return the token."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tracing.cli", *command,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with asyncio.timeout(_STEP_TIMEOUT_S):
        out, _ = await process.communicate()
    lines = out.decode(errors="replace").split()
    if process.returncode != 0 or not lines:
        raise OSError(f"could not run baton-traces {' '.join(command[:2])}")
    return lines[-1]  # the token is the last line printed


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


async def keep_viewer_open(say: Callable[[str], None], collector: DemoCollector) -> None:
    """Leave the trace viewer running, with everything the tour traced, until Ctrl-C."""
    say(
        f"the trace viewer stays at {collector.viewer_url}/ (user {DEMO_USER!r}, token "
        f"{collector.token}); press Ctrl-C to stop it"
    )
    task = asyncio.current_task()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        # Ctrl-C is how this step ends: it is not an interruption of the tour.
        if task is not None:
            task.uncancel()
