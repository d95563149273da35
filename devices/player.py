"""The receiver's audio player: one libVLC media player, driven from asyncio.

Every libVLC call runs on one dedicated thread (`_vlc_thread.VLCThread`); libVLC's events and log
lines come back through `loop.call_soon_threadsafe` and are handled here, on the loop thread.
The owner hears about changes through a listener receiving frozen `PlayerEvent`s.

Position clock: libVLC's own time moves in coarse steps (a TimeChanged event every ~250-300 ms),
so the player keeps an anchor (content position, monotonic µs, playing) set at each action that
moves the position (load ready, play, pause, seek, end) from the instant the libVLC call returned,
and extrapolates at rate 1 between actions. Each TimeChanged is compared with the extrapolation at
the event's arrival; a difference over `CLOCK_RESYNC_MS` (a stall, a skipped buffer) re-anchors
on libVLC's value. On loopback libVLC's time leads the anchor by a steady ~40 ms (its input runs
one file-caching ahead of the output), well inside the threshold, so the clock never jitters.

Timed transitions (make-before-break transfer): `async_play_at` starts a pre-roll or a pause so
its first sample is heard at a device instant, `async_fade_out_at` fades out from one and then
pauses or stops; OutputStarted / OutputStopped report when the output really started and stopped.
On Baton-fed outputs (capture, pulse) these are sample-exact (devices/_timed_sink.py); elsewhere
they rest on the libVLC thread's timing and an assumed latency (devices/_output_timing.py says
how well).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Literal

from connect.media_urls import describe_url, is_media_url
from devices._envelope import FOREVER, Envelope
from devices._load import LoadProgress
from devices._output_timing import ASSUMED_LATENCY_US, EARLY_US, OutputEdges, StartKind
from devices._timed_sink import SinkEdge, TimedSink
from devices._vlc_backend import BackendEvent, EventSink, VLCBackend, now_us
from devices._vlc_log import FailureHint, error_from_hints
from devices._vlc_thread import VLCThread
from devices._volume import (
    RampClock,
    SystemRampClock,
    check_volume,
    ramp_steps,
    run_ramp,
    volume_gain,
)
from devices.audio_output import FILE_CACHING_MS, AudioOutput
from devices.errors import (
    AudioOutputError,
    MediaError,
    MediaSchemeError,
    MediaUnreachableError,
    MediaUnsupportedError,
    NothingLoadedError,
    PlayerClosedError,
    PositionOutOfRangeError,
    ReceiverError,
)
from devices.player_types import (
    LengthKnown,
    OutputStarted,
    OutputStopped,
    PlaybackFailed,
    PlayerClock,
    PlayerEvent,
    PlayerState,
    StateChanged,
    StreamInfo,
    TrackEnded,
)
from taskowner import TaskOwner

__all__ = [
    "LengthKnown",
    "OutputStarted",
    "OutputStopped",
    "PlaybackFailed",
    "Player",
    "PlayerClock",
    "PlayerEvent",
    "PlayerState",
    "StateChanged",
    "TrackEnded",
]

_LOGGER = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 5.0  # a LAN server that has not delivered audio by then will not help a transfer
CLOSE_TIMEOUT_S = 5.0
CLOCK_RESYNC_MS = 150

# States in which a media is open in libVLC and its events still matter.
_ACTIVE = (PlayerState.LOADING, PlayerState.READY, PlayerState.PLAYING, PlayerState.PAUSED)


class Player:
    """An asyncio-facing libVLC player: load (or pre-roll), play, pause, seek, volume, clock."""

    def __init__(
        self,
        output: AudioOutput,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        listener: Callable[[PlayerEvent], None] | None = None,
        ramp_clock: RampClock | None = None,
        backend_factory: Callable[[AudioOutput, EventSink], VLCBackend] = VLCBackend,
    ) -> None:
        self._output = output
        self._loop = loop or asyncio.get_running_loop()
        self._listener = listener
        self._ramp_clock = ramp_clock or SystemRampClock()
        self._thread: VLCThread | None = None
        # The seam for unit tests: a hand-written fake backend emits libVLC's events on cue.
        self._backend = backend_factory(output, self._from_vlc_thread)
        self._state = PlayerState.IDLE
        self._started = False
        self._epoch = 0
        self._load: LoadProgress | None = None
        self._url = ""
        self._length_ms: int | None = None
        self._hints: list[tuple[FailureHint, str]] = []
        self._anchor = PlayerClock(0, now_us(), False)
        self._volume = 100  # owned here: libVLC's read-back is wrong on non-hardware outputs
        self._tasks = TaskOwner("player", _LOGGER)
        self._edges = OutputEdges(output.baton_fed)  # set again once the output is known
        self._paused_from: PlayerClock | None = None  # the playing clock a pause interrupted
        self._heard_from_us: int | None = None  # a gated stream's first sample: when it is heard

    @property
    def state(self) -> PlayerState:
        """Return the current state."""
        return self._state

    @property
    def volume(self) -> int:
        """Return the volume last set (0..100); never read back from libVLC."""
        return self._volume

    @property
    def url(self) -> str:
        """Return the media URL last loaded, "" before any."""
        return self._url

    @property
    def output_delay_us(self) -> int:
        """Return how long after libVLC's timestamp a sample is heard (0: not Baton-fed)."""
        return self._sink.delay_us if self._sink is not None else 0

    @property
    def heard_from_us(self) -> int | None:
        """Return when a gated load's first sample is heard (None: not gated, or not known)."""
        return self._heard_from_us

    @property
    def length_ms(self) -> int | None:
        """Return the media's length as libVLC reported it, None while unknown."""
        return self._length_ms

    def clock(self) -> PlayerClock:
        """Return the position now, extrapolated from the last anchor (see the module doc)."""
        at = now_us()
        position = self._anchor.position_at(at)
        if self._length_ms is not None and self._length_ms > 0:
            position = min(position, self._length_ms)
        return PlayerClock(max(0, position), at, self._anchor.playing)

    async def async_start(self) -> str:
        """Start the libVLC thread and instance; return libVLC's version."""
        if self._state is PlayerState.CLOSED:
            raise PlayerClosedError("the player is closed")
        if self._started:
            raise RuntimeError("the player is already started")
        self._thread = VLCThread()
        try:
            version = await self._thread.async_call(self._backend.start)
        except BaseException:
            await self.async_close()
            raise
        self._started = True
        # `default` became Baton's own sound-server output, or libVLC's choice, only now.
        self._edges = OutputEdges(self._sink is not None, self.output_delay_us)
        _LOGGER.debug("player started with libVLC %s, output %s", version, self._output)
        return version

    async def async_close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Stop playback and release libVLC, waiting at most *timeout_s*; idempotent."""
        if self._state is PlayerState.CLOSED:
            return
        self._set_state(PlayerState.CLOSED)
        self._fail_load(PlayerClosedError("the player was closed during the load"), taken=True)
        deadline = self._loop.time() + timeout_s
        await self._tasks.async_close(timeout_s)
        thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            async with asyncio.timeout_at(deadline):
                await thread.async_call(self._backend.release)
        except TimeoutError:
            _LOGGER.warning("libVLC did not release within %.1f s", timeout_s)
            thread.close(timeout=0)
            return
        except Exception:
            _LOGGER.exception("releasing libVLC failed")
        thread.close(timeout=1.0)  # the queue is empty: the thread ends at once

    async def async_load(
        self,
        url: str,
        position_ms: int = 0,
        *,
        play: bool,
        timeout_s: float = LOAD_TIMEOUT_S,
        gated: bool = False,
    ) -> None:
        """Open *url* at *position_ms*: playing, or pre-rolled (paused, buffered) if not *play*.

        *gated* (with *play*): play silently until `async_open_at`, as a live stream joining
        its live edge does (it cannot be held paused without falling behind); on a Baton-fed
        output the load ends once the first block is queued, and `heard_from_us` says when its
        first sample is heard. Only http and https: any other URL raises MediaSchemeError
        before libVLC sees it.
        """
        thread = self._require_thread()
        if position_ms < 0:
            raise ValueError(f"position must be >= 0 ms, not {position_ms}")
        if not is_media_url(url):
            # The last guard (the session rules refuse such a queue first): libVLC opens local
            # files, shares and capture devices, none of which a controller may reach.
            raise MediaSchemeError(
                f"{describe_url(url)}: a receiver plays only http and https URLs", url=url
            )
        self._fail_load(MediaError("replaced by a newer load", url=self._url), taken=True)
        self._epoch += 1
        load = LoadProgress(self._epoch, url, position_ms, play, self._loop.create_future())
        load.wait_queued = gated and play and self._sink is not None
        self._heard_from_us = None
        # Mark a failure as seen even when its caller is gone (cancelled, timed out).
        load.future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._load, self._url, self._length_ms, self._hints = load, url, None, load.hints
        self._anchor = PlayerClock(position_ms, now_us(), False)
        self._set_state(PlayerState.LOADING)
        gate = FOREVER if gated and play else 0
        self._open_output(Envelope(volume_gain(self._volume), open_us=gate), None, position_ms)
        volume = 0 if gate and self._sink is None else self._volume
        job = functools.partial(self._backend.load, url, position_ms, play, load.epoch, volume)
        try:
            await thread.async_call(job)
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(load.future)
        except TimeoutError:
            error = await self._timeout_error(load, timeout_s)
            await self._abandon(load, error)
            raise error from None
        except ReceiverError as exc:
            await self._abandon(load, exc)
            raise
        except asyncio.CancelledError:
            # The caller gave up (a transfer aborted): leave no half-loaded media behind.
            if not load.taken:
                cancelled = MediaError("load cancelled", url=url)
                self._fail_load(cancelled)
                self._tasks.async_spawn(self._abandon(load, cancelled), "abandon load")
            raise

    async def async_play(self) -> None:
        """Play: resume a pre-roll or pause at once; reload from the start after an end or stop."""
        thread = self._require_thread()
        if self._state is PlayerState.LOADING and self._load is not None:
            await asyncio.shield(self._load.future)  # play once ready; a failed load raises
        if self._state is PlayerState.PLAYING:
            return
        if self._state in (PlayerState.READY, PlayerState.PAUSED):
            await self._resume(thread, None, Envelope(volume_gain(self._volume)))
            return
        await self.async_load(self._require_url(), 0, play=True)

    async def async_play_at(self, at_us: int, *, fade_in_ms: int = 0) -> None:
        """From READY or PAUSED, play so the first sample is heard at *at_us*, fading in."""
        thread = self._require_thread()
        if fade_in_ms < 0:
            raise ValueError(f"a fade cannot last {fade_in_ms} ms")
        if self._state is PlayerState.LOADING and self._load is not None:
            await asyncio.shield(self._load.future)
        if self._state is PlayerState.PLAYING:
            _LOGGER.info("play_at: already playing, nothing to start")
            return
        if self._state not in (PlayerState.READY, PlayerState.PAUSED):
            raise NothingLoadedError(f"play_at needs a pre-roll or a pause, not {self._state}")
        envelope = Envelope(volume_gain(self._volume), open_us=at_us, fade_in_us=fade_in_ms * 1000)
        epoch = self._epoch
        await self._resume(thread, at_us, envelope)
        if self._sink is None and fade_in_ms > 0 and not self._moved_on(epoch, PlayerState.PLAYING):
            steps = ramp_steps(0, self._volume, fade_in_ms)
            job = functools.partial(run_ramp, steps, self._backend.set_volume, self._ramp_clock)
            await thread.async_call(job)

    async def async_open_at(self, at_us: int, volume: int, *, fade_in_ms: int = 0) -> bool:
        """Make a gated load (see async_load) heard from *at_us* at *volume*, fading in.

        Return True when an OutputStarted will say the exact instant (a Baton-fed output);
        False when libVLC drives the output and the fade is only scheduled for *at_us*.
        """
        thread = self._require_thread()
        if self._state is not PlayerState.PLAYING:
            raise NothingLoadedError(f"open_at needs a gated stream playing, not {self._state}")
        check_volume(volume)
        self._volume = volume
        envelope = Envelope(volume_gain(self._volume), open_us=at_us, fade_in_us=fade_in_ms * 1000)
        if self._sink is not None:
            self._sink.set_envelope(envelope)
            return True
        steps = ramp_steps(0, self._volume, fade_in_ms)
        job = functools.partial(run_ramp, steps, self._backend.set_volume, self._ramp_clock)
        await thread.async_call_at(at_us - ASSUMED_LATENCY_US, job)
        return False

    async def async_stream_info(self) -> StreamInfo:
        """Return what libVLC knows of the current media (seekable, time, what is on)."""
        thread = self._require_thread()
        url = self._url
        seekable, time_ms, now_playing, title = await thread.async_call(self._backend.stream_info)
        return StreamInfo(url, seekable, time_ms, now_playing, title)

    async def async_fade_out_at(
        self, at_us: int, fade_ms: int, *, then: Literal["pause", "stop"]
    ) -> None:
        """At *at_us* fade out linearly over *fade_ms*, then pause or stop; return when done."""
        thread = self._require_thread()
        if fade_ms < 0:
            raise ValueError(f"a fade cannot last {fade_ms} ms")
        if self._state is PlayerState.PLAYING:
            start = max(at_us, now_us())
            if start > at_us:
                _LOGGER.info("fade_out_at: %.1f ms late, fading now", (start - at_us) / 1000)
            epoch, end = self._epoch, start + fade_ms * 1000
            if self._sink is not None:
                # Sample-exact: silent from `end` on, whenever the pause below lands.
                fade = Envelope(self._sink.envelope.volume_gain, 0, 0, end, fade_ms * 1000)
                self._sink.set_envelope(fade)
                await asyncio.sleep(max(0, end - now_us()) / 1_000_000)
            else:
                await thread.async_until_lead(start)
                if self._moved_on(epoch, PlayerState.PLAYING):
                    return  # a stop or a new load came meanwhile: it is not this fade's to touch
                steps = ramp_steps(self._volume, 0, fade_ms)
                job = functools.partial(run_ramp, steps, self._backend.set_volume, self._ramp_clock)
                await thread.async_call_at(start, job)
            if self._moved_on(epoch, PlayerState.PLAYING):
                return
        if then == "pause":
            await self.async_pause()
        else:
            await self.async_stop()
        if self._sink is None and self._state is not PlayerState.CLOSED:
            # Back to the set volume while silent, for whatever plays next.
            await thread.async_call(functools.partial(self._backend.set_volume, self._volume))

    async def async_pause(self) -> None:
        """Pause playback; the position holds until play or seek. No-op unless playing."""
        thread = self._require_thread()
        if self._state is not PlayerState.PLAYING:
            return
        epoch = self._epoch
        at = await thread.async_call(self._backend.pause)
        if self._moved_on(epoch, PlayerState.PLAYING):
            return
        self._paused_from = self._anchor
        self._anchor = PlayerClock(self._anchor.position_at(at), at, False)
        self._set_state(PlayerState.PAUSED)

    async def async_seek(self, position_ms: int) -> None:
        """Jump to *position_ms*; after an end or stop, pre-roll there instead."""
        thread = self._require_thread()
        if position_ms < 0:
            raise ValueError(f"position must be >= 0 ms, not {position_ms}")
        seekable = (PlayerState.READY, PlayerState.PAUSED, PlayerState.PLAYING)
        if self._state in seekable:
            epoch = self._epoch
            if self._state is PlayerState.PLAYING and self._sink is not None:
                # The new content is heard from its first sample on (the output's delay
                # after the call, through a sound server): anchor the clock there.
                self._edges.expect_start(None, position_ms)
            at = await thread.async_call(functools.partial(self._backend.seek, position_ms))
            if not self._moved_on(epoch, *seekable):
                self._anchor = PlayerClock(position_ms, at, self._anchor.playing)
            return
        await self.async_load(self._require_url(), position_ms, play=False)

    async def async_stop(self) -> None:
        """Stop playback and close the media's input; play() starts it again from 0."""
        thread = self._require_thread()
        self._fail_load(MediaError("stopped during the load", url=self._url), taken=True)
        at = await thread.async_call(self._backend.stop)
        self._anchor = PlayerClock(0, at, False)
        if self._state is not PlayerState.IDLE:
            self._set_state(PlayerState.STOPPED)

    async def async_set_volume(self, volume: int) -> None:
        """Set the volume 0..100 (libVLC's software scale, cubic in amplitude)."""
        thread = self._require_thread()
        check_volume(volume)
        # Recorded before the call: commands run in order on the libVLC thread, so a fade
        # queued next starts from this value.
        self._volume = volume
        await thread.async_call(functools.partial(self._backend.set_volume, volume))

    async def async_ramp_volume(self, to: int, duration_ms: int) -> None:
        """Fade to *to* over *duration_ms*, in steps on the libVLC thread."""
        thread = self._require_thread()
        check_volume(to)
        steps = ramp_steps(self._volume, to, duration_ms)
        self._volume = to  # the value after the fade, as a queued command would find it
        job = functools.partial(run_ramp, steps, self._backend.set_volume, self._ramp_clock)
        # The libVLC thread is busy for the whole fade, so keep fades short (tens of ms):
        # commands sent meanwhile wait behind it.
        await thread.async_call(job)

    async def _resume(self, thread: VLCThread, at_us: int | None, envelope: Envelope) -> None:
        """Leave READY or PAUSED, at once or timed so the first sample is heard at *at_us*."""
        kind = StartKind.PREROLL if self._state is PlayerState.READY else StartKind.PAUSE
        epoch, latency = self._epoch, self._edges.latency_us(kind)
        call_at = now_us() if at_us is None else at_us - latency - EARLY_US
        if call_at < now_us() and at_us is not None:
            _LOGGER.info("play_at: %.1f ms late, starting now", (now_us() - call_at) / 1000)
        await thread.async_until_lead(call_at)
        if self._moved_on(epoch, PlayerState.READY, PlayerState.PAUSED):
            return  # a stop or a new load came meanwhile: it is not this start's to touch
        position = self.clock().position_ms  # after the wait: a seek may have moved it
        if self._sink is None and at_us is not None and envelope.fade_in_us > 0:
            # Silent at resume; async_play_at then ramps up.
            await thread.async_call(functools.partial(self._backend.set_volume, 0))
        self._open_output(envelope, kind, position)
        at = await thread.async_call_at(call_at, self._backend.resume)
        if self._moved_on(epoch, PlayerState.READY, PlayerState.PAUSED):
            return
        self._edges.start_called(kind, at)
        self._anchor = PlayerClock(position, at + latency, True)
        self._set_state(PlayerState.PLAYING)

    def _open_output(self, envelope: Envelope, kind: StartKind | None, position_ms: int) -> None:
        """On a timed sink, set the gain for the coming stretch and await its first sample."""
        self._paused_from = None
        if self._sink is not None:
            self._sink.set_envelope(envelope)
            self._edges.expect_start(kind, position_ms)

    def _moved_on(self, epoch: int, *states: PlayerState) -> bool:
        """Return whether, during an await, a new load began or the state left *states*."""
        # An end, a failure or a close can arrive while a command is on the libVLC thread;
        # the command's bookkeeping must not paint over it.
        return epoch != self._epoch or self._state not in states

    # ---------------------------------------------------------------- libVLC thread side

    def _from_vlc_thread(self, epoch: int, kind: BackendEvent, value: object, at: int) -> None:
        # RuntimeError: the loop is closed, nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_vlc_event, epoch, kind, value, at)

    # ---------------------------------------------------------------- loop side

    def _on_vlc_event(self, epoch: int, kind: BackendEvent, value: object, at: int) -> None:
        if kind is BackendEvent.OUTPUT_EDGE and self._state is not PlayerState.CLOSED:
            assert isinstance(value, SinkEdge)
            self._on_output_edge(value)
            return
        if epoch != self._epoch or self._state is PlayerState.CLOSED:
            return  # a previous media's late event, or after close
        load = self._load
        if kind is BackendEvent.HINT:
            assert isinstance(value, tuple)
            self._hints.append(value)
            if value[0] is FailureHint.AUDIO_OUTPUT:
                self._fail(AudioOutputError(f"audio output {self._output}: {value[1]}"))
        elif kind is BackendEvent.ERROR:
            error = self._error_from_hints()
            self._fail(error or MediaError(f"libVLC failed to play {self._url}", url=self._url))
        elif kind is BackendEvent.LENGTH_CHANGED:
            assert isinstance(value, int)
            known, self._length_ms = self._length_ms, value if value > 0 else None
            if self._length_ms is not None and self._length_ms != known:
                self._emit(LengthKnown(self._url, self._length_ms))
            if load is not None and 0 < value <= load.position_ms:
                # Paused beyond the end, libVLC would wait forever for audio that never comes.
                message = f"{load.url} is {value} ms long; cannot start at {load.position_ms} ms"
                self._fail(PositionOutOfRangeError(message, url=load.url))
        elif kind is BackendEvent.TIME_CHANGED:
            assert isinstance(value, int)
            self._correct_clock(value, at)
        elif kind is BackendEvent.OUTPUT_QUEUED:
            assert isinstance(value, int)
            if load is not None and load.wait_queued and load.heard_from_us is None:
                load.heard_from_us = self._heard_from_us = value
                self._advance_load(load, kind, value, at)
        elif kind is BackendEvent.END_REACHED:
            self._on_end(load, at)
        elif load is not None:
            self._advance_load(load, kind, value, at)

    def _on_output_edge(self, edge: SinkEdge) -> None:
        # The output's, whichever media: the stop inside a new load reports here too.
        paused_from = self._paused_from
        if not edge.started and self._state is PlayerState.PAUSED and paused_from is not None:
            # Through a sound server the sound stops the output's delay after the pause call:
            # what played meanwhile moved the content on, and the paused clock with it.
            position = max(0, paused_from.position_at(edge.at_us))
            self._anchor = PlayerClock(position, self._anchor.as_of_us, False)
            self._paused_from = None
        event = self._edges.from_sink(edge, self._position_at)
        load = self._load
        playing_load = self._state is PlayerState.LOADING and load is not None and load.play
        anchors = self._state is PlayerState.PLAYING or playing_load
        if isinstance(event, OutputStarted) and anchors:
            # libVLC's Playing event comes before the first sample is presented (by the
            # start latency, 10-50 ms; plus the output's delay): the clock holds from the sample
            # really heard. Through a sound server that sample is rendered, and reported, before
            # libVLC's events end the load: anchor then too, and keep it (_advance_load).
            self._anchor = PlayerClock(event.position_ms, event.at_us, True)
            if playing_load and load is not None:
                load.heard = True
        self._emit(event)

    def _advance_load(self, load: LoadProgress, kind: BackendEvent, value: object, at: int) -> None:
        load.observe(kind, value)
        if kind is BackendEvent.PLAYING and not load.heard:
            self._anchor = PlayerClock(load.position_ms, at, load.play)
        caching_ms = max(FILE_CACHING_MS, self._output.network_caching_ms)
        state = load.ready_state(self._length_ms, caching_ms)
        if state is PlayerState.READY:
            self._anchor = PlayerClock(load.position_ms, at, False)
        if state is not None:
            self._finish_load(load, state)

    def _finish_load(self, load: LoadProgress, state: PlayerState) -> None:
        self._load = None
        if not load.future.done():
            load.future.set_result(None)
        self._set_state(state)

    def _on_end(self, load: LoadProgress | None, at: int) -> None:
        if self._state not in _ACTIVE:
            return  # an end that raced a stop or a failure: the owner already knows
        if load is not None:
            if not load.audio:
                self._fail(MediaUnsupportedError(self._no_audio_message(load.url), url=load.url))
                return
            self._finish_load(load, PlayerState.PLAYING)
        position = self._length_ms if self._length_ms else self._anchor.position_at(at)
        self._anchor = PlayerClock(position, at, False)
        self._set_state(PlayerState.ENDED)
        self._emit(TrackEnded(self._url, position))

    def _fail(self, error: ReceiverError) -> None:
        if self._load is not None:
            self._fail_load(error)  # async_load raises it and stops the player
            return
        if self._state not in (PlayerState.READY, PlayerState.PLAYING, PlayerState.PAUSED):
            return  # already reported; libVLC repeats audio output errors for every buffer
        _LOGGER.warning("playback of %s failed: %s", self._url, error)
        self._anchor = PlayerClock(self.clock().position_ms, now_us(), False)
        self._set_state(PlayerState.FAILED)
        self._emit(PlaybackFailed(self._url, error))
        self._tasks.async_spawn(self._stop_quietly(), "stop after failure")

    def _fail_load(self, error: ReceiverError, *, taken: bool = False) -> None:
        """Fail the pending load; *taken*: a stop, close or newer load has the player now."""
        load, self._load = self._load, None
        if load is not None and not load.future.done():
            load.taken = taken
            load.future.set_exception(error)

    async def _abandon(self, load: LoadProgress, error: ReceiverError) -> None:
        if load.taken or load.epoch != self._epoch or self._state is PlayerState.CLOSED:
            return  # a stop, a newer load or close took over the player
        _LOGGER.info("loading %s failed: %s", load.url, error)
        self._load = None
        self._set_state(PlayerState.FAILED)
        await self._stop_quietly()

    async def _stop_quietly(self) -> None:
        if self._thread is not None:
            with contextlib.suppress(RuntimeError):  # the thread closed meanwhile
                await self._thread.async_call(self._backend.stop)

    async def _timeout_error(self, load: LoadProgress, timeout_s: float) -> ReceiverError:
        hinted = self._error_from_hints()
        if hinted is not None:
            return hinted
        if not load.audio and self._thread is not None:
            read = await self._thread.async_call(self._backend.bytes_read)
            if read > 0:
                # Data arrived but no demuxer found audio in it: garbage, or a format libVLC lacks.
                return MediaUnsupportedError(self._no_audio_message(load.url), url=load.url)
        return MediaUnreachableError(
            f"{load.url} delivered no playable audio within {timeout_s:.1f} s", url=load.url
        )

    def _error_from_hints(self) -> ReceiverError | None:
        return error_from_hints(self._hints, self._url, str(self._output))

    @staticmethod
    def _no_audio_message(url: str) -> str:
        return f"{url} was read but holds no audio stream libVLC can decode"

    def _position_at(self, at_us: int) -> int:
        return max(0, self._anchor.position_at(at_us))

    def _correct_clock(self, vlc_ms: int, at: int) -> None:
        if self._state is not PlayerState.PLAYING or not self._anchor.playing:
            return
        # libVLC's time is that of its input; through a sound server a sample is heard the
        # output's delay after it (~105 ms: with the input's own ~40 ms lead, past the
        # threshold), so compare what libVLC says is being heard.
        heard_ms = vlc_ms - self.output_delay_us // 1000
        if abs(heard_ms - self._anchor.position_at(at)) > CLOCK_RESYNC_MS:
            _LOGGER.debug("clock re-anchored on libVLC time %d ms", vlc_ms)
            self._anchor = PlayerClock(heard_ms, at, True)

    def _set_state(self, state: PlayerState) -> None:
        if state is self._state:
            return
        old, self._state = self._state, state
        self._emit(StateChanged(state, self.clock(), self._url))
        estimated = self._edges.from_state(old, state, now_us(), self._position_at)
        if estimated is not None:
            self._emit(estimated)

    def _emit(self, event: PlayerEvent) -> None:
        if self._listener is None:
            return
        try:
            self._listener(event)
        except Exception:  # the owner's bug must not break the player's bookkeeping
            _LOGGER.exception("player listener failed on %s", event)

    @property
    def _sink(self) -> TimedSink | None:
        return getattr(self._backend, "timed_sink", None)  # fakes in unit tests may have none

    def _require_thread(self) -> VLCThread:
        if self._state is PlayerState.CLOSED:
            raise PlayerClosedError("the player is closed")
        if self._thread is None or not self._started:
            raise PlayerClosedError("the player is not started: await async_start() first")
        return self._thread

    def _require_url(self) -> str:
        if not self._url:
            raise NothingLoadedError("nothing is loaded: call async_load first")
        return self._url
