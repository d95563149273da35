"""`baton play DEVICE FOLDER`: the CLI serves local files to a real receiver (issue 13, item 10).

The receiver writes what it plays to a WAV (the capture output): the tones heard, in order, are
the files' own, in album and track order, and they came from the command's own capability URLs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from connect.media_capability import is_capability_url
from tests.audio import Recording, dominant_frequency, read_wav, write_garbage, write_tone
from tests.receivers import RunningReceiver, start_receiver
from tests.unit.play_local.tagged import tagged_tone

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
BATON = [sys.executable, "-m", "client.cli"]
TONES = (440.0, 660.0, 880.0)
RUN_TIMEOUT_S = 60.0


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "BATON_CONFIG_DIR": str(tmp_path / "config")}


async def _baton(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *BATON, *args, cwd=ROOT, env=_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _tone_sequence(recording: Recording) -> list[float]:
    """Return the tones heard, in order, one entry per run of 50 ms windows holding one."""
    size = recording.ms_to_index(50)
    heard: list[float] = []
    for start in range(0, len(recording.samples) - size, size):
        freq, purity = dominant_frequency(recording.samples[start : start + size], TONES)
        if purity > 0.8 and (not heard or heard[-1] != freq):
            heard.append(freq)
    return heard


@pytest.fixture
def music(tmp_path: Path) -> Path:
    """An album whose tags order it against its file names, and a file that is not audio."""
    album = tmp_path / "Music" / "Album"
    tagged_tone(album / "c.wav", TONES[0], 600, title="First", album="Album", number=1)
    tagged_tone(album / "b.wav", TONES[1], 600, title="Second", album="Album", number=2)
    tagged_tone(album / "a.wav", TONES[2], 600, title="Third", album="Album", number=3)
    (album / "booklet.pdf").write_bytes(b"%PDF-1.4 not music")
    return tmp_path / "Music"


@pytest.fixture
async def car(tmp_path: Path) -> RunningReceiver:
    # capture: one WAV across tracks (afile keeps only the last media's samples).
    receiver = await start_receiver(tmp_path, "Car", output="capture")
    yield receiver  # type: ignore[misc]
    assert await receiver.stop() == 0, "".join(receiver.output)


async def test_a_folder_plays_in_album_order_from_the_commands_own_server(
    tmp_path: Path, music: Path, car: RunningReceiver
) -> None:
    code, out, err = await _baton(
        tmp_path, "play", "Car", str(music), "--connect", f"127.0.0.1:{car.port}"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Car: playing 3 tracks; 1 file skipped (not audio)"
    assert "the music stops when serving stops" in lines[1]
    assert lines[2:5] == ["Car: 1/3 First", "Car: 2/3 Second", "Car: 3/3 Third"]
    assert lines[-1] == "Car played the queue to the end (or was stopped); stopped serving"
    # What the receiver played: the three files' tones, in tag order (not name order).
    assert _tone_sequence(read_wav(car.recording)) == list(TONES)

    code, out, err = await _baton(
        tmp_path, "status", "Car", "--json", "--connect", f"127.0.0.1:{car.port}"
    )
    assert code == 0, err
    url = json.loads(out)["track_url"]
    assert is_capability_url(url), url
    assert url.startswith("http://127.0.0.1:")  # the address facing a receiver on loopback


async def test_a_playlist_file_plays_its_paths_in_its_own_order(
    tmp_path: Path, music: Path, car: RunningReceiver
) -> None:
    playlist = tmp_path / "mix.m3u"  # relative paths: from the playlist's own folder
    playlist.write_text("#EXTM3U\nMusic/Album/a.wav\n# a comment\nMusic/Album/c.wav\n")
    code, out, err = await _baton(
        tmp_path, "play", "Car", "--from", str(playlist), "--connect", f"127.0.0.1:{car.port}"
    )
    assert code == 0, err
    assert out.splitlines()[0] == "Car: playing 2 tracks"
    assert _tone_sequence(read_wav(car.recording)) == [TONES[2], TONES[0]]


async def test_serve_keeps_serving_until_ctrl_c_and_says_the_music_stops(
    tmp_path: Path, car: RunningReceiver
) -> None:
    long = write_tone(tmp_path / "long.wav", 440.0, 8000)
    process = await asyncio.create_subprocess_exec(
        *BATON, "play", "Car", str(long), "--serve", "--connect", f"127.0.0.1:{car.port}",
        cwd=ROOT, env=_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            while b"Car: 1/1 long" not in (line := await process.stdout.readline()):
                assert line, "baton play ended before the track played"
        process.send_signal(signal.SIGINT)  # Ctrl-C
        rest, err = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert "stopped serving" in err.decode()
    assert b"Traceback" not in err + rest


async def test_nothing_to_play_and_missing_paths_are_clear_errors(
    tmp_path: Path, car: RunningReceiver
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not music")
    address = f"127.0.0.1:{car.port}"
    code, _, err = await _baton(tmp_path, "play", "Car", str(notes), "--connect", address)
    assert (code, err.strip()) == (1, "baton play: nothing to play: 1 file skipped (not audio)")
    missing = tmp_path / "gone.flac"
    code, _, err = await _baton(tmp_path, "play", "Car", str(missing), "--connect", address)
    assert (code, err.strip()) == (1, f"baton play: no such file or folder: {missing}")


async def test_files_that_cannot_play_are_named_skipped_and_never_sent(
    tmp_path: Path, music: Path, car: RunningReceiver
) -> None:
    album = music / "Album"
    write_garbage(album / "d.mp3")  # damaged: mutagen raises on it
    (album / "e.flac").write_bytes(b"")
    (album / "f.wma").write_bytes(b"\x30\x26\xb2\x75" + b"\0" * 64)  # a format Baton does not play
    address = f"127.0.0.1:{car.port}"
    code, out, err = await _baton(tmp_path, "play", "Car", str(music), "--connect", address)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "3 files cannot be played, skipped: d.mp3 (damaged file), e.flac (empty file), "
        "f.wma (Baton does not play WMA)"
    )
    assert lines[1] == "Car: playing 3 tracks; 1 file skipped (not audio)"
    assert lines[3:6] == ["Car: 1/3 First", "Car: 2/3 Second", "Car: 3/3 Third"]
    assert _tone_sequence(read_wav(car.recording)) == list(TONES)
    assert "Traceback" not in err

    only_broken = tmp_path / "Broken"
    only_broken.mkdir()
    write_garbage(only_broken / "x.ogg")
    code, _, err = await _baton(tmp_path, "play", "Car", str(only_broken), "--connect", address)
    assert (code, err.strip()) == (
        1, "baton play: nothing to play: 1 file cannot be played, skipped: x.ogg (damaged file)"
    )  # fmt: skip
