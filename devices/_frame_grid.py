"""Which instant each frame of an output stream is heard at, from late latency readings.

A sound server reports, at each write, when the next frame written is heard; each reading is
late by some amount and the sink's block rendering, never early: the server reads its stream's
position first and stamps the report after (PulseAudio's own stamped reports,
devices/_pulse_stream.py: +0..0.05 ms against the null sink's monitor; PipeWire's pulse layer:
its read index and delay are from the graph's last cycle, up to one quantum (~43 ms) before the
stamp, usually 0.1-0.5 ms, several ms on a loaded machine; libpulse's interpolated latency,
used before: 0.3-0.8 ms either way on a busy machine). Taken one by one, such readings would
move samples back and forth by that much; their median moves with the load (PipeWire's pulse
layer: a handoff's two streams then several ms apart). The grid is an affine frame -> instant
map instead, held against the lower edge of the latest readings (the second earliest: the
least late, one stray early reading aside):
* while the stream plays no media (silence before a start), it follows that edge freely: the
  moves are inaudible, and a pre-roll's silent writes settle it to a fraction of a
  millisecond before the first sample is due;
* while media plays, an edge beyond NUDGE_US moves it by one frame per write (the stream
  then drops or repeats one frame, at a zero crossing: inaudible), enough for a card whose
  clock drifts from CLOCK_MONOTONIC (PulseAudio's null sink runs ~195 ppm fast); with `line`
  (PulseAudio: its reports are stamped to ±0.05 ms), once a line through the edge's last 5 s
  (devices/_drift.py's DriftEstimator) says the map is 0.75 frame off: it then holds the card
  within a frame or two instead of up to NUDGE_US; an edge beyond RESYNC_US moves it at once,
  a jump a listener hears (a sink whose latency changed; an underrun resets the grid by
  itself: devices/_pulse_stream.py).

On a loaded machine libpulse's interpolated latency drifted by milliseconds and back within a
few seconds (its smoother places each report by a guess from the round trip), and PipeWire's
pulse layer's reports come late by as much when its main loop or this process is held up;
the lower edge does not follow them up. RESYNC_US is set well above that: a 3 ms threshold
made such a stray a 3 ms jump in the music mid-track, a break in a gapless album.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from devices._drift import DEAD_BAND, DriftEstimator

WINDOW = 15  # readings the lower edge is taken over (~75-150 ms of writes; PipeWire: ~640 ms)
EDGE_RANK = 1  # the second earliest: one early stray (a wall-clock step) moves nothing
QUIET_STEP_US = 50  # while silent, follow the edge once it strays this far
NUDGE_US = 300  # while playing, a frame at a time beyond this ...
# ... at most one frame per NUDGE_EVERY_S: 450 ppm, more than any sound card's crystal is off
# (PulseAudio's null sink: 195 ppm), so a real drift is followed; a lower edge that strays
# anyway (a run of late reports longer than the window) is not chased faster than that.
NUDGE_EVERY_S = 0.05
RESYNC_US = 10_000  # while playing, at once beyond this (a load's stray stays under it)
LINE_SPAN_US = 1_000_000  # `line`: the fit is trusted once its readings span this long


@dataclass(frozen=True)
class GridStep:
    """Where the next frame is heard, and how the map moved to say so."""

    instant_us: int
    moved_us: int = 0  # a jump: what was placed before is off by this much
    nudge: int = 0  # +1 / -1: the map moved one frame later / earlier (drop / repeat one)


class FrameGrid:
    """An affine map from a stream's frame numbers to the instants (µs) they are heard at."""

    def __init__(self, rate: int, *, line: bool = False) -> None:
        self._rate = rate
        # `line`: while playing, nudge where a line through the edge's recent past says the
        # error is a frame off (devices/_drift.py), not once the edge is NUDGE_US off.
        self._line = DriftEstimator() if line else None
        self._nudged_us = 0  # what the nudges moved the map since the line began
        self._anchor: tuple[int, int] | None = None  # (frame, instant)
        self._errors: deque[int] = deque(maxlen=WINDOW)
        self.resyncs = 0  # jumps while media played
        self.nudges = 0  # one-frame moves while media played
        self._nudged_at: int | None = None  # the frame of the last one

    def reset(self) -> None:
        """Forget the map (the stream stood still, or ran dry): the next reading anchors it."""
        self._anchor = None
        self._errors.clear()
        self._restart_line()

    def instant(self, frame: int, measured_us: int, *, quiet: bool) -> GridStep:
        """Return where *frame* is heard, given a reading, and how the map moved.

        *quiet*: no media was written lately, so the map may move without being heard.
        """
        if self._anchor is None:
            self._anchor = (frame, measured_us)
            return GridStep(measured_us)
        on_grid = self._on_grid(frame)
        self._errors.append(measured_us - on_grid)
        if len(self._errors) < 3 or (not quiet and len(self._errors) < WINDOW // 2):
            return GridStep(on_grid)
        edge = sorted(self._errors)[min(EDGE_RANK, len(self._errors) - 1)]
        if abs(edge) >= (QUIET_STEP_US if quiet else RESYNC_US):
            if not quiet:
                self.resyncs += 1
            self._move(edge)
            return GridStep(on_grid + edge, moved_us=edge)
        if quiet:
            self._restart_line()  # silence: the map follows the edge freely, as above
            return GridStep(on_grid)
        spaced = self._nudged_at is None or frame - self._nudged_at >= NUDGE_EVERY_S * self._rate
        off = self._off_line(on_grid, edge)
        if (
            abs(off) > (DEAD_BAND * 1_000_000 / self._rate if self._fitted() else NUDGE_US)
            and spaced
        ):
            self.nudges += 1
            self._nudged_at = frame
            nudge = 1 if off > 0 else -1
            anchor_frame, anchor_us = self._anchor
            # One frame period exactly, as _on_grid counts it: move the anchor's frame.
            self._anchor = (anchor_frame - nudge, anchor_us)
            moved = self._on_grid(frame) - on_grid
            self._errors = deque((e - moved for e in self._errors), maxlen=WINDOW)
            self._nudged_us += moved
            return GridStep(on_grid + moved, nudge=nudge)
        return GridStep(on_grid)

    def _off_line(self, at_us: int, edge: int) -> float:
        """Return how far off the map is: the edge, or (`line`, fitted) the line's error now."""
        if self._line is None:
            return edge
        # Each nudge moved the map by what it moved: add it back, and the line is the raw drift.
        self._line.observe(at_us, edge + self._nudged_us)
        if not self._fitted():
            return edge
        return self._line.predict(at_us) - self._nudged_us

    def _fitted(self) -> bool:
        if self._line is None:
            return False
        ref, _drift, _slope = self._line.line()
        return ref - self._line.first_at() >= LINE_SPAN_US

    def _restart_line(self) -> None:
        if self._line is not None:
            self._line.reset()
        self._nudged_us = 0

    def predict(self, frame: int) -> GridStep | None:
        """Return where *frame* is heard on the map as it stands (None: not anchored yet)."""
        return None if self._anchor is None else GridStep(self._on_grid(frame))

    def _move(self, by_us: int) -> None:
        assert self._anchor is not None
        anchor_frame, anchor_us = self._anchor
        self._anchor = (anchor_frame, anchor_us + by_us)
        self._errors = deque((e - by_us for e in self._errors), maxlen=WINDOW)
        self._restart_line()  # a jump: the line's past readings are of another map

    def _on_grid(self, frame: int) -> int:
        assert self._anchor is not None
        anchor_frame, anchor_us = self._anchor
        return anchor_us + (frame - anchor_frame) * 1_000_000 // self._rate
