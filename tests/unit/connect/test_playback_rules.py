"""The session rules: how commands and player events change state, and what the player does."""

from __future__ import annotations

import pytest

from connect.session import playback as p
from connect.wire import messages as m

A, B, C = (m.QueueItem(uid, f"http://h/{uid}.wav", duration_ms=60_000) for uid in "abc")
NOW = 10_000_000


def state(**kw) -> m.PlaybackState:
    base = m.PlaybackState("s", revision=5, queue=(A, B, C))
    return m.PlaybackState(**{**{f: getattr(base, f) for f in base.__slots__}, **kw})


def run(action: m.Action, s: m.PlaybackState, now: int = NOW, **kw) -> p.Outcome:
    return p.apply_command(s, m.Command("cmd", action, **kw), now)


def playing(uid: str = "b", position: int = 5000, at: int = NOW - 2_000_000) -> m.PlaybackState:
    return state(
        current_uid=uid,
        clock=m.PlaybackClock(position, at, 1.0, True),
        status=m.PlaybackStatus.PLAYING,
    )


def test_every_applied_command_bumps_the_revision_and_records_its_id() -> None:
    out = run(m.SetVolume(30), state())
    assert out.state.revision == 6
    assert out.state.last_command_id == "cmd"
    assert out.actions == (p.SetPlayerVolume(30),)


def test_stale_revision_is_a_conflict_and_changes_nothing() -> None:
    with pytest.raises(p.CommandRejectedError) as caught:
        run(m.Pause(), playing(), expected_revision=4)
    assert caught.value.failure.code is m.ErrorCode.CONFLICT


def test_restricted_command_is_refused_with_its_reasons() -> None:
    restricted = state(restrictions=(m.Restriction(m.CommandKind.SEEK, ("driving",)),))
    with pytest.raises(p.CommandRejectedError, match="driving") as caught:
        run(m.Seek(0), restricted)
    assert caught.value.failure.code is m.ErrorCode.RESTRICTED


def test_set_queue_loads_the_start_item_at_its_position() -> None:
    out = run(m.SetQueue((A, B), start_uid="b", start_position_ms=1500, play=True), state())
    assert out.state.current_uid == "b"
    assert out.state.clock == m.PlaybackClock(1500, NOW, 1.0, True)
    assert out.actions == (p.Load(B, 1500, True),)


def test_pause_freezes_the_extrapolated_position() -> None:
    out = run(m.Pause(), playing(position=5000, at=NOW - 2_000_000))
    assert out.state.status is m.PlaybackStatus.PAUSED
    assert out.state.clock == m.PlaybackClock(7000, NOW, 1.0, False)
    assert out.actions == (p.PausePlayer(),)


def test_resume_continues_from_the_frozen_position() -> None:
    paused = run(m.Pause(), playing()).state
    out = run(m.Resume(), paused, now=NOW + 5_000_000)
    assert out.state.clock == m.PlaybackClock(7000, NOW + 5_000_000, 1.0, True)
    assert out.actions == (p.ResumePlayer(),)


def test_seek_past_the_end_is_invalid() -> None:
    with pytest.raises(p.CommandRejectedError, match="past the end"):
        run(m.Seek(61_000), playing())


def test_skip_next_at_the_end_is_refused_unless_repeating() -> None:
    with pytest.raises(p.CommandRejectedError, match="no next item"):
        run(m.SkipNext(), playing("c"))
    out = run(m.SkipNext(), state(**{**vars_of(playing("c")), "repeat": m.RepeatMode.ALL}))
    assert out.state.current_uid == "a"
    assert out.actions == (p.Load(A, 0, True),)


def test_skip_previous_restarts_after_three_seconds_else_goes_back() -> None:
    late = run(m.SkipPrevious(), playing("b", position=4000))
    assert late.state.current_uid == "b"
    assert late.actions == (p.SeekPlayer(0),)
    early = run(m.SkipPrevious(), playing("b", position=500, at=NOW))
    assert early.state.current_uid == "a"


