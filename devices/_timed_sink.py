"""Baton as the sound card: libVLC's audio callbacks hand over timed blocks, and each sample is
presented at its instant with Baton's gain (volume, gates, fades: devices/_envelope.py).

libVLC 3's audio callbacks (the amem module) hand over each decoded block ahead of time with its
presentation timestamp `pts`, in µs of libVLC's mdate(), which on Linux is CLOCK_MONOTONIC: the
same clock as `time.monotonic_ns() // 1000`, Baton's device clock (proved in
tests/integration/devices/test_capture.py). Blocks arrive up to ~200 ms before their pts
(measured: 50 ms blocks, the lead grows to 200 ms and stays there). The sink queues them, as a
sound card would, and presents each sample at its instant: a pause (libVLC's pause callback,
with the pause instant) keeps the not-yet-presented tail queued and shifts it by the pause's
length at resume, exactly as libVLC expects of a device, and a flush (stop, seek) drops it.

Two ways to present, one machine:
* push (`recorder` given: the capture output, devices/_capture.py): a sample is presented once
  its instant has passed, checked at each libVLC call, and handed to the recorder. Nothing is
  played; the recording says what a device would have played, and when.
* pull (a real sound server, devices/_pulse_stream.py): the server's stream asks `render` for
  the frames it will play at given instants, a little ahead of time. Every sample is heard at
  its pts plus `delay_us`, a fixed delay longer than the server's own buffer, so a block that
  libVLC delivers just in time for its pts is still in time for the server. The gain is applied
  when a frame is rendered, before it leaves the process: no sample is ever louder than the
  volume, from the very first one, whatever the server does with volumes.

Every instant below (queued blocks, pause, edges, envelopes) is a *heard* instant: pts plus
`delay_us` (0 in push mode).

`on_queued` hears of a stream's first block after a stop or flush, with the instant its first
sample will be heard: libVLC's Playing event comes ~60 ms before that on a live stream (its
network caching and decoder), so a live stream joined gated knows from when it can be heard.

A timed start (`align_next`) lands its first sample on the instant asked, in both modes.
libVLC stamps a resume's first block a varying time after the call (measured through
PulseAudio: from 2 ms early, the margin the player asks for, to 3-50 ms late on a loaded
machine, 122 ms once), a pre-roll's later still by its decoder's first output (measured on
capture: the first block is handed over at the call, but stamped ~10 ms after it plus a FLAC
block, 4608 frames or 104 ms; two MP3 frames, 52 ms; an AAC frame, 23 ms; nothing for WAV, Opus,
Vorbis). Laid at its pts, a start would be that much late: a transfer's target, whose start lead
is 30 ms, left a gap where a crossfade's overlap is planned. But the block is in hand long
before: in pull mode ~180 ms before it is heard, while the server renders less far ahead than
that (its buffer, 150 ms at most); in push mode at the call, before the instant. So the stretch
is moved to start at that instant, or at the first instant not rendered yet (push mode: now),
with every later block of libVLC's timeline until a stop or flush.
"""

from __future__ import annotations

import array
import ctypes
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from devices._drift import respace
from devices._envelope import (
    FOREVER,
    RATE,
    Envelope,
    Envelopes,
    apply_gain,
    frames_before,
    now_us,
    pieces,
    sample_instant,
)

_LOGGER = logging.getLogger(__name__)

SAMPLE_FORMAT = "S16N"
_MAX_HISTORY = 16  # envelope versions kept: a 200 ms ramp makes 20, all but the last few moot
_HALF_FRAME_US = 500_000 // RATE  # a sample's instant is its nearest frame's, to this
_ALIGN_GUARD_US = 2_000  # an aligned stretch starts at least this far past what was rendered
_REST_MARGIN_US = 50_000  # a drain waits for a next track until the queue is this near its end
_DRAIN_STEP_S = 0.005
_RESTAMP_US = 12_000  # a copy's block stamped this near the queue's end follows it exactly
_REST_BLOCK = 1_024  # frames per block of a copy's rest queued at a drain (libVLC's AAC size)
_ALIGN_MAX_US = 200_000  # a start further off is not moved (a stall, not libVLC's start latency)
_RESPACE_MIN = 64  # frames (1.5 ms): a piece this long or longer takes a frame owed to the grid


