"""A refused command changes nothing (Baton issue 13, item 7).

On a stopped 6 s track whose length the controller never sent, `baton seek Car 20` was refused
by the player, yet the position was stored: `resume` and `transfer` then failed with the same
error until another seek. These check the session rules alone, and a receiver's command path
(the rules, then the player) against a model of the real player, over generated states and
commands: a refusal leaves the state and its revision exactly as they were (so nothing is
published or saved), leaves the player holding what the state says, and leaves no trace in
what any later command does.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connect.session import playback as p
from connect.wire import messages as m
from devices._commands import CommandRun, async_run_command
from devices.player_types import PlayerState
from tests.unit.refusals.fake_player import LENGTH_MS, NOW_US, ModelPlayer

UIDS = ("a", "b", "c")
URLS = ("http://h/a.wav", "http://h/b.wav", "http://h/missing.wav")
MEDIA_FAILURES = {
    m.ErrorCode.MEDIA_NOT_FOUND,
    m.ErrorCode.MEDIA_UNSUPPORTED,
    m.ErrorCode.MEDIA_UNREACHABLE,
    m.ErrorCode.AUDIO_OUTPUT,
}


def clock() -> int:
    return NOW_US


# ------------------------------------------------------------------ the report


def stopped_six_seconds() -> tuple[m.PlaybackState, ModelPlayer]:
    """A URL queued from the CLI (no duration) that played to its end: stopped, at 0."""
    item = m.QueueItem("item-1", "http://h/a.wav")
    state = m.PlaybackState(
        "s", revision=7, queue=(item,), current_uid=item.uid, clock=m.PlaybackClock(0, NOW_US)
    )
    return state, ModelPlayer(item.url, PlayerState.STOPPED)


async def test_seek_past_the_end_of_a_stopped_track_is_refused_and_stores_nothing() -> None:
    state, player = stopped_six_seconds()
    run = await async_run_command(state, m.Command("seek", m.Seek(20_000)), player, clock)
    assert run.failure is not None
    assert run.failure.code is m.ErrorCode.INVALID_ARGUMENT
    assert (run.state, run.changed) == (state, False)
    assert player.loads == []  # the player's known length refused it before any load
    resumed = await async_run_command(state, m.Command("resume", m.Resume()), player, clock)
    assert resumed.failure is None
    assert resumed.state.status is m.PlaybackStatus.PLAYING
    assert resumed.state.clock.position_ms == 0


async def test_a_start_the_player_refuses_restores_what_played_before() -> None:
    # Nothing knows b's length before loading it: the player refuses the start after it has
    # unloaded a, and a must come back where it was, as if nothing had been asked.
    a, b = (m.QueueItem(uid, f"http://h/{uid}.wav") for uid in "ab")
    playing = m.PlaybackState(
        "s",
        revision=3,
        queue=(a, b),
        current_uid="a",
        clock=m.PlaybackClock(2_000, NOW_US, 1.0, True),
        status=m.PlaybackStatus.PLAYING,
    )
    player = ModelPlayer(a.url, PlayerState.PLAYING, 2_000)
    run = await async_run_command(playing, m.Command("c", m.Play("b", 9_000)), player, clock)
    assert run.failure is not None
    assert run.failure.code is m.ErrorCode.INVALID_ARGUMENT
    assert (run.state, run.changed) == (playing, False)
    assert (player.url, player.state, player.position) == (a.url, PlayerState.PLAYING, 2_000)


def test_the_rules_refuse_a_position_past_a_length_they_know() -> None:
    a = m.QueueItem("a", "http://h/a.wav", duration_ms=6_000)
    unknown = m.QueueItem("u", "http://h/u.wav")
    state = m.PlaybackState("s", 1, queue=(a, unknown), current_uid="u")
    refusals = [
        (state, m.Seek(20_000), {"media_length_ms": 6_000}),
        (state, m.Play("u", 20_000), {"media_length_ms": 6_000}),
        (state, m.SetQueue((a,), start_position_ms=6_001), {}),
        (state, m.Play("a", 7_000), {}),
    ]
    for before, action, known in refusals:
        with pytest.raises(p.CommandRejectedError) as caught:
            p.apply_command(before, m.Command("c", action), NOW_US, **known)
        assert caught.value.failure.code is m.ErrorCode.INVALID_ARGUMENT, action
    # Unknown lengths are the player's to judge.
    assert p.apply_command(state, m.Command("c", m.Seek(20_000)), NOW_US).actions


# ------------------------------------------------------------------ properties

items = st.builds(
    m.QueueItem,
    st.sampled_from(UIDS),
    st.sampled_from(URLS),
    duration_ms=st.sampled_from([0, LENGTH_MS]),
)
queues = st.lists(items, min_size=1, max_size=3, unique_by=lambda item: item.uid).map(tuple)
# Both sides of the end (6 s) as often as not: past it, at it, before it. Hypothesis draws the
# first choices of a list most, so the ones that matter here come first.
positions = st.sampled_from([20_000, 6_001, 6_000, 5_999, 2_000, 0]) | st.integers(0, 9_000)


@st.composite
def sessions(draw: st.DrawFn) -> tuple[m.PlaybackState, ModelPlayer]:
    """A state and a player that agrees with it, as a receiver holds them between commands."""
    queue = draw(queues)
    # Mostly with a current item: that is where positions and the player's answers matter.
    current = draw(st.sampled_from([item.uid for item in queue]) if queue else st.just(""))
    current = "" if draw(st.integers(0, 9)) == 0 else current
    item = next((i for i in queue if i.uid == current), None)
    # A player holds (paused or playing) only media that loaded: never the one that 404s.
    holdable = item is not None and "missing" not in item.url
    held = [m.PlaybackStatus.STOPPED, m.PlaybackStatus.PAUSED, m.PlaybackStatus.PLAYING]
    status = draw(st.sampled_from(held)) if holdable else None
    status = status or m.PlaybackStatus.STOPPED
    position = draw(st.integers(0, LENGTH_MS - 1))
    playing = status is m.PlaybackStatus.PLAYING
    state = m.PlaybackState(
        "s",
        revision=draw(st.integers(1, 50)),
        queue=queue,
        current_uid=current,
        clock=m.PlaybackClock(position, NOW_US, 1.0, playing),
        status=status,
        volume=draw(st.integers(0, 100)),
        repeat=draw(st.sampled_from(m.RepeatMode)),
        restrictions=draw(
            st.lists(
                st.builds(m.Restriction, st.sampled_from(m.CommandKind), st.just(("driving",))),
                max_size=1,
            ).map(tuple)
        ),
    )
    if item is None or status is m.PlaybackStatus.STOPPED:
        # Stopped: the player holds nothing, or still knows the media it played last.
        known = draw(st.sampled_from(["", *URLS]))
        idle = (
            PlayerState.IDLE
            if not known
            else draw(st.sampled_from([PlayerState.STOPPED, PlayerState.ENDED, PlayerState.FAILED]))
        )
        return state, ModelPlayer(known, idle)
    held = PlayerState.PLAYING if playing else PlayerState.PAUSED
    return state, ModelPlayer(item.url, held, position)


_ACTION_KINDS = [
    st.builds(m.Seek, positions),
    st.builds(
        m.SetQueue,
        st.lists(
            st.builds(
                m.QueueItem,
                st.sampled_from(UIDS),
                st.sampled_from((*URLS, "file:///etc/passwd")),
                duration_ms=st.sampled_from([0, LENGTH_MS]),
            ),
            max_size=3,
            unique_by=lambda item: item.uid,
        ).map(tuple),
        st.sampled_from(("", *UIDS, "z")),
        positions,
        st.booleans(),
    ),
    st.builds(m.Play, st.sampled_from(("", *UIDS, "z")), st.none() | positions),
    st.just(m.Resume()),
    st.just(m.SkipPrevious()),
    st.just(m.SkipNext()),
    st.just(m.Pause()),
    st.builds(
        m.AddToQueue,
        st.lists(
            st.builds(
                m.QueueItem, st.sampled_from(("d", "e")), st.sampled_from((*URLS, "smb://nas/x"))
            ),
            max_size=2,
            unique_by=lambda item: item.uid,
        ).map(tuple),
        st.sampled_from(("", *UIDS, "z")),
    ),
    st.builds(m.SetVolume, st.integers(0, 300), st.none() | st.booleans()),
    st.builds(
        m.RemoveFromQueue,
        st.lists(st.sampled_from((*UIDS, "z")), min_size=1, max_size=2, unique=True).map(tuple),
    ),
    st.builds(m.MoveInQueue, st.sampled_from((*UIDS, "z")), st.sampled_from(("", *UIDS, "z"))),
    st.just(m.ClearQueue()),
    st.builds(m.SetOptions, st.none() | st.booleans(), st.none() | st.integers(0, 9)),
]  # those that move the position, and so meet the end of the media, first
actions = st.sampled_from(_ACTION_KINDS).flatmap(lambda kind: kind)


def commands(revision: int) -> st.SearchStrategy[m.Command]:
    stale = st.none() | st.sampled_from([revision, revision - 1, revision + 1])
    return st.builds(m.Command, st.just("cmd"), actions, stale)


def refused(run: CommandRun) -> bool:
    return run.failure is not None and run.failure.code not in MEDIA_FAILURES


def clone(player: ModelPlayer) -> ModelPlayer:
    twin = ModelPlayer(player.url, player.state, player.position)
    twin.length_ms = player.length_ms
    return twin


def holding(player: ModelPlayer) -> tuple[str, bool, int] | None:
    """What media the player holds, whether it plays it, and where; None if it holds none."""
    # READY (a paused load) and PAUSED are alike here: paused at the position, ready to play.
    if player.state not in (PlayerState.READY, PlayerState.PAUSED, PlayerState.PLAYING):
        return None
    return player.url, player.state is PlayerState.PLAYING, player.position


def what_matters(run: CommandRun) -> tuple[object, ...]:
    """What a controller sees of a run: the state, the failure's code, whether it changed."""
    return (run.state, run.failure.code if run.failure else None, run.changed)


