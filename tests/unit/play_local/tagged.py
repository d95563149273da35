"""Tagged WAV files for `baton play` tests: real audio with ID3 tags, as a user's files have."""

from __future__ import annotations

from pathlib import Path

import mutagen.id3
from mutagen.wave import WAVE

from tests.audio import write_tone


def tagged_tone(
    path: Path,
    freq_hz: float,
    duration_ms: int = 300,
    *,
    title: str = "",
    album: str = "",
    number: int = 0,
    disc: int = 0,
) -> Path:
    """Write a tone WAV at *path* (folders made) with the ID3 tags given; return *path*."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_tone(path, freq_hz, duration_ms)
    wav = WAVE(path)
    wav.add_tags()
    assert wav.tags is not None
    frames = [
        (mutagen.id3.TIT2, title),
        (mutagen.id3.TALB, album),
        (mutagen.id3.TRCK, str(number) if number else ""),
        (mutagen.id3.TPOS, str(disc) if disc else ""),
    ]
    for frame, text in frames:
        if text:
            wav.tags.add(frame(encoding=3, text=[text]))
    wav.save()
    return path
