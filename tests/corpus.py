"""A corpus of real music formats, made at test time with Debian's ffmpeg from the position track.

Every file holds the same content: tests/audio.py's position-encoding track (segment k, a sine
at 500 + 100*k Hz, is content k*100 ms on), so a capture of any of them says which content
position was heard when. The formats are those real libraries hold, with the parts that make
seeking and positions hard: MP3 CBR and VBR (LAME's Xing/Info header, or none; a large ID3v2
tag with embedded art before the audio), AAC in .m4a, FLAC with and without a seek table,
Opus (pre-skip), Ogg Vorbis, and the WAV itself.
"""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import mutagen
import mutagen.id3
import pytest

from tests.audio import write_position_track

FFMPEG = shutil.which("ffmpeg")
DURATION_MS = 4_000  # a few seconds each: the suite stays fast, seeks still have room


@dataclass(frozen=True)
class CorpusFile:
    """One encoding of the position track: `name` says what is special about it."""

    name: str
    path: Path
    lossy: bool

    @property
    def filename(self) -> str:
        """Return the file's name in the corpus folder."""
        return self.path.name


# name -> (file name, ffmpeg output arguments, lossy). "{art}" takes an embedded picture.
_ENCODINGS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "mp3-cbr": ("cbr.mp3", ("-c:a", "libmp3lame", "-b:a", "128k"), True),
    "mp3-vbr-art": (
        "vbr-art.mp3",
        ("{art}", "-c:a", "libmp3lame", "-q:a", "2", "-c:v", "copy", "-id3v2_version", "3",
         "-metadata:s:v", "comment=Cover (front)"),
        True,
    ),
    "mp3-vbr-no-xing": ("vbr-no-xing.mp3", ("-c:a", "libmp3lame", "-q:a", "2",
                                            "-write_xing", "0"), True),
    "aac-m4a": ("aac.m4a", ("-c:a", "aac", "-b:a", "128k"), True),
    "flac": ("plain.flac", ("-c:a", "flac"), False),
    "opus": ("voice.opus", ("-c:a", "libopus", "-b:a", "96k"), True),
    "vorbis": ("vorbis.ogg", ("-c:a", "libvorbis", "-q:a", "4"), True),
}  # fmt: skip
FORMAT_NAMES = ("wav", *_ENCODINGS, "flac-seektable")


def make_corpus(folder: Path, duration_ms: int = DURATION_MS) -> dict[str, CorpusFile]:
    """Encode the position track into every format of the corpus in *folder*; return them."""
    folder.mkdir(parents=True, exist_ok=True)
    source = write_position_track(folder / "source.wav", duration_ms)
    return {name: encode(source, name, folder) for name in FORMAT_NAMES}


def encode(source: Path, name: str, folder: Path) -> CorpusFile:
    """Encode the WAV *source* as the corpus's format *name* into *folder*; return it."""
    if name == "wav":
        return CorpusFile(name, source, False)
    if name == "flac-seektable":
        plain = encode(source, "flac", folder)
        return CorpusFile(name, add_flac_seek_table(plain.path, folder / "seektable.flac"), False)
    if FFMPEG is None:
        raise RuntimeError("the corpus needs Debian's ffmpeg (apt install ffmpeg)")
    filename, args, lossy = _ENCODINGS[name]
    out = folder / filename
    inputs = ["-i", str(source)]
    if "{art}" in args:
        art = folder / "art.png"
        if not art.exists():
            _noise_picture(art)
        inputs += ["-i", str(art), "-map", "0:a", "-map", "1:v"]
    _ffmpeg([*inputs, *(a for a in args if a != "{art}"), str(out)])
    return CorpusFile(name, out, lossy)


def _ffmpeg(args: list[str]) -> None:
    assert FFMPEG is not None
    subprocess.run(
        [FFMPEG, "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True
    )


def _noise_picture(path: Path) -> Path:
    """Write a 384x384 PNG of noise: ~400 KB that no compression shrinks, a large ID3v2 tag."""
    _ffmpeg(["-f", "lavfi", "-i", "nullsrc=s=384x384,geq=random(1)*255:128:128", "-frames:v",
             "1", str(path)])  # fmt: skip
    return path


# ---------------------------------------------------------------- tagged files

# name -> (file name, ffmpeg codec arguments, whether ffmpeg embeds the art itself)
_TAGGED: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "mp3": ("tagged.mp3", ("-c:a", "libmp3lame", "-q:a", "2", "-id3v2_version", "3"), True),
    "m4a": ("tagged.m4a", ("-c:a", "aac", "-b:a", "128k"), True),
    "flac": ("tagged.flac", ("-c:a", "flac"), True),
    "opus": ("tagged.opus", ("-c:a", "libopus", "-b:a", "96k"), False),
    "vorbis": ("tagged.ogg", ("-c:a", "libvorbis", "-q:a", "4"), False),
    "wav": ("tagged.wav", ("-c:a", "pcm_s16le"), False),
}
TAGGED_FORMATS = tuple(_TAGGED)


