"""What an ffmpeg copy reads from ffmpeg's own messages (devices/_ffmpeg_copy.py): whether the
input has a length, and whether it is short enough to be copied."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices._ffmpeg_copy import FFmpegCopy, _seconds


def test_ffmpegs_duration_reads_as_seconds() -> None:
    assert _seconds(b"01:02:03.50") == pytest.approx(3723.5)


@pytest.mark.parametrize(
    ("said", "has_length", "failed"),
    [
        (b"Input #0, mp3\n  Duration: 00:04:12.04, start: 0.025057\n", True, False),
        (b"Input #0, mp3\n  Duration: N/A, start: 0.000000, bitrate: 128 kb/s\n", False, True),
        (b"Input #0, flac\n  Duration: 02:10:00.00, start: 0.000000\n", False, True),
        (b"Input #0, ogg, from 'http://h/a.ogg':\n", False, False),  # not said yet
    ],
)
def test_a_copy_has_a_length_or_gives_up_from_what_ffmpeg_says(
    said: bytes, has_length: bool, failed: bool, tmp_path: Path
) -> None:
    copy = FFmpegCopy("http://h/a.mp3", tmp_path / "a.pcm", 2)
    copy._read_duration(said)
    assert (copy.has_length, copy.failed) == (has_length, failed)
