"""`baton play` leaves out what the device cannot play, in one line (issue 21): the codec check
against the device's own DeviceInfo, with a hand-written controller that answers it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from client.app.library import Track
from client.play_local import LocalPlayFailed, _Entry, _playable
from connect.wire import messages as m

ONE = m.ProtocolVersion(1)


@dataclass
class _Connection:
    welcome: m.Welcome | None


class _Controller:
    """Connects to one device, whose Welcome lists *codecs*."""

    def __init__(self, codecs: tuple[str, ...]) -> None:
        info = m.DeviceInfo(
            "sofa", "Sofa TV", m.DeviceType.TV, m.VersionRange(ONE, ONE),
            m.Capabilities(audio_codecs=codecs),
        )  # fmt: skip
        self.welcome = m.Welcome(ONE, m.Role.OWNER, info, "c1", 1000)
        self.connected: list[str] = []

    async def async_connect(self, device_id: str, timeout: float = 5.0) -> _Connection:
        self.connected.append(device_id)
        return _Connection(self.welcome)


def _entry(name: str, codec: str, fault: str = "") -> _Entry:
    content_type = {"opus": "audio/opus", "mp3": "audio/mpeg", "flac": "audio/flac"}[codec]
    track = Track(Path(f"/music/{name}"), name, "Ada", "Album", 0, 1000, content_type,
                  codec=codec, fault=fault)  # fmt: skip
    return _Entry(track=track)


async def test_a_codec_the_device_lacks_is_named_and_left_out(capsys):
    entries = [
        _entry("01.mp3", "mp3"), _entry("02.opus", "opus"), _entry("03.flac", "flac"),
        _entry("04.mp3", "mp3", "damaged file"), _Entry(url="http://radio/x.opus"),
    ]  # fmt: skip
    controller = _Controller(("wav", "mp3", "flac"))
    kept = await _playable(controller, "sofa", entries)  # type: ignore[arg-type]
    assert kept == [entries[0], entries[2], entries[4]]  # a URL is the device's to judge
    assert capsys.readouterr().out == (
        "2 files cannot be played, skipped: 02.opus (Sofa TV cannot play Opus), "
        "04.mp3 (damaged file)\n"
    )


async def test_many_are_counted_past_the_first_few(capsys):
    entries = [_entry(f"{n:02}.opus", "opus") for n in range(8)] + [_entry("ok.mp3", "mp3")]
    kept = await _playable(_Controller(("mp3",)), "sofa", entries)  # type: ignore[arg-type]
    assert kept == entries[-1:]
    assert (
        capsys.readouterr().out.rstrip().endswith("04.opus (Sofa TV cannot play Opus), and 3 more")
    )


async def test_nothing_left_is_a_failure_that_says_why():
    with pytest.raises(LocalPlayFailed, match="nothing to play: 1 file cannot be played"):
        await _playable(_Controller(("mp3",)), "sofa", [_entry("a.opus", "opus")])  # type: ignore[arg-type]
