"""The controller on another host: a receiver in namespace A, media and `baton` in namespace B.

Two network namespaces joined by a veth pair stand for two machines on a LAN: the CLI in B
finds the receiver in A over mDNS on its veth interface, makes it play a tone served from B,
and the receiver's afile recording proves what was played.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audio import audible_duration_ms, read_wav, write_tone, zero_crossing_frequency
from tests.netns import NetnsPair, netns_pair, netns_skip_reason
from tests.receivers import start_receiver

ROOT = Path(__file__).resolve().parents[3]
BATON = [sys.executable, "-m", "client.cli"]

pytestmark = [
    pytest.mark.netns,
    pytest.mark.slow,
    pytest.mark.skipif(netns_skip_reason() is not None, reason=str(netns_skip_reason())),
]


def baton(pair: NetnsPair, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pair.exec_argv("b", [*BATON, *args]),
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip


def serve_media(pair: NetnsPair, root: Path) -> str:
    """Serve *root* from namespace B; return the base URL."""
    server = pair.popen(
        "b",
        [sys.executable, "-m", "tests.serve_media", str(root), "--host", pair.address("b")],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert server.stdout is not None
    line = server.stdout.readline()
    server.stdout.close()  # it prints nothing after this line
    assert line.startswith("serving "), line
    return f"http://{pair.address('b')}:{line.split()[1]}/media"


async def test_cli_on_another_host_finds_the_receiver_and_plays_real_audio(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    write_tone(media / "a523.wav", 523.25, 1000, amplitude=0.5)
    with netns_pair() as pair:
        receiver = await start_receiver(
            tmp_path, "Car", interface=pair.links["a"], wrapper=pair.exec_argv("a", []),
            extra=["--type", "car"],
        )  # fmt: skip
        try:
            assert receiver.host == pair.address("a")
            base = serve_media(pair, media)
            found = baton(pair, "devices", "--json", "--interface", pair.links["b"])
            assert found.returncode == 0, found.stderr
            rows = json.loads(found.stdout)
            assert [(r["name"], r["type"], r["host"], r["online"]) for r in rows] == [
                ("Car", "car", pair.address("a"), True)
            ]
            played = baton(pair, "play", "Car", f"{base}/a523.wav", "--interface", pair.links["b"])
            assert played.returncode == 0, played.stderr
            status = _wait_until_stopped(pair, f"{receiver.host}:{receiver.port}")
            assert status["track_url"] == f"{base}/a523.wav"
            assert status["active"] is True
        finally:
            assert await receiver.stop() == 0, "".join(receiver.output)

    recording = read_wav(receiver.recording)
    assert audible_duration_ms(recording) == pytest.approx(1000, abs=50)
    assert zero_crossing_frequency(recording.samples) == pytest.approx(523.25, abs=2)


def _wait_until_stopped(pair: NetnsPair, address: str) -> dict[str, object]:
    """Ask `baton status` (skipping mDNS) until the one-second track has played out."""
    deadline = time.monotonic() + 20
    while True:
        result = baton(pair, "status", "Car", "--json", "--connect", address)
        assert result.returncode == 0, result.stderr
        status: dict[str, object] = json.loads(result.stdout)
        if status["state"] == "stopped" or time.monotonic() > deadline:
            assert status["state"] == "stopped", status
            return status
