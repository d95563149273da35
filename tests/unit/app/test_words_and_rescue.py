"""What the app says to listeners, and what it restarts when the playing device goes away."""

from __future__ import annotations

from client.app.rescue import playback_lost, resume_elsewhere
from client.app.words import ago, count, moved
from connect.clock import ClockEstimate
from connect.transfer.rules import transfer_mode
from connect.wire import messages as m


def test_counts_are_said_in_words() -> None:
    assert count(1, "track") == "1 track"
    assert count(3, "track") == "3 tracks"
    assert count(0, "track") == "no tracks"
    assert count(2, "entry") == "2 entries"


def test_ago_reads_as_a_person_says_it() -> None:
    assert ago(3) == "just now"
    assert ago(43) == "43 s ago"
    assert ago(150) == "2 min ago"
    assert ago(7200) == "2 h ago"
    assert ago(86_400) == "1 day ago"


def test_a_stop_first_move_says_why_there_was_a_gap() -> None:
    assert moved("Car") == "Playing on Car"
    mpd = m.DeviceInfo(
        "mpd-1", "Kitchen MPD", m.DeviceType.SPEAKER, m.PROTOCOL_V1,
        m.Capabilities(no_timed_start=True),
    )  # fmt: skip
    _, reason = transfer_mode(m.TransferMode.HANDOFF, None, mpd)
    assert moved("Kitchen MPD", reason) == (
        "Playing on Kitchen MPD, after a short gap: Kitchen MPD cannot start at an instant"
    )


def _state(playing: bool = True) -> m.PlaybackState:
    items = (
        m.QueueItem("a", "http://10.0.0.5:8000/media/A.flac", "A", duration_ms=200_000),
        m.QueueItem("b", "http://10.0.0.5:8000/media/B.flac", "B", duration_ms=180_000),
    )
    clock = m.PlaybackClock(60_000, as_of_us=1_000_000, playing=playing)
    return m.PlaybackState("s", 7, "car", items, "b", clock, m.PlaybackStatus.PLAYING)


def test_what_stopped_is_where_the_devices_clock_had_got_to() -> None:
    estimate = ClockEstimate(offset_us=500_000, delay_us=1000, samples=8)
    # 2.5 s of local time after the state, in the device's clock: 3 s past as_of.
    lost = playback_lost("car", "Car", "said goodbye", _state(), estimate, now_us=3_500_000)
    assert lost is not None
    assert lost.position_ms == 63_000
    assert not lost.state.clock.playing
    assert lost.state.status is m.PlaybackStatus.STOPPED
    assert lost.state.clock.position_ms == 63_000


def test_a_device_without_music_leaves_nothing_to_move() -> None:
    empty = m.PlaybackState("s", 1)
    assert playback_lost("car", "Car", "", empty, None, 0) is None
    assert playback_lost("car", "Car", "", None, None, 0) is None


def test_the_position_never_runs_past_the_track() -> None:
    lost = playback_lost("car", "Car", "", _state(), None, now_us=0)
    assert lost is not None
    assert lost.position_ms == 60_000  # no estimate: held at the state's own instant
    far = playback_lost(
        "car", "Car", "", _state(), ClockEstimate(0, 1000, 8), now_us=10_000_000_000
    )
    assert far is not None
    assert far.position_ms == 180_000


def test_resuming_elsewhere_restarts_the_queue_at_the_position_with_urls_for_the_target() -> None:
    lost = playback_lost("car", "Car", "", _state(), None, now_us=0)
    assert lost is not None
    action = resume_elsewhere(lost, lambda item: item.url.replace("10.0.0.5", "127.0.0.1"))
    assert action.start_uid == "b"
    assert action.start_position_ms == 60_000
    assert action.play
    assert [i.url for i in action.items] == [
        "http://127.0.0.1:8000/media/A.flac",
        "http://127.0.0.1:8000/media/B.flac",
    ]
    assert [i.uid for i in action.items] == ["a", "b"]
