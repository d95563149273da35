"""What one music file holds, as mutagen reads it: tags, cover art, length, the codec inside, or
why no receiver can decode it.

A file a receiver cannot decode whatever it offers has a `fault` ("empty file", "damaged file",
"Baton does not play WMA"): mutagen found no audio stream of its kind in it, raised on it, or
the format is one no receiver plays (connect/media_formats.py knows the ones Baton plays).
Which codecs a given device lacks is decided later, per device (client/app/playability.py):
`codec` names what is inside in DeviceInfo's words. Blocking file reading: worker threads only.
"""

from __future__ import annotations

import base64
import binascii
import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen
from mutagen import MutagenError

from client.app._audio_lengths import exact_length
from connect.media_formats import FORMATS, MediaFormat

__all__ = ["AUDIO_SUFFIXES", "MUSIC_SUFFIXES", "OTHER_MUSIC", "AudioProbe", "probe_file"]

_LOG = logging.getLogger(__name__)

# Every audio format receivers may offer (connect/media_formats.py), but the names video
# files share: a music folder's .mp4 or .webm is more likely a film than a song.
AUDIO_SUFFIXES = frozenset(s for f in FORMATS for s in f.suffixes) - {".mp4", ".webm"}
# Music formats people keep that Baton does not play: listed (and marked), never offered.
OTHER_MUSIC = {
    suffix: name
    for suffix, name in {
        ".wma": "WMA", ".ape": "Monkey's Audio", ".wv": "WavPack", ".mpc": "Musepack",
        ".aif": "AIFF", ".aiff": "AIFF", ".aifc": "AIFF", ".dsf": "DSD", ".dff": "DSD",
        ".tta": "TTA", ".tak": "TAK", ".ofr": "OptimFROG", ".spx": "Speex", ".ac3": "AC-3",
        ".mp2": "MP2", ".mid": "MIDI", ".midi": "MIDI", ".ra": "RealAudio", ".amr": "AMR",
    }.items()
    if suffix not in AUDIO_SUFFIXES
}  # fmt: skip
MUSIC_SUFFIXES = AUDIO_SUFFIXES | frozenset(OTHER_MUSIC)

EMPTY, DAMAGED, UNREADABLE = "empty file", "damaged file", "unreadable file"
# What mutagen raises on a damaged file. Its readers wrap most errors in MutagenError, but not
# all: mutating real files byte by byte also met a raw IndexError (an Ogg Vorbis comment cut
# short); the others are what parsing bytes raises (struct, int and text decoding).
BROKEN_DATA = (MutagenError, IndexError, ValueError, struct.error, EOFError, OverflowError)
# What mutagen.File returns. Its FileType declares `info` and `tags` as None (they are set per
# reader), so a typed FileType would make every use of them unreachable to mypy.
Audio = Any
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}
_SEVERAL = frozenset(f.name for f in FORMATS if len(f.codecs) > 1)  # say which in codecs=
_RFC6381 = {"aac": "mp4a.40.2"}  # a codec's name in a MIME type's codecs= where not its own
# mutagen's reader -> (the codec inside, the usual MIME type), for the kinds Baton plays.
_KINDS = {
    "MP3": ("mp3", "audio/mpeg"), "EasyMP3": ("mp3", "audio/mpeg"),
    "FLAC": ("flac", "audio/flac"), "OggFLAC": ("flac", "audio/ogg"),
    "OggVorbis": ("vorbis", "audio/ogg"), "OggOpus": ("opus", "audio/ogg"),
    "AAC": ("aac", "audio/aac"), "WAVE": ("wav", "audio/wav"), "MP4": ("", "audio/mp4"),
    "EasyMP4": ("", "audio/mp4"),
}  # fmt: skip
# The kinds mutagen reads that no receiver plays, as people name them.
_FOREIGN = {
    "ASF": "WMA", "MonkeysAudio": "Monkey's Audio", "WavPack": "WavPack", "Musepack": "Musepack",
    "AIFF": "AIFF", "DSF": "DSD", "DSDIFF": "DSD", "TrueAudio": "TTA", "TAK": "TAK",
    "OptimFROG": "OptimFROG", "OggSpeex": "Speex", "AC3": "AC-3", "SMF": "MIDI",
    "OggTheora": "Theora video",
}  # fmt: skip
# A WAV's format tag: PCM, IEEE float, extensible (PCM or float); 0x55: MP3 inside.
_WAV_CODECS = {1: "wav", 3: "wav", 0xFFFE: "wav", 0x55: "mp3"}


