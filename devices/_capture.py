"""The `capture:PATH` output: libVLC plays into callbacks, and Baton acts as the sound card.

libVLC 3's audio callbacks (the amem module) hand over each decoded block ahead of time with its
presentation timestamp `pts`, in µs of libVLC's mdate(), which on Linux is CLOCK_MONOTONIC: the
same clock as `time.monotonic_ns() // 1000`, Baton's device clock (proved in
tests/integration/devices/test_capture.py). Blocks arrive up to ~200 ms before their pts
(measured: 50 ms blocks, the lead grows to 200 ms and stays there). A real sound card would queue
them and play each at its pts; this sink does the same on paper: a block is *presented* once its
instant has passed, and only then written out, so a pause (libVLC's pause callback, with the
pause instant) keeps the not-yet-presented tail queued and shifts it by the pause's length at
resume, exactly as libVLC expects of a device, and a flush (stop, seek) drops it.

Gain (volume and fades) is applied here, per sample, as a function of the sample's presentation
instant (`Envelope`), so a fade is sample-exact and needs no libVLC call.

Files written, created when the player starts and appended to across loads (unlike afile, which
truncates per media), so one recording spans every track the player played:
* PATH: a WAV, PCM s16 mono 44.1 kHz (libVLC resamples and downmixes to it), with its RIFF and
  data sizes rewritten after every write, so it is valid whenever it is read.
* PATH + ".timeline": one line per presented stretch of samples, `presentation_us,frames`,
  after a `#` header line: sample i of a line is presented at presentation_us + i * 1e6 / 44100.
"""

from __future__ import annotations

import array
import ctypes
import itertools
import logging
import math
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, TextIO

_LOGGER = logging.getLogger(__name__)

RATE = 44_100
CHANNELS = 1  # mono halves the per-sample work in Python; tests' tracks are mono anyway
SAMPLE_FORMAT = "S16N"
TIMELINE_SUFFIX = ".timeline"
TIMELINE_HEADER = f"# baton capture timeline v1: presentation_us,frames at {RATE} Hz mono s16\n"
_FOREVER = 2**62
_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
_MAX_HISTORY = 16  # envelope versions kept: a 200 ms ramp makes 20, all but the last few moot


def now_us() -> int:
    """Return the device clock: time.monotonic_ns() in µs."""
    return time.monotonic_ns() // 1000


def frames_before(start_us: int, cut_us: int) -> int:
    """Return how many samples from *start_us* on are presented before *cut_us*."""
    if cut_us <= start_us:
        return 0
    return math.ceil((cut_us - start_us) * RATE / 1_000_000)


def sample_instant(start_us: int, index: int) -> int:
    """Return the presentation instant (µs) of sample *index* of a stretch from *start_us*."""
    return start_us + index * 1_000_000 // RATE


@dataclass(frozen=True)
class Envelope:
    """Gain at each instant: silent outside [open_us, close_us), linear fades at both ends."""

    volume_gain: float = 1.0
    open_us: int = 0
    fade_in_us: int = 0
    close_us: int = _FOREVER
    fade_out_us: int = 0

    def is_open(self, at_us: int) -> bool:
        """Return whether a sample presented at *at_us* is output (audible unless faded to 0)."""
        return self.open_us <= at_us < self.close_us

    def gain(self, at_us: int) -> float:
        """Return the amplitude factor for a sample presented at *at_us*."""
        if not self.is_open(at_us):
            return 0.0
        gain = self.volume_gain
        if self.fade_in_us > 0 and at_us < self.open_us + self.fade_in_us:
            gain *= (at_us - self.open_us) / self.fade_in_us
        if self.fade_out_us > 0 and at_us > self.close_us - self.fade_out_us:
            gain *= (self.close_us - at_us) / self.fade_out_us
        return gain

    def breakpoints(self) -> tuple[int, ...]:
        """Return the instants between which the gain is linear."""
        return (
            self.open_us,
            self.open_us + self.fade_in_us,
            self.close_us - self.fade_out_us,
            self.close_us,
        )


@dataclass(frozen=True)
class CaptureEdge:
    """The output started (`started`) or stopped presenting audio at `at_us`."""

    started: bool
    at_us: int
    first_sample_us: int  # on a start: the first sample presented since the resume (gated or not)


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


