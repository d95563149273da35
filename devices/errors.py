"""Typed errors of the receiver: one root, `ReceiverError`, each with a stable machine `code`."""

from __future__ import annotations

from typing import ClassVar

# The Debian packages that make libVLC usable without a desktop: the library and its plugins.
LIBVLC_PACKAGES = "libvlc5 vlc-plugin-base"


class ReceiverError(Exception):
    """Root of every error raised by the `devices` package."""

    # Stable across releases: the session layer maps it onto protocol error codes.
    code: ClassVar[str] = "receiver_error"


class LibVLCUnavailableError(ReceiverError, RuntimeError):
    """libVLC is missing or unusable on this machine (library or plugins not installed)."""

    code = "libvlc_unavailable"


class AudioOutputError(ReceiverError, OSError):
    """The configured audio output (sound card, file) could not be opened."""

    code = "audio_output_failed"


class PlayerClosedError(ReceiverError, RuntimeError):
    """The player was used before `async_start` or after `async_close`."""

    code = "player_closed"


class NothingLoadedError(ReceiverError, RuntimeError):
    """A playback command came before any media was loaded."""

    code = "nothing_loaded"


class MediaError(ReceiverError):
    """A media URL could not be played; the subclasses say why."""

    code = "media_error"

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class MediaNotFoundError(MediaError, FileNotFoundError):
    """The media does not exist: HTTP 404/410 or a missing local file."""

    code = "media_not_found"


class MediaUnsupportedError(MediaError, ValueError):
    """The media was read but libVLC found no audio it can decode in it."""

    code = "media_unsupported"


class PositionOutOfRangeError(MediaError, ValueError):
    """The requested start position lies at or beyond the end of the media."""

    code = "position_out_of_range"


class MediaSchemeError(MediaError, ValueError):
    """The URL is not one a receiver opens: only http and https (never file://, smb://...)."""

    code = "media_scheme_refused"


class MediaSourceGoneError(MediaError):
    """A media capability URL whose server restarted or stopped: it will never work again.

    Told apart from a plain 404 or refusal by the URL's shape (connect/media_capability.py),
    so the listener reads that the app serving the music restarted, not that a track is lost.
    """

    code = "media_source_gone"


class MediaUnreachableError(MediaError, ConnectionError):
    """The media's server could not be reached: refused, unresolvable, timed out, HTTP error."""

    code = "media_unreachable"
