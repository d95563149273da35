"""Where one track's last sample and the next one's first landed in a recording, to the frame.

A sound server's monitor records every sample the sink rendered, bit for bit (a null sink at
the stream's rate applies no volume and no resampling), and a receiver's decoded copy is
ffmpeg's decoding: so a stretch of a track's decoding is found in the recording exactly, by the
least squared difference. Reading content positions from the position track's tones instead is
good to a millisecond only on an untouched recording: its tones change phase-continuously, so a
segment boundary is located from a flat optimum, and the one-frame corrections a pull-mode
output makes against a drifting server clock (devices/_frame_grid.py) move that optimum by up
to ~1.5 ms (measured on a loaded machine, where those corrections are frequent).

The tracks compared here are noise, not tones: a tone matches itself one period later almost
as well, noise only where it is.
"""

from __future__ import annotations

import array
import random
import subprocess
from pathlib import Path

from tests.audio import RATE
from tests.corpus import FFMPEG

MATCH_FRAMES = 256  # the stretch found on either side of a join (5.8 ms)
GAP_FRAMES = 32  # how far from the join those stretches stop: a correction there is rare


def noise(frames: int, *, amplitude: int = 8_000, seed: int = 21) -> array.array[int]:
    """Return *frames* reproducible samples of white noise (mono s16)."""
    rng = random.Random(seed)
    return array.array("h", (rng.randint(-amplitude, amplitude) for _ in range(frames)))


def decoded(path: Path) -> array.array[int]:
    """Return the left channel of *path* decoded by ffmpeg as a receiver's copy holds it
    (devices/_ffmpeg_copy.py: a mono track on both channels, s16 at 44.1 kHz)."""
    assert FFMPEG is not None, "the continuity check needs Debian's ffmpeg"
    pcm = subprocess.run(
        [
            FFMPEG, "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn",
            "-af", "pan=stereo|FL<FL+FC|FR<FR+FC", "-f", "s16le", "-acodec", "pcm_s16le",
            "-ar", str(RATE), "-ac", "2", "-",
        ],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    return array.array("h", pcm)[::2]


def find(samples: array.array[int], pattern: array.array[int], near: int, span: int) -> int:
    """Return the index in *samples*, within *span* of *near*, where *pattern* fits best."""
    best, _error = best_fit(samples, pattern, near, span)
    if best < 0:
        raise AssertionError(f"no place near sample {near} to look for the track")
    return best


def best_fit(
    samples: array.array[int], pattern: array.array[int], near: int, span: int
) -> tuple[int, float]:
    """Return the index in *samples*, within *span* of *near*, where *pattern* fits best, and
    the sum of squared differences there (0: exactly; index -1: no room to look)."""
    best, best_error = -1, float("inf")
    for start in range(max(0, near - span), min(len(samples) - len(pattern), near + span) + 1):
        error = 0
        for k in range(0, len(pattern), 32):  # chunked, to give up early on a poor fit
            chunk = samples[start + k : start + k + 32]
            error += sum((a - b) ** 2 for a, b in zip(chunk, pattern[k : k + 32], strict=True))
            if error >= best_error:
                break
        else:
            best, best_error = start, error
    return best, best_error


def join_error(
    samples: array.array[int],
    ending: array.array[int],
    ending_frames: int,
    starting: array.array[int],
    near: int,
    span: int,
) -> int:
    """Return the frames between where *ending*'s frame *ending_frames* would follow its last
    one and where *starting*'s first frame is in *samples*: 0 for a seamless join, > 0 a gap,
    < 0 an overlap (or content lost). *near*: about where the join is; *span*: how far off."""
    before = ending[ending_frames - GAP_FRAMES - MATCH_FRAMES : ending_frames - GAP_FRAMES]
    after = starting[GAP_FRAMES : GAP_FRAMES + MATCH_FRAMES]
    end = find(samples, before, near - GAP_FRAMES - MATCH_FRAMES, span) + MATCH_FRAMES + GAP_FRAMES
    start = find(samples, after, near + GAP_FRAMES, span) - GAP_FRAMES
    return start - end


def scaled_fit(
    samples: array.array[int], pattern: array.array[int], near: int, span: int
) -> tuple[int, float]:
    """Return the index in *samples*, within *span* of *near*, where *pattern* fits best at
    some gain (a receiver's volume), and the share of *pattern*'s energy left unexplained
    there (~1e-7 for the same samples rounded after a gain; index -1: no room to look)."""
    energy = float(sum(x * x for x in pattern))
    best, best_left = -1, float("inf")
    if energy == 0:
        return best, best_left
    size = len(pattern)
    for start in range(max(0, near - span), min(len(samples) - size, near + span) + 1):
        stretch = samples[start : start + size]
        power = float(sum(y * y for y in stretch))
        if power == 0:
            continue
        dot = float(sum(x * y for x, y in zip(pattern, stretch, strict=True)))
        left = 1.0 - dot * dot / (power * energy)
        if left < best_left:
            best, best_left = start, left
    return best, best_left
