"""The judgements the soak and impaired benchmarks rest on: silences heard, growth that stops."""

from __future__ import annotations

import array

from bench._heard import audible_ms, longest_silence_ms
from bench.soak import levels_off
from tests.audio import RATE, Capture, Recording, tone_samples


def capture(*parts: tuple[int, array.array[int]]) -> Capture:
    """Return a capture presenting each (start µs, samples) part as one block."""
    samples: array.array[int] = array.array("h")
    blocks = []
    for start_us, part in parts:
        blocks.append((start_us, len(samples), len(part)))
        samples.extend(part)
    return Capture(Recording(samples, RATE), tuple(blocks))


def silence(ms: int) -> array.array[int]:
    return array.array("h", bytes(2 * RATE * ms // 1000))


def test_a_continuous_tone_has_no_silence_and_is_all_audible() -> None:
    heard = capture((0, tone_samples(441, 1000)))
    assert longest_silence_ms(heard, 0, 1_000_000) == 0
    assert audible_ms(heard, 0, 1_000_000) == 1000


def test_a_quiet_stretch_in_the_samples_is_measured() -> None:
    tone = tone_samples(441, 400)
    heard = capture((0, tone + silence(120) + tone))
    assert 110 <= longest_silence_ms(heard, 0, 920_000) <= 130
    assert 790 <= audible_ms(heard, 0, 920_000) <= 810


def test_time_with_nothing_presented_counts_as_silence() -> None:
    heard = capture((0, tone_samples(441, 300)), (500_000, tone_samples(441, 300)))
    assert 190 <= longest_silence_ms(heard, 0, 800_000) <= 210
    # ... and so does the end of the window after the last block.
    assert 190 <= longest_silence_ms(heard, 500_000, 1_000_000) <= 210


def test_growth_that_flattens_levels_off_and_growth_that_goes_on_does_not() -> None:
    warm_up = [60, 63, 64, 64.5, 64.6, 64.6, 64.7, 64.6, 64.7]
    leak = [60 + 1.0 * minute for minute in range(9)]
    slow_but_small = [60 + 0.1 * minute for minute in range(9)]
    assert levels_off(warm_up, 2.0)
    assert not levels_off(leak, 2.0)
    assert levels_off(slow_but_small, 2.0)  # under the allowance: reported, not failed
    assert levels_off([5, 6], 0.0)  # too few samples to judge
