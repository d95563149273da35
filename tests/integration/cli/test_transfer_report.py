"""`baton transfer` says what the target does now: playing after N ms, or paused there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.audio import write_tone
from tests.integration.cli.conftest import baton
from tests.media_server import MediaServer
from tests.receivers import start_receiver

pytestmark = pytest.mark.slow


async def test_a_paused_session_is_reported_paused_on_the_target(
    tmp_path: Path,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    media_server: MediaServer,
) -> None:
    write_tone(media_server.root / "tone.wav", duration_ms=20_000)
    home = await start_receiver(tmp_path, "Living Room")
    car = await start_receiver(tmp_path, "Car")
    try:
        at = [f"--connect={r.host}:{r.port}" for r in (home, car)]
        url = media_server.url("tone.wav")
        for words in (["play", "Living Room", url], ["pause", "Living Room"]):
            code, _, err = await baton(capsys, *words, *at)
            assert (code, err) == (0, "")
        code, out, err = await baton(capsys, "transfer", "Living Room", "Car", *at)
        assert (code, err) == (0, "")
        assert re.fullmatch(
            r"Living Room -> Car: paused on Car after \d+ ms \(ready in \d+ ms\)\n", out
        ), out
        code, out, _ = await baton(capsys, "status", "Car", *at)
        assert (code, out.startswith("Car: paused tone at ")) == (0, True), out
    finally:
        for receiver in (home, car):
            assert await receiver.stop() == 0, "".join(receiver.output)
