"""A small demo library of generated tracks with real audio (WAV), for `baton demo`."""

from __future__ import annotations

import array
import math
import wave
from dataclasses import dataclass
from pathlib import Path

RATE = 22_050  # plenty for sine melodies, and half the bytes of 44.1 kHz


@dataclass(frozen=True)
class DemoTrack:
    """A generated track and its tags."""

    path: Path
    title: str
    artist: str
    album: str
    duration_ms: int


# (title, root frequency in Hz, pattern of semitone steps): short arpeggios, one per track.
_TRACKS = (
    ("Morning Loop", 261.63, (0, 4, 7, 12, 7, 4)),
    ("Night Drive", 220.00, (0, 3, 7, 10, 7, 3)),
    ("Living Room Waltz", 293.66, (0, 7, 12, 4, 7, 0)),
)
ARTIST = "The Baton Demo Band"
ALBUM = "Handoff"


def write_demo_library(folder: Path, seconds: float = 12.0) -> list[DemoTrack]:
    """Write the demo tracks into *folder* (created if needed); return them in album order."""
    folder.mkdir(parents=True, exist_ok=True)
    tracks = []
    for number, (title, root, steps) in enumerate(_TRACKS, start=1):
        path = folder / f"{number:02d} {title}.wav"
        _write_arpeggio(path, root, steps, seconds)
        tracks.append(DemoTrack(path, title, ARTIST, ALBUM, round(seconds * 1000)))
    return tracks


def _write_arpeggio(path: Path, root_hz: float, steps: tuple[int, ...], seconds: float) -> None:
    note_len = RATE // 4  # four notes a second
    total = int(seconds * RATE)
    samples = array.array("h", bytes(2 * total))
    for start in range(0, total, note_len):
        semitones = steps[(start // note_len) % len(steps)]
        freq = root_hz * 2 ** (semitones / 12)
        step = 2 * math.pi * freq / RATE
        for i in range(min(note_len, total - start)):
            envelope = min(1.0, i / 200) * (1 - i / note_len) ** 0.5  # soft attack and decay
            samples[start + i] = int(9000 * envelope * math.sin(step * i))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
