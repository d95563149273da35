"""A receiver resuming after a power cut, whose music came from an app that has since restarted.

The app's media URLs are capabilities with a token drawn at each start (issue 13, item 6), so
the saved queue's URL no longer works. The receiver must say why in words a listener acts on,
in its state and so in `baton status`, not "http://...: not found: HTTP 404 error".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from client.library_server import LibraryServer
from connect.controller import Controller
from connect.media_capability import SOURCE_RESTARTED
from connect.session import ConnectionEvent, StateChanged
from connect.wire import messages as m
from tests.audio import write_position_track
from tests.integration.receiver.helpers import (
    Events,
    identity,
    play,
    until_position,
    until_saved,
)
from tests.receivers import start_receiver

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def controller() -> AsyncIterator[Controller]:
    ctl = Controller(identity(1), interfaces=["127.0.0.1"])
    await ctl.async_start()
    yield ctl
    await ctl.async_close()


def _failed(event: ConnectionEvent) -> bool:
    return isinstance(event, StateChanged) and event.snapshot.state.error is not None


Run = Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]]


@contextlib.asynccontextmanager
async def app_thread() -> AsyncIterator[Run]:
    """An event loop on its own thread, as the app's core has: the media server runs there."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="app core", daemon=True)
    thread.start()

    async def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    try:
        yield run
    finally:
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 10)
        loop.close()


@pytest.mark.warning_logs(r"offline: .*closed by the device")  # the first receiver's power cut
async def test_resuming_with_a_url_from_before_the_app_restarted_says_so(
    tmp_path: Path, controller: Controller
) -> None:
    library = tmp_path / "Music"
    library.mkdir()
    write_position_track(library / "pos.wav", 6000)
    async with app_thread() as run:
        await _power_cut_and_restart(tmp_path, controller, library, run)


async def _power_cut_and_restart(
    tmp_path: Path, controller: Controller, library: Path, run: Run
) -> None:
    app = LibraryServer(library)  # the app's server, as the app runs it for "This computer"
    await run(app.async_start())
    url = app.url_for(library / "pos.wav")
    config = tmp_path / "receiver.toml"
    config.write_text('resume-window = "30m"\ncheckpoint-interval = "0.5s"\n')
    extra = ["--config", str(config)]
    first = await start_receiver(tmp_path, "Car", extra=extra)
    await controller.async_add_address("127.0.0.1", first.port)
    assert (await play(controller, first.device_id, url)).ok
    await until_position(controller.connection(first.device_id), 800)
    await until_saved(first.state_dir, lambda s: s.status is m.PlaybackStatus.PLAYING)
    await first.kill()  # the power cut
    await run(app.async_close())  # ... and the app restarts: the same port, a new key
    again = LibraryServer(library, port=app.port)
    await run(again.async_start())
    second = await start_receiver(tmp_path, "Car", extra=extra, state_dir=first.state_dir)
    try:
        after = Controller(identity(2), interfaces=["127.0.0.1"])
        await after.async_start()
        try:
            events = Events(after)
            await after.async_add_address("127.0.0.1", second.port)
            await after.async_connect(second.device_id, timeout=10)
            seen = await events.wait_for(_failed)
            assert isinstance(seen, StateChanged)
            state = seen.snapshot.state
        finally:
            await after.async_close()
        assert state.status is m.PlaybackStatus.STOPPED
        assert state.error is not None
        assert state.error.code is m.ErrorCode.MEDIA_SOURCE_GONE
        assert state.error.message == SOURCE_RESTARTED
        status = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "client.cli", "status", "Car",
             "--connect", f"127.0.0.1:{second.port}"],
            capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
            env={**os.environ, "BATON_CONFIG_DIR": str(tmp_path / "config")},
        )  # fmt: skip
        assert status.returncode == 0, status.stderr
        assert f"error: {SOURCE_RESTARTED}" in status.stdout, status.stdout
    finally:
        assert await second.stop() == 0
        await run(again.async_close())
    assert "resume at start: yes (" in "".join(second.output)
