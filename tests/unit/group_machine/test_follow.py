"""A follower's loop (connect/group/follow.py) against simulated sound cards: a member whose
converter runs ±100 ppm off keeps its output on the timeline, within a bound it reaches in
seconds and holds, never correcting by more than MAX_PPM; large jumps ask to be placed again."""

from __future__ import annotations

import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect.group.follow import MAX_PPM, REPLACE_US, Follower, OutputSample, Pacer
from connect.wire import messages as m
from tests.unit.group_machine.support import ITEM

BLOCK_US = 20_000  # the output reports each 20 ms block
LEADER_OFFSET, MEMBER_OFFSET = 7_000_000, -3_000_000  # each clock: true time plus this
TIMELINE = m.GroupTimeline(
    "g", 1, "s", 1, ITEM, anchor_us=LEADER_OFFSET, position_us=60_000_000, rate=1.0,
    playing=True, clock_offset_us=MEMBER_OFFSET - LEADER_OFFSET,
)  # fmt: skip


def simulate(
    drift_ppm: float, seconds: float, start_error_us: float = 0.0, jitter_us: int = 0, seed: int = 1
) -> tuple[list[float], list[float]]:
    """Play *seconds* on a member whose converter runs *drift_ppm* fast; return the true error
    of each block (µs, output minus timeline) and the corrections applied (ppm)."""
    noise = random.Random(seed)
    follower = Follower()
    true_us = 0.0
    position = 60_000_000 + start_error_us  # content at the converter at true instant 0
    errors, corrections = [], []
    for _ in range(int(seconds * 1e6 / BLOCK_US)):
        due = 60_000_000 + true_us  # the leader's timeline at this true instant
        errors.append(position - due)
        measured = round(true_us) + MEMBER_OFFSET + noise.randint(-jitter_us, jitter_us)
        correction = follower.correct(TIMELINE, OutputSample(measured, round(position)))
        assert not correction.replace
        corrections.append(correction.ppm)
        # The block plays for 20 ms of true time: the converter's clock is drift_ppm off, and
        # the content goes through it correction.ppm faster.
        position += BLOCK_US * (1 + drift_ppm / 1e6) * (1 + correction.ppm / 1e6)
        true_us += BLOCK_US
    return errors, corrections


def p99(values: list[float]) -> float:
    return statistics.quantiles([abs(v) for v in values], n=100)[98]


@pytest.mark.parametrize("drift", [-100.0, 0.0, 100.0])
def test_a_drifting_member_holds_the_timeline_within_tens_of_microseconds(drift: float) -> None:
    # Five simulated minutes with ±20 µs of jitter on each output timestamp.
    errors, corrections = simulate(drift, 300, jitter_us=20)
    settled = errors[int(30e6 / BLOCK_US) :]  # after 30 s
    assert p99(settled) < 10  # 2.2 µs measured (seeded): the loop, not the clock offset
    assert max(abs(c) for c in corrections) <= MAX_PPM
    # The integral took the drift over: the correction is the drift, the other way.
    assert statistics.mean(corrections[-500:]) == pytest.approx(-drift, abs=5)


def test_a_member_placed_two_milliseconds_off_is_pulled_in_smoothly() -> None:
    errors, corrections = simulate(100.0, 60, start_error_us=2_000)
    seconds_to_100us = next(i for i, e in enumerate(errors) if abs(e) < 100) * BLOCK_US / 1e6
    assert seconds_to_100us < 10
    assert max(abs(e) for e in errors[int(20e6 / BLOCK_US) :]) < 20
    assert max(abs(c) for c in corrections) <= MAX_PPM


@settings(max_examples=60, deadline=None)
@given(st.floats(-200, 200), st.floats(-20_000, 20_000))
def test_any_drift_and_any_pull_in_error_settle(drift: float, start: float) -> None:
    errors, _ = simulate(drift, 150, start_error_us=start)
    assert max(abs(e) for e in errors[-500:]) < 10  # the last 10 s


def test_a_jump_beyond_what_the_loop_pulls_in_asks_to_be_placed_again() -> None:
    follower = Follower()
    due = TIMELINE.position_for_member(MEMBER_OFFSET)
    correction = follower.correct(TIMELINE, OutputSample(MEMBER_OFFSET, due + REPLACE_US + 1))
    assert correction.replace
    assert correction.ppm == 0


def test_a_paused_timeline_asks_for_no_correction() -> None:
    paused = m.GroupTimeline("g", 1, "s", 1, ITEM, 0, 5_000_000, playing=False)
    correction = Follower().correct(paused, OutputSample(10_000_000, 5_000_300))
    assert (correction.ppm, correction.error_us, correction.replace) == (0.0, 300.0, False)


def test_the_pacer_drops_and_inserts_the_whole_samples_a_rate_asks_for() -> None:
    pacer = Pacer()
    # 100 ppm faster over 100 s of 44.1 kHz in 20 ms blocks: 441 samples dropped, none lost.
    dropped = sum(pacer.samples(100.0, 882) for _ in range(5_000))
    assert dropped == -441
    slower = Pacer()
    assert sum(slower.samples(-250.0, 882) for _ in range(5_000)) == 1102  # 1102.5, half owed