@dataclass(frozen=True)
class SinkEdge:
    """The output started (`started`) or stopped presenting audio at `at_us`."""

    started: bool
    at_us: int
    first_sample_us: int  # on a start: the first sample presented since the resume (gated or not)
    moved_us: int = 0  # on a start: how far `align_next` moved the stretch (first sample - pts)


class Recorder(Protocol):
    """Where push mode hands each presented stretch (the capture files)."""

    def write(self, start_us: int, samples: array.array[int]) -> None:
        """Take *samples*, presented from *start_us*."""
        ...

    def close(self) -> None:
        """Finish; idempotent."""
        ...


class Content(Protocol):
    """What a sink presents instead of libVLC's samples (devices/_decoded_copy.py)."""

    def take(self, frames: int, at_us: int, *, fresh: bool = True) -> array.array[int]:
        """Return the next *frames* frames of content, heard from *at_us* (*fresh*: libVLC's
        new block, not one refilled)."""
        ...

    def at_flush(self) -> None:
        """libVLC flushed (a seek, a stop)."""
        ...

    def held(self, from_us: int, shift_us: int) -> None:
        """What was to be heard from *from_us* on is heard *shift_us* later (a pause)."""
        ...

    def left(self) -> int | None:
        """Return the frames not taken yet, once known (None: not known, or ended)."""
        ...

    @property
    def continued(self) -> bool:
        """Return whether a next track waits to follow (gapless)."""
        ...

    @property
    def crossed(self) -> bool:
        """Return whether the content went on into the next track."""
        ...


Stretch = tuple[int, "array.array[int]"]  # (instant of its first frame, interleaved samples)


