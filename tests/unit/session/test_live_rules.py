"""The session rules for a live stream: Seek restricted with the reason, cleared with the item."""

from __future__ import annotations

import pytest

from connect.session import playback
from connect.session.playback import LIVE_SEEK_REASON, CommandRejectedError
from connect.wire import messages as m

RADIO = m.QueueItem("r1", "http://radio/live.mp3")
FILE = m.QueueItem("f1", "http://media/track.wav", duration_ms=60_000)
STATE = m.PlaybackState(
    session_id="s1", revision=5, queue=(RADIO, FILE), current_uid="r1",
    clock=m.PlaybackClock(1_000, 0, 1.0, True), status=m.PlaybackStatus.PLAYING, active=True,
)  # fmt: skip
ON_AIR = m.NowPlaying("News", "Test FM", "http://radio/logo.png")


def test_a_stream_found_live_restricts_seek_saying_why() -> None:
    live = playback.stream_learnt(STATE, RADIO.url, True, ON_AIR)
    assert live is not None
    assert live.live
    assert live.now_playing == ON_AIR
    assert live.revision == STATE.revision + 1
    with pytest.raises(CommandRejectedError) as refused:
        playback.apply_command(live, m.Command("c1", action=m.Seek(5_000)), 10)
    assert refused.value.failure.code is m.ErrorCode.RESTRICTED
    assert LIVE_SEEK_REASON in str(refused.value)


def test_nothing_new_and_late_reports_change_nothing() -> None:
    live = playback.stream_learnt(STATE, RADIO.url, True, ON_AIR)
    assert live is not None
    assert playback.stream_learnt(live, RADIO.url, True, ON_AIR) is None
    assert playback.stream_learnt(live, FILE.url, False, None) is None  # not the current item


def test_moving_to_another_item_forgets_the_stream() -> None:
    live = playback.stream_learnt(STATE, RADIO.url, True, ON_AIR)
    assert live is not None
    outcome = playback.apply_command(live, m.Command("c2", action=m.SkipNext()), 10)
    assert outcome.state.current_uid == FILE.uid
    assert not outcome.state.live
    assert outcome.state.now_playing is None
    assert not outcome.state.restrictions
    moved = playback.apply_command(outcome.state, m.Command("c3", action=m.Seek(5_000)), 20)
    assert moved.state.clock.position_ms == 5_000
