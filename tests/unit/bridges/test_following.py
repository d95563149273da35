"""What a bridged device does on its own moves the session (bridges/following.py): an end plays
the next item, another client's pause, seek or volume is taken, our own echo changes nothing."""

from __future__ import annotations

from dataclasses import replace

from bridges.following import END_SLACK_MS, anchored, followed, next_item
from bridges.player import PlayerState, PlayerStatus
from connect.session import playback
from connect.wire import messages as m

A = m.QueueItem("a", "http://media/a.wav", duration_ms=30_000)
B = m.QueueItem("b", "http://media/b.wav", duration_ms=40_000)
T0 = 1_000_000_000
PLAYING = m.PlaybackState(
    session_id="s", revision=5, queue=(A, B), current_uid="a",
    clock=m.PlaybackClock(10_000, T0, 1.0, True), status=m.PlaybackStatus.PLAYING,
    volume=60, active=True, device_id="mpd-1",
)  # fmt: skip


def _status(state: PlayerState, position: int, at: int, **kw: object) -> PlayerStatus:
    fields: dict[str, object] = {"url": A.url, "volume": 60, **kw}
    return PlayerStatus(state, position, at, 100, **fields)  # type: ignore[arg-type]


def test_the_echo_of_our_own_command_changes_nothing() -> None:
    # 2 s later the device is 60 ms off the clock: within its uncertainty.
    status = _status(PlayerState.PLAYING, 12_060, T0 + 2_000_000)
    assert followed(PLAYING, status, T0 + 2_000_000) is None


def test_another_clients_pause_is_taken_where_the_device_stopped() -> None:
    outcome = followed(PLAYING, _status(PlayerState.PAUSED, 11_500, T0 + 1_600_000), T0 + 1_700_000)
    assert outcome is not None
    state = outcome.state
    assert (state.status, state.clock.playing, state.clock.position_ms) == (
        m.PlaybackStatus.PAUSED, False, 11_500,
    )  # fmt: skip
    assert (state.revision, outcome.actions) == (6, ())


def test_a_seek_elsewhere_moves_the_clock_onto_the_device() -> None:
    outcome = followed(PLAYING, _status(PlayerState.PLAYING, 20_000, T0 + 500_000), T0 + 500_000)
    assert outcome is not None
    assert outcome.state.clock == m.PlaybackClock(20_000, T0 + 500_000, 1.0, True)


def test_a_volume_turned_on_the_device_is_the_sessions() -> None:
    muted = replace(PLAYING, muted=True)
    outcome = followed(muted, _status(PlayerState.PLAYING, 10_000, T0, volume=35), T0)
    assert outcome is not None
    assert (outcome.state.volume, outcome.state.muted) == (35, False)


def test_the_end_of_the_song_plays_the_next_item() -> None:
    near_end = replace(PLAYING, clock=m.PlaybackClock(29_500, T0, 1.0, True))
    gone = PlayerStatus(PlayerState.STOPPED, 0, T0 + 600_000, 100, volume=60)
    outcome = followed(near_end, gone, T0 + 600_000)
    assert outcome is not None
    assert outcome.state.current_uid == "b"
    assert outcome.actions == (playback.Load(B, 0, True),)
    assert outcome.state.revision == 6


def test_a_stop_far_from_the_end_stops_the_session_there() -> None:
    gone = PlayerStatus(PlayerState.STOPPED, 0, T0 + 1_000_000, 100, volume=60)
    outcome = followed(PLAYING, gone, T0 + 1_000_000)
    assert outcome is not None
    assert (outcome.state.status, outcome.actions) == (m.PlaybackStatus.STOPPED, ())
    assert outcome.state.clock.position_ms == 11_000
    assert END_SLACK_MS < 30_000 - 11_000


def test_a_failure_the_device_reports_shows_in_the_state() -> None:
    gone = PlayerStatus(PlayerState.STOPPED, 0, T0, 100, volume=60, error="Failed to open")
    outcome = followed(PLAYING, gone, T0)
    assert outcome is not None
    assert outcome.state.error is not None
    assert outcome.state.error.code is m.ErrorCode.MEDIA_UNREACHABLE
    assert "Failed to open" in outcome.state.error.message


def test_a_length_the_device_learnt_is_kept() -> None:
    unknown = replace(PLAYING, queue=(replace(A, duration_ms=0), B))
    outcome = followed(unknown, _status(PlayerState.PLAYING, 10_000, T0, duration_ms=31_000), T0)
    assert outcome is not None
    assert outcome.state.queue[0].duration_ms == 31_000
    assert outcome.state.revision == 6


def test_anchored_takes_the_devices_reading_for_its_item_only() -> None:
    reading = _status(PlayerState.PLAYING, 10_250, T0 + 250_000)
    assert anchored(PLAYING, reading).clock == m.PlaybackClock(10_250, T0 + 250_000, 1.0, True)
    other = replace(reading, url="http://media/other.wav")
    assert anchored(PLAYING, other) is PLAYING


def test_a_device_that_went_on_to_the_next_item_by_itself_is_followed_there() -> None:
    # Given B ahead (UPnP's SetNextAVTransportURI), the renderer now plays it: nothing to do.
    status = PlayerStatus(PlayerState.PLAYING, 300, T0 + 20_000_000, 100, B.url, volume=60)
    outcome = followed(PLAYING, status, T0 + 20_000_000)
    assert outcome is not None
    assert (outcome.state.current_uid, outcome.actions) == ("b", ())
    assert outcome.state.clock == m.PlaybackClock(300, T0 + 20_000_000, 1.0, True)
    assert outcome.state.revision == 6
    assert next_item(outcome.state) is None  # B is the last
