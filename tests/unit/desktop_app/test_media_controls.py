"""MPRIS without a bus: what the properties say, and when the position jumped (Seeked)."""

from __future__ import annotations

from pathlib import Path

from client.app import views as v
from client.app.media_controls import MediaControls
from client.app.mpris import NO_TRACK, track_id
from connect.clock import monotonic_us
from connect.wire import messages as m

ITEMS = (
    m.QueueItem("a1", "http://h/media/x/a.wav", "A", "Artist", "Album", 60_000),
    m.QueueItem("b-2", "http://h/media/x/b.wav", "B", "", "", 60_000),
)


def _session(
    device: str = "car", position: int = 10_000, uid: str = "a1", **kw: object
) -> v.SessionView:
    state = m.PlaybackState(
        "s", 1, queue=ITEMS, current_uid=uid, device_id=device,
        clock=m.PlaybackClock(position, monotonic_us(), 1.0, False),
        status=m.PlaybackStatus.PAUSED, volume=40,
    )  # fmt: skip
    return v.SessionView(device, device.title(), state, None, **kw)  # type: ignore[arg-type]


def test_properties_follow_the_session(tmp_path: Path):
    controls = MediaControls(tmp_path)
    assert controls.status == "Stopped"
    assert controls.track_id == NO_TRACK
    controls.show(_session())
    assert controls.status == "Paused"
    assert controls.volume == 0.4
    assert controls.position_us() == 10_000_000
    assert controls.track_id == track_id("a1")
    assert controls.metadata["xesam:title"].value == "A"
    assert controls.metadata["xesam:artist"].value == ["Artist"]
    assert controls.metadata["mpris:length"].value == 60_000_000
    controls.show(_session(uid="b-2"))
    assert controls.track_id == "/org/baton/track/b_2"  # a valid object path
    assert "xesam:artist" not in controls.metadata  # no artist: no empty one


def test_a_seek_and_a_transfer_are_jumps_a_new_track_is_not(tmp_path: Path):
    controls = MediaControls(tmp_path)
    before = _session()
    assert not controls._jumped(before, _session(position=10_200))  # clock noise
    assert controls._jumped(before, _session(position=30_000))  # a seek
    assert not controls._jumped(before, _session(uid="b-2", position=0))  # Metadata says it
    assert controls._jumped(before, _session(device="tv"))  # the music moved: Seeked
    moved = _session(reason=m.StateChangeReason.TRANSFER)
    assert controls._jumped(before, moved)


def test_a_radio_shows_what_is_on_under_the_station_and_cannot_seek(tmp_path: Path):
    controls = MediaControls(tmp_path)
    radio = m.QueueItem("r", "http://radio.example/live", "radio.example", "", "", 0)
    on_air = m.NowPlaying("Artist - Song", "Station FM", "http://radio.example/logo.png")
    state = m.PlaybackState(
        "s", 1, queue=(radio,), current_uid="r", device_id="car",
        clock=m.PlaybackClock(0, monotonic_us(), 1.0, True),
        status=m.PlaybackStatus.PLAYING, volume=40, live=True, now_playing=on_air,
    )  # fmt: skip
    controls.show(v.SessionView("car", "Car", state, None))
    assert controls.metadata["xesam:title"].value == "Artist - Song"
    assert controls.metadata["xesam:artist"].value == ["Station FM"]
    assert controls.metadata["mpris:artUrl"].value == "http://radio.example/logo.png"
    assert not controls.can_seek
    # The station's next song is new Metadata, on the same item.
    later = m.NowPlaying("Other - Tune", "Station FM", "")
    from dataclasses import replace

    controls.show(v.SessionView("car", "Car", replace(state, revision=2, now_playing=later), None))
    assert controls.metadata["xesam:title"].value == "Other - Tune"
    controls.show(_session())
    assert controls.can_seek
