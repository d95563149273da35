"""The `capture:PATH` output: Baton as the sound card, on paper (devices/_timed_sink.py in push
mode), writing what a device would have played and when.

Files written, created when the player starts and appended to across loads (unlike afile, which
truncates per media), so one recording spans every track the player played:
* PATH: a WAV, PCM s16 mono 44.1 kHz (libVLC resamples and downmixes to it), with its RIFF and
  data sizes rewritten after every write, so it is valid whenever it is read.
* PATH + ".timeline": one line per presented stretch of samples, `presentation_us,frames`,
  after `#` header lines: sample i of a line is presented at presentation_us + i * 1e6 / 44100.

With a simulated clock error (`drift_ppm`, `--simulated-drift`), the samples go through
devices/_converter.py: a converter consuming them that much fast or slow, and the drift
correction in front of it (unless `correct` is off); the timeline then holds the true instant
each block reaches that converter.
"""

from __future__ import annotations

import array
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TextIO

from devices._converter import DriftStage, SimulatedConverter
from devices._envelope import RATE, now_us
from devices._timed_sink import Recorder, SinkEdge, TimedSink

CHANNELS = 1  # mono halves the per-sample work in Python; tests' tracks are mono anyway
TIMELINE_SUFFIX = ".timeline"
TIMELINE_HEADER = f"# baton capture timeline v1: presentation_us,frames at {RATE} Hz mono s16\n"
_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")


def capture_sink(
    path: Path,
    notify: Callable[[SinkEdge], None],
    *,
    on_queued: Callable[[int], None] | None = None,
    clock: Callable[[], int] = now_us,
    drift_ppm: float | None = None,
    correct: bool = True,
) -> TimedSink:
    """Return a push-mode sink recording into *path* and PATH.timeline, through a converter
    *drift_ppm* off the true clock (None: an ideal one, no correction); raise OSError."""
    files = CaptureFiles(path)
    recorder: Recorder = files
    if drift_ppm is not None:
        files.note(f"simulated drift {drift_ppm:+g} ppm, correction {'on' if correct else 'off'}")
        recorder = DriftStage(SimulatedConverter(files, drift_ppm), CHANNELS, correct=correct)
    return TimedSink(notify, on_queued=on_queued, channels=CHANNELS, recorder=recorder, clock=clock)


class CaptureFiles:
    """The WAV and timeline files of one capture output; written on libVLC's audio thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Open for the player's lifetime, closed in close(): no context manager fits.
        self._wav: BinaryIO = path.open("wb")
        timeline = Path(f"{path}{TIMELINE_SUFFIX}")
        self._timeline: TextIO = timeline.open("w", encoding="ascii")
        self._data_bytes = 0
        self._wav.write(self._header())
        self._wav.flush()
        self._timeline.write(TIMELINE_HEADER)
        self._timeline.flush()

    def write(self, start_us: int, samples: array.array[int]) -> None:
        """Append *samples*, presented from *start_us*, and keep both files valid."""
        self._wav.write(samples.tobytes())
        self._data_bytes += 2 * len(samples)
        # Rewrite the sizes each time: a reader (or a crash) never finds a stale header.
        self._wav.seek(0)
        self._wav.write(self._header())
        self._wav.seek(0, 2)
        self._wav.flush()
        self._timeline.write(f"{start_us},{len(samples)}\n")
        self._timeline.flush()

    def note(self, text: str) -> None:
        """Add a `#` line to the timeline (readers skip them)."""
        self._timeline.write(f"# {text}\n")
        self._timeline.flush()

    def close(self) -> None:
        """Close both files; idempotent."""
        self._wav.close()
        self._timeline.close()

    def _header(self) -> bytes:
        block_align = 2 * CHANNELS
        return _HEADER.pack(
            b"RIFF",
            36 + self._data_bytes,
            b"WAVE",
            b"fmt ",
            16,
            1,
            CHANNELS,
            RATE,
            RATE * block_align,
            block_align,
            16,
            b"data",
            self._data_bytes,
        )
