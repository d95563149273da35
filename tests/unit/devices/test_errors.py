"""The receiver's error tree: one root, stable codes, builtins mixed in where they fit."""

from __future__ import annotations

import pytest

from devices import errors
from devices.errors import (
    AudioOutputError,
    LibVLCUnavailableError,
    MediaError,
    MediaNotFoundError,
    MediaUnreachableError,
    MediaUnsupportedError,
    PlayerClosedError,
    ReceiverError,
)

ALL: list[type[ReceiverError]] = [
    ReceiverError,
    LibVLCUnavailableError,
    AudioOutputError,
    PlayerClosedError,
    errors.NothingLoadedError,
    MediaError,
    MediaNotFoundError,
    MediaUnsupportedError,
    MediaUnreachableError,
    errors.PositionOutOfRangeError,
]


def test_codes_are_unique_snake_case_strings() -> None:
    codes = [cls.code for cls in ALL]
    assert len(set(codes)) == len(codes)
    assert all(code.isidentifier() and code.islower() for code in codes)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (MediaNotFoundError, FileNotFoundError),
        (MediaUnreachableError, ConnectionError),
        (MediaUnsupportedError, ValueError),
        (AudioOutputError, OSError),
        (LibVLCUnavailableError, RuntimeError),
    ],
)
def test_subclasses_are_receiver_errors_and_their_builtin(cls, builtin) -> None:
    error = cls("x")
    assert isinstance(error, ReceiverError)
    assert isinstance(error, builtin)


def test_media_errors_keep_their_url() -> None:
    error = MediaNotFoundError("gone", url="http://h/x.wav")
    assert error.url == "http://h/x.wav"
    assert str(error) == "gone"
    assert error.code == "media_not_found"
