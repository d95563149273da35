"""MPD's answers read as Baton's: addresses, ids, status, decoders. Pure: no I/O.

MPD (https://mpd.readthedocs.io/en/latest/protocol.html) answers `status` with text fields:
`state` (play, pause, stop), `elapsed` (seconds, three decimals), `duration`, `volume` (-1 or
absent without a mixer), `songid`, `error`. The bridge keeps one song in MPD's queue, the
current item of the Baton session, and remembers its id, so a `songid` that is not ours (or
none) means our song is gone: it ended, or another client replaced it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bridges.player import PlayerState, PlayerStatus
from connect.media_formats import CODECS

__all__ = [
    "DEFAULT_PORT",
    "POSITION_UNCERTAINTY_MS",
    "Loaded",
    "codecs_from_decoders",
    "mpd_device_id",
    "parse_address",
    "status_from",
]

DEFAULT_PORT = 6600
# How far MPD's `elapsed` may be from what is heard: it counts what MPD handed its outputs,
# in chunks (~46 ms of 44.1 kHz mono through a FIFO output, measured), read over TCP at an
# instant known to half a round trip; an ALSA output adds its own buffer, which MPD does not
# say. tests/integration/bridges/test_mpd.py checks the recorded audio against it.
POSITION_UNCERTAINTY_MS = 100

_STATES = {"play": PlayerState.PLAYING, "pause": PlayerState.PAUSED, "stop": PlayerState.STOPPED}
# MPD's decoder plugins list the suffixes they read; a codec is offered when one of its
# suffixes is (ffmpeg reads every codec here, ALAC only through it).
_SUFFIXES = {
    "wav": ("wav",),
    "mp3": ("mp3",),
    "aac": ("aac", "m4a"),
    "alac": (),
    "flac": ("flac",),
    "vorbis": ("ogg", "oga"),
    "opus": ("opus",),
}


@dataclass(frozen=True)
class Loaded:
    """The song the bridge put in MPD's queue: its id, URL, and where it holds it silent.

    `held_ms` is set while the song waits, unplayed, for its start (a paused load, a
    transfer's pre-roll): MPD cannot open media paused, so it is queued and not started.
    """

    song_id: str
    url: str
    held_ms: int | None = None


def parse_address(text: str) -> tuple[str, int]:
    """Return (host, port) from "HOST", "HOST:PORT" or "[V6]:PORT"; raise ValueError."""
    text = text.strip()
    if not text:
        raise ValueError("an MPD address needs a host")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") if rest else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""  # a bare IPv6 address, or a name
    if not host:
        raise ValueError(f"{text!r}: no host")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r}: the port must be 1..65535")
    return host, int(port_text)


def mpd_device_id(host: str, port: int) -> str:
    """Return the Baton id of the MPD at *host*:*port*: stable, and never a fingerprint's shape.

    Derived from the address as given (lower-cased): `--mpd kitchen.local` and `--mpd
    192.168.1.9` are two ids for one MPD, so name it the same way each time.
    """
    digest = hashlib.sha256(f"mpd:{host.lower()}:{port}".encode()).hexdigest()
    return f"mpd-{digest[:24]}"


def status_from(
    raw: Mapping[str, str], loaded: Loaded | None, as_of_us: int, uncertainty_ms: int
) -> PlayerStatus:
    """Read MPD's `status` answer (read at *as_of_us*) as the player's status.

    A song held silent shows as paused at its held position; a song that is not ours (or
    none) shows as stopped, with no URL.
    """
    state = _STATES.get(raw.get("state", "stop"), PlayerState.STOPPED)
    volume = _int(raw.get("volume"), -1)
    error = raw.get("error", "")
    ours = loaded is not None and raw.get("songid") == loaded.song_id
    if loaded is not None and loaded.held_ms is not None and state is PlayerState.STOPPED:
        return PlayerStatus(
            PlayerState.PAUSED, loaded.held_ms, as_of_us, uncertainty_ms, loaded.url,
            volume=volume, error=error,
        )  # fmt: skip
    if not ours or state is PlayerState.STOPPED:
        return PlayerStatus(PlayerState.STOPPED, 0, as_of_us, uncertainty_ms, volume=volume,
                            error=error)  # fmt: skip
    assert loaded is not None
    return PlayerStatus(
        state,
        _ms(raw.get("elapsed")),
        as_of_us,
        uncertainty_ms,
        loaded.url,
        duration_ms=_ms(raw.get("duration")),
        volume=volume,
        error=error,
    )


def codecs_from_decoders(decoders: Iterable[Mapping[str, object]]) -> tuple[str, ...]:
    """Return the codec names MPD's `decoders` answer covers, in connect.media_formats' order."""
    suffixes: set[str] = set()
    everything = False
    for decoder in decoders:
        if decoder.get("plugin") == "ffmpeg":
            everything = True
        listed = decoder.get("suffix", ())
        suffixes.update([listed] if isinstance(listed, str) else list(listed or ()))  # type: ignore[call-overload]
    if everything:
        return CODECS
    return tuple(c for c in CODECS if any(s in suffixes for s in _SUFFIXES[c]))


def _ms(seconds: str | None) -> int:
    try:
        return max(0, round(float(seconds or 0) * 1000))
    except ValueError:
        return 0


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
