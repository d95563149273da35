"""Clock-offset estimation from four-timestamp exchanges."""

from __future__ import annotations

import random

from connect.clock import ClockOffsetEstimator, ClockSample
from connect.wire.messages import PlaybackClock, TimeResponse


def exchange(offset: int, out_delay: int, back_delay: int, processing: int = 50, t1: int = 0):
    """Simulate one exchange with a device whose clock is `offset` µs ahead of ours."""
    t2 = t1 + out_delay + offset
    t3 = t2 + processing
    t4 = t3 - offset + back_delay
    return ClockSample.from_exchange(TimeResponse(t1, t2, t3), t4)


def test_symmetric_delays_give_the_exact_offset() -> None:
    sample = exchange(offset=1_000_000, out_delay=300, back_delay=300)
    assert sample.offset_us == 1_000_000
    assert sample.delay_us == 600


def test_lowest_delay_sample_wins_over_noisy_ones() -> None:
    rng = random.Random(7)
    estimator = ClockOffsetEstimator(window=16)
    for _ in range(15):  # queueing delay on one direction skews these samples
        estimator.add(exchange(-250_000, rng.randint(500, 5000), rng.randint(5000, 20000)))
    estimator.add(exchange(-250_000, 100, 110))
    estimate = estimator.estimate
    assert estimate is not None
    assert abs(estimate.offset_us - (-250_000)) <= estimate.error_bound_us
    assert estimate.delay_us == 210
    assert estimate.to_local(estimate.to_device(123)) == 123


def test_old_samples_age_out_of_the_window() -> None:
    estimator = ClockOffsetEstimator(window=2)
    estimator.add(exchange(0, 10, 10))  # very good, but about to age out
    estimator.add(exchange(5000, 100, 100))
    estimator.add(exchange(5000, 200, 200))
    estimate = estimator.estimate
    assert estimate is not None
    assert estimate.offset_us == 5000


def test_no_estimate_before_a_sample_and_after_reset() -> None:
    estimator = ClockOffsetEstimator()
    assert estimator.estimate is None
    estimator.add(exchange(1, 1, 1))
    estimator.reset()
    assert estimator.estimate is None


def test_playback_clock_extrapolates_only_while_playing() -> None:
    playing = PlaybackClock(position_ms=1000, as_of_us=5_000_000, rate=1.0, playing=True)
    assert playing.position_at(6_500_000) == 2500
    paused = PlaybackClock(position_ms=1000, as_of_us=5_000_000, rate=1.0, playing=False)
    assert paused.position_at(9_000_000) == 1000
    fast = PlaybackClock(position_ms=0, as_of_us=0, rate=2.0, playing=True)
    assert fast.position_at(1_000_000) == 2000
