"""Volume fades as steps on an injected clock, and the equalizer gain mapping for afile."""

from __future__ import annotations

import pytest

from devices._volume import (
    EQ_MIN_PREAMP_DB,
    EQ_UNITY_PREAMP_DB,
    check_volume,
    equalizer_preamp_db,
    ramp_steps,
    run_ramp,
    volume_gain,
)


class FakeClock:
    """A clock that advances only when slept on, recording each sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_ramp_steps_end_exactly_on_the_target() -> None:
    steps = ramp_steps(100, 0, 50)
    assert steps == [(10, 80), (20, 60), (30, 40), (40, 20), (50, 0)]


def test_a_zero_length_ramp_is_one_immediate_step() -> None:
    assert ramp_steps(30, 70, 0) == [(0, 70)]


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot last"):
        ramp_steps(0, 100, -1)


def test_run_ramp_applies_each_step_at_its_offset() -> None:
    clock = FakeClock()
    applied: list[tuple[float, int]] = []
    run_ramp(ramp_steps(0, 100, 30), lambda v: applied.append((clock.now, v)), clock)
    assert [volume for _, volume in applied] == [33, 67, 100]
    assert [at for at, _ in applied] == pytest.approx([100.01, 100.02, 100.03])


def test_run_ramp_does_not_sleep_for_steps_already_late() -> None:
    clock = FakeClock()
    applied: list[int] = []

    def slow_apply(volume: int) -> None:
        applied.append(volume)
        clock.now += 0.025  # each libVLC call takes longer than a step

    run_ramp(ramp_steps(100, 0, 40), slow_apply, clock)
    assert applied == [75, 50, 25, 0]
    assert len(clock.sleeps) == 1  # only the first step waited


@pytest.mark.parametrize("bad", [-1, 101, 50.0, True, "50"])
def test_volume_must_be_an_int_0_to_100(bad) -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        check_volume(bad)


def test_full_volume_is_the_equalizer_at_unity() -> None:
    assert equalizer_preamp_db(100) == EQ_UNITY_PREAMP_DB


def test_equalizer_preamp_follows_the_cubic_volume_curve() -> None:
    assert volume_gain(50) == pytest.approx(0.125)
    assert equalizer_preamp_db(50) == pytest.approx(EQ_UNITY_PREAMP_DB - 18.06, abs=0.01)
    assert equalizer_preamp_db(0) == EQ_MIN_PREAMP_DB  # the floor: -32 dB below unity
