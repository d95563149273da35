"""Reading libVLC's log lines (as libVLC 3.0.24 words them) for the reason of a failure."""

from __future__ import annotations

import pytest

from devices._vlc_log import FailureHint, classify_log_line, error_from_hints
from devices.errors import AudioOutputError, MediaNotFoundError, MediaUnreachableError


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
