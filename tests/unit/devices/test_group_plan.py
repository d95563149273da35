"""The receiver's group arithmetic (devices/_group_plan.py): starts on the timeline to the
sample, what a new timeline asks of a follower, a leader's timeline, a follower's state."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from connect.wire import messages as m
from devices import _group_plan as plan

S = 1_000_000
ITEM = m.QueueItem("a", "http://h/a.flac", duration_ms=200_000)
OTHER = m.QueueItem("b", "http://h/b.flac", duration_ms=200_000)
GROUP = m.Group("g", 3, "lead", (m.GroupMember("lead", 0, m.GroupMemberPhase.PLAYING),))


def timeline(
    item: m.QueueItem | None = ITEM,
    anchor: int = 50 * S,
    position: int = 93 * S,
    *,
    playing: bool = True,
    offset: int = 0,
    revision: int = 1,
) -> m.GroupTimeline:
    return m.GroupTimeline(
        "g", 3, "s", revision, item, anchor, position, 1.0, playing, clock_offset_us=offset
    )


@given(st.integers(0, 10**12), st.integers(0, 10**10))
def test_a_start_is_moved_to_the_instant_its_whole_millisecond_is_due(at: int, pos: int) -> None:
    position_ms, start = plan.on_the_ms(at, pos)
    assert 0 <= start - at < 1000
    assert position_ms * 1000 - pos == start - at  # rate 1: the timeline reaches it then


def on(line: m.GroupTimeline) -> plan.Output:
    """The output of a follower exactly on *line* (its clock offset 0)."""
    uid = line.item.uid if line.item is not None else ""
    return plan.Output(uid, line.position_us, line.anchor_us, line.playing)


def test_the_same_content_read_again_leaves_the_output_alone() -> None:
    # The leader's clock read again 4 s on, 300 us apart from the extrapolation: no change.
    again = timeline(anchor=54 * S, position=97 * S + 300, revision=2)
    assert plan.follow_step(on(timeline()), again, 55 * S) == plan.Keep()
    # A gapless change: the output went on to the next item on its own, as the leader did.
    gone_on = plan.Output("b", 0, 60 * S, True)
    next_line = timeline(OTHER, 60 * S, 0)
    assert plan.follow_step(gone_on, next_line, 61 * S) == plan.Keep()
    # ... the timeline followed was the first item's: nothing to slew between the two.
    assert plan.follow_step(gone_on, next_line, 61 * S, followed=timeline()) == plan.Keep()


def test_an_output_off_the_timeline_is_put_back_on_it() -> None:
    behind = plan.Output("a", 93 * S - 50_000, 50 * S, True)  # 50 ms behind
    step = plan.follow_step(behind, timeline(), 51 * S)
    assert isinstance(step, plan.StartFrom)
    assert not step.load
    stopped = plan.Output("", 0, 0, False)  # the track ended here first
    assert isinstance(plan.follow_step(stopped, timeline(), 51 * S), plan.StartFrom)


def test_a_seek_restarts_the_follower_on_the_ms_after_its_lead() -> None:
    now = 60 * S
    sought = timeline(anchor=now - 20_000, position=30 * S + 400, revision=2)
    step = plan.follow_step(on(timeline()), sought, now)
    assert isinstance(step, plan.StartFrom)
    assert not step.load
    at = now + plan.FOLLOW_LEAD_US
    assert step.position_ms == (sought.position_for_member(at) + 999) // 1000
    assert sought.position_for_member(step.at_us) == step.position_ms * 1000


def test_another_item_is_opened_and_a_pause_held_where_the_leader_paused() -> None:
    now = 60 * S
    other = plan.follow_step(on(timeline()), timeline(OTHER, now, 0, revision=2), now)
    assert isinstance(other, plan.StartFrom)
    assert other.load
    paused_line = timeline(anchor=now, position=103 * S, playing=False)
    assert plan.follow_step(on(timeline()), paused_line, now) == plan.PauseAt(now, 103_000)
    assert plan.follow_step(on(timeline()), timeline(None), now) == plan.Silence()
    assert plan.follow_step(plan.Output("", 0, 0, False), timeline(None), now) == plan.Keep()


def test_a_timeline_is_carried_out_at_its_instant_in_the_followers_clock() -> None:
    # The follower's clock reads 2 s less: the leader's 61 s is its 59 s.
    now = 58 * S
    resumed = timeline(anchor=61 * S, position=100 * S, offset=-2 * S, revision=2)
    step = plan.follow_step(on(timeline(playing=False)), resumed, now)
    assert isinstance(step, plan.StartFrom)
    assert step.at_us == 59 * S  # later than its lead: at the timeline's own instant


def test_a_leaders_timeline_says_its_item_its_next_and_where_its_output_is() -> None:
    state = m.PlaybackState(
        "s", 9, queue=(ITEM, OTHER), current_uid="a", status=m.PlaybackStatus.PLAYING
    )
    clock = m.PlaybackClock(12_345, 70 * S, 1.0, True)
    line = plan.leader_timeline(state, GROUP, clock)
    assert (line.item, line.next_item, line.anchor_us, line.position_us) == (
        ITEM,
        OTHER,
        70 * S,
        12_345_000,
    )
    assert (line.group_id, line.group_epoch, line.revision, line.playing) == ("g", 3, 9, True)
    assert line.clock_offset_us == 0
    paused = plan.leader_timeline(replace(state, status=m.PlaybackStatus.PAUSED), GROUP, clock)
    assert not paused.playing
    assert plan.timeline_changed(line, paused, 71 * S)
    assert not plan.timeline_changed(line, replace(line, revision=10), 71 * S)


def test_a_follower_shows_the_groups_item_held_elsewhere_and_alone_after_it_left() -> None:
    own = m.PlaybackState("mine", 4, queue=(OTHER,), current_uid="b", volume=33, active=True)
    shown = plan.follower_state(own, timeline(offset=-2 * S), GROUP)
    assert (shown.session_id, shown.queue, shown.current_uid) == ("s", (ITEM,), "a")
    assert (shown.active, shown.volume, shown.group, shown.revision) == (False, 33, GROUP, 5)
    assert shown.clock == m.PlaybackClock(93_000, 48 * S, 1.0, True)
    alone = plan.alone_after_following(shown)
    assert (alone.status, alone.active, alone.group) == (m.PlaybackStatus.STOPPED, False, None)
    assert alone.revision == 6


def test_a_move_of_the_leader_smaller_than_the_slack_is_still_followed() -> None:
    # The leader paused for 5 ms: its new timeline is 5 ms behind the one followed. The output
    # is within the slack of it, yet off: it is put on it.
    followed = timeline()
    resumed = timeline(anchor=60 * S, position=103 * S - 5_000, revision=3)
    step = plan.follow_step(on(followed), resumed, 61 * S, followed=followed)
    assert isinstance(step, plan.StartFrom)
    # A fresh clock offset alone (the controller measured again) is no move: the content is
    # slewed by what it changed, as it plays; by less than two frames, left be.
    remeasured = replace(followed, revision=4, clock_offset_us=-800)
    slewed = plan.follow_step(on(followed), remeasured, 61 * S, followed=followed)
    assert slewed == plan.Slew(800)  # this device's clock reads 800 us less: play 800 us on
    again = replace(followed, revision=5, clock_offset_us=-30)
    assert plan.follow_step(on(followed), again, 61 * S, followed=followed) == plan.Keep()
    # Within what the offset may be off, it is the measure's noise: left be, and the output
    # stays on the offset it plays by, so that a slow drift adds up against it.
    noisy = replace(followed, revision=6, clock_offset_us=-800, offset_uncertainty_us=1_000)
    step = plan.follow_step(on(followed), noisy, 61 * S, followed=followed)
    assert step == plan.Keep()
    assert plan.now_followed(followed, noisy, step).clock_offset_us == 0
    drifted = replace(noisy, revision=7, clock_offset_us=-1_300)
    kept = plan.now_followed(followed, noisy, step)
    assert plan.follow_step(on(kept), drifted, 61 * S, followed=kept) == plan.Slew(1_300)


def test_a_new_leaders_timeline_a_fraction_of_a_ms_off_is_slewed_never_restarted() -> None:
    # The leader died: the next one's timeline (a new roster, its own clock's offset) reads
    # where the music is to the ms, 600 us from the old one: the followers slew, no silence.
    followed = timeline()
    successor = replace(
        followed, group_epoch=4, revision=1, position_us=93 * S + 600, clock_offset_us=40
    )
    step = plan.follow_step(on(followed), successor, 61 * S, followed=followed)
    assert step == plan.Slew(560)
    # Beyond the slack it is a real move: the follower starts again on it.
    moved = replace(successor, position_us=93 * S + 30_000)
    assert isinstance(
        plan.follow_step(on(followed), moved, 61 * S, followed=followed), plan.StartFrom
    )