def run(state: m.PlaybackState, command: m.Command, player: ModelPlayer) -> CommandRun:
    return asyncio.run(async_run_command(state, command, player, clock))


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data())
def test_a_refusal_leaves_state_revision_and_player_as_they_were(data: st.DataObject) -> None:
    state, player = data.draw(sessions())
    command = data.draw(commands(state.revision))
    held = holding(player)
    result = run(state, command, player)
    if not refused(result):
        assert result.changed
        assert result.state.revision > state.revision
        if result.failure is None:
            assert result.state.last_command_id == "cmd"
        return
    assert result.state == state  # the same state, so the same revision
    assert result.changed is False  # nothing to publish, nothing to save
    if held is not None:
        assert holding(player) == held


@SETTINGS
@given(st.data())
def test_after_a_refusal_every_command_does_what_it_would_have_done(
    data: st.DataObject,
) -> None:
    # The report: after the refused seek, `resume` and `transfer` failed the same way.
    state, player = data.draw(sessions())
    first = data.draw(commands(state.revision))
    twin = clone(player)
    after = run(state, first, player)
    if not refused(after):
        return
    then = replace(data.draw(commands(state.revision)), command_id="then")
    assert what_matters(run(after.state, then, player)) == what_matters(run(state, then, twin))


@SETTINGS
@given(st.data())
def test_an_applied_command_never_stores_a_position_past_the_end(data: st.DataObject) -> None:
    state, player = data.draw(sessions())
    result = run(state, data.draw(commands(state.revision)), player)
    if result.failure is None:
        assert result.state.clock.position_ms <= LENGTH_MS or not result.state.current_uid