@dataclass(frozen=True)
class AudioProbe:
    """What a music file says of itself ("" and 0: not tagged or not known)."""

    title: str = ""
    artist: str = ""  # the album artist if tagged, else the artist
    album: str = ""
    number: int = 0
    disc: int = 0
    duration_ms: int = 0
    codec: str = ""  # inside, as DeviceInfo.audio_codecs names it; "" when not known
    content_type: str = ""  # with `codecs=` for a container that may hold several
    fault: str = ""  # why no receiver can decode it; "" when it looks sound
    art: bytes | None = None


def probe_file(path: Path) -> AudioProbe:
    """Return what *path* holds; never raises for a damaged or unreadable file."""
    suffix = path.suffix.lower()
    known = _BY_SUFFIX.get(suffix)
    content_type = known.content_type if known is not None else ""
    if suffix in OTHER_MUSIC:
        return AudioProbe(fault=_foreign(OTHER_MUSIC[suffix]))
    try:
        if path.stat().st_size == 0:
            return AudioProbe(fault=EMPTY, content_type=content_type)
        audio = mutagen.File(path)
    except BROKEN_DATA as exc:  # a reader that found its kind's marks but not what follows
        _LOG.info("%s: damaged: %s", path, exc)
        return AudioProbe(fault=DAMAGED, content_type=content_type)
    except OSError as exc:
        _LOG.info("%s: cannot be read: %s", path, exc)
        return AudioProbe(fault=UNREADABLE, content_type=content_type)
    if audio is None:
        # No reader knows it: for a name that promises one of mutagen's kinds, the content
        # does not match (garbage, a truncated header); Matroska mutagen does not read at all.
        fault = DAMAGED if _mutagen_reads(suffix) else ""
        return AudioProbe(fault=fault, content_type=content_type)
    return _probe_read(path, audio, known)


def _probe_read(path: Path, audio: Audio, known: MediaFormat | None) -> AudioProbe:
    kind = type(audio).__name__
    if kind in _FOREIGN:
        return AudioProbe(fault=_foreign(_FOREIGN[kind]))
    codec, usual_type = _KINDS.get(kind, ("", ""))
    info = audio.info
    if kind in ("MP4", "EasyMP4"):
        codec = _mp4_codec(str(getattr(info, "codec", "")))
    elif kind == "WAVE":
        codec = _WAV_CODECS.get(int(getattr(info, "audio_format", 1)), "")
    length = exact_length(path, audio) or float(getattr(info, "length", 0) or 0)
    if length <= 0:
        return AudioProbe(fault=DAMAGED, codec=codec, content_type=usual_type)
    content_type = known.content_type if known is not None else usual_type
    if known is not None and known.name in _SEVERAL and codec:
        content_type += f"; codecs={_RFC6381.get(codec, codec)}"
    tags = _read_tags(path, audio)
    return AudioProbe(
        title=tags.get("title", ""), artist=tags.get("artist", ""), album=tags.get("album", ""),
        number=_track_number(tags.get("number", "")), disc=_track_number(tags.get("disc", "")),
        duration_ms=round(length * 1000), codec=codec, content_type=content_type,
        art=_embedded_art(audio),
    )  # fmt: skip


def _foreign(name: str) -> str:
    return f"Baton does not play {name}"


def _mutagen_reads(suffix: str) -> bool:
    media = _BY_SUFFIX.get(suffix)
    return media is not None and media.name != "mka"


def _mp4_codec(name: str) -> str:
    """Return the codec an MP4 audio track's sample entry names, in DeviceInfo's words."""
    name = name.lower()
    if name.startswith("mp4a.40"):
        return "aac"
    if name in ("mp4a.69", "mp4a.6b"):
        return "mp3"
    return name if name in ("alac", "flac", "opus") else ""


# ---------------------------------------------------------------- tags

# The keys each tag system uses: ID3 (MP3, WAV), Vorbis comments (FLAC, Ogg), MP4 atoms.
_KEYS = {
    "title": ("TIT2", "title", "\xa9nam"),
    "artist": ("TPE2", "TPE1", "albumartist", "artist", "aART", "\xa9ART"),
    "album": ("TALB", "album", "\xa9alb"),
    "number": ("TRCK", "tracknumber", "trkn"),
    "disc": ("TPOS", "discnumber", "disk"),
}
# A WAV's RIFF INFO chunk (what ffmpeg and many rippers write), where it has no ID3 chunk.
_RIFF_INFO = {"title": b"INAM", "artist": b"IART", "album": b"IPRD", "number": b"ITRK"}
MAX_RIFF_CHUNKS = 64  # a WAV has a handful; past this it is not one worth reading further