def make_tagged(source: Path, name: str, folder: Path, tags: dict[str, str], art: Path) -> Path:
    """Encode *source* as format *name* with *tags* (title, artist, album) and the PNG *art*
    as its front cover: by ffmpeg where the container takes a picture from it (MP3's APIC,
    MP4's covr, FLAC's PICTURE), else by mutagen (Ogg's METADATA_BLOCK_PICTURE, WAV's ID3)."""
    filename, args, ffmpeg_art = _TAGGED[name]
    out = folder / filename
    inputs = ["-i", str(source)]
    if ffmpeg_art:
        inputs += ["-i", str(art), "-map", "0:a", "-map", "1:v", "-c:v", "copy",
                   "-disposition:v", "attached_pic"]  # fmt: skip
    metadata = [a for key, value in tags.items() for a in ("-metadata", f"{key}={value}")]
    _ffmpeg([*inputs, *args, *metadata, str(out)])
    if not ffmpeg_art:
        _embed_art(out, art.read_bytes())
    return out


def write_art(path: Path, hue: int = 128) -> Path:
    """Write a small PNG of noise at *path* (an album cover; *hue* 0-255 tells covers apart)."""
    _ffmpeg(["-f", "lavfi", "-i", f"nullsrc=s=64x64,geq=random(1)*255:{hue}:128", "-frames:v",
             "1", str(path)])  # fmt: skip
    return path


def _embed_art(path: Path, png: bytes) -> None:
    audio = mutagen.File(path)
    if path.suffix == ".wav":
        audio.add_tags()
        apic = mutagen.id3.APIC(encoding=3, mime="image/png", type=3, data=png)  # type: ignore[no-untyped-call]
        audio.tags.add(apic)
    else:
        audio.tags["metadata_block_picture"] = [base64.b64encode(_picture_block(png)).decode()]
    audio.save()


def _picture_block(png: bytes) -> bytes:
    """Return a FLAC PICTURE block holding *png* as the front cover (RFC 9639, 8.8)."""
    mime = b"image/png"
    return (
        struct.pack(">II", 3, len(mime)) + mime + struct.pack(">I", 0)
        + struct.pack(">IIIII", 64, 64, 24, 0, len(png)) + png
    )  # fmt: skip


# ---------------------------------------------------------------- FLAC seek table

_FLAC_SEEKTABLE = 3
_FLAC_PADDING = 1


def add_flac_seek_table(source: Path, out: Path, *, every_frames: int = 2) -> Path:
    """Copy FLAC *source* to *out* with a SEEKTABLE block (a point every few frames).

    ffmpeg writes none; `flac` is not installed. Frames are found by their sync code and
    checked with their header's CRC-8, so a sync pattern inside audio data is not taken.
    """
    data = source.read_bytes()
    if data[:4] != b"fLaC":
        raise ValueError(f"{source} is not a FLAC file")
    blocks, pos = [], 4
    while True:
        header, size = data[pos], int.from_bytes(data[pos + 1 : pos + 4], "big")
        kind = header & 0x7F
        if kind not in (_FLAC_SEEKTABLE, _FLAC_PADDING):
            blocks.append((kind, data[pos + 4 : pos + 4 + size]))
        pos += 4 + size
        if header & 0x80:
            break
    audio = data[pos:]
    block_size = struct.unpack(">H", blocks[0][1][:2])[0]  # STREAMINFO's minimum block size
    frames = _frame_offsets(audio)
    points = b"".join(
        struct.pack(">QQH", n * block_size, offset, block_size)
        for n, offset in enumerate(frames)
        if n % every_frames == 0
    )
    blocks.append((_FLAC_SEEKTABLE, points))
    body = bytearray(b"fLaC")
    for i, (kind, payload) in enumerate(blocks):
        last = 0x80 if i == len(blocks) - 1 else 0
        body += bytes([kind | last]) + len(payload).to_bytes(3, "big") + payload
    out.write_bytes(bytes(body) + audio)
    return out


def _frame_offsets(audio: bytes) -> list[int]:
    """Return the byte offset of each FLAC frame in *audio* (fixed block size)."""
    offsets, pos = [], 0
    while (pos := audio.find(b"\xff\xf8", pos)) >= 0:
        if _frame_header_ok(audio, pos):
            offsets.append(pos)
        pos += 1
    return offsets


def _frame_header_ok(audio: bytes, pos: int) -> bool:
    """Return whether a valid frame header (its CRC-8 right) starts at *pos*."""
    if pos + 6 > len(audio):
        return False
    size_code, rate_code = audio[pos + 2] >> 4, audio[pos + 2] & 0x0F
    end = pos + 4
    # The UTF-8-like coded frame number: its first byte says how many follow.
    lead = audio[end]
    extra = 0 if lead < 0x80 else (8 - (lead ^ 0xFF).bit_length()) - 1
    end += 1 + extra
    end += {6: 1, 7: 2}.get(size_code, 0) + {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    return end < len(audio) and _crc8(audio[pos:end]) == audio[end]


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CorpusFile]:
    """The corpus, made once per test session (about a second of ffmpeg)."""
    return make_corpus(tmp_path_factory.mktemp("corpus"))
