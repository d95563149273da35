"""A PulseAudio playback stream that Baton feeds itself: each frame placed at its instant.

The stream runs continuously while it is uncorked: the server asks for data (the write
callback, on libpulse's main-loop thread) and gets exactly what it asked for, rendered by a
`Renderer` (the timed sink) for the instants those frames will be heard, silence where there is
nothing to play. The instant of the next frame written comes from the server's own timing
report, asked for after every write (pa_stream_update_timing_info): the server says how many
bytes of the stream it had taken (read index) and how long its sink then still held before the
speaker (sink latency), and stamps when it measured; the next frame is heard at that stamp +
the sink latency + what was written beyond the read index. Not libpulse's interpolated
pa_stream_get_latency: its smoother places each report at an instant guessed from the round
trip (half of it, or the request's leg), so on a busy machine it strayed 0.3-0.8 ms from the
monitor's recording (bench, two streams, both cores busy), where the server's stamped reports
held to ±0.05 ms. pipewire-pulse's reports carry its graph's last cycle (once a quantum, ~43
ms) stamped when it replies, so they come late by up to that, by ms on a loaded machine; no
report comes early. Those measurements hold an affine frame -> instant map (the *grid*, on
their lower edge); the grid follows a sound card whose clock drifts from CLOCK_MONOTONIC a
frame at a time, and jumps only when its lower edge strays by more than RESYNC_US
(devices/_frame_grid.py) or after an underrun, so measurement noise never turns into a jump in
the music.

The stream is created corked when the player starts and uncorked (`wake`) when media is loaded
or resumed, so a pre-roll warms the whole path up (server, sink, a suspended card) before the
first sample is due: a transfer's first start is as exact as the later ones. It corks again
once nothing has been pending for IDLE_CORK_S, so an idle receiver lets the card sleep.

Locks: libpulse calls this object's callbacks with its main-loop lock held, and the callbacks
take the renderer's lock; so the renderer never calls in here while holding its own lock.
The connection itself (main loop, context, bounded waits) is devices/_pulse_context.py.
"""

from __future__ import annotations

import ctypes
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from devices import _libpulse as pa
from devices._frame_grid import FrameGrid, GridStep
from devices._pulse_context import PulseContext
from devices.errors import AudioOutputError

_LOGGER = logging.getLogger(__name__)

# The server is asked to keep this much queued (the stream's buffer plus the sink's own: with
# ADJUST_LATENCY the server splits it), and to ask for more in steps of MINREQ_US. Shorter
# means a fade or gate set later still reaches the samples; longer survives longer stalls of
# this process (the GIL, a busy 2-core machine): at 30 ms, runs on a machine at load 4 had the
# server run dry now and then, a dropout each time; at 50 ms, at load 8-10 during the whole
# test suite, still a few (a 13 ms dropout as a target started). Simulated stalls of 45 ms in
# 2 % of the writes ran PulseAudio dry 20 times in 8 s at 80 ms, twice at 120 ms, never at
# 150 ms (PipeWire's pulse layer, which pulls in quanta of ~40% of this: twice).
TLENGTH_US = 150_000
MINREQ_US = 10_000
# Added to every libVLC timestamp: the instant a sample is heard is its pts plus this. It must
# exceed what the server holds plus the time the write callback may be late, or a block that
# arrives just in time for its pts would be too late to render (measured: after a resume
# libVLC hands the first block over only ~8 ms before its pts, the next ones up to 200 ms
# ahead). Raised at connect if the server grants a longer buffer.
MIN_DELAY_US = 175_000
DELAY_MARGIN_US = 25_000
IDLE_CORK_S = 3.0


# How old a timing report may be when read (they come within tens of ms, even late-stamped on
# PipeWire): its stamp is the server's wall clock, so an age outside this says the wall clock
# stepped in between (NTP, a user setting the time) and the report cannot be placed on
# CLOCK_MONOTONIC. A smaller step lets one report through off by the step, which the grid's
# lower edge (devices/_frame_grid.py) ignores: it moves only when two reports agree.
REPORT_MAX_AGE_US = 500_000
REPORT_EARLY_US = 5_000  # a stamp this much ahead of now is still the same clock's jitter


def report_instant(
    stamp_us: int, wall_now_us: int, device_now_us: int, heard_us: int
) -> int | None:
    """Return the CLOCK_MONOTONIC instant a report stamped *stamp_us* (wall clock) says is
    *heard_us* after its stamp, given both clocks read now; None when the report's age says the
    wall clock stepped since the stamp (the report is dropped; the grid keeps its last place)."""
    age = wall_now_us - stamp_us
    if not -REPORT_EARLY_US <= age <= REPORT_MAX_AGE_US:
        return None
    return device_now_us - age + heard_us


