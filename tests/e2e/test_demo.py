"""The headless demo (the README's main command) runs to the end, and its music was played.

Where Debian's chromium is installed, tests/e2e/viewer/test_demo_traces.py runs the same tour
(with `--keep-viewer`, its trace viewer open in a browser) and makes these checks on it, so
the tour of about a minute on a busy machine does not run twice.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audio import audible_duration_ms, read_wav

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")  # the viewer tests' browser (tests/e2e/viewer/conftest.py)
STEPS = (
    "discovered 'Living Room'", "discovered 'Car'", "discovered 'Bedroom TV'", "play the album",
    "pause: ok", "resume: ok", "next track: ok", "transfer 'Living Room' -> 'Car': ok",
    "transfer 'Car' -> 'This computer': ok", "stopped 3 receivers",
)  # fmt: skip


# With Debian's mpd installed the tour also moves the music to a bridged MPD and on to Car,
# stop-first, and says why.
BRIDGED_STEPS = (
    "started 'Hi-fi (MPD)' (an MPD, bridged)", "transfer 'This computer' -> 'Hi-fi (MPD)': ok",
    "(stop-first: Hi-fi (MPD) cannot start at an instant", "transfer 'Hi-fi (MPD)' -> 'Car': ok",
)  # fmt: skip


# As root (the tests' namespace: the demo makes its own inside it) with gmediarender installed,
# the tour also moves the music from Car to the bridged UPnP renderer and back.
RENDERER_STEPS = (
    "the demo runs in a network of its own", "started 'Lounge TV (UPnP)' (gmediarender on",
    "-> 'Lounge TV (UPnP)': ok", "(stop-first: Lounge TV (UPnP) cannot start at an instant",
    "transfer 'Lounge TV (UPnP)' -> 'Car': ok",
)  # fmt: skip


def _renderer_joins() -> bool:
    return os.geteuid() == 0 and all(shutil.which(tool) for tool in ("ip", "gmediarender"))


def check_tour(out: str) -> None:
    """Check what a finished tour printed, and that the Living Room played its music."""
    expected = (
        *STEPS,
        *(BRIDGED_STEPS if shutil.which("mpd") else ()),
        *(RENDERER_STEPS if _renderer_joins() else ("no 'Lounge TV (UPnP)': ",)),
    )
    for step in expected:
        assert step in out, f"missing step {step!r} in:\n{out}"
    work = Path(re.findall(r"are in (\S+)", out)[-1])
    played = read_wav(work / "living-room.wav")
    # libVLC's afile output starts its file afresh for each new media, so the recording holds
    # the second track only: the tour plays it for a second before stopping the receivers.
    assert audible_duration_ms(played) >= 900


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM.exists(), reason="tests/e2e/viewer/test_demo_traces.py runs this tour and checks it"
)
def test_headless_demo_tour_finishes_and_the_living_room_played() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "client.cli", "demo", "--headless"],
        capture_output=True, text=True, cwd=ROOT, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    check_tour(result.stdout)
