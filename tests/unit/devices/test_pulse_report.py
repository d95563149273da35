"""A sound server's timing report, stamped with the wall clock, placed on CLOCK_MONOTONIC
(devices/_pulse_stream.py `report_instant`): exact when the wall clock holds, dropped when its
age says the wall clock stepped between the server's stamp and the reading."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from devices._pulse_stream import REPORT_EARLY_US, REPORT_MAX_AGE_US, report_instant

WALL = 1_765_000_000_000_000  # µs since the epoch: a December 2025 wall clock
DEVICE = 5_000_000_000  # µs of CLOCK_MONOTONIC


@given(age=st.integers(0, REPORT_MAX_AGE_US), heard=st.integers(0, 1_000_000))
def test_a_report_is_placed_its_age_before_now_plus_what_it_says(age: int, heard: int) -> None:
    assert report_instant(WALL - age, WALL, DEVICE, heard) == DEVICE - age + heard


def test_a_wall_clock_set_back_after_the_stamp_drops_the_report() -> None:
    # Stamped at WALL; the clock then went back a day: the report would land a day late.
    assert report_instant(WALL, WALL - 86_400_000_000 + 20_000, DEVICE, 150_000) is None


def test_a_wall_clock_set_forward_after_the_stamp_drops_the_report() -> None:
    assert report_instant(WALL, WALL + 3_600_000_000, DEVICE, 150_000) is None


def test_a_stamp_slightly_ahead_of_now_is_jitter_not_a_step() -> None:
    assert report_instant(WALL + REPORT_EARLY_US, WALL, DEVICE, 0) == DEVICE + REPORT_EARLY_US
    assert report_instant(WALL + REPORT_EARLY_US + 1, WALL, DEVICE, 0) is None
