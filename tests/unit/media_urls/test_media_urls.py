"""A controller may queue only http and https media (Baton issue 13, item 3).

libVLC opens `file://` and dozens of other schemes: a controller that could queue them could
make a receiver read its own files (or its devices) and play them to the room. Every way a URL
enters a receiver is checked: a command, a transfer offer's session, the saved session, and
finally the player itself.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.session import playback as p
from connect.wire import messages as m
from devices.audio_output import AudioOutput, OutputKind
from devices.errors import MediaSchemeError
from devices.failures import failure_from
from devices.persistence import SESSION_FILE, SessionStore
from devices.player import Player
from tests.unit.transfer_status.fakes import FakeReceiver, new_link, new_side, sent

GOOD = m.QueueItem("good", "http://127.0.0.1:8000/a.wav")
REFUSED = [
    "file:///etc/passwd",
    "FILE:///var/lib/baton/tls/key.pem",
    "smb://nas/share/a.flac",
    "v4l2:///dev/video0",
    "alsa://hw:0",
    "/etc/passwd",
    "",
    "http:///no-host.wav",
    "http://host/a.wav\nfile:///etc/passwd",
    " file:///etc/passwd",
]
ACCEPTED = ["http://127.0.0.1:8000/a.wav", "https://music.example/a.flac", "HTTP://HOST/A.WAV"]
STATE = m.PlaybackState("s", revision=5, queue=(GOOD,), current_uid="good")


def command(action: m.Action) -> m.Command:
    return m.Command("cmd", action)


@pytest.mark.parametrize("url", REFUSED)
@pytest.mark.parametrize("edit", ["set_queue", "add_to_queue"])
def test_a_queue_edit_with_another_scheme_is_refused_naming_the_allowed_ones(
    url: str, edit: str
) -> None:
    bad = m.QueueItem("bad", url)
    action: m.Action = (
        m.SetQueue((GOOD, bad), play=True) if edit == "set_queue" else m.AddToQueue((bad,))
    )
    with pytest.raises(p.CommandRejectedError) as caught:
        p.apply_command(STATE, command(action), monotonic_us())
    failure = caught.value.failure
    assert failure.code is m.ErrorCode.INVALID_ARGUMENT
    assert "'bad'" in failure.message
    assert "http and https" in failure.message


@pytest.mark.parametrize("url", ACCEPTED)
def test_http_and_https_are_queued(url: str) -> None:
    item = m.QueueItem("new", url)
    outcome = p.apply_command(STATE, command(m.SetQueue((item,), play=True)), monotonic_us())
    assert outcome.state.queue == (item,)


async def test_a_transfer_offer_holding_another_scheme_is_rejected_untouched() -> None:
    receiver = FakeReceiver(playing=False)
    side, link = new_side(receiver), new_link()
    later = m.QueueItem("later", "file:///etc/shadow")
    state = replace(receiver.state, queue=(*receiver.state.queue, later))
    offer = m.TransferOffer(
        "t1", state, m.TransferOptions(), "dev-source", monotonic_us() + 3_000_000, 40
    )
    await side.async_handle(offer, link)
    [answer] = sent(link)
    assert isinstance(answer, m.TransferRejected)
    assert answer.failure.code is m.ErrorCode.INVALID_ARGUMENT
    assert "http and https" in answer.failure.message
    assert receiver.player.calls == []  # nothing was opened


def test_a_saved_session_holding_another_scheme_is_refused_and_kept_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SessionStore(tmp_path)
    store.prepare()
    bad = m.QueueItem("bad", "file:///etc/passwd")
    playing = replace(
        STATE,
        queue=(GOOD, bad),
        current_uid="bad",
        status=m.PlaybackStatus.PLAYING,
    )
    store.save_session(playing, monotonic_us())
    assert store.load_session() is None  # neither restored nor resumed
    assert not (tmp_path / SESSION_FILE).exists()
    assert (tmp_path / SESSION_FILE).with_suffix(".refused").exists()
    assert "http and https" in caplog.text
    assert "'bad'" in caplog.text


class _StartOnlyBackend:
    """Starts and releases like VLCBackend; any other libVLC call fails the test."""

    timed_sink = None  # not a libVLC call: the output Baton feeds, none here

    def __init__(self, *_: object) -> None:
        pass

    def start(self) -> str:
        return "fake"

    def release(self) -> None:
        pass

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the player called libVLC's {name}")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "dvd:///dev/sr0", "screen://"])
async def test_the_player_refuses_another_scheme_before_libvlc_sees_it(url: str) -> None:
    player = Player(AudioOutput(OutputKind.NONE), backend_factory=_StartOnlyBackend)
    await player.async_start()
    try:
        with pytest.raises(MediaSchemeError, match="http and https") as caught:
            await player.async_load(url, play=True)
        assert failure_from(caught.value).code is m.ErrorCode.INVALID_ARGUMENT
    finally:
        await player.async_close()
