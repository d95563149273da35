"""libVLC's log, read for the reasons behind its bare `EncounteredError` events."""

from __future__ import annotations

import ctypes
import enum
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from connect.media_capability import SOURCE_RESTARTED, SOURCE_STOPPED, is_capability_url
from devices.errors import (
    AudioOutputError,
    MediaNotFoundError,
    MediaSourceGoneError,
    MediaUnreachableError,
    MediaUnsupportedError,
    ReceiverError,
)

_LOGGER = logging.getLogger(__name__)

# libvlc_log_level: DEBUG 0, NOTICE 2, WARNING 3, ERROR 4. Only warnings and errors carry reasons;
# skipping the rest before formatting keeps the callback cheap (libVLC logs hundreds of debug lines
# per media).
_WARNING = 3
_ERROR = 4
_BUFFER_SIZE = 1024
# libVLC's words for the two answers that end a media capability (connect/media_capability.py):
# "HTTP 404 error" (the server restarted: a new token) and "Connection refused" (it stopped).
_HTTP_404 = re.compile(r"\bhttp 404 error\b|\b404 not found\b")
_REFUSED = re.compile(r"connection refused")


class FailureHint(enum.Enum):
    """What a libVLC log line says went wrong."""

    NOT_FOUND = "not_found"
    UNREACHABLE = "unreachable"
    UNSUPPORTED = "unsupported"
    AUDIO_OUTPUT = "audio_output"


# Checked in order: an audio device error also says "No such file or directory".
_PATTERNS: tuple[tuple[FailureHint, re.Pattern[str]], ...] = (
    (
        FailureHint.AUDIO_OUTPUT,
        re.compile(
            r"failed to create audio output|audio output failed|audio device .* could not be used"
            r"|cannot open alsa device|audiofile.*cannot|cannot open.*audio"
        ),
    ),
    (FailureHint.NOT_FOUND, re.compile(r"http 40[4] error|http 410 error|404 not found|410 gone")),
    (FailureHint.NOT_FOUND, re.compile(r"cannot open file .*no such file or directory")),
    (
        FailureHint.UNREACHABLE,
        re.compile(
            r"connection refused|cannot connect to|cannot resolve|name or service not known"
            r"|failure in name resolution|timed out|network is unreachable|no route to host"
            r"|connection failure|connection reset|http \d{3} error|cannot open file"
        ),
    ),
    (
        FailureHint.UNSUPPORTED,
        re.compile(r"no suitable decoder|could not identify codec|not supported|unsupported"),
    ),
)


def classify_log_line(message: str) -> FailureHint | None:
    """Return what a libVLC warning or error line reports, None when it is not a known failure."""
    text = message.lower()
    for hint, pattern in _PATTERNS:
        if pattern.search(text):
            return hint
    return None


def error_from_hints(
    hints: Sequence[tuple[FailureHint, str]], url: str, output: str
) -> ReceiverError | None:
    """Return the typed error a media's failure hints point at, None without any."""
    kinds = {hint for hint, _ in hints}
    text = "; ".join(dict.fromkeys(message for _, message in hints))
    if FailureHint.AUDIO_OUTPUT in kinds:
        return AudioOutputError(f"audio output {output}: {text}")
    if is_capability_url(url):
        said = text.lower()
        if FailureHint.NOT_FOUND in kinds and _HTTP_404.search(said):
            return MediaSourceGoneError(SOURCE_RESTARTED, url=url)
        if FailureHint.UNREACHABLE in kinds and _REFUSED.search(said):
            return MediaSourceGoneError(SOURCE_STOPPED, url=url)
    if FailureHint.NOT_FOUND in kinds:
        return MediaNotFoundError(f"{url} not found: {text}", url=url)
    if FailureHint.UNSUPPORTED in kinds:
        return MediaUnsupportedError(f"{url} cannot be decoded: {text}", url=url)
    if FailureHint.UNREACHABLE in kinds:
        return MediaUnreachableError(f"{url} unreachable: {text}", url=url)
    return None


def _load_vsnprintf() -> Any:
    try:
        fn = ctypes.CDLL(None).vsnprintf
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return fn


class VLCLogBridge:
    """Formats libVLC's warnings and errors, logs them, and reports failure hints."""

    # The callback runs on libVLC's threads; it never calls libVLC, and hands hints to
    # *on_hint*, which must itself be thread-safe (the player passes call_soon_threadsafe).

    def __init__(self, on_hint: Callable[[FailureHint, str], None]) -> None:
        import vlc

        self._on_hint = on_hint
        self._vsnprintf = _load_vsnprintf()
        # Kept on self: the C side holds only a raw pointer to this trampoline.
        self._callback = vlc.CallbackDecorators.LogCb(self._log)

    def attach(self, instance: Any) -> None:
        """Route *instance*'s log here; call on the libVLC thread."""
        instance.log_set(self._callback, None)

    def detach(self, instance: Any) -> None:
        """Stop routing; returns once no callback runs any more. Call on the libVLC thread."""
        instance.log_unset()

    def _log(self, _data: Any, level: int, _ctx: Any, fmt: bytes | None, args: Any) -> None:
        if level < _WARNING or fmt is None:
            return
        try:
            message = self._format(fmt, args)
            hint = classify_log_line(message)
            _LOGGER.debug("libVLC %s: %s", "error" if level >= _ERROR else "warning", message)
            if hint is not None:
                self._on_hint(hint, message)
        except Exception:  # an exception must never unwind into libVLC's C frames
            _LOGGER.exception("failed to handle a libVLC log line")

    def _format(self, fmt: bytes, args: Any) -> str:
        if self._vsnprintf is None:
            return fmt.decode("utf-8", "replace")
        buffer = ctypes.create_string_buffer(_BUFFER_SIZE)
        # va_list arrives as an opaque pointer and goes straight back to C: valid on x86-64,
        # arm64 and armhf, where a va_list parameter is passed as (or by) a pointer.
        self._vsnprintf(buffer, _BUFFER_SIZE, fmt, args)
        return buffer.value.decode("utf-8", "replace").strip()
