"""The capture output's converter, with the clock error a real sound card would have
(`--simulated-drift PPM`), and the drift correction in front of it.

The timed sink (devices/_timed_sink.py, push mode) presents each stretch of samples at its
instant on the true timeline. `DriftStage` takes them there, as a device's driver would:

    timed sink --(start_us on the true timeline, samples)--> DriftStage
        --(samples, a frame inserted or dropped now and then)--> SimulatedConverter --> files

`SimulatedConverter` consumes frames at (1 + PPM·1e-6) × 44.1 kHz of true time, from the
instant a stretch starts: with +100 ppm the content runs ahead of the true clock by 100 µs
every second, exactly as on a card whose crystal is that fast. The capture timeline records the
TRUE CLOCK_MONOTONIC instant each block's first frame reaches the converter (frames within a
block follow at the nominal spacing: a 23 ms block's last frame is 2.3 µs off at 100 ppm), so
the skew is read against one true clock, never against the clock being corrected.

A stretch is what the sink presents without a break: a pause, a seek, a stop or a track not
following on starts a new one, and the converter starts it exactly on time (a device starts its
stream at an instant; it is the hours of playing on that drift).
"""

from __future__ import annotations

import array
import logging
from typing import Protocol

from devices._drift import FRAME_US, RATE, DriftCorrector
from devices.audio_output import MAX_SIMULATED_DRIFT_PPM

_LOGGER = logging.getLogger(__name__)

# A block starting this close to where the last one ended (the sink's µs-truncated arithmetic,
# and its ±1 µs restamping) continues the stretch; further off, a new stretch starts.
CONTINUOUS_US = 30


class Files(Protocol):
    """Where the converter's frames go (devices/_capture.py's CaptureFiles)."""

    def write(self, start_us: int, samples: array.array[int]) -> None:
        """Append *samples*, the first reaching the converter at *start_us*."""
        ...

    def close(self) -> None:
        """Finish; idempotent."""
        ...


class SimulatedConverter:
    """A converter whose clock runs *ppm* millionths fast (+) or slow (-) of the true clock."""

    def __init__(self, files: Files, ppm: float) -> None:
        if not abs(ppm) <= MAX_SIMULATED_DRIFT_PPM:
            raise ValueError(f"simulated drift must be within ±{MAX_SIMULATED_DRIFT_PPM} ppm")
        self.files = files
        self.ppm = ppm
        self._period_us = FRAME_US / (1 + ppm * 1e-6)  # true time per frame consumed
        self._start_us = 0  # the true instant the stretch began
        self._frames = 0  # frames consumed since

    def restart(self, at_us: int) -> None:
        """Start a new stretch: the next frame reaches the converter at *at_us*."""
        self._start_us = at_us
        self._frames = 0

    def next_instant(self) -> float:
        """Return the true instant the next frame written reaches the converter (what a real
        device tells from its queued frames and its timestamp)."""
        return self._start_us + self._frames * self._period_us

    def write(self, samples: array.array[int], channels: int) -> None:
        """Consume *samples* (interleaved) after what was written before."""
        self.files.write(round(self.next_instant()), samples)
        self._frames += len(samples) // channels

    def close(self) -> None:
        """Close the files; idempotent."""
        self.files.close()


class DriftStage:
    """Hands the sink's stretches to the converter, correcting its drift (if *correct*)."""

    def __init__(self, converter: SimulatedConverter, channels: int, *, correct: bool) -> None:
        self.converter = converter
        self.channels = channels
        self.corrector = DriftCorrector(channels) if correct else None
        self._expected_us: int | None = None  # where the sink's next block would continue
        self._anchor_us = 0  # the true-timeline instant of the stretch's first frame
        self._content = 0  # content frames presented in the stretch so far
        # The last block's error: when its first frame reached the converter minus when it was
        # due (µs, + late), read on the audio thread, by the group's skew report on the loop's.
        self.error_us: float | None = None

    def write(self, start_us: int, samples: array.array[int]) -> None:
        """Take *samples*, due from *start_us* on the true timeline (the Recorder protocol)."""
        frames = len(samples) // self.channels
        if frames == 0:
            return
        expected = self._expected_us
        if expected is None or abs(start_us - expected) > CONTINUOUS_US:
            self._anchor_us, self._content = start_us, 0
            self.converter.restart(start_us)
            if self.corrector is not None:
                self.corrector.reset()
        # The sink's instants are truncated to the µs block by block; within a stretch the
        # frames are consecutive, so their due instants come from the stretch's first.
        due_us = self._anchor_us + self._content * FRAME_US
        self._expected_us = start_us + frames * 1_000_000 // RATE  # the sink's own arithmetic
        self._content += frames
        error_us = self.error_us = self.converter.next_instant() - due_us
        if self.corrector is not None:
            samples = self.corrector.correct(samples, error_us, round(due_us))
        self.converter.write(samples, self.channels)

    def close(self) -> None:
        """Close the converter's files; idempotent."""
        if self.corrector is not None and self.corrector.inserted + self.corrector.dropped:
            _LOGGER.info(
                "drift correction: %d frames inserted, %d dropped (simulated drift %+g ppm)",
                self.corrector.inserted,
                self.corrector.dropped,
                self.converter.ppm,
            )
        self.converter.close()
