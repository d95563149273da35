"""Receiver errors in the protocol's words: the Failure a controller is told."""

from __future__ import annotations

from connect.wire import messages as m
from devices.errors import (
    AudioOutputError,
    MediaNotFoundError,
    MediaSchemeError,
    MediaSourceGoneError,
    MediaUnreachableError,
    MediaUnsupportedError,
    PositionOutOfRangeError,
    ReceiverError,
)

_ERROR_CODES: tuple[tuple[type[ReceiverError], m.ErrorCode], ...] = (
    (MediaSourceGoneError, m.ErrorCode.MEDIA_SOURCE_GONE),
    (MediaNotFoundError, m.ErrorCode.MEDIA_NOT_FOUND),
    (MediaUnsupportedError, m.ErrorCode.MEDIA_UNSUPPORTED),
    (MediaUnreachableError, m.ErrorCode.MEDIA_UNREACHABLE),
    (PositionOutOfRangeError, m.ErrorCode.INVALID_ARGUMENT),
    (MediaSchemeError, m.ErrorCode.INVALID_ARGUMENT),
    (AudioOutputError, m.ErrorCode.AUDIO_OUTPUT),
)


def failure_from(error: ReceiverError) -> m.Failure:
    """Return the protocol failure for a player error."""
    for kind, code in _ERROR_CODES:
        if isinstance(error, kind):
            return m.Failure(code, str(error))
    return m.Failure(m.ErrorCode.INTERNAL, str(error))