class CaptureSink:
    """Receives libVLC's audio callbacks, presents each sample at its pts, and records it."""

    # Threads: libVLC calls the callbacks on its audio thread (one per player), the libVLC worker
    # thread sets volumes and closes, the event loop sets envelopes. `_lock` guards the queue
    # and the files, and is held by the callbacks only; the others just swap `_envelopes`, an
    # immutable tuple (writers serialise on `_envelope_lock`, readers never take it).

    def __init__(
        self,
        path: Path,
        notify: Callable[[CaptureEdge], None],
        *,
        clock: Callable[[], int] = now_us,  # tests pass a fake device clock
    ) -> None:
        self._files = CaptureFiles(path)
        self._notify = notify
        self._clock = clock
        self._lock = threading.Lock()
        self._envelope_lock = threading.Lock()
        # (since_us, envelope): each applies to samples presented from its since_us on.
        self._envelopes: tuple[tuple[int, Envelope], ...] = ((0, Envelope()),)
        self._pending: deque[tuple[int, array.array[int]]] = deque()
        self._paused_at: int | None = None
        self._audible = False
        self._stretch_first: int | None = None  # first sample presented since a start/resume
        self._last_end = 0  # the instant just after the last presented sample
        self._closed = False
        self._callbacks: tuple[Any, ...] = ()

    # ------------------------------------------------------------ set-up (libVLC thread)

    def attach(self, vlc: Any, player: Any) -> None:
        """Route *player*'s audio into this sink (before its first play)."""
        decorators = vlc.CallbackDecorators
        # Kept referenced: ctypes frees a callback's trampoline with its Python object.
        self._callbacks = (
            decorators.AudioPlayCb(self._on_play),
            decorators.AudioPauseCb(self._on_pause),
            decorators.AudioResumeCb(self._on_resume),
            decorators.AudioFlushCb(self._on_flush),
            decorators.AudioDrainCb(self._on_drain),
        )
        player.audio_set_callbacks(*self._callbacks, None)
        player.audio_set_format(SAMPLE_FORMAT, RATE, CHANNELS)

    def pause(self, at_us: int) -> None:
        """Hold what is queued from *at_us* on, until resume; a second pause is ignored."""
        # Called by libVLC's pause callback and by the backend right after set_pause(1): libVLC
        # 3 sometimes skips the callback (seen once in a few dozen pauses of a pre-rolled start,
        # in bench/player.py; its decoder skips it when it believes it is paused already), yet
        # still stamps the later blocks as if the device had held its queue.
        with self._lock:
            if self._paused_at is not None or self._closed:
                return
            self._cut(at_us)
            self._stop_stretch(self._last_end)
            self._paused_at = at_us

    def resume(self, at_us: int) -> None:
        """Play on what was held, shifted by the pause's length; ignored unless paused."""
        with self._lock:
            if self._paused_at is None:
                return
            # A device holds what it had queued and plays it on after the pause: libVLC
            # stamps the next blocks on that assumption.
            shift = max(0, at_us - self._paused_at)
            self._pending = deque((at + shift, block) for at, block in self._pending)
            self._paused_at = None

    def end_stream(self) -> None:
        """Forget a pause: libVLC stopped the stream (it never resumes a stopped one)."""
        with self._lock:
            self._cut(self._clock())
            self._pending.clear()
            self._paused_at = None
            self._stop_stretch(self._last_end)

    def close(self) -> None:
        """Present what is due, drop the rest, close the files; after libVLC's player is gone."""
        with self._lock:
            if self._closed:
                return
            self._cut(self._clock())
            self._closed = True
            self._files.close()

    # ------------------------------------------------------------ gain (any thread)

    @property
    def envelope(self) -> Envelope:
        """Return the envelope that applies to samples presented from now on."""
        return self._envelopes[-1][1]

    def set_envelope(self, envelope: Envelope, since_us: int | None = None) -> None:
        """Apply *envelope* to every sample presented from *since_us* (default: now) on."""
        since = self._clock() if since_us is None else since_us
        with self._envelope_lock:
            kept = [entry for entry in self._envelopes if entry[0] < since]
            self._envelopes = (*kept[-_MAX_HISTORY:], (since, envelope))

    def set_volume_gain(self, gain: float) -> None:
        """Change the volume factor from now on, keeping any scheduled fade."""
        self.set_envelope(replace(self.envelope, volume_gain=gain))

    # ------------------------------------------------------------ libVLC's audio thread

    def _on_play(self, _data: Any, samples: int, count: int, pts: int) -> None:
        # libVLC's buffer lives for this call only: copy it out.
        block: array.array[int] = array.array("h")
        block.frombytes(ctypes.string_at(samples, count * 2 * CHANNELS))
        with self._lock:
            if self._closed:
                return
            # Whole blocks only: a timeline line per block, split only by a pause or a flush.
            self._cut(self._clock(), whole=True)
            self._pending.append((pts, block))

    def _on_pause(self, _data: Any, pts: int) -> None:
        self.pause(min(pts, self._clock()) if pts > 0 else self._clock())

    def _on_resume(self, _data: Any, pts: int) -> None:
        self.resume(pts if pts > 0 else self._clock())

    def _on_flush(self, _data: Any, _pts: int) -> None:
        # Stop or seek: what was not presented yet never will be.
        with self._lock:
            self._cut(self._clock())
            self._pending.clear()
            self._stop_stretch(self._last_end)

    def _on_drain(self, _data: Any) -> None:
        # End of the media: libVLC waits here until the queued audio has played out, as it
        # would for a sound card, so EndReached comes when the last sample is heard.
        with self._lock:
            end = self._pending_end()
        delay = (end - self._clock()) / 1_000_000 if end is not None else 0.0
        if delay > 0:
            time.sleep(delay)
        with self._lock:
            self._cut(_FOREVER)
            self._stop_stretch(self._last_end)

    # ------------------------------------------------------------ under _lock

    def _pending_end(self) -> int | None:
        if not self._pending:
            return None
        at, block = self._pending[-1]
        return sample_instant(at, len(block))

    def _cut(self, cut_us: int, *, whole: bool = False) -> None:
        """Present every queued sample before *cut_us* (*whole*: only blocks ending by then)."""
        if self._closed or self._paused_at is not None:
            return
        while self._pending:
            at, block = self._pending[0]
            count = frames_before(at, cut_us)
            if count <= 0:
                return
            if count >= len(block):
                self._pending.popleft()
                self._present(at, block)
                continue
            if whole:
                return
            self._pending[0] = (sample_instant(at, count), block[count:])
            self._present(at, block[:count])
            return

    def _present(self, start_us: int, block: array.array[int]) -> None:
        if self._stretch_first is None:
            self._stretch_first = start_us
        out = array.array("h")
        envelopes = self._envelopes
        end_us = sample_instant(start_us, len(block))
        for piece_start, piece_end, envelope in _pieces(envelopes, start_us, end_us):
            lo = frames_before(start_us, piece_start)
            hi = frames_before(start_us, piece_end)
            if hi <= lo:
                continue
            first = sample_instant(start_us, lo)
            self._track_edges(envelope, first, sample_instant(start_us, hi))
            out.extend(_apply_gain(block[lo:hi], envelope, first))
        self._files.write(start_us, out)
        self._last_end = end_us

    def _track_edges(self, envelope: Envelope, start_us: int, end_us: int) -> None:
        # Within one piece the envelope is either open or closed throughout (its open and
        # close instants are piece boundaries).
        if envelope.is_open(start_us) and not self._audible:
            self._audible = True
            first = self._stretch_first if self._stretch_first is not None else start_us
            self._notify(CaptureEdge(True, start_us, first))
        elif not envelope.is_open(start_us) and self._audible:
            self._audible = False
            self._notify(CaptureEdge(False, start_us, 0))

    def _stop_stretch(self, at_us: int) -> None:
        self._stretch_first = None
        if self._audible:
            self._audible = False
            self._notify(CaptureEdge(False, at_us, 0))


