"""`baton --tv` fills the screen: on a bare X server (a Pi kiosk: no window manager), under a
window manager, whatever size Qt would pick for the window itself.

The real `baton --tv` runs under a private Xvfb at 1920×1080; the X server, not Qt, says
where its window is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audio import audible_duration_ms, read_wav
from tests.xserver import have_xvfb, window_geometry, xvfb

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have_xvfb(), reason="needs Xvfb and xwininfo (./dev installs them)"),
]

BATON = Path(sys.executable).with_name("baton")
WAIT_S = 30.0
RECORDED_WITHIN_S = 10.0  # how long the moved-to receiver may take to have recorded 300 ms


def _run_tv(x, tmp_path: Path, library_dir: Path, log) -> subprocess.Popen[bytes]:
    env = x.env()
    env.update(
        HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"), BATON_CONFIG_DIR=str(tmp_path / "baton"),
    )  # fmt: skip
    argv = [str(BATON), "--tv", "--music-folder", str(library_dir), "--interface", "lo",
            "--audio", "none", "--name", "Sofa TV"]  # fmt: skip
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("manager", ["", "matchbox-window-manager"], ids=["bare X", "with a WM"])
def test_baton_tv_fills_the_screen(tmp_path, library_dir, manager):
    if manager and not any(
        Path(p, manager).exists() for p in os.environ.get("PATH", "").split(os.pathsep)
    ):
        pytest.skip(f"{manager} is not installed")
    log_path = tmp_path / "baton.log"
    with xvfb(1920, 1080, window_manager=manager) as x, log_path.open("wb") as log:
        app = _run_tv(x, tmp_path, library_dir, log)
        try:
            deadline = time.monotonic() + WAIT_S
            geometry = None
            while time.monotonic() < deadline and app.poll() is None:
                geometry = window_geometry(x, "Baton")
                if geometry is not None and geometry[2:] == (1920, 1080):
                    break
                time.sleep(0.1)  # polling the X server for a condition, with a deadline
            assert app.poll() is None, log_path.read_text(errors="replace")
            assert geometry == (0, 0, 1920, 1080)
        finally:
            app.send_signal(signal.SIGINT)
            try:
                app.wait(30)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()


def test_a_keys_only_tour_plays_an_album_moves_it_and_comes_back(tmp_path, library_dir, receivers):
    """Bare X, 1920×1080, keys through the X server only (tests/e2e/app/tv_tour.py)."""
    with xvfb(1920, 1080) as x:
        tour = subprocess.run(
            [sys.executable, "-m", "tests.e2e.app.tv_tour", str(library_dir), str(tmp_path)],
            env=x.env(), capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    lines = [line for line in tour.stdout.splitlines() if line.startswith("{")]
    assert lines, tour.stdout + tour.stderr
    seen = json.loads(lines[-1])
    assert seen["ok"], seen
    assert seen["geometry"] == seen["screen"] == [0, 0, 1920, 1080]
    assert seen["played_on"] == "Sofa TV"
    assert seen["path"] == [
        "Down:album-0",
        "Return:play-album",
        "Return:tv-np-play",
        f"Menu:pick-{seen['moved_to']}",
        "Return:tv-np-play",
        "Escape:play-album",
        "Escape:album-0",
    ]
    # The music really moved: the receiver it went to records the album. It plays on after the
    # tour, so its recording grows at the music's pace: read it until 300 ms are there (the
    # tour can end sooner than that after the move on a busy machine), within a deadline.
    moved = receivers[seen["moved_to"]]
    deadline = time.monotonic() + RECORDED_WITHIN_S
    while (heard := audible_duration_ms(read_wav(moved.recording))) < 300:
        assert time.monotonic() < deadline, f"{moved.name} recorded {heard:.0f} ms"
        time.sleep(0.1)  # the file has no event to wait on