def _read_tags(path: Path, audio: Audio) -> dict[str, str]:
    found: dict[str, str] = {}
    tags = audio.tags
    if tags is not None:
        for name, keys in _KEYS.items():
            value = _first(tags, keys)
            if value:
                found[name] = value
    if type(audio).__name__ == "WAVE" and not found:
        info = _riff_info(path)
        found = {name: info[key] for name, key in _RIFF_INFO.items() if info.get(key)}
    return found


def _first(tags: object, keys: tuple[str, ...]) -> str:
    for key in keys:
        try:
            value = tags[key]  # type: ignore[index]
        except (KeyError, ValueError, TypeError):
            continue
        text = getattr(value, "text", value)
        if isinstance(text, list | tuple):
            text = text[0] if text else ""
        if isinstance(text, tuple):  # MP4 trkn: (number, total)
            text = str(text[0])
        if str(text).strip():
            return str(text).strip()
    return ""


def _track_number(text: str) -> int:
    head = text.split("/", 1)[0].strip().strip("()").split(",", 1)[0]
    return int(head) if head.isdigit() else 0


def _riff_info(path: Path) -> dict[bytes, str]:
    """Return the texts of a WAV's LIST/INFO chunk by their ids (empty when it has none).

    Walks the chunk headers, seeking over the audio: a few small reads whatever the size.
    """
    try:
        with path.open("rb") as file:
            if file.read(12)[8:12] != b"WAVE":
                return {}
            for _ in range(MAX_RIFF_CHUNKS):
                head = file.read(8)
                if len(head) < 8:
                    return {}
                size = int.from_bytes(head[4:8], "little")
                if head[:4] == b"LIST" and file.read(4) == b"INFO":
                    return _info_texts(file.read(min(size - 4, 1 << 16)))
                file.seek(size + (size & 1) - (4 if head[:4] == b"LIST" else 0), 1)
    except OSError:
        return {}
    return {}


def _info_texts(data: bytes) -> dict[bytes, str]:
    texts, pos = {}, 0
    while pos + 8 <= len(data):
        key, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        value = data[pos + 8 : pos + 8 + size].split(b"\0", 1)[0]
        texts[key] = value.decode("utf-8", errors="replace").strip()
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    return texts


# ---------------------------------------------------------------- art


def _embedded_art(audio: Audio) -> bytes | None:
    """Return the front cover (else the first picture) embedded in the file, or None."""
    tags = audio.tags
    if tags is not None and hasattr(tags, "getall"):  # ID3 (MP3, WAV)
        pictures = tags.getall("APIC")
        if pictures:
            front = [p for p in pictures if p.type == 3] or pictures
            return bytes(front[0].data)
    pictures = getattr(audio, "pictures", None)  # FLAC's PICTURE blocks
    if pictures:
        return bytes(pictures[0].data)
    if tags is None:
        return None
    for key in ("covr", "metadata_block_picture", "coverart"):  # MP4, Vorbis comments
        try:
            values = tags[key]
        except (KeyError, ValueError, TypeError):
            continue
        if values:
            return bytes(values[0]) if key == "covr" else _vorbis_picture(key, values)
    return None


def _vorbis_picture(key: str, values: list[str]) -> bytes | None:
    """Return the picture a Vorbis comment carries (base64 of a FLAC PICTURE block, or, in the
    old `coverart` field, of the image itself); None when it is not one."""
    pictures: list[tuple[int, bytes]] = []
    for value in values:
        try:
            raw = base64.b64decode(value)
            if key == "coverart":
                return raw
            pictures.append(_flac_picture(raw))
        except (binascii.Error, ValueError, struct.error) as exc:
            _LOG.debug("a %s comment that is no picture: %s", key, exc)
    front = [p for p in pictures if p[0] == 3] or pictures
    return front[0][1] if front else None


def _flac_picture(raw: bytes) -> tuple[int, bytes]:
    """Return (picture type, image bytes) of a FLAC PICTURE block (RFC 9639, 8.8)."""
    kind, mime_size = struct.unpack_from(">II", raw, 0)
    (text_size,) = struct.unpack_from(">I", raw, 8 + mime_size)
    at = 12 + mime_size + text_size + 16  # then width, height, depth and colours
    (size,) = struct.unpack_from(">I", raw, at)
    data = raw[at + 4 : at + 4 + size]
    if len(data) != size:
        raise ValueError("the picture is cut short")
    return kind, data
