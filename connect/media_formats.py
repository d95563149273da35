"""Audio file formats: which codecs a file name or MIME type may hold, for both ends.

The one place that maps containers to codecs: the controller's "cannot play X audio" check
(`connect/transfer/rules.py`), a transfer target's (`connect/transfer/target.py`), the
receiver's DeviceInfo codec list (`devices/_decoders.py`) and the app's library all read it.
A container names a set of codecs (`.m4a` holds AAC or ALAC, `.ogg` Vorbis, Opus or FLAC): a
device that decodes none of them cannot play the file; one that decodes any may try, and a
file it then cannot decode fails its load as any unplayable file does. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "CODECS",
    "FORMATS",
    "MediaFormat",
    "format_of",
    "legacy_codec_names",
    "plays",
    "why_unplayable",
]

# The codec names devices list in DeviceInfo.audio_codecs. "wav" is PCM (its name since
# protocol 1.0); "ogg" was 1.0's name for Vorbis (see `legacy_codec_names`).
CODECS = ("wav", "mp3", "aac", "alac", "flac", "vorbis", "opus")
_LEGACY = {"ogg": "vorbis"}
_ANY = frozenset(CODECS)


@dataclass(frozen=True)
class MediaFormat:
    """A container as people name it, the MIME type it is served as and what it may hold."""

    name: str  # what "cannot play X audio" says
    content_type: str
    codecs: frozenset[str]
    suffixes: tuple[str, ...]  # lower case, with the dot
    aliases: tuple[str, ...] = ()  # other MIME types for it


FORMATS = (
    MediaFormat(
        "wav", "audio/wav", frozenset({"wav"}), (".wav", ".wave"),
        ("audio/x-wav", "audio/wave", "audio/vnd.wave"),
    ),
    MediaFormat("mp3", "audio/mpeg", frozenset({"mp3"}), (".mp3",), ("audio/mp3", "audio/x-mp3")),
    MediaFormat("flac", "audio/flac", frozenset({"flac"}), (".flac",), ("audio/x-flac",)),
    MediaFormat(
        "ogg", "audio/ogg", frozenset({"vorbis", "opus", "flac"}), (".ogg", ".oga"),
        ("application/ogg", "audio/x-ogg", "audio/vorbis"),
    ),
    MediaFormat("opus", "audio/opus", frozenset({"opus"}), (".opus",)),
    MediaFormat(
        "m4a", "audio/mp4", frozenset({"aac", "alac"}), (".m4a", ".mp4", ".m4b"),
        ("audio/x-m4a", "audio/m4a", "audio/x-mp4"),
    ),
    MediaFormat("aac", "audio/aac", frozenset({"aac"}), (".aac", ".adts"), ("audio/aacp",)),
    MediaFormat("webm", "audio/webm", frozenset({"opus", "vorbis"}), (".webm",)),
    MediaFormat("mka", "audio/x-matroska", _ANY, (".mka",), ("audio/matroska",)),
)  # fmt: skip
_BY_TYPE = {t: f for f in FORMATS for t in (f.content_type, *f.aliases)}
_BY_SUFFIX = {s: f for f in FORMATS for s in f.suffixes}
# RFC 6381 `codecs=` values in a MIME type, to the codec names above.
_RFC6381 = {"mp4a.40.2": "aac", "mp4a.40.5": "aac", "mp4a.40.29": "aac", "mp4a.40.34": "mp3",
            "mp4a.6b": "mp3", "alac": "alac", "flac": "flac", "vorbis": "vorbis", "opus": "opus",
            "mp3": "mp3", "1": "wav"}  # fmt: skip
_PLAYLISTS = frozenset({".m3u8", ".m3u", ".pls"})


def format_of(url: str, content_type: str = "") -> MediaFormat | None:
    """Return the format of a media file, None when neither its MIME type nor name says."""
    if content_type:
        main, _, params = content_type.partition(";")
        known = _BY_TYPE.get(main.strip().lower())
        if known is not None:
            narrowed = _named_codecs(params)
            inside = known.codecs & narrowed if narrowed else frozenset()
            return known if not inside else MediaFormat(known.name, main, inside, ())
        if not main.strip().lower().startswith("audio/"):
            return None
    path = urlsplit(url).path.rsplit("/", 1)[-1].lower()
    suffix = path[path.rfind(".") :] if "." in path else ""
    # A playlist (HLS) names no codec: what it lists is known only once it is opened.
    if suffix in _PLAYLISTS:
        return None
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    # An unknown extension: named, so a device can say which file it cannot play.
    return MediaFormat(suffix[1:], "", frozenset({suffix[1:]}), (suffix,)) if suffix else None


def plays(offered: Iterable[str], media: MediaFormat | None) -> bool:
    """Return whether a device decoding *offered* may play *media* (unknown media: yes)."""
    if media is None:
        return True
    codecs = {_LEGACY.get(codec, codec) for codec in offered}
    return not codecs.isdisjoint(media.codecs)


def why_unplayable(offered: Iterable[str], url: str, content_type: str = "") -> str:
    """Return "cannot play X audio" if a device decoding *offered* cannot play it, else ""."""
    media = format_of(url, content_type)
    if plays(offered, media):
        return ""
    assert media is not None  # plays() says yes to unknown media
    return f"cannot play {media.name} audio"


def legacy_codec_names(codecs: Iterable[str]) -> tuple[str, ...]:
    """Return *codecs* with the names protocol 1.0 controllers look for ("ogg" for Vorbis)."""
    out = list(codecs)
    out += [old for old, new in _LEGACY.items() if new in out and old not in out]
    return tuple(out)


def _named_codecs(params: str) -> frozenset[str]:
    """Return the codecs a MIME type's `codecs=` parameter names (empty: none named)."""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "codecs":
            names = value.strip().strip('"').lower().split(",")
            return frozenset(_RFC6381.get(n.strip(), n.strip()) for n in names if n.strip())
    return frozenset()
