"""A device's content offset read sample by sample: its recording matched against the track.

proof_audio.py reads an offset from the position track's segment boundaries. Its tones change
phase-continuously, so a boundary is a flat optimum, and through a sound server the one-frame
corrections a pull-mode output makes (devices/_frame_grid.py) move it by up to ~1.5 ms. But a
recording holds the very samples the receiver decoded (a capture file, or a null sink's
monitor at the stream's rate: no resampling, no volume): a short stretch of it is found in the
track as decoded exactly, with no difference at all, where the tones say it is to a few ms.
That gives the content at an instant to the sample. A stretch holding a one-frame correction
matches nowhere exactly and is passed over for the next one. A receiver's volume scales the
samples: the match allows one gain.
"""

from __future__ import annotations

import array
from dataclasses import dataclass

from tests.audio import RATE, Capture
from tests.integration.devices.continuity import scaled_fit
from tests.integration.transfer.proof_audio import SEGMENT_US, Offset, PositionCode

MATCH_FRAMES = 256  # a stretch of the recording (5.8 ms) around a segment boundary
SEARCH_FRAMES = 200  # around the content the tones gave (±1.5 ms): 4.5 ms either way
EXACT = 1e-5  # unexplained energy of a match: ~1e-7 the same samples, ~1e-3 a frame off


@dataclass(frozen=True)
class ExactOffset:
    """Content minus presentation instant, from one stretch found exactly in the track."""

    offset_us: int  # in [0, code.cycle_us), as Offset's
    at_us: int  # the instant of the stretch it was read from


def exact_offset(
    capture: Capture,
    track: array.array[int],
    code: PositionCode,
    rough: Offset,
    start_us: int,
    end_us: int,
    *,
    from_end: bool,
) -> ExactOffset | None:
    """Return the offset over [start_us, end_us) read from the first stretch, from its end
    (*from_end*) or its start, found exactly in *track* (None: none was).

    Each stretch holds a segment boundary: inside one segment a tone of n x 100 Hz repeats
    itself exactly every 441 / gcd(n, 441) frames, so only a boundary fixes where it is.
    """
    cycle_frames = code.cycle_us * RATE // 1_000_000
    half_us = MATCH_FRAMES * 1_000_000 // RATE // 2
    # The instants of the content's segment boundaries in the stretch, as the tones put them.
    first = -((start_us + rough.offset_us) % SEGMENT_US) + SEGMENT_US + start_us
    boundaries = list(range(first, end_us, SEGMENT_US))
    for at in reversed(boundaries) if from_end else boundaries:
        if not (start_us <= at - half_us and at + half_us <= end_us):
            continue
        index = capture.index_at(at - half_us)
        if index is None or index + MATCH_FRAMES > len(capture.samples):
            continue
        stretch = capture.samples[index : index + MATCH_FRAMES]
        instant = capture.instant_of(index)
        guess = (instant + rough.offset_us) % code.cycle_us * RATE // 1_000_000
        # The code repeats every cycle: the content is the guess in one of the track's cycles.
        fits = [
            scaled_fit(track, stretch, guess + n * cycle_frames, SEARCH_FRAMES)
            for n in range(len(track) // cycle_frames + 1)
        ]
        found, left = min(fits, key=lambda fit: fit[1])
        if found >= 0 and left <= EXACT:
            content_us = round(found * 1_000_000 / RATE)
            return ExactOffset((content_us - instant) % code.cycle_us, instant)
    return None
