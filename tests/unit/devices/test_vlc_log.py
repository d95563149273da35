"""Reading libVLC's log lines (as libVLC 3.0.24 words them) for the reason of a failure."""

from __future__ import annotations

import pytest

from connect.wire import messages as m
from devices._vlc_log import FailureHint, classify_log_line, error_from_hints
from devices.errors import (
    AudioOutputError,
    MediaNotFoundError,
    MediaSourceGoneError,
    MediaUnreachableError,
)
from devices.failures import failure_from


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("HTTP 404 error", FailureHint.NOT_FOUND),
        ("error: HTTP/1.0 404 Not Found", FailureHint.NOT_FOUND),
        ("cannot open file /srv/a.wav (No such file or directory)", FailureHint.NOT_FOUND),
        ("connection failed: Connection refused", FailureHint.UNREACHABLE),
        ("cannot connect to 127.0.0.1:1", FailureHint.UNREACHABLE),
        ("HTTP connection failure", FailureHint.UNREACHABLE),
        (
            "cannot resolve no-such-host.invalid port 80 : Name or service not known",
            FailureHint.UNREACHABLE,
        ),
        ("HTTP 500 error", FailureHint.UNREACHABLE),
        ("cannot open file /srv/a.wav (Permission denied)", FailureHint.UNREACHABLE),
        (
            'The audio device "nosuch" could not be used:\nNo such file or directory.',
            FailureHint.AUDIO_OUTPUT,
        ),
        ("failed to create audio output", FailureHint.AUDIO_OUTPUT),
        ('cannot open ALSA device "nosuch": No such file or directory', FailureHint.AUDIO_OUTPUT),
        ("Codec `XYZ' (Some codec) is not supported.", FailureHint.UNSUPPORTED),
        ("could not identify codec", FailureHint.UNSUPPORTED),
    ],
)
def test_known_failures_are_recognised(line: str, hint: FailureHint) -> None:
    assert classify_log_line(line) is hint


@pytest.mark.parametrize(
    "line",
    ["this does not look like an MPEG PS stream, continuing anyway", "buffer deadlock prevented"],
)
def test_other_warnings_are_not_failures(line: str) -> None:
    assert classify_log_line(line) is None


def test_the_most_specific_hint_wins() -> None:
    refused = (FailureHint.UNREACHABLE, "HTTP connection failure")
    missing = (FailureHint.NOT_FOUND, "HTTP 404 error")
    device = (FailureHint.AUDIO_OUTPUT, "failed to create audio output")
    assert error_from_hints([], "u", "none") is None
    assert isinstance(error_from_hints([refused], "u", "none"), MediaUnreachableError)
    found = error_from_hints([refused, missing], "http://h/a.wav", "none")
    assert isinstance(found, MediaNotFoundError)
    assert found.url == "http://h/a.wav"
    assert "HTTP 404 error" in str(found)
    assert isinstance(error_from_hints([missing, device], "u", "alsa:x"), AudioOutputError)


# The app's media URLs are capabilities (connect/media_capability.py): http://HOST:PORT/media/
# TOKEN/PATH. Their server answering 404 means it restarted with a new token; refusing the
# connection means it stopped. The listener is told that, not "not found" (issue 13, item 6).
CAPABILITY = "http://192.168.1.20:41000/media/" + "k" * 43 + "/Album/01%20Song.flac"
NOT_FOUND = [
    (FailureHint.NOT_FOUND, "HTTP 404 error"),
    (FailureHint.NOT_FOUND, "error: HTTP/1.0 404 Not Found"),
]
REFUSED = [
    (FailureHint.UNREACHABLE, "HTTP connection failure"),
    (FailureHint.UNREACHABLE, "connection failed: Connection refused"),
]


def test_a_capability_url_answered_404_says_its_source_restarted() -> None:
    error = error_from_hints(NOT_FOUND, CAPABILITY, "none")
    assert isinstance(error, MediaSourceGoneError)
    assert str(error) == (
        "the music's source is gone: the app that served it has restarted; play it again from there"
    )
    assert "k" * 43 not in str(error)  # the capability is not repeated into the state's error
    assert failure_from(error).code is m.ErrorCode.MEDIA_SOURCE_GONE


def test_a_capability_url_refused_says_its_source_stopped() -> None:
    error = error_from_hints(REFUSED, CAPABILITY, "none")
    assert isinstance(error, MediaSourceGoneError)
    assert "the app that served it has stopped or restarted" in str(error)


@pytest.mark.parametrize(
    ("hints", "url", "kind"),
    [
        (NOT_FOUND, "http://music.example/media/album/01.flac", MediaNotFoundError),
        (NOT_FOUND, "http://h:1/media/short-token/01.flac", MediaNotFoundError),
        (REFUSED, "http://music.example/media/" + "k" * 43 + "x/a.flac", MediaUnreachableError),
        # A live token and a missing file: the server says 410, and that is a lost track.
        ([(FailureHint.NOT_FOUND, "HTTP 410 error")], CAPABILITY, MediaNotFoundError),
        # A timeout is not an answer: the computer may only be asleep or out of reach.
        ([(FailureHint.UNREACHABLE, "connection timed out")], CAPABILITY, MediaUnreachableError),
    ],
)
def test_other_failures_keep_their_names(
    hints: list[tuple[FailureHint, str]], url: str, kind: type[Exception]
) -> None:
    error = error_from_hints(hints, url, "none")
    assert type(error) is kind
