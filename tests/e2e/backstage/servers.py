"""The Node.js servers of the plugin's browser test: Backstage's dev app and a real backend.

Each is started as a developer starts it, in its own process group, and is ready when its
output says so; both end with the group, whatever the test did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3] / "backstage"
PLUGIN = ROOT / "plugin-baton-traces"
CLI = PLUGIN / "node_modules" / ".bin" / "backstage-cli"
CHECK_BACKEND = ROOT / "check-backend"
COMPILED = ("compiled successfully", "compiled with")  # the dev server's build is done
BACKEND_UP = ("Plugin initialization complete",)
BACKEND_DOWN = "startup failed"


def free_port() -> int:
    """A loopback port free now (the servers take theirs from their configuration)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_backend_installed() -> bool:
    """Whether backstage/check-backend's packages are installed (`npm ci` there)."""
    return (CHECK_BACKEND / "node_modules" / "@backstage" / "backend-defaults").is_dir()


@contextlib.asynccontextmanager
async def node_server(
    argv: Sequence[str], cwd: Path, ready: Sequence[str], timeout_s: float
) -> AsyncIterator[list[str]]:
    """Run *argv* until the block ends, once a line of its output holds one of *ready*.

    Yields the output lines read so far (for a failure's report). Raises AssertionError when
    the process ends, or says its start failed, before it is ready.
    """
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True, env={**os.environ, "BROWSER": "none"},
    )  # fmt: skip
    stdout = process.stdout
    assert stdout is not None
    seen: list[str] = []

    async def started() -> None:
        while line := (await stdout.readline()).decode(errors="replace"):
            seen.append(line)
            if BACKEND_DOWN in line:
                break
            if any(word in line for word in ready):
                return
        raise AssertionError(f"{argv[0]} did not start:\n" + "".join(seen[-40:]))

    drain: asyncio.Task[bytes] | None = None
    try:
        async with asyncio.timeout(timeout_s):
            await started()
        drain = asyncio.create_task(stdout.read())  # keep its pipe from filling up
        yield seen
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            async with asyncio.timeout(20):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        if drain is not None:
            drain.cancel()


def dev_app(
    config: Path, app_port: int, backend_port: int, timeout_s: float
) -> contextlib.AbstractAsyncContextManager[list[str]]:
    """The plugin's dev app (`backstage-cli package start`) on *app_port*."""
    config.write_text(
        f"app:\n  baseUrl: http://localhost:{app_port}\n"
        f"backend:\n  baseUrl: http://localhost:{backend_port}\n"
    )
    argv = [str(CLI), "package", "start", "--config", "app-config.yaml", "--config", str(config)]
    return node_server(argv, PLUGIN, COMPILED, timeout_s)


def check_backend(
    config: Path, port: int, app_origin: str, collector: str, timeout_s: float
) -> contextlib.AbstractAsyncContextManager[list[str]]:
    """backstage/check-backend on *port*: guest sign-in, the proxy to *collector*."""
    config.write_text(
        f"app:\n  baseUrl: {app_origin}\n"
        f"backend:\n  baseUrl: http://localhost:{port}\n"
        f"  listen: {{ port: {port}, host: 127.0.0.1 }}\n"
        f"  cors:\n    origin: {app_origin}\n"
        f"proxy:\n  endpoints:\n    /baton-traces:\n      target: {collector}\n"
    )
    argv = ["node", "index.js", "--config", "app-config.yaml", "--config", str(config)]
    return node_server(argv, CHECK_BACKEND, BACKEND_UP, timeout_s)