def _pieces(
    envelopes: tuple[tuple[int, Envelope], ...], start_us: int, end_us: int
) -> list[tuple[int, int, Envelope]]:
    """Split [start_us, end_us) where the envelope in force or its gain's slope changes."""
    pieces: list[tuple[int, int, Envelope]] = []
    for i, (since, envelope) in enumerate(envelopes):
        until = envelopes[i + 1][0] if i + 1 < len(envelopes) else _FOREVER
        lo, hi = max(start_us, since), min(end_us, until)
        if lo >= hi:
            continue
        cuts = sorted({lo, hi, *(b for b in envelope.breakpoints() if lo < b < hi)})
        pieces.extend((a, b, envelope) for a, b in itertools.pairwise(cuts))
    return pieces


def _apply_gain(samples: array.array[int], envelope: Envelope, start_us: int) -> array.array[int]:
    """Return *samples* scaled by the envelope's gain at each sample's instant."""
    count = len(samples)
    g0 = envelope.gain(start_us)
    g1 = envelope.gain(sample_instant(start_us, count - 1)) if count > 1 else g0
    if g0 == g1 == 1.0:
        return samples
    if g0 == g1 == 0.0:
        return array.array("h", bytes(2 * count))
    if g0 == g1:
        return array.array("h", [round(x * g0) for x in samples])
    step = (g1 - g0) / (count - 1)
    return array.array("h", [round(x * (g0 + step * i)) for i, x in enumerate(samples)])
