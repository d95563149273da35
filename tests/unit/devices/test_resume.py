"""Resume at start: the decision, the stamped save, the checkpoints and the settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connect.session import playback
from connect.wire import messages as m
from devices.config import ConfigError, build_config
from devices.resume import (
    Instant,
    ResumableStore,
    SavedSession,
    async_checkpoints,
    decide,
    parse_duration,
    read_boot_id,
    resume_outcome,
)
from tests.waiting import until

BOOT = "11111111-2222-3333-4444-555555555555"
OTHER_BOOT = "99999999-2222-3333-4444-555555555555"
HOUR_US = 3600 * 1_000_000


def playing_state(position_ms: int = 42_000) -> m.PlaybackState:
    item = m.QueueItem("a", "http://music.local/a.flac", "A")
    return m.PlaybackState(
        session_id="s",
        revision=7,
        queue=(item, m.QueueItem("b", "http://music.local/b.flac", "B")),
        current_uid="a",
        clock=m.PlaybackClock(position_ms, 1_000_000, 1.0, True),
        status=m.PlaybackStatus.PLAYING,
        volume=35,
    )


def saved(stamp: Instant | None, status=m.PlaybackStatus.PLAYING) -> SavedSession:
    from dataclasses import replace

    return SavedSession(replace(playing_state(), status=status), stamp)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(0, 0.0), ("0", 0.0), (90, 90.0), (1.5, 1.5), ("30s", 30.0), ("30m", 1800.0),
     ("2h", 7200.0), ("1d", 86400.0), ("250ms", 0.25), (" 15 min ", 900.0), ("0.5s", 0.5)],
)  # fmt: skip
def test_durations(value, seconds) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["soon", "-5s", -1, "5 parsecs", True, ""])
def test_bad_durations_are_refused(value) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_resume_window_and_checkpoint_interval_settings() -> None:
    config = build_config({"resume_window": "2h", "checkpoint_interval": "5s"}, {})
    assert config.resume_window == 7200.0
    assert config.checkpoint_interval == 5.0
    assert build_config({}, {}).resume_window == 1800.0
    with pytest.raises(ConfigError, match="not a duration"):
        build_config({"resume_window": "later"}, {})


def test_same_boot_uses_the_monotonic_age() -> None:
    stamp = Instant(BOOT, 10_000_000, 5, False)
    soon = Instant(BOOT, 10_000_000 + 60_000_000, 0, False)  # wall clock went backwards
    assert decide(saved(stamp), 1800, soon).resume
    late = Instant(BOOT, 10_000_000 + HOUR_US, 10**18, False)
    decision = decide(saved(stamp), 1800, late)
    assert not decision.resume
    assert "more than resume-window" in decision.reason


def test_another_boot_with_synchronised_clocks_uses_the_wall_clock() -> None:
    stamp = Instant(BOOT, 10_000_000, 1_700_000_000 * 10**6, True)
    assert decide(
        saved(stamp), 1800, Instant(OTHER_BOOT, 5, stamp.wall_us + 600 * 10**6, True)
    ).resume
    assert not decide(
        saved(stamp), 1800, Instant(OTHER_BOOT, 5, stamp.wall_us + HOUR_US, True)
    ).resume
    future = decide(saved(stamp), 1800, Instant(OTHER_BOOT, 5, stamp.wall_us - HOUR_US, True))
    assert not future.resume


def test_another_boot_without_a_trustworthy_clock_resumes() -> None:
    # The car: no RTC, no network time. The Pi's clock restarts from its last saved date.
    stamp = Instant(BOOT, 10_000_000, 1_700_000_000 * 10**6, True)
    decision = decide(saved(stamp), 1800, Instant(OTHER_BOOT, 5, 0, False))
    assert decision.resume
    assert "cannot be trusted" in decision.reason
    untrusted_save = Instant(BOOT, 10_000_000, 1_700_000_000 * 10**6, False)
    assert decide(saved(untrusted_save), 1800, Instant(OTHER_BOOT, 5, 10**18, True)).resume


def test_nothing_resumes_when_disabled_paused_or_empty() -> None:
    stamp = Instant(BOOT, 0, 0, False)
    now = Instant(BOOT, 1_000_000, 0, False)
    assert not decide(saved(stamp), 0, now).resume
    assert not decide(saved(stamp, m.PlaybackStatus.PAUSED), 1800, now).resume
    assert not decide(saved(stamp, m.PlaybackStatus.STOPPED), 1800, now).resume
    assert not decide(None, 1800, now).resume
    empty = SavedSession(m.PlaybackState("s", 1, status=m.PlaybackStatus.PLAYING), stamp)
    assert not decide(empty, 1800, now).resume


def test_a_save_keeps_the_status_freezes_the_position_and_carries_its_stamp(tmp_path: Path) -> None:
    stamp = Instant(BOOT, 123_456, 1_700_000_000_000_000, True)
    store = ResumableStore(tmp_path, now=lambda: stamp)
    store.prepare()
    state = playing_state(42_000)  # playing since 1.0 s (as_of_us)
    store.save_session(state, now_us=3_500_000)  # 2.5 s later
    loaded = ResumableStore(tmp_path)
    restored = loaded.load_session()
    assert restored is not None
    assert restored.status is m.PlaybackStatus.PLAYING  # what resume needs to know
    assert restored.clock == m.PlaybackClock(44_500, 0, 1.0, False)
    assert restored.queue == state.queue
    assert restored.volume == 35
    assert loaded.saved == SavedSession(restored, stamp)


def test_a_session_saved_by_an_older_version_loads_without_a_stamp(tmp_path: Path) -> None:
    from devices.persistence import SessionStore

    SessionStore(tmp_path).save_session(playing_state(), now_us=1_000_000)
    store = ResumableStore(tmp_path)
    assert store.load_session() is not None
    assert store.saved is not None
    assert store.saved.saved_at is None
    assert decide(store.saved, 1800, Instant.now()).resume


def test_resume_loads_the_current_track_at_the_saved_position() -> None:
    from dataclasses import replace

    stopped = replace(
        playing_state(),
        status=m.PlaybackStatus.STOPPED,
        clock=m.PlaybackClock(44_500, 9, 1.0, False),
    )
    outcome = resume_outcome(stopped, now_us=50_000_000)
    assert outcome.actions == (playback.Load(stopped.queue[0], 44_500, True),)
    assert outcome.state.status is m.PlaybackStatus.PLAYING
    assert outcome.state.clock == m.PlaybackClock(44_500, 50_000_000, 1.0, True)


def test_stamp_round_trip_fits_an_envelope_id() -> None:
    stamp = Instant(read_boot_id() or BOOT, 2**62, 2**62, True)
    assert Instant.decode(stamp.encode()) == stamp
    assert len(stamp.encode().encode()) <= 128
    assert Instant.decode("saved-session") is None


async def test_checkpoints_ask_for_saves_only_while_playing() -> None:
    playing = True
    saves = []
    task = asyncio.get_running_loop().create_task(
        async_checkpoints(0.01, lambda: playing, lambda: saves.append(1))
    )
    await until(lambda: len(saves) >= 3, what="three checkpoints while playing")
    playing = False
    await asyncio.sleep(0.02)  # let a checkpoint already under way finish
    count = len(saves)
    await asyncio.sleep(0.1)
    assert len(saves) == count
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await async_checkpoints(0, lambda: True, lambda: saves.append(1))  # 0: returns at once


def test_a_group_followers_session_is_neither_resumed_nor_restored(tmp_path: Path) -> None:
    from dataclasses import replace

    from connect.clock import monotonic_us
    from devices._session_saving import SessionSaver
    from devices.config import ReceiverConfig

    roster = (m.GroupMember("lead", 0, m.GroupMemberPhase.PLAYING), m.GroupMember("me", 1))
    followed = replace(
        playing_state(), device_id="me", active=False, group=m.Group("g", 2, "lead", roster)
    )
    stamp = Instant(BOOT, 10_000_000, 5, False)
    decision = decide(SavedSession(followed, stamp), 1800, stamp)
    assert not decision.resume
    assert "group" in decision.reason
    store = ResumableStore(tmp_path)
    store.prepare()
    saver = SessionSaver(store, ReceiverConfig(name="T", state_dir=tmp_path), monotonic_us)
    store.save_session(followed, monotonic_us())
    fresh = saver.initial_state("me")
    assert fresh.session_id != followed.session_id
    assert (fresh.queue, fresh.group, fresh.active) == ((), None, False)
    assert fresh.volume == followed.volume
    # A leader's session is its own: restored stopped, in no group (the group went on without it).
    led_roster = (m.GroupMember("me", 1, m.GroupMemberPhase.PLAYING),)
    led = replace(followed, active=True, group=m.Group("g", 3, "me", led_roster))
    store.save_session(led, monotonic_us())
    restored = saver.initial_state("me")
    assert (restored.session_id, restored.group) == (led.session_id, None)
    assert restored.queue == led.queue
