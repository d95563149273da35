"""What both layouts say about the current item: a track's credits, a radio's programme."""

from __future__ import annotations

from client.app.playing import title_and_credit
from connect.wire import messages as m

TRACK = m.QueueItem("t", "http://h/media/x/a.flac", "So What", "Miles Davis", "Kind of Blue", 1)
RADIO = m.QueueItem("r", "http://radio.example/live", "radio.example", "", "", 0)


def _state(item: m.QueueItem, **kw: object) -> m.PlaybackState:
    return m.PlaybackState("s", 1, queue=(item,), current_uid=item.uid, **kw)  # type: ignore[arg-type]


def test_a_track_shows_its_title_and_credits() -> None:
    assert title_and_credit(_state(TRACK)) == ("So What", "Miles Davis · Kind of Blue")
    assert title_and_credit(m.PlaybackState("s", 1)) == ("Nothing playing", "")


def test_a_radio_shows_what_the_station_says_is_on() -> None:
    on = m.NowPlaying("Artist - Song", "Station FM", "")
    assert title_and_credit(_state(RADIO, live=True, now_playing=on)) == (
        "Artist - Song",
        "Station FM · Live",
    )
    quiet = m.NowPlaying("", "Station FM", "")
    assert title_and_credit(_state(RADIO, live=True, now_playing=quiet)) == (
        "Station FM",
        "Station FM · Live",
    )
    assert title_and_credit(_state(RADIO, live=True)) == ("radio.example", "Live")
