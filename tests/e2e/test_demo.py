"""The headless demo (the README's main command) runs to the end, and its music was played."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audio import audible_duration_ms, read_wav

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_headless_demo_tour_finishes_and_the_living_room_played() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "client.cli", "demo", "--headless"],
        capture_output=True, text=True, cwd=ROOT, timeout=180, check=False,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for step in ("discovered 'Living Room'", "discovered 'Car'", "discovered 'Bedroom TV'",
                 "play the album", "pause: ok", "resume: ok", "next track: ok",
                 "transfer 'Living Room' -> 'Car': ok", "transfer 'Car' -> 'This computer': ok",
                 "stopped 3 receivers"):  # fmt: skip
        assert step in out, f"missing step {step!r} in:\n{out}"
    work = Path(re.findall(r"are in (\S+)", out)[-1])
    played = read_wav(work / "living-room.wav")
    # libVLC's afile output starts its file afresh for each new media, so the recording holds
    # the second track only: the tour plays it for a second before stopping the receivers.
    assert audible_duration_ms(played) >= 900
