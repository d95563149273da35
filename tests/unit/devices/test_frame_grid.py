"""The frame -> instant map of a sound server's stream, fed readings as a server gives them."""

from __future__ import annotations

import random

from devices._frame_grid import NUDGE_US, RESYNC_US, FrameGrid

RATE = 44_100
STEP = 441  # frames per write (10 ms)
T0 = 5_000_000


def readings(ppm: float, noise_us: int, count: int, seed: int = 1) -> list[tuple[int, int]]:
    """(frame, measured instant) for writes of STEP frames, the card off by *ppm*, each reading
    late by up to *noise_us* (a server reads its stream's position, then stamps the report)."""
    rng = random.Random(seed)
    period_us = 1e6 / RATE / (1 + ppm / 1e6)
    return [
        (i * STEP, T0 + round(i * STEP * period_us) + rng.randint(0, noise_us))
        for i in range(count)
    ]


def test_while_silent_the_grid_settles_on_the_lower_edge_of_late_readings() -> None:
    grid = FrameGrid(RATE)
    first = True
    for frame, measured in readings(0, 2_000, 30):
        grid.instant(frame, measured + (2_000 if first else 0), quiet=True)
        first = False  # the first reading was 2 ms later still: the grid must not keep it
    truth = T0 + round(30 * STEP * 1e6 / RATE)
    assert abs(grid.instant(30 * STEP, truth, quiet=True).instant_us - truth) <= 300


def test_reports_late_by_milliseconds_under_load_do_not_move_a_playing_stream() -> None:
    # PipeWire's pulse layer, both cores busy (bench/pipewire_timing.py): its read index is
    # from the graph's last cycle and its stamp from the reply, so most reports are late by
    # 0.1-0.3 ms, one in ten by ~3 ms, runs of them by up to 16 ms; the median of 15 then
    # wandered by 1.7 ms, moving a handoff's two streams apart.
    rng = random.Random(7)
    grid = FrameGrid(RATE)
    worst = 0
    for i, (frame, measured) in enumerate(readings(0, 300, 2_000)):
        late = rng.choice((0, 0, 0, 0, 0, 0, 0, 0, 0, 3_000))
        if 500 <= i % 700 < 508:  # a burst: eight reports in a row held up
            late += 16_000
        step = grid.instant(frame, measured + late, quiet=i < 20)
        if i > 40:
            worst = max(worst, abs(T0 + round(frame * 1e6 / RATE) - step.instant_us))
    assert grid.resyncs == 0
    assert grid.nudges == 0
    assert worst <= 300


def test_a_drifting_card_is_followed_a_frame_at_a_time_without_jumps() -> None:
    grid = FrameGrid(RATE)
    worst = 0
    for frame, measured in readings(200, 300, 3_000):  # 30 s at 200 ppm: 6 ms of drift
        step = grid.instant(frame, measured, quiet=frame < 20 * STEP)
        assert step.moved_us == 0 or frame < 20 * STEP
        if frame > 100 * STEP:
            worst = max(worst, abs(measured - step.instant_us))
    assert grid.resyncs == 0
    assert 200 <= grid.nudges <= 300  # 6 ms is 265 frames
    assert worst < NUDGE_US + 400  # the lateness on top of the threshold


def test_a_stall_moves_the_grid_at_once() -> None:
    grid = FrameGrid(RATE)
    for frame, measured in readings(0, 0, 20):
        grid.instant(frame, measured, quiet=True)
    moved = []
    for frame, measured in readings(0, 0, 40)[20:]:
        moved.append(grid.instant(frame, measured + 2 * RESYNC_US, quiet=False).moved_us)
    assert grid.resyncs == 1
    assert sum(moved) == 2 * RESYNC_US
    assert max(moved) > RESYNC_US


def test_readings_straying_by_milliseconds_under_load_never_jump_the_music() -> None:
    # Measured with both cores busy: PulseAudio's interpolated latency strays from a null
    # sink's steady rendering by 3 ms within half a second, and comes back.
    grid = FrameGrid(RATE)
    for frame, measured in readings(0, 0, 20):
        grid.instant(frame, measured, quiet=True)
    steps = []
    for i, (frame, measured) in enumerate(readings(0, 200, 320)[20:]):
        stray = min(i, 50, 300 - i) * 80  # up to 4 ms in 0.5 s, held 2 s, back in 0.5 s
        steps.append(grid.instant(frame, measured + stray, quiet=False))
    assert grid.resyncs == 0
    assert all(step.moved_us == 0 for step in steps)
    assert grid.nudges > 0  # followed a frame at a time while it lasted


def test_between_readings_the_grid_predicts_from_its_map() -> None:
    grid = FrameGrid(RATE)
    assert grid.predict(0) is None  # not anchored: nothing to say
    grid.instant(0, T0, quiet=True)
    step = grid.predict(RATE)
    assert step is not None
    assert step.instant_us == T0 + 1_000_000


def held(grid: FrameGrid, ppm: float, noise_us: int) -> int:
    """Play 30 s of writes through *grid*, the card *ppm* off, each reading up to *noise_us*
    late; return the worst distance (µs) of the grid from the true instant after 5 s."""
    exact = dict(readings(ppm, 0, 3_000))
    worst = 0
    for frame, measured in readings(ppm, noise_us, 3_000):
        step = grid.instant(frame, measured, quiet=frame < 20 * STEP)
        assert step.moved_us == 0 or frame < 20 * STEP
        if frame > 500 * STEP:
            worst = max(worst, abs(exact[frame] - step.instant_us))
    assert grid.resyncs == 0
    return worst


def test_on_its_line_the_grid_holds_a_drifting_card_within_a_frame_or_two() -> None:
    # PulseAudio's stamped reports: late by 0-50 µs. The edge's line (devices/_drift.py) puts
    # the frame moves where the card is a frame off, not where the edge is NUDGE_US off.
    for ppm in (200, -100):
        assert held(FrameGrid(RATE, line=True), ppm, 50) <= 2 * 1e6 / RATE + 50
        assert held(FrameGrid(RATE), ppm, 50) > NUDGE_US - 50  # as before: the dead band