def test_volume_is_capped_at_the_device_maximum() -> None:
    out = p.apply_command(state(), m.Command("v", m.SetVolume(90)), NOW, max_volume=70)
    assert out.state.volume == 70


def test_add_to_queue_inserts_after_an_item_and_refuses_duplicate_uids() -> None:
    d = m.QueueItem("d", "http://h/d.wav")
    out = run(m.AddToQueue((d,), after_uid="a"), state())
    assert [i.uid for i in out.state.queue] == ["a", "d", "b", "c"]
    with pytest.raises(p.CommandRejectedError, match="already queued"):
        run(m.AddToQueue((A,)), state())


def test_play_of_an_unknown_uid_is_not_found() -> None:
    with pytest.raises(p.CommandRejectedError) as caught:
        run(m.Play("zzz"), state())
    assert caught.value.failure.code is m.ErrorCode.NOT_FOUND


def test_end_of_item_advances_then_stops_at_the_end_of_the_queue() -> None:
    after_b = p.after_item_ended(playing("b"), NOW)
    assert after_b.state.current_uid == "c"
    assert after_b.actions == (p.Load(C, 0, True),)
    after_c = p.after_item_ended(after_b.state, NOW)
    assert after_c.state.status is m.PlaybackStatus.STOPPED
    assert after_c.actions == (p.StopPlayer(),)
    assert after_c.state.revision > after_b.state.revision


def test_repeat_one_replays_the_same_item() -> None:
    out = p.after_item_ended(state(**{**vars_of(playing("b")), "repeat": m.RepeatMode.ONE}), NOW)
    assert out.actions == (p.Load(B, 0, True),)


def test_shuffle_order_is_the_same_for_the_same_seed() -> None:
    many = tuple(m.QueueItem(f"u{i}", "http://h") for i in range(20))
    one = state(queue=many, shuffle=True, shuffle_seed=42)
    two = state(queue=many, shuffle=True, shuffle_seed=42)
    assert p.play_order(one) == p.play_order(two) != list(range(20))


def test_failure_stops_and_shows_the_error() -> None:
    failure = m.Failure(m.ErrorCode.MEDIA_NOT_FOUND, "404")
    failed = p.after_failure(playing(), failure, NOW)
    assert failed.status is m.PlaybackStatus.STOPPED
    assert failed.error == failure
    assert failed.clock.playing is False


def vars_of(s: m.PlaybackState) -> dict[str, object]:
    return {f: getattr(s, f) for f in s.__slots__}


def test_volume_above_100_or_the_cap_is_clamped() -> None:
    assert run(m.SetVolume(150), state()).state.volume == 100
    capped = p.apply_command(state(), m.Command("c", m.SetVolume(95)), NOW, max_volume=80)
    assert capped.state.volume == 80
    assert capped.actions == (p.SetPlayerVolume(80),)


def test_set_queue_with_an_unknown_start_uid_is_not_found_and_changes_nothing() -> None:
    with pytest.raises(p.CommandRejectedError) as caught:
        run(m.SetQueue((A, B), start_uid="zzz"), state())
    assert caught.value.failure.code is m.ErrorCode.NOT_FOUND


def test_a_length_found_by_the_player_fills_in_an_unknown_duration_only() -> None:
    unknown = m.QueueItem("u", "http://h/u.wav")
    s = state(queue=(A, unknown), current_uid="u")
    known = p.with_length(s, unknown.url, 42_000)
    assert known is not None
    assert known.queue == (A, m.QueueItem("u", "http://h/u.wav", duration_ms=42_000))
    assert known.revision == s.revision + 1
    assert p.with_length(known, unknown.url, 43_000) is None  # a duration already known stands
    assert p.with_length(s, "http://h/other.wav", 42_000) is None  # a late report, another item
    assert p.with_length(s, unknown.url, 0) is None