class Renderer(Protocol):
    """What fills the stream: the timed sink in pull mode."""

    late_frames: int  # frames that came too late for their instant (reported at close)

    def render(
        self, start_frame: int, start_us: int, frames: int, nudge: int = 0
    ) -> tuple[bytes, bool, bool]:
        """Return *frames* frames heard from *start_us* (frame *start_frame* of the stream),
        whether they hold any media, and whether more media is queued to come. *nudge*: the
        grid moved one frame later (+1: drop a frame) or earlier (-1: repeat one; either at
        a zero crossing)."""
        ...


@dataclass(frozen=True)
class StreamFormat:
    """The stream's sample format: s16 little-endian at `rate`, `channels` interleaved."""

    rate: int
    channels: int

    @property
    def frame_bytes(self) -> int:
        """Return the size of one frame in bytes."""
        return 2 * self.channels

    def bytes_for(self, us: int) -> int:
        """Return the byte count of *us* of audio, a whole number of frames."""
        return us * self.rate // 1_000_000 * self.frame_bytes


class PulseStream:
    """One playback stream on a PulseAudio (or pipewire-pulse) server, fed by a Renderer."""

    def __init__(
        self,
        fmt: StreamFormat,
        *,
        server: str | None = None,
        sink: str | None = None,
        name: str = "Baton",
        on_failure: Callable[[str], None] = lambda _why: None,
        clock: Callable[[], int] = lambda: time.monotonic_ns() // 1000,
    ) -> None:
        self.format = fmt
        self._server = server
        self._sink = sink
        self._name = name
        self._on_failure = on_failure
        self._clock = clock
        self._connection: PulseContext | None = None
        self._lib: Any = None
        self._stream: Any = None
        self._renderer: Renderer | None = None
        self._corked = True
        self._failed = False
        self._ready = False  # the stream opened: a failure from now on is news to report
        self._grid = FrameGrid(fmt.rate)  # which instant each frame written is heard at
        self.on_pipewire = False  # the server is PipeWire's pulse layer (known once open)
        self._quiet = True  # the last request held no media: the grid may move unheard
        # Timing reports: one asked for at a time; only one asked for since the stream last
        # stood still or ran dry (`_epoch`) is a measurement of the stream as it runs now.
        self._epoch = 0
        self._asked_in: int | None = None  # the epoch of the report on its way
        self._fresh = False  # a report of this epoch arrived and was not used yet
        self._frames = 0  # frames written since the stream was created
        self._idle_since: int | None = None
        self.delay_us = MIN_DELAY_US
        self.underflows = 0
        self._render_failed = False
        # Kept referenced: ctypes frees a callback's trampoline with its Python object.
        self._callbacks = (
            pa.StreamNotify(self._on_stream_state),
            pa.StreamRequest(self._on_request),
            pa.StreamNotify(self._on_underflow),
            pa.StreamSuccess(lambda _s, _ok, _u: None),
            pa.StreamSuccess(self._on_timing),
        )

    # ------------------------------------------------------------ any thread but libpulse's

    def open(self, renderer: Renderer) -> None:
        """Connect to the server and create the stream, corked; raise AudioOutputError."""
        self._renderer = renderer
        connection = self._connection = PulseContext(self._server, self._fail)
        connection.connect()
        self._lib = connection.lib
        # PipeWire's pulse layer's reports wander by ms within seconds: a line through them
        # would chase that (devices/_frame_grid.py); PulseAudio's are stamped to ±0.05 ms.
        self.on_pipewire = "PipeWire" in connection.server_name()
        self._grid = FrameGrid(self.format.rate, line=not self.on_pipewire)
        with connection.locked():
            self._connect_stream(connection)

    def wake(self) -> None:
        """Uncork the stream (media is coming); reconnect first if the server went away."""
        if self._failed and self._renderer is not None:
            self._reconnect(self._renderer)
        if self._stream is None or not self._corked or self._failed:
            return
        assert self._connection is not None
        with self._connection.locked():
            self._set_corked(False)

    def _reconnect(self, renderer: Renderer) -> None:
        """Open a new connection and stream (the server restarted); log if it still fails."""
        delay = self.delay_us
        self.close()
        self._failed, self._corked = False, True
        self._grid.reset()
        try:
            self.open(renderer)
        except AudioOutputError as exc:
            _LOGGER.warning("pulse output: still no sound server: %s", exc)
            self._failed = True
            self.close()
            return
        _LOGGER.info("pulse output: reconnected to the sound server")
        if self.delay_us > delay:
            # The sink keeps the delay it started with (every queued instant depends on it).
            _LOGGER.warning(
                "pulse output: the server now buffers more than before; restart the receiver"
            )
        self.delay_us = delay

    def close(self) -> None:
        """Disconnect and free everything; idempotent."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._stream is not None:
            _LOGGER.info(
                "pulse output: closing after %d underflows, %d re-anchors, %d one-frame "
                "corrections, %d frames too late",
                self.underflows, self._grid.resyncs, self._grid.nudges,
                self._renderer.late_frames if self._renderer is not None else 0,
            )  # fmt: skip
        connection.close(before=self._drop_stream)

    # ------------------------------------------------------------ set-up (main-loop lock held)

    def _drop_stream(self) -> None:
        lib, stream, self._stream = self._lib, self._stream, None
        self._ready = False
        if stream:
            lib.pa_stream_set_write_callback(stream, pa.StreamRequest(), None)
            lib.pa_stream_set_state_callback(stream, pa.StreamNotify(), None)
            lib.pa_stream_disconnect(stream)
            lib.pa_stream_unref(stream)

    def _connect_stream(self, connection: PulseContext) -> None:
        lib, fmt = self._lib, self.format
        spec = pa.SampleSpec(pa.SAMPLE_S16LE, fmt.rate, fmt.channels)
        props = lib.pa_proplist_new()
        lib.pa_proplist_sets(props, b"media.role", b"music")
        lib.pa_proplist_sets(props, b"media.name", self._name.encode())
        self._stream = lib.pa_stream_new_with_proplist(
            connection.context, self._name.encode(), ctypes.byref(spec), None, props
        )
        lib.pa_proplist_free(props)
        if not self._stream:
            raise AudioOutputError(f"pulse output: {connection.error()}")
        lib.pa_stream_set_state_callback(self._stream, self._callbacks[0], None)
        lib.pa_stream_set_write_callback(self._stream, self._callbacks[1], None)
        lib.pa_stream_set_underflow_callback(self._stream, self._callbacks[2], None)
        self._asked_in, self._fresh = None, False  # a report asked of a former stream is moot
        unset = 0xFFFFFFFF
        # prebuf 0: the server never waits to fill up; we decide when audio starts (the grid).
        attr = pa.BufferAttr(unset, fmt.bytes_for(TLENGTH_US), 0, fmt.bytes_for(MINREQ_US), unset)
        # No STREAM_AUTO_TIMING_UPDATE nor STREAM_INTERPOLATE_TIMING: the reports are asked
        # for here, each known to be from after the last cork or underrun (`_ask_timing`).
        flags = pa.STREAM_START_CORKED | pa.STREAM_ADJUST_LATENCY
        sink = self._sink.encode() if self._sink else None
        # No volume: the stream plays at whatever the user's mixer keeps for it; Baton's own
        # volume and fades are in the samples (devices/_timed_sink.py).
        attr_ref = ctypes.byref(attr)
        if lib.pa_stream_connect_playback(self._stream, sink, attr_ref, flags, None, None):
            raise AudioOutputError(f"pulse output: {connection.error()}")
        connection.wait_until(
            lambda: lib.pa_stream_get_state(self._stream),
            pa.STREAM_READY,
            (pa.STREAM_FAILED, pa.STREAM_TERMINATED),
            f"opening a playback stream on {self._sink or 'the default sink'}",
        )
        self._ready = True
        granted = lib.pa_stream_get_buffer_attr(self._stream).contents
        granted_us = granted.tlength * 1_000_000 // (fmt.rate * fmt.frame_bytes)
        self.delay_us = max(MIN_DELAY_US, max(TLENGTH_US, granted_us) + DELAY_MARGIN_US)
        _LOGGER.info(
            "pulse output: stream ready (server buffer %d ms, samples heard %d ms after their "
            "libVLC timestamp)", granted_us // 1000, self.delay_us // 1000,
        )  # fmt: skip

    def _set_corked(self, corked: bool) -> None:
        self._corked = corked
        self._grid.reset()  # the stream's time stood still: measure afresh
        self._epoch += 1  # a report asked for before this measured the stream as it was
        self._idle_since = None
        op = self._lib.pa_stream_cork(self._stream, int(corked), self._callbacks[3], None)
        if op:
            self._lib.pa_operation_unref(op)
        _LOGGER.debug("pulse output: %s", "corked" if corked else "running")

    # ------------------------------------------------------------ libpulse's main-loop thread

    def _on_stream_state(self, _stream: Any, _userdata: Any) -> None:
        connection = self._connection
        if connection is None:
            return
        if self._stream and self._lib.pa_stream_get_state(self._stream) in (
            pa.STREAM_FAILED,
            pa.STREAM_TERMINATED,
        ):
            self._fail(f"the playback stream ended: {connection.error()}")
        connection.signal()

    def _fail(self, why: str) -> None:
        # Before the stream is ready, open() is waiting for it and raises the failure itself.
        if not self._failed and self._stream is not None and self._ready:
            self._failed = True
            _LOGGER.warning("pulse output: %s", why)
            self._on_failure(why)

    def _on_underflow(self, _stream: Any, _userdata: Any) -> None:
        # The server ran dry: this process did not answer in time (a stall longer than the
        # server's buffer). Audible as a dropout; the grid is re-measured on the next write.
        self.underflows += 1
        self._grid.reset()  # the write index fell behind the playback: measure afresh
        self._epoch += 1
        if not self._corked:
            log = _LOGGER.warning if self.underflows == 1 else _LOGGER.debug
            log("pulse output: the server ran out of audio (%d times so far)", self.underflows)

    def _on_request(self, stream: Any, nbytes: int, _userdata: Any) -> None:
        fmt = self.format
        frames = nbytes // fmt.frame_bytes
        if frames <= 0 or self._renderer is None:
            return
        silence = bytes(frames * fmt.frame_bytes)
        step = None if self._corked else self._next_instant()
        if step is None:
            # Corked, or no timing yet: silence keeps the request answered, and no media is
            # consumed against instants that mean nothing.
            data, laid, more = silence, False, True
        else:
            try:
                data, laid, more = self._renderer.render(
                    self._frames, step.instant_us, frames, step.nudge
                )
            except Exception:
                # ctypes would print and drop it, and the request would go unanswered: the
                # stream would fall silent for good. Say it once; answer with silence.
                if not self._render_failed:
                    _LOGGER.exception("pulse output: rendering failed; playing silence")
                self._render_failed = True
                data, laid, more = silence, False, True
        self._quiet = not laid
        self._lib.pa_stream_write(stream, data, len(data), None, 0, pa.SEEK_RELATIVE)
        self._frames += frames
        self._cork_when_idle(more)
        if not self._corked:
            self._ask_timing()

    def _next_instant(self) -> GridStep | None:
        """Return where the next frame written will be heard, on the grid (None: not known)."""
        measured = self._measured_instant()
        if measured is None:
            return self._grid.predict(self._frames)
        step = self._grid.instant(self._frames, measured, quiet=self._quiet)
        if step.moved_us and not self._quiet:
            _LOGGER.info("pulse output: %+.1f ms off the grid, re-anchored", step.moved_us / 1000)
        return step

    def _measured_instant(self) -> int | None:
        """Return where the server's latest report places the next frame written, once per
        report of the current epoch (None: no new one)."""
        if not self._fresh:
            return None
        self._fresh = False
        info = self._lib.pa_stream_get_timing_info(self._stream)
        if not info:
            return None
        timing = info.contents
        if timing.read_index_corrupt:
            return None
        stamp = int(timing.timestamp.sec) * 1_000_000 + int(timing.timestamp.usec)
        fmt = self.format
        queued = self._frames * fmt.frame_bytes - int(timing.read_index)
        heard = int(timing.sink_usec) + queued * 1_000_000 // (fmt.rate * fmt.frame_bytes)
        return report_instant(stamp, time.time_ns() // 1000, self._clock(), heard)

    def _ask_timing(self) -> None:
        """Ask the server for a timing report, unless one is on its way."""
        if self._asked_in is not None:
            return
        op = self._lib.pa_stream_update_timing_info(self._stream, self._callbacks[4], None)
        if op:
            self._lib.pa_operation_unref(op)
            self._asked_in = self._epoch

    def _on_timing(self, _stream: Any, success: int, _userdata: Any) -> None:
        asked_in, self._asked_in = self._asked_in, None
        if success and asked_in == self._epoch:
            self._fresh = True

    def _cork_when_idle(self, more: bool) -> None:
        if self._corked:
            return
        if more:
            self._idle_since = None
            return
        now = self._clock()
        if self._idle_since is None:
            self._idle_since = now
        elif now - self._idle_since > IDLE_CORK_S * 1_000_000:
            self._set_corked(True)
