"""Drift correction (devices/_drift.py) and the simulated converter it corrects
(devices/_converter.py), run block by block on paper: no libVLC, no clock."""

from __future__ import annotations

import array
import ctypes
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices._capture import TIMELINE_SUFFIX, capture_sink
from devices._converter import DriftStage, SimulatedConverter
from devices._drift import FRAME_US, RATE, DriftCorrector, DriftEstimator, respace
from devices._timed_sink import TimedSink
from devices.audio_output import parse_audio_output
from devices.config import ConfigError, build_config

BLOCK = 2205  # libVLC's blocks of a 44.1 kHz WAV: 50 ms


class Paper:
    """Converter files that keep what they are given."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, int]] = []
        self.samples: array.array[int] = array.array("h")

    def write(self, start_us: int, samples: array.array[int]) -> None:
        self.lines.append((start_us, len(samples)))
        self.samples.extend(samples)

    def close(self) -> None:
        pass


CYCLE = [round(12_000 * math.sin(2 * math.pi * i / 100)) for i in range(100)]  # 441 Hz


def tone(frames: int, start: int = 0) -> array.array[int]:
    """Return *frames* of a 441 Hz sine from frame *start* on (zero crossings every 50 frames)."""
    first = start % 100
    return array.array("h", (CYCLE * (frames // 100 + 2))[first : first + frames])


def run_stage(ppm: float, *, correct: bool, seconds: float, block: int = BLOCK) -> list[float]:
    """Feed a stage *seconds* of consecutive blocks; return each block's error (µs) after
    its correction: when the converter will take its next frame minus when that is due."""
    stage = DriftStage(SimulatedConverter(Paper(), ppm), 1, correct=correct)
    errors: list[float] = []
    start, frames = 1_000_000_000, 0
    while frames < seconds * RATE:
        stage.write(start + frames * 1_000_000 // RATE, tone(block, frames))
        frames += block
        errors.append(stage.converter.next_instant() - (start + frames * FRAME_US))
    return errors


# ---------------------------------------------------------------- the estimator


@given(
    ppm=st.floats(-500, 500),
    base=st.floats(-5_000, 5_000),
    start=st.integers(0, 10**13),  # hours of uptime and more: the fit stays exact
)
def test_the_estimator_finds_a_clock_error_exactly(ppm: float, base: float, start: int) -> None:
    estimator = DriftEstimator()
    for i in range(200):
        at = start + i * 50_000
        estimator.observe(at, base + ppm * 1e-6 * (at - start))
    assert estimator.ppm == pytest.approx(ppm, abs=0.01)
    later = start + 300 * 50_000
    assert estimator.predict(later) == pytest.approx(base + ppm * 1e-6 * (later - start), abs=0.5)


def test_the_estimator_forgets_what_is_older_than_its_window() -> None:
    estimator = DriftEstimator(window_us=1_000_000)
    for i in range(100):  # 5 s flat, then 2 s at 200 ppm
        estimator.observe(i * 50_000, 0.0)
    for i in range(100, 140):
        estimator.observe(i * 50_000, 200e-6 * (i - 100) * 50_000)
    assert estimator.ppm == pytest.approx(200, abs=0.01)


def test_an_unread_or_single_reading_has_no_slope() -> None:
    estimator = DriftEstimator()
    assert estimator.predict(123) == 0.0
    estimator.observe(5, 40.0)
    assert (estimator.ppm, estimator.predict(10**9)) == (0.0, 40.0)


# ---------------------------------------------------------------- respacing a block


@given(
    data=st.lists(st.integers(-32768, 32767), min_size=8, max_size=400),
    channels=st.sampled_from([1, 2]),
    steps=st.integers(-4, 4).filter(bool),
)
def test_respacing_repeats_or_drops_exactly_one_frame_per_step(
    data: list[int], channels: int, steps: int
) -> None:
    samples = array.array("h", data[: len(data) // channels * channels])
    frames = len(samples) // channels
    out = respace(samples, channels, steps)
    assert len(out) == len(samples) + steps * channels
    before = [tuple(samples[i * channels : (i + 1) * channels]) for i in range(frames)]
    after = [tuple(out[i * channels : (i + 1) * channels]) for i in range(len(out) // channels)]
    i = j = edits = 0
    if steps > 0:  # the input, with |steps| frames each a repeat of the frame before it
        while j < len(after):
            if i < len(before) and after[j] == before[i]:
                i += 1
            elif j > 0 and after[j] == after[j - 1]:
                edits += 1
            else:
                raise AssertionError(f"output frame {j} is neither the input's nor a repeat")
            j += 1
        assert i == len(before)
    else:  # a subsequence of the input, |steps| frames shorter
        for frame in before:
            if j < len(after) and after[j] == frame:
                j += 1
            else:
                edits += 1
        assert j == len(after)
    assert edits == abs(steps)


def test_steps_fall_on_the_zero_crossings_of_a_tone() -> None:
    samples = tone(BLOCK)
    for steps in (1, -1, 3, -3):
        out = respace(samples, 1, steps)
        changed = next(i for i, (a, b) in enumerate(zip(samples, out, strict=False)) if a != b)
        # The first frame touched is where the sine crosses zero: its magnitude is at most
        # one step of the sine between frames (12 000 · 2π / 100 ≈ 750).
        assert abs(samples[changed - 1 if steps > 0 else changed]) <= 750


# ---------------------------------------------------------------- the loop, closed


@settings(max_examples=25, deadline=None)
@given(
    ppm=st.floats(-300, 300),
    block=st.sampled_from([1024, 2205, 441, 4096]),
    noise_us=st.sampled_from([0.0, 100.0, 500.0]),
    seed=st.integers(0, 2**16),
)
def test_a_corrected_device_stays_on_the_true_timeline(
    ppm: float, block: int, noise_us: float, seed: int
) -> None:
    # The corrector in a loop with a converter that is *ppm* off, its readings jittered by up to
    # *noise_us* (a sound server's latency reports): 12 s of blocks.
    rng = random.Random(seed)
    converter = SimulatedConverter(Paper(), ppm)
    corrector = DriftCorrector(1)
    converter.restart(0)
    worst_settled = 0.0
    frames = 0
    while frames < 12 * RATE:
        due = frames * FRAME_US
        error = converter.next_instant() - due
        corrected = corrector.correct(
            tone(block, frames), error + rng.uniform(-noise_us, noise_us), round(due)
        )
        converter.write(corrected, 1)
        frames += block
        if frames > 4 * RATE:  # past the first readings
            worst_settled = max(worst_settled, abs(converter.next_instant() - frames * FRAME_US))
    # Exact readings: within a frame and a half; noisy ones average out over the 5 s fitted.
    assert worst_settled <= 1.5 * FRAME_US + noise_us / 2
    # A fast clock (+) is slowed by repeated frames: one per frame it gains.
    assert abs(corrector.net - ppm * 1e-6 * 12 * RATE) <= 2 + noise_us / FRAME_US / 2


def test_an_exact_clock_is_never_corrected() -> None:
    stage = DriftStage(SimulatedConverter(Paper(), 0.0), 1, correct=True)
    for i in range(400):
        stage.write(1_000 + i * 50_000, tone(BLOCK, i * BLOCK))
    assert stage.corrector is not None
    assert (stage.corrector.inserted, stage.corrector.dropped) == (0, 0)


@pytest.mark.parametrize("ppm", [100.0, -100.0])
def test_left_alone_the_converter_drifts_by_its_clock_error(ppm: float) -> None:
    errors = run_stage(ppm, correct=False, seconds=10)
    # A fast clock takes every frame earlier: 100 µs a second at +100 ppm.
    assert errors[-1] == pytest.approx(-ppm * 10, rel=0.01)


@pytest.mark.parametrize("ppm", [100.0, -100.0])
def test_corrected_the_stage_stays_within_a_frame(ppm: float) -> None:
    errors = run_stage(ppm, correct=True, seconds=30)
    assert max(abs(e) for e in errors[20:]) <= 1.5 * FRAME_US


def test_a_break_in_the_presentation_starts_the_converter_on_time() -> None:
    paper = Paper()
    stage = DriftStage(SimulatedConverter(paper, 100.0), 1, correct=False)
    for i in range(100):
        stage.write(1_000_000 + i * 50_000, tone(BLOCK))
    stage.write(9_000_000, tone(BLOCK))  # after a pause or a seek
    assert paper.lines[99][0] == pytest.approx(1_000_000 + 99 * 50_000 - 495, abs=1)
    assert paper.lines[100] == (9_000_000, BLOCK)


# ---------------------------------------------------------------- the sink's own timeline


class _Silence:
    """A decoded copy of nothing but silence (the sink restamps a copy's blocks)."""

    continued = False
    crossed = False

    def take(self, frames: int, at_us: int, *, fresh: bool = True) -> array.array[int]:
        return array.array("h", bytes(2 * frames))

    def at_flush(self) -> None:
        pass

    def held(self, from_us: int, shift_us: int) -> None:
        pass

    def left(self) -> int | None:
        return None


@pytest.mark.parametrize("frames", [1024, 1152, 2205])
def test_the_sinks_timeline_keeps_libvlcs_pace_for_minutes(frames: int) -> None:
    # A copy's blocks are stamped at the end of the one before (libVLC's Ogg pacing jitters):
    # each end truncated to the µs lost 0.95 µs a 1 024-frame block, 12 ms in 5 minutes.
    paper, now = Paper(), [0]
    sink = TimedSink(lambda _edge: None, recorder=paper, clock=lambda: now[0])
    sink.content = _Silence()
    buffer = (ctypes.c_int16 * frames)()
    start = 10**9
    for n in range(20 * 60 * RATE // frames // 3):  # 20 minutes' worth / 3: cheap enough
        pts = start + round(n * frames * 1e6 / RATE)
        now[0] = pts - 200_000  # blocks come 200 ms ahead, as libVLC's do
        sink._on_play(None, ctypes.addressof(buffer), frames, pts)
    last = len(paper.lines) - 1
    assert abs(paper.lines[-1][0] - (start + last * frames * 1e6 / RATE)) <= 1


# ---------------------------------------------------------------- files and options


def test_the_capture_timeline_says_its_converter(tmp_path: Path) -> None:
    sink = capture_sink(tmp_path / "c.wav", lambda _edge: None, drift_ppm=-50.0, correct=False)
    sink.close()
    lines = Path(f"{tmp_path / 'c.wav'}{TIMELINE_SUFFIX}").read_text().splitlines()
    assert lines[1] == "# simulated drift -50 ppm, correction off"


def test_a_simulated_drift_needs_a_capture_output_and_a_card_like_error(tmp_path: Path) -> None:
    out = parse_audio_output(f"capture:{tmp_path / 'c.wav'}", simulated_drift_ppm=100.0)
    assert (out.simulated_drift_ppm, out.drift_correction) == (100.0, True)
    with pytest.raises(ValueError, match="capture output"):
        parse_audio_output("none", simulated_drift_ppm=1.0)
    with pytest.raises(ValueError, match="within"):
        parse_audio_output(f"capture:{tmp_path / 'c.wav'}", simulated_drift_ppm=float("nan"))
    with pytest.raises(ConfigError, match="capture"):
        build_config({"simulated_drift": 20}, {"audio_output": "afile:/tmp/x.wav"})
    with pytest.raises(ConfigError, match="on or off"):
        build_config({"drift_correction": "maybe"}, {})
    config = build_config(
        {"simulated_drift": -100, "drift_correction": False}, {"audio_output": "capture:/x.wav"}
    )
    assert (config.simulated_drift, config.drift_correction) == (-100.0, False)