class TimedSink:
    """Receives libVLC's audio callbacks and presents each sample at its instant, with gain."""

    # Threads: libVLC calls the callbacks on its audio thread (one per player), the libVLC worker
    # thread pauses, resumes and closes, the event loop sets envelopes, and in pull mode the
    # sound server's thread renders. `_lock` guards the queue and what is presented; envelope
    # writers only swap `_envelopes`, an immutable tuple (serialised on `_envelope_lock`).

    def __init__(
        self,
        notify: Callable[[SinkEdge], None],
        *,
        on_queued: Callable[[int], None] | None = None,
        channels: int = 1,
        recorder: Recorder | None = None,
        delay_us: int = 0,
        clock: Callable[[], int] = now_us,  # tests pass a fake device clock
    ) -> None:
        self.channels = channels
        self.delay_us = delay_us  # set once, before the first block
        self._recorder = recorder
        self._notify = notify
        self._on_queued = on_queued
        self._clock = clock
        self._lock = threading.Lock()
        self._envelope_lock = threading.Lock()
        self._envelopes: Envelopes = ((0, Envelope()),)
        self._pending: deque[Stretch] = deque()
        self._paused_at: int | None = None  # where the held queue starts (heard instant)
        self._pause_lag = 0  # push mode: how far that is after libVLC's pause instant, moved
        self._audible = False
        self._stretch_first: int | None = None  # first sample presented since a start/resume
        self._last_end = 0  # the instant just after the last presented sample
        self._first_block_due = True  # no block queued since the last stop or flush
        self._closed = False
        self._callbacks: tuple[Any, ...] = ()
        # Pull mode: where the last rendered stretch ended (instant, stream frame), so the next
        # one continues it to the frame.
        self._laid: tuple[int, int] | None = None
        # Frames the media playing on owes the grid's nudges (+ repeat, - drop), laid at the
        # quietest frame of the next piece long enough to have one (devices/_drift.py).
        self._owed = 0
        self.respaced = 0  # pull mode: frames so dropped or repeated, in all
        self._rendered_to = 0  # pull mode: the instant after the last frame rendered
        self._align_to: int | None = None  # where the next stretch's first sample goes
        self._shift_us = 0  # added to libVLC's instants since an aligned start (to a flush)
        self._moved = 0  # what the last alignment moved, reported with the start's edge
        # Gapless: libVLC moves to the next track's stream while the queue plays on
        # (`carry_over`); its first block follows the queue's last sample.
        self._carrying = False
        self._continue = False
        # Restamped blocks: what truncating each block's end to the µs lost (µs × RATE), and
        # the frames of the block last queued (whose end the next one is stamped at).
        self._carry = 0
        self._last_frames = 0
        self.late_frames = 0  # pull mode: frames that came too late for their instant
        # The samples to present in place of libVLC's (libVLC's blocks keep their timing):
        # a track's decoded copy, read by sample count, so positions are exact in any format.
        self.content: Content | None = None

    @property
    def output_error_us(self) -> float | None:
        """Return how late (µs, + late) the output's last block reached its converter, if the
        recorder measures it (the capture output's drift stage); None otherwise."""
        error = getattr(self._recorder, "error_us", None)  # not every Recorder measures it
        return error if isinstance(error, float) else None

    @property
    def pull(self) -> bool:
        """Return whether a sound server pulls the samples (no recorder)."""
        return self._recorder is None

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
        player.audio_set_format(SAMPLE_FORMAT, RATE, self.channels)

    def pause(self, at_us: int) -> None:
        """Hold what is queued from *at_us* (libVLC's clock) on, until resume; once only."""
        # Called by libVLC's pause callback and by the backend right after set_pause(1): libVLC
        # 3 sometimes skips the callback (seen once in a few dozen pauses of a pre-rolled start,
        # in bench/player.py; its decoder skips it when it believes it is paused already), yet
        # still stamps the later blocks as if the device had held its queue.
        with self._lock:
            if self._paused_at is not None or self._closed:
                return
            paused = at_us + self.delay_us + self._shift_us
            # Push mode: a stretch moved earlier (align_next) is ahead of libVLC's timeline,
            # so libVLC's instant is past on it; what has played by then has played. The hold
            # starts at libVLC's instant, and the resume counts the pause from its own.
            self._pause_lag = 0 if self.pull else max(0, -self._shift_us)
            self._paused_at = paused + self._pause_lag
            if not self.pull:
                self._record(self._cut(self._paused_at))

    def resume(self, at_us: int) -> None:
        """Play on what was held, shifted by the pause's length; ignored unless paused."""
        with self._lock:
            if self._paused_at is None:
                return
            # A device holds what it had queued and plays it on after the pause: libVLC
            # stamps the next blocks on that assumption.
            paused = self._paused_at - self._pause_lag
            shift = max(0, at_us + self.delay_us + self._shift_us - paused)
            self._pending = deque((at + shift, block) for at, block in self._pending)
            if self.content is not None:  # what it took for the held blocks moves with them
                self.content.held(self._paused_at, shift)
            self._paused_at = None
            self._pause_lag = 0
            self._align()

    def carry_over(self, carrying: bool) -> None:
        """Keep the queue through libVLC's stop (*carrying*), then have the next stream's first
        block heard right after its last sample (gapless, devices/_decoded_copy.py)."""
        with self._lock:
            self._carrying = carrying
            self._continue = True

    def end_stream(self) -> None:
        """Forget a pause: libVLC stopped the stream (it never resumes a stopped one)."""
        with self._lock:
            if self._carrying:
                return
            self._drop_queue()
            self._paused_at = None
            self._align_to = None

    def align_next(self, at_us: int | None) -> None:
        """Have the next stretch's first sample heard at *at_us* (None: at its pts)."""
        with self._lock:
            self._align_to = at_us

    def close(self) -> None:
        """Present what is due, drop the rest, close the recorder; after libVLC's player is gone."""
        with self._lock:
            if self._closed:
                return
            if not self.pull:
                self._record(self._cut(self._clock()))
            self._closed = True
            if self._recorder is not None:
                self._recorder.close()

    def refill(self, move: Callable[[], bool]) -> tuple[bool, int | None]:
        """Move the content (a seek in a decoded copy: *move* says whether it could) and take
        what is queued anew from it, after presenting what is due, in one step for libVLC's
        audio thread; return whether it moved and when the first new sample is heard."""
        with self._lock:
            if not self.pull:
                self._record(self._cut(self._clock()))
            content = self.content
            if content is None or not move():
                return False, None
            if not self._pending:
                return True, None
            frames = [(at, len(block) // self.channels) for at, block in self._pending]
            self._pending = deque((at, content.take(n, at, fresh=False)) for at, n in frames)
            return True, frames[0][0]

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

    # ------------------------------------------------------------ the sound server's thread

    def render(
        self, start_frame: int, start_us: int, frames: int, nudge: int = 0
    ) -> tuple[bytes, bool, bool]:
        """Pull mode: return *frames* frames heard from *start_us* (stream frame *start_frame*),
        silence where nothing is due; whether they hold media; whether more is queued.

        *nudge*: the stream's grid moved one frame later (+1) or earlier (-1) since the last
        request (its clock drifts from the device clock): the media playing on then drops
        (+1) or repeats (-1) one frame at the quietest frame of what it lays next.
        """
        channels = self.channels
        out = array.array("h", bytes(2 * frames * channels))
        with self._lock:
            if self._closed:
                return out.tobytes(), False, False
            end, pos = start_frame + frames, start_frame
            while self._pending and pos < end:
                at, block = self._pending[0]
                if self._paused_at is not None and frames_before(at, self._paused_at) <= 0:
                    break  # held from the pause on, however far the stream renders meanwhile
                frame, continues = self._frame_of(at, start_frame, start_us)
                if not continues:
                    self._owed = 0  # laid by its instant on the grid as it stands: nothing owed
                elif nudge:
                    self._owed -= nudge  # the grid moved by a frame: the media follows, once
                    nudge = 0
                if frame >= end:
                    break
                if frame < pos:  # its instant has passed (or it overlaps what was laid)
                    self._drop_head(pos - frame)
                    continue
                taken, samples = self._lay(at, block, end - frame, continues)
                if taken <= 0:
                    break
                offset = (frame - start_frame) * channels
                out[offset : offset + len(samples)] = samples
                count = len(samples) // channels
                self._laid = (sample_instant(at, taken), frame + count)
                pos = frame + count
            self._rendered_to = sample_instant(start_us, frames)
            paused = self._paused_at
            if paused is not None and sample_instant(start_us, frames) >= paused:
                self._stop_stretch(self._last_end)
            more = bool(self._pending) and paused is None
        return out.tobytes(), pos > start_frame, more

    def _lay(
        self, at: int, block: array.array[int], room: int, continues: bool
    ) -> tuple[int, array.array[int]]:
        """Take frames of the head block (at *at*) for at most *room* frames of the stream;
        return how many were taken and what to lay, a frame owed dropped or repeated in it."""
        channels = self.channels
        held = len(block) // channels
        if self._paused_at is not None:
            held = min(held, frames_before(at, self._paused_at))
        steps = max(-1, min(1, self._owed)) if continues else 0
        count = min(held, room - steps)
        if count < _RESPACE_MIN:  # too short to hold a zero crossing: a later piece will
            steps, count = 0, min(held, room)
        if count <= 0:
            return 0, array.array("h")
        _at, samples = self._present(at, self._take_head(count))
        if steps:
            samples = respace(samples, channels, steps)
            self._owed -= steps
            self.respaced += 1
        return count, samples

    def _frame_of(self, at: int, start_frame: int, start_us: int) -> tuple[int, bool]:
        """Return the stream frame a queued stretch starting at *at* begins on, and whether it
        continues the stretch laid last."""
        frame = start_frame + round((at - start_us) * RATE / 1_000_000)
        if self._laid is not None:
            end_at, end_frame = self._laid
            # The same stream of samples, its µs-rounded instant a frame off at most: continue
            # it to the frame, or rounding would drop or repeat a sample at block boundaries.
            if abs(at - end_at) <= 2 * _HALF_FRAME_US and abs(frame - end_frame) <= 1:
                return end_frame, True
        return frame, False

    # ------------------------------------------------------------ libVLC's audio thread

    def _on_play(self, _data: Any, samples: int, count: int, pts: int) -> None:
        # libVLC's buffer lives for this call only: copy it out.
        block: array.array[int] = array.array("h")
        if self.content is None:
            block.frombytes(ctypes.string_at(samples, count * 2 * self.channels))
        with self._lock:
            if self._closed:
                return
            if self._continue and not self._carrying:
                # The next track's stream goes on where the queue ends: no gap, no overlap.
                self._continue = False
                end = self._pending_end()
                self._shift_us = (end if end is not None else self._last_end) - pts - self.delay_us
            at = pts + self.delay_us + self._shift_us
            content = self.content
            if content is not None and not self._first_block_due:
                # A copy's blocks are consecutive content: libVLC's Ogg pacing restamps some
                # ±10 ms, which would leave a hole and an overlap; they go on the timeline.
                end = self._timeline_end()
                if abs(at - end) <= _RESTAMP_US:
                    # Each end is truncated to the µs (0.95 µs a 1 024-frame block: the chain
                    # would run 41 ppm ahead of libVLC's clock and snap back 12 ms every 5
                    # minutes): carry what that loses, so the timeline keeps the true pace.
                    self._carry += self._last_frames * 1_000_000 % RATE
                    at = end + self._carry // RATE
                    self._carry %= RATE
                else:
                    self._carry = 0
            if content is not None:
                # Under the lock: a seek moves the content and refills the queue as one step.
                # Taken for where the block is heard once aligned: a decoded copy skips what a
                # late start missed, so the copy's skip and the alignment never add up.
                block = content.take(count, self._alignment(at) or at)
            if not self.pull:
                # Whole blocks only: a timeline line per block, split only by a pause or a flush.
                self._record(self._cut(self._clock(), whole=True))
            self._pending.append((at, block))
            self._last_frames = len(block) // self.channels
            self._align()
            if self._first_block_due:
                self._first_block_due = False
                if self._on_queued is not None:
                    self._on_queued(self._pending[0][0])

    def _on_pause(self, _data: Any, pts: int) -> None:
        self.pause(min(pts, self._clock()) if pts > 0 else self._clock())

    def _on_resume(self, _data: Any, pts: int) -> None:
        self.resume(pts if pts > 0 else self._clock())

    def _on_flush(self, _data: Any, _pts: int) -> None:
        # Stop or seek: what was not presented yet never will be.
        content = self.content
        if content is not None:
            content.at_flush()
        with self._lock:
            if not self._carrying:
                self._drop_queue()

    def _on_drain(self, _data: Any) -> None:
        # End of the media: libVLC waits here until the queued audio has played out, as it
        # would for a sound card, so EndReached comes when the last sample is heard. Its events
        # wait too, so what is due is presented meanwhile (push mode: the start's edge).
        content = self.content
        rest_queued = content is None
        while True:
            with self._lock:
                if self._closed:
                    return
                if not self.pull:
                    self._record(self._cut(self._clock(), whole=True))
                left_us = self._timeline_end() - self._clock()
            # A sound server renders ahead of what is heard: the rest goes in before it runs dry.
            near_end = left_us < self.delay_us + _REST_MARGIN_US
            if not rest_queued and content is not None and (content.continued or near_end):
                rest_queued = True
                self._queue_rest(content)
                if content.crossed:
                    return  # the next track plays on in this queue: libVLC moves to its stream
                continue
            if left_us <= 0:
                break
            time.sleep(min(_DRAIN_STEP_S, left_us / 1_000_000))
        with self._lock:
            if not self.pull:
                self._record(self._cut(FOREVER))
            if not self._pending:  # pull: the server has rendered it all by now
                self._stop_stretch(self._last_end)

    def _queue_rest(self, content: Content) -> None:
        """Queue what *content* holds past libVLC's stream, and the next track's start."""
        # libVLC's stream can end before the track's copy (its decoders drop a start ffmpeg
        # keeps), and it hands a short track over far ahead: the copy still plays to its last
        # sample, followed by the next track if one is set by then.
        while not content.crossed:
            left = content.left()
            if left is None:
                return
            with self._lock:
                if self._closed:
                    return
                at = self._timeline_end()
                # One frame past the end: the content ends there, or the next track goes on.
                block = content.take(min(_REST_BLOCK, left + 1), at)
                if left < _REST_BLOCK and not content.crossed:
                    block = block[: left * self.channels]  # the frame past the end is silence
                if block:
                    self._pending.append((at, block))
                    self._last_frames = len(block) // self.channels
            if left < _REST_BLOCK:
                return

    # ------------------------------------------------------------ under _lock

    def _drop_queue(self) -> None:
        """Present what is due (push mode), drop the rest, and end the stretch."""
        if not self.pull:
            self._record(self._cut(self._clock()))
        self._pending.clear()
        self._first_block_due = True
        self._continue = False  # a stop: the next stream starts anew, not where this one ended
        if self._paused_at is not None:
            # The pause, on the timeline libVLC goes on with (nothing held is ahead of it now).
            self._paused_at -= self._pause_lag + self._shift_us
            self._pause_lag = 0
        self._shift_us = self._moved = 0  # libVLC's next blocks are on a new timeline
        self._stop_stretch(self._last_end)

    def _alignment(self, first_us: int) -> int | None:
        """Return where a stretch whose first sample is at *first_us* goes, or None: no
        alignment asked, paused, resumed before the pause was heard (the stretch goes on), or
        a stall (too far off)."""
        if self._align_to is None or self._paused_at is not None:
            return None
        if self._pending and self._pending[0][0] != first_us:
            return None  # not the stretch's first block
        # Not before what a server has rendered already, nor, presented as time passes, now.
        floor = self._rendered_to + _ALIGN_GUARD_US if self.pull else self._clock()
        target = max(self._align_to, floor)
        if self._stretch_first is not None or abs(target - first_us) > _ALIGN_MAX_US:
            return None
        return target

    def _align(self) -> None:
        """Move the queued stretch onto the instant asked, once queued and not paused."""
        if self._align_to is None or not self._pending or self._paused_at is not None:
            return
        target = self._alignment(self._pending[0][0])
        self._align_to = None
        if target is None:
            return
        move = target - self._pending[0][0]
        self._pending = deque((at + move, block) for at, block in self._pending)
        self._shift_us += move
        self._moved = move

    def _record(self, stretches: list[Stretch]) -> None:
        if self._recorder is not None:
            for at, samples in stretches:
                self._recorder.write(at, samples)

    def _timeline_end(self) -> int:
        """Return the instant just after the last sample queued or presented."""
        end = self._pending_end()
        return end if end is not None else self._last_end

    def _pending_end(self) -> int | None:
        if not self._pending:
            return None
        at, block = self._pending[-1]
        return sample_instant(at, len(block) // self.channels)

    def _take_head(self, count: int) -> array.array[int]:
        """Remove and return the first *count* frames queued (all from the first block)."""
        at, block = self._pending[0]
        cut = count * self.channels
        if cut >= len(block):
            self._pending.popleft()
            return block
        self._pending[0] = (sample_instant(at, count), block[cut:])
        return block[:cut]

    def _drop_head(self, count: int) -> None:
        """Pull mode: drop up to *count* frames of the first block, too late for their instant."""
        dropped = self._take_head(min(count, len(self._pending[0][1]) // self.channels))
        self.late_frames += len(dropped) // self.channels

    def _cut(self, cut_us: int, *, whole: bool = False) -> list[Stretch]:
        """Present every queued frame before *cut_us* (and before a pause); return them gained.

        *whole*: only blocks ending by then.
        """
        out: list[Stretch] = []
        if self._closed:
            return out
        paused = self._paused_at
        limit = cut_us if paused is None else min(cut_us, paused)
        channels = self.channels
        while self._pending:
            at, block = self._pending[0]
            frames = len(block) // channels
            count = frames_before(at, limit)
            if count <= 0:
                break
            if count >= frames:
                self._pending.popleft()
                out.append(self._present(at, block))
                continue
            if whole:
                break
            self._pending[0] = (sample_instant(at, count), block[count * channels :])
            out.append(self._present(at, block[: count * channels]))
            break
        if paused is not None and cut_us >= paused:
            self._stop_stretch(self._last_end)
        return out

    def _present(self, start_us: int, block: array.array[int]) -> Stretch:
        if self._stretch_first is None:
            self._stretch_first = start_us
        channels = self.channels
        out = array.array("h")
        end_us = sample_instant(start_us, len(block) // channels)
        for piece_start, piece_end, envelope in pieces(self._envelopes, start_us, end_us):
            lo = frames_before(start_us, piece_start)
            hi = frames_before(start_us, piece_end)
            if hi <= lo:
                continue
            first = sample_instant(start_us, lo)
            self._track_edges(envelope, first)
            out.extend(apply_gain(block[lo * channels : hi * channels], envelope, first, channels))
        self._last_end = end_us
        return start_us, out

    def _track_edges(self, envelope: Envelope, start_us: int) -> None:
        # Within one piece the envelope is either open or closed throughout (its open and
        # close instants are piece boundaries).
        if envelope.is_open(start_us) and not self._audible:
            self._audible = True
            first = self._stretch_first if self._stretch_first is not None else start_us
            self._notify(SinkEdge(True, start_us, first, self._moved))
            self._moved = 0
        elif not envelope.is_open(start_us) and self._audible:
            self._audible = False
            self._notify(SinkEdge(False, start_us, 0))

    def _stop_stretch(self, at_us: int) -> None:
        self._stretch_first = None
        if self._audible:
            self._audible = False
            self._notify(SinkEdge(False, at_us, 0))
