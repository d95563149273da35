"""The reconnect backoff (connect/session/_reconnect.py) on a hand-driven clock: no sleeping."""

from __future__ import annotations

import random

import pytest

from connect.session._reconnect import Backoff, ReconnectSchedule

STEADY = Backoff(jitter=0.0)  # exact delays; the jitter has its own test


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def retry_delays(schedule: ReconnectSchedule, clock: FakeClock, count: int, backoff=STEADY):
    """Fail *count* attempts in a row, each after waiting its delay; return the delays."""
    delays = []
    for _ in range(count):
        schedule.attempt_started()
        delay = schedule.next_delay(backoff)
        delays.append(delay)
        clock.now += delay
    return delays


def test_a_device_never_reached_doubles_up_to_the_long_ceiling() -> None:
    clock = FakeClock()
    delays = retry_delays(ReconnectSchedule(clock), clock, 9)
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_device_online_moments_ago_is_retried_about_every_second() -> None:
    clock = FakeClock()
    schedule = ReconnectSchedule(clock)
    schedule.attempt_started()
    schedule.connected()
    clock.now += 600  # a long session, then the link drops
    delays = retry_delays(schedule, clock, 20)
    assert delays[:2] == [0.5, 1.0]
    assert set(delays[2:]) == {STEADY.recent_ceiling_s}


def test_the_low_ceiling_lasts_recent_s_after_the_session_ended_then_the_long_one_rules() -> None:
    clock = FakeClock()
    schedule = ReconnectSchedule(clock)
    schedule.connected()
    ended = clock.now
    delays = retry_delays(schedule, clock, 200)
    offsets = []  # (seconds since the session ended, delay) of every retry
    at = ended
    for delay in delays:
        offsets.append((at - ended, delay))
        at += delay
    assert all(delay <= STEADY.recent_ceiling_s for since, delay in offsets if since < 120)
    later = [delay for since, delay in offsets if since >= 120]
    assert later
    assert set(later) == {STEADY.ceiling_s}  # the doubling went on meanwhile: no slow climb


def test_a_new_session_starts_the_delays_over() -> None:
    clock = FakeClock()
    schedule = ReconnectSchedule(clock)
    retry_delays(schedule, clock, 8)  # a device that took long to reach
    schedule.connected()
    clock.now += 3600
    assert retry_delays(schedule, clock, 3) == [0.5, 1.0, 1.0]


def test_a_lower_long_ceiling_wins_over_the_recent_one() -> None:
    clock = FakeClock()
    schedule = ReconnectSchedule(clock)
    schedule.connected()
    fast = Backoff(first_s=0.05, ceiling_s=0.2, jitter=0.0)
    assert retry_delays(schedule, clock, 4, fast) == [0.05, 0.1, 0.2, 0.2]


def test_a_device_that_is_gone_costs_a_bounded_number_of_attempts_a_minute() -> None:
    clock = FakeClock()
    schedule = ReconnectSchedule(clock, random.Random(7))
    schedule.connected()
    start = clock.now
    starts = []
    for _ in range(400):
        schedule.attempt_started()
        starts.append(clock.now - start)
        clock.now += schedule.next_delay(Backoff())  # default policy, jitter on
    per_minute = [sum(1 for s in starts if n * 60 <= s < (n + 1) * 60) for n in range(30)]
    # While recent: at most one attempt per (1 s - 20 % jitter), even with instant failures.
    assert max(per_minute[:2]) <= 60 / 0.8 + 1
    # Afterwards the long ceiling: at most 60 / (30 s - 20 %) attempts a minute.
    assert max(per_minute[3:30]) <= 3


def test_jitter_spreads_the_delays_within_its_bounds() -> None:
    clock = FakeClock()
    schedule = ReconnectSchedule(clock, random.Random(3))
    schedule.connected()
    delays = retry_delays(schedule, clock, 50, Backoff())[2:]  # past 0.5 and 1.0: the 1 s cap
    assert all(0.8 <= d <= 1.2 for d in delays)
    assert len({round(d, 6) for d in delays}) > 40  # controllers of one outage do not align


@pytest.mark.parametrize(
    ("since_attempt_s", "expected"), [(0.0, 1.0), (0.25, 0.75), (1.0, 0.0), (7.0, 0.0)]
)
def test_a_woken_retry_keeps_the_floor_after_the_previous_attempt(
    since_attempt_s: float, expected: float
) -> None:
    clock = FakeClock()
    schedule = ReconnectSchedule(clock)
    schedule.attempt_started()
    clock.now += since_attempt_s
    assert schedule.woken_delay(STEADY) == pytest.approx(expected)


def test_a_woken_retry_before_any_attempt_need_not_wait() -> None:
    assert ReconnectSchedule(FakeClock()).woken_delay(STEADY) == 0.0
