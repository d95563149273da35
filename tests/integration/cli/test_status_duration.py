"""A URL played from the CLI carries no duration: the receiver fills it in once libVLC has
parsed the media, and every controller sees it (`baton status` among them)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from connect.controller import Controller
from connect.session import ConnectionEvent, StateChanged
from connect.wire import messages as m
from tests.audio import write_tone
from tests.integration.cli.conftest import baton
from tests.media_server import MediaServer
from tests.receivers import start_receiver

pytestmark = pytest.mark.slow

TRACK_MS = 20_000
EVENT_TIMEOUT_S = 15.0


async def test_status_reports_the_duration_of_a_url_played_from_the_cli(
    tmp_path: Path,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    media_server: MediaServer,
) -> None:
    write_tone(media_server.root / "tone.wav", duration_ms=TRACK_MS)
    den = await start_receiver(tmp_path, "Den")
    watcher = Controller(m.ClientIdentity("test-watcher", "Watcher"), browse=False)
    await watcher.async_start()
    try:
        await watcher.async_add_address(den.host, den.port)
        durations: list[int] = []
        known = asyncio.Event()

        def on_event(event: ConnectionEvent) -> None:
            item = event.snapshot.state.current_item if isinstance(event, StateChanged) else None
            if item is not None and item.duration_ms:
                durations.append(item.duration_ms)
                known.set()

        watcher.subscribe(on_event)
        await watcher.async_connect(den.device_id)
        address = f"{den.host}:{den.port}"
        url = media_server.url("tone.wav")
        code, _, err = await baton(capsys, "play", "Den", url, "--connect", address)
        assert (code, err) == (0, "")
        await asyncio.wait_for(known.wait(), EVENT_TIMEOUT_S)  # another controller sees it
        assert abs(durations[0] - TRACK_MS) <= 50

        code, out, err = await baton(capsys, "status", "Den", "--connect", address, "--json")
        assert (code, err) == (0, "")
        assert abs(json.loads(out)["duration_ms"] - TRACK_MS) <= 50
        code, out, _ = await baton(capsys, "status", "Den", "--connect", address)
        assert code == 0
        assert f" of {TRACK_MS / 1000:.1f} s, volume " in out
    finally:
        await watcher.async_close()
        assert await den.stop() == 0, "".join(den.output)
