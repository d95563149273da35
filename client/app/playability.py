"""Which tracks can play on the device they would go to, and what to say of the others. Pure.

A track cannot play when its file is at fault, whatever the device ("Cannot be played: damaged
file", client/app/audio_probe.py), or when the device decodes no codec the file may hold
("Sofa TV cannot play Opus": its DeviceInfo's codec list against connect/media_formats.py,
the rule a receiver itself applies). The library marks such tracks; Play, Add to queue and
`baton play` leave them out and say how many and why (`offer`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from client.app import views as v
from client.app.library import Track
from client.app.words import count
from connect.media_formats import MediaFormat, format_of, plays
from connect.wire import messages as m

__all__ = [
    "CODEC_NAMES",
    "Offer",
    "TargetDevice",
    "added_notice",
    "album_words",
    "mark_of",
    "offer",
    "reason_of",
    "skipped_notice",
    "target_of",
]

# How people write the codec names of DeviceInfo.audio_codecs.
CODEC_NAMES = {
    "wav": "WAV", "mp3": "MP3", "aac": "AAC", "alac": "ALAC", "flac": "FLAC",
    "vorbis": "Vorbis", "opus": "Opus",
}  # fmt: skip
CANNOT = "Cannot be played"


@dataclass(frozen=True)
class TargetDevice:
    """The device tracks would be sent to: its name and the codecs it decodes."""

    name: str
    codecs: tuple[str, ...]

    @classmethod
    def of(cls, info: m.DeviceInfo | None, name: str = "") -> TargetDevice | None:
        """Return the target a device's DeviceInfo describes (None: not known yet)."""
        if info is None:
            return None
        return cls(name or info.name, tuple(info.capabilities.audio_codecs))


@dataclass(frozen=True)
class Offer:
    """What to send of a list of tracks: the playable ones, the index to start at among them,
    and the ones left out, each with why ("damaged file", "Sofa TV cannot play Opus")."""

    tracks: tuple[Track, ...]
    start: int
    skipped: tuple[tuple[Track, str], ...] = ()

    def skipped_words(self) -> str:
        """Return "Skipped 1 track: damaged file" (several reasons: "…: damaged file (2),
        Sofa TV cannot play Opus (1)"); "" when none was skipped."""
        if not self.skipped:
            return ""
        reasons = Counter(reason for _, reason in self.skipped)
        said = (
            next(iter(reasons))
            if len(reasons) == 1
            else ", ".join(f"{reason} ({n})" for reason, n in reasons.items())
        )
        return f"Skipped {count(len(self.skipped), 'track')}: {said}"


def reason_of(track: Track, device: TargetDevice | None) -> str:
    """Return why *track* cannot play on *device* in a few words ("" when it can).

    The file's own fault comes first; with no device known, only that is judged.
    """
    if track.fault:
        return track.fault
    if device is None:
        return ""
    media = _media(track)
    if plays(device.codecs, media):
        return ""
    assert media is not None  # plays() says yes to unknown media
    what = CODEC_NAMES.get(track.codec) or media.name.upper()
    return f"{device.name} cannot play {what}"


def mark_of(track: Track, device: TargetDevice | None) -> str:
    """Return what the library shows (and says, to a screen reader) of a track that cannot
    play: "Cannot be played: damaged file", "Sofa TV cannot play Opus"; "" when it can."""
    reason = reason_of(track, device)
    return f"{CANNOT}: {reason}" if track.fault else reason


def offer(tracks: Sequence[Track], start: int, device: TargetDevice | None) -> Offer:
    """Return the tracks of *tracks* that can play on *device*, and where to start among them:
    at the track *start* names, else at the next playable one (none: nothing to play)."""
    # A library holds few kinds of file: judge each kind once. Most lists have none to leave
    # out, found in one pass over them (6 ms for 50 000 tracks; Play all runs on the UI thread).
    kinds = {(t.fault, t.codec, t.content_type): t for t in tracks}
    verdicts = {key: reason_of(track, device) for key, track in kinds.items() if key[2]}
    if len(verdicts) == len(kinds) and not any(verdicts.values()):
        return Offer(tuple(tracks), start)
    kept: list[Track] = []
    skipped: list[tuple[Track, str]] = []
    new_start = -1
    for n, track in enumerate(tracks):
        key = (track.fault, track.codec, track.content_type)
        reason = verdicts.get(key)
        if reason is None:  # no content type: the verdict depends on the file's name
            reason = reason_of(track, device)
        if reason:
            skipped.append((track, reason))
            continue
        if n >= start and new_start < 0:
            new_start = len(kept)
        kept.append(track)
    if not skipped:
        return Offer(tuple(tracks), start)
    if new_start < 0:  # nothing playable from *start* on
        kept = []
    return Offer(tuple(kept), max(new_start, 0), tuple(skipped))


def album_words(artist: str, tracks: Sequence[Track], device: TargetDevice | None) -> str:
    """Return an album page's line under its title: "Ada · 12 tracks", and "· 2 cannot be
    played" when some cannot play on *device*."""
    words = f"{artist} · {count(len(tracks), 'track')}"
    left_out = len(offer(tracks, 0, device).skipped)
    return f"{words} · {left_out} cannot be played" if left_out else words


def target_of(devices: Sequence[v.DeviceView], followed: str) -> TargetDevice | None:
    """Return the device a Play goes to as the core picks it: the followed one, else "This
    computer"; None while it has not said what it decodes."""
    chosen = next((d for d in devices if d.id == followed), None) if followed else None
    if chosen is None:
        chosen = next((d for d in devices if d.is_local), None)
    return TargetDevice.of(chosen.info, chosen.name) if chosen is not None else None


def skipped_notice(chosen: Offer) -> v.Notice | None:
    """Return what Play says of the tracks it left out (an error when nothing is left)."""
    if not chosen.skipped:
        return None
    words = chosen.skipped_words()
    return v.Notice(words if chosen.tracks else f"Nothing to play. {words}", error=True)


def added_notice(chosen: Offer) -> v.Notice:
    """Return what Add to queue says: what it added, and what it left out and why."""
    tracks, words = chosen.tracks, chosen.skipped_words()
    if not tracks:
        return v.Notice(f"Nothing added. {words}", error=True)
    added = f"“{tracks[0].title}”" if len(tracks) == 1 else count(len(tracks), "track")
    text = f"Added {added} to the queue"
    return v.Notice(f"{text}. {words}", error=True) if words else v.Notice(text)


def _media(track: Track) -> MediaFormat | None:
    """Return the track's format, narrowed to the codec found inside when one was."""
    media = format_of(track.path.name, track.content_type)
    if track.codec and media is not None:
        return MediaFormat(media.name, media.content_type, frozenset({track.codec}), ())
    return media
