"""A small demo library of generated tracks with real audio (WAV), tags and cover art.

Each album gets its own folder. Every WAV carries an ID3 chunk (mutagen's WAVE support: title,
artist, album, track number and the cover as an embedded picture), so the app's scanner reads
the demo library exactly as it reads a user's tagged files; the cover is also written beside
the tracks as `cover.png`, the sidecar many libraries use. Cover art is drawn here in pure
Python (a gradient with soft rings, encoded as PNG with zlib), so no image library is needed.
"""

from __future__ import annotations

import array
import math
import struct
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen.id3
from mutagen.wave import WAVE

RATE = 22_050  # plenty for sine melodies, and half the bytes of 44.1 kHz
COVER_SIZE = 240


@dataclass(frozen=True)
class DemoTrack:
    """A generated track and its tags."""

    path: Path
    title: str
    artist: str
    album: str
    duration_ms: int
    number: int = 1


@dataclass(frozen=True)
class _Album:
    title: str
    artist: str
    colors: tuple[tuple[int, int, int], tuple[int, int, int]]
    # (title, root frequency in Hz, pattern of semitone steps): short arpeggios, one per track.
    tracks: tuple[tuple[str, float, tuple[int, ...]], ...]
    seconds: float | None = None  # None: the caller's length


ARTIST = "The Baton Demo Band"
ALBUM = "Handoff"

_ALBUMS = (
    _Album(
        ALBUM, ARTIST, ((255, 94, 98), (255, 195, 113)),
        (
            ("Morning Loop", 261.63, (0, 4, 7, 12, 7, 4)),
            ("Night Drive", 220.00, (0, 3, 7, 10, 7, 3)),
            ("Living Room Waltz", 293.66, (0, 7, 12, 4, 7, 0)),
        ),
    ),
    _Album(
        "Night Shift", "Loopback Quartet", ((58, 28, 113), (0, 180, 219)),
        (
            ("Packet Lullaby", 196.00, (0, 3, 7, 3, 10, 7)),
            ("Heartbeat Interval", 246.94, (0, 5, 9, 12, 9, 5)),
        ),
        seconds=6.0,
    ),
    _Album(
        "Open Road", "Mira Keys", ((17, 153, 142), (56, 239, 125)),
        (
            ("Mile Marker", 329.63, (0, 2, 4, 7, 9, 7)),
            ("Service Area", 277.18, (0, 4, 7, 11, 7, 4)),
        ),
        seconds=6.0,
    ),
)  # fmt: skip


def write_demo_library(folder: Path, seconds: float = 12.0) -> list[DemoTrack]:
    """Write the demo albums into *folder* (created if needed); return every track in order.

    The first album ("Handoff") comes first, its tracks *seconds* long each.
    """
    tracks = []
    for album in _ALBUMS:
        album_dir = folder / album.title
        album_dir.mkdir(parents=True, exist_ok=True)
        cover = cover_png(album.title, album.colors)
        (album_dir / "cover.png").write_bytes(cover)
        length = album.seconds or seconds
        for number, (title, root, steps) in enumerate(album.tracks, start=1):
            path = album_dir / f"{number:02d} {title}.wav"
            _write_arpeggio(path, root, steps, length)
            _tag(path, title, album, number, cover)
            tracks.append(
                DemoTrack(path, title, album.artist, album.title, round(length * 1000), number)
            )
    return tracks


def cover_png(
    title: str, colors: tuple[tuple[int, int, int], tuple[int, int, int]], size: int = COVER_SIZE
) -> bytes:
    """Return a PNG cover: a gradient between *colors* with soft rings placed by *title*."""
    (r1, g1, b1), (r2, g2, b2) = colors
    seed = sum(title.encode()) % 97
    cx, cy = size * (0.25 + (seed % 5) / 10), size * (0.7 - (seed % 3) / 10)
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # PNG filter type 0 for each row
        for x in range(size):
            t = (x + y) / (2 * size)
            ring = 0.5 + 0.5 * math.cos(math.hypot(x - cx, y - cy) / 9.0)
            light = 0.82 + 0.18 * ring
            rows += bytes(
                (
                    min(255, int((r1 + (r2 - r1) * t) * light)),
                    min(255, int((g1 + (g2 - g1) * t) * light)),
                    min(255, int((b1 + (b2 - b1) * t) * light)),
                )
            )
    return _png(size, size, bytes(rows))


