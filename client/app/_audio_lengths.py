"""Exact lengths where mutagen's are estimates: MP3 and AAC in MP4 with encoder delay and padding.

mutagen takes an MP3's length from its Xing/Info header, trimming the encoder's delay and
padding only when the LAME tag's version says "LAME" (ffmpeg's says "Lavc": 37 ms too long on
every file), and, without such a header, guesses it from the first frame's bitrate (a VBR
file without one came out 0.73 s for 2.04). Here the LAME tag is read whoever wrote it, and a
file without a header has its frames counted (less the usual encoder and decoder delay). An
AAC file's `iTunSMPB` comment gives the samples the encoder was fed; without one, its movie
header gives the length after the edit list that hides the priming (ffmpeg writes one;
mutagen reads the track's own length, 23 ms longer at 44.1 kHz). Blocking file reading:
worker threads only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["exact_length"]

MAX_COUNTED_BYTES = 64 << 20  # frames are counted in files up to this size
LAME_DELAY, DECODER_DELAY = 576, 529  # samples an MP3 starts with that are not the music
_MP3_RATES = {1: (44100, 48000, 32000), 2: (22050, 24000, 16000), 2.5: (11025, 12000, 8000)}
_MP3_VERSIONS = {0: 2.5, 2: 2, 3: 1}  # the header's two version bits
_L3_KBPS = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_ITUNSMPB = "----:com.apple.iTunes:iTunSMPB"
MAX_BOXES = 256  # boxes looked at on one level of an MP4 before giving up


def exact_length(path: Path, audio: Any) -> float | None:
    """Return *audio*'s length in seconds where mutagen's may be off, else None (keep it).

    *audio* is what mutagen.File read from *path* (client/app/audio_probe.py's `Audio`).
    """
    kind = type(audio).__name__
    try:
        if kind in ("MP3", "EasyMP3") and getattr(audio.info, "layer", 3) == 3:
            return _mp3_length(path, audio.info)
        if kind in ("MP4", "EasyMP4"):
            return (_itunsmpb_length(audio) if audio.tags is not None else None) or _movie_length(
                path
            )
    except OSError:
        return None
    return None


def _mp3_length(path: Path, info: object) -> float | None:
    offset = int(getattr(info, "frame_offset", 0))
    with path.open("rb") as file:
        file.seek(offset)
        head = file.read(512)
        lame = _xing_samples(head)
        if lame is not None:
            return lame / _header_rate(head) if _header_rate(head) else None
        if getattr(info, "encoder_info", "") == "FhG":  # a VBRI header: mutagen counted right
            return None
        if path.stat().st_size - offset > MAX_COUNTED_BYTES:
            return None
        file.seek(offset)
        samples, rate = _count_frames(file.read())
    # No header says what the encoder added: take off what LAME always adds (its 576 samples
    # and the decoder's 529), silence every such file starts with.
    samples = max(0, samples - LAME_DELAY - DECODER_DELAY)
    return samples / rate if samples and rate else None


def _header(head: bytes, pos: int = 0) -> tuple[float, int, int, int] | None:
    """Return (version, sample rate, frame bytes, samples per frame) of the layer III frame
    header at *pos*, or None when there is none."""
    if len(head) < pos + 4 or head[pos] != 0xFF or head[pos + 1] & 0xE0 != 0xE0:
        return None
    version = _MP3_VERSIONS.get((head[pos + 1] >> 3) & 3)
    layer, rate_code = (head[pos + 1] >> 1) & 3, (head[pos + 2] >> 2) & 3
    bitrate_code, padding = head[pos + 2] >> 4, (head[pos + 2] >> 1) & 1
    if version is None or layer != 1 or rate_code == 3 or bitrate_code in (0, 15):
        return None
    rate = _MP3_RATES[version][rate_code]
    kbps = _L3_KBPS[1 if version == 1 else 2][bitrate_code]
    per_frame = 1152 if version == 1 else 576
    return version, rate, per_frame // 8 * kbps * 1000 // rate + padding, per_frame


def _header_rate(head: bytes) -> int:
    found = _header(head)
    return found[1] if found else 0


def _xing_samples(head: bytes) -> int | None:
    """Return the samples a Xing/Info header counts, less the LAME tag's delay and padding;
    None without such a header (or one that does not count its frames)."""
    found = _header(head)
    if found is None:
        return None
    version, _, _, per_frame = found
    mono = head[3] >> 6 == 3
    at = 4 + ((17 if mono else 32) if version == 1 else (9 if mono else 17))
    if head[at : at + 4] not in (b"Xing", b"Info"):
        return None
    flags = int.from_bytes(head[at + 4 : at + 8], "big")
    if not flags & 1:
        return None
    frames = int.from_bytes(head[at + 8 : at + 12], "big")
    # Then the byte count, the seek table and the quality, each if flagged; then the LAME tag:
    # nine bytes of encoder name, 12 bytes of settings, then delay and padding (12 bits each).
    lame = at + 12 + (4 if flags & 2 else 0) + (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
    samples = frames * per_frame
    name = head[lame : lame + 4]
    if len(head) >= lame + 24 and name.isascii() and name.isalnum():
        trim = int.from_bytes(head[lame + 21 : lame + 24], "big")
        delay, padding = trim >> 12, trim & 0xFFF
        if delay + padding < samples:  # old LAMEs wrote nonsense in short files
            samples -= delay + padding
    return samples


def _count_frames(data: bytes) -> tuple[int, int]:
    """Return the samples in the run of layer III frames *data* starts with, and their rate."""
    pos, samples, rate = 0, 0, 0
    known: dict[bytes, tuple[float, int, int, int] | None] = {}  # a file has few kinds of header
    while True:
        key = data[pos : pos + 3]
        found = known[key] if key in known else known.setdefault(key, _header(data, pos))
        if found is None:
            break
        _, rate, size, per_frame = found
        if pos + size > len(data):
            break  # a truncated last frame is not played whole
        samples += per_frame
        pos += size
    return samples, rate


def _movie_length(path: Path) -> float | None:
    """Return an MP4's length from its movie header (`mvhd`), which counts the edit list that
    hides the encoder's priming (mutagen reads the track's, priming included); None if none."""
    with path.open("rb") as file:
        end = path.stat().st_size
        at = _find_box(file, 0, end, b"moov")
        if at is None:
            return None
        header = _find_box(file, at[0], at[1], b"mvhd")
        if header is None:
            return None
        file.seek(header[0])
        body = file.read(32)
    if len(body) < 20:
        return None
    if body[0] == 1:  # version 1: 64-bit times and duration
        scale, duration = int.from_bytes(body[20:24], "big"), int.from_bytes(body[24:32], "big")
    else:
        scale, duration = int.from_bytes(body[12:16], "big"), int.from_bytes(body[16:20], "big")
    return duration / scale if scale and duration and duration != 0xFFFFFFFF else None


def _find_box(file: BinaryIO, start: int, end: int, name: bytes) -> tuple[int, int] | None:
    """Return where the body of box *name* among the boxes from *start* to *end* starts and
    ends (ISO 14496-12, 4.2), None if it is not there."""
    at = start
    for _ in range(MAX_BOXES):
        if at + 8 > end:
            return None
        file.seek(at)
        head = file.read(16)
        size, kind, body = int.from_bytes(head[:4], "big"), head[4:8], at + 8
        if size == 1:  # a 64-bit size follows
            size, body = int.from_bytes(head[8:16], "big"), at + 16
        elif size == 0:  # to the end
            size = end - at
        if size < body - at:
            return None
        if kind == name:
            return body, min(at + size, end)
        at += size
    return None


def _itunsmpb_length(audio: Any) -> float | None:
    """Return the length `iTunSMPB` gives (the samples the encoder was fed), or None."""
    assert audio.tags is not None
    try:
        values = audio.tags[_ITUNSMPB]
    except (KeyError, ValueError, TypeError):
        return None
    rate = int(getattr(audio.info, "sample_rate", 0))
    fields = bytes(values[0]).decode("ascii", errors="replace").split() if values else []
    try:
        samples = int(fields[3], 16)
    except (IndexError, ValueError):
        return None
    return samples / rate if samples and rate else None