def _png(width: int, height: int, raw_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw_rows, 6))
        + chunk(b"IEND", b"")
    )


def _tag(path: Path, title: str, album: _Album, number: int, cover: bytes) -> None:
    # mutagen appends an "id3 " RIFF chunk after the audio; WAV readers (libVLC included)
    # skip chunks they do not know.
    audio = WAVE(path)  # type: ignore[no-untyped-call]
    audio.add_tags()  # type: ignore[no-untyped-call]
    id3: Any = mutagen.id3  # its frame classes are untyped
    tags: Any = audio.tags  # an ID3 once add_tags() ran (mutagen types it too loosely)
    tags.add(id3.TIT2(encoding=3, text=title))
    tags.add(id3.TPE1(encoding=3, text=album.artist))
    tags.add(id3.TALB(encoding=3, text=album.title))
    tags.add(id3.TRCK(encoding=3, text=f"{number}/{len(album.tracks)}"))
    tags.add(
        id3.APIC(
            encoding=3, mime="image/png", type=id3.PictureType.COVER_FRONT, desc="cover", data=cover
        )
    )
    audio.save()


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


# ------------------------------------------------------------------------------ a large library

_WORDS = (
    "amber", "blue", "copper", "drift", "echo", "fable", "glass", "harbour", "iris", "jade",
    "kite", "lumen", "meadow", "north", "orbit", "pale", "quiet", "river", "signal", "tide",
    "umber", "velvet", "winter", "yonder", "zephyr", "cinder", "hollow", "lantern", "marrow",
)  # fmt: skip
_SILENCE_RATE = 8000  # 8-bit mono: small files, still real WAV audio


def write_large_library(
    folder: Path, tracks: int = 10_000, per_album: int = 10, albums_per_artist: int = 5
) -> int:
    """Write *tracks* short tagged WAV files (benchmarks and tests of a big library).

    Albums of *per_album* tracks, *albums_per_artist* albums per artist, each file 0.1 s of
    silence with ID3 tags written by mutagen (title, artist, album, number) and, on every
    album's tracks, one of 32 small covers. Returns the number of files written.
    """
    covers = [
        cover_png(f"c{n}", ((n * 8, 90, 200 - n * 5), (240, n * 7, 80)), 32) for n in range(32)
    ]
    silence = _silent_wav(0.1)
    id3: Any = mutagen.id3
    written = 0
    for album_no in range((tracks + per_album - 1) // per_album):
        artist_no = album_no // albums_per_artist
        artist = f"{_word(artist_no, 7).title()} {_word(artist_no, 3).title()} {artist_no}"
        album = f"{_word(album_no, 11).title()} {_word(album_no, 5)} {album_no}"
        album_dir = folder / f"{artist_no:04d}" / f"{album_no:05d}"
        album_dir.mkdir(parents=True, exist_ok=True)
        cover = covers[album_no % len(covers)]
        for number in range(1, min(per_album, tracks - written) + 1):
            title = f"{_word(written, 13).title()} {_word(written, 17)} {written}"
            path = album_dir / f"{number:02d}.wav"
            path.write_bytes(silence)
            audio = WAVE(path)  # type: ignore[no-untyped-call]
            audio.add_tags()  # type: ignore[no-untyped-call]
            tags: Any = audio.tags
            tags.add(id3.TIT2(encoding=3, text=title))
            tags.add(id3.TPE1(encoding=3, text=artist))
            tags.add(id3.TALB(encoding=3, text=album))
            tags.add(id3.TRCK(encoding=3, text=str(number)))
            tags.add(id3.APIC(encoding=3, mime="image/png", type=3, desc="", data=cover))
            audio.save()
            written += 1
    return written


def _word(n: int, stride: int) -> str:
    return _WORDS[(n * stride) % len(_WORDS)]


def _silent_wav(seconds: float) -> bytes:
    frames = int(_SILENCE_RATE * seconds)
    data = b"\x80" * frames  # 8-bit WAV is unsigned: 128 is silence
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + frames, b"WAVE", b"fmt ", 16, 1, 1,
        _SILENCE_RATE, _SILENCE_RATE, 1, 8, b"data", frames,
    )  # fmt: skip
    return header + data
