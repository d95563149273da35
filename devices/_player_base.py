"""The player's loop side: its state and clock, and what libVLC's events do to them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable

from devices._decoded_copy import CopyReader
from devices._envelope import RATE
from devices._load import LoadProgress
from devices._output_timing import OutputEdges
from devices._timed_sink import SinkEdge, TimedSink
from devices._vlc_backend import BackendEvent, EventSink, VLCBackend, now_us
from devices._vlc_log import FailureHint, error_from_hints
from devices._vlc_thread import VLCThread
from devices._volume import (
    RampClock,
    SystemRampClock,
)
from devices.audio_output import FILE_CACHING_MS, AudioOutput
from devices.errors import (
    AudioOutputError,
    MediaError,
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
    PlaybackFailed,
    PlayerClock,
    PlayerEvent,
    PlayerState,
    StateChanged,
    TrackChanged,
    TrackEnded,
)
from taskowner import TaskOwner

_LOGGER = logging.getLogger("devices.player")  # the name it logged under before the split

CLOCK_RESYNC_MS = 150

# States in which a media is open in libVLC and its events still matter.
_ACTIVE = (PlayerState.LOADING, PlayerState.READY, PlayerState.PLAYING, PlayerState.PAUSED)


def anchor_on_the_ms(frame: int, at_us: int) -> PlayerClock:
    """Return a playing clock exact to the µs though it holds whole ms: *frame* is heard at
    *at_us*, so the next whole millisecond of content is heard that much (< 1 ms) later."""
    position_us = frame * 1_000_000 // RATE
    position_ms = -(-position_us // 1000)
    return PlayerClock(position_ms, at_us + position_ms * 1000 - position_us, True)


class PlayerBase:
    """The state, clock and libVLC event handling of a `Player` (see devices/player.py)."""

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
        # A pause's last sample, heard before libVLC's pause call returned (it can take longer
        # than the sink's queue: after a gapless change, libVLC's stream lags the sink's).
        self._pausing = False
        self._stop_heard: int | None = None
        self._heard_from_us: int | None = None  # a gated stream's first sample: when it is heard
        self._next_url: str | None = None  # gapless: the track whose copy follows this one's

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
    def output_error_us(self) -> float | None:
        """Return how late the output's last block was on its instant (µs), if measured."""
        return self._sink.output_error_us if self._sink is not None else None

    @property
    def next_url(self) -> str | None:
        """Return the track set to follow the one playing without a gap (None: none)."""
        return self._next_url

    @property
    def heard_from_us(self) -> int | None:
        """Return when a gated load's first sample is heard (None: not gated, or not known)."""
        return self._heard_from_us

    @property
    def length_ms(self) -> int | None:
        """Return the media's length as libVLC reported it, None while unknown."""
        return self._length_ms

    @property
    def anchor(self) -> PlayerClock:
        """Return the clock's last anchor (exact where an output edge set it), unextrapolated."""
        return self._anchor

    @property
    def awaiting_start(self) -> bool:
        """Return True while a start's first sample is still to be presented (an exact output:
        its OutputStarted then anchors the clock where the sample was really heard)."""
        return self._edges.exact and self._edges.awaiting_start

    def slew(self, delta_us: int) -> bool:
        """Move what plays *delta_us* of content on (-: back) without a seek, a few frames a
        block (devices/_decoded_copy.py), the clock with it; False: not a decoded copy."""
        content = self._sink.content if self._sink is not None else None
        if not isinstance(content, CopyReader):
            return False
        frames = round(delta_us * RATE / 1_000_000)
        content.slew(frames)
        anchor = self._anchor  # the same content is heard that much earlier
        moved = frames * 1_000_000 // RATE
        self._anchor = PlayerClock(anchor.position_ms, anchor.as_of_us - moved, anchor.playing)
        return True

    def clock(self) -> PlayerClock:
        """Return the position now, extrapolated from the last anchor (see the module doc)."""
        at = now_us()
        position = self._anchor.position_at(at)
        if self._length_ms is not None and self._length_ms > 0:
            position = min(position, self._length_ms)
        return PlayerClock(max(0, position), at, self._anchor.playing)

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
            copied = self._sink is not None and self._sink.content is not None
            if load is not None and 0 < value <= load.position_ms and not copied:
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
        elif kind is BackendEvent.CONTENT_BOUNDARY:
            assert isinstance(value, int)
            self._on_content_boundary(value)
        elif kind is BackendEvent.CONTENT_END:
            assert isinstance(value, int)
            # The track's last sample is heard then; libVLC's stream plays on in silence.
            delay = max(0, value - now_us()) / 1_000_000
            self._loop.call_later(delay, self._on_content_end, epoch, value)
        elif load is not None:
            self._advance_load(load, kind, value, at)

    def _on_output_edge(self, edge: SinkEdge) -> None:
        # The output's, whichever media: the stop inside a new load reports here too.
        paused_from = self._paused_from
        if not edge.started and self._pausing and self._state is PlayerState.PLAYING:
            self._stop_heard = edge.at_us  # async_pause holds the clock there
        if not edge.started and self._state is PlayerState.PAUSED and paused_from is not None:
            # Through a sound server the sound stops the output's delay after the pause call:
            # what played meanwhile moved the content on, and the paused clock with it.
            position = max(0, paused_from.position_at(edge.at_us))
            self._anchor = PlayerClock(position, self._anchor.as_of_us, False)
            self._paused_from = None
        event = self._edges.from_sink(edge, self._position_at)
        content = self._sink.content if self._sink is not None else None
        frame = None
        if isinstance(event, OutputStarted) and isinstance(content, CopyReader):
            frame = content.presented_at(event.at_us)
            if frame is not None:  # a decoded copy's start or resume: what it presented
                event = OutputStarted(event.at_us, (frame * 1000 + RATE // 2) // RATE, event.exact)
        load = self._load
        playing_load = self._state is PlayerState.LOADING and load is not None and load.play
        anchors = self._state is PlayerState.PLAYING or playing_load
        if isinstance(event, OutputStarted) and anchors:
            # libVLC's Playing event comes before the first sample is presented (by the
            # start latency, 10-50 ms; plus the output's delay): the clock holds from the sample
            # really heard. Through a sound server that sample is rendered, and reported, before
            # libVLC's events end the load: anchor then too, and keep it (_advance_load).
            self._anchor = PlayerClock(event.position_ms, event.at_us, True)
            if frame is not None:  # to the µs, though it holds whole ms
                self._anchor = anchor_on_the_ms(frame, event.at_us)
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

    def _on_content_boundary(self, at_us: int) -> None:
        """Gapless: the next track's copy is presented from *at_us*; move libVLC to its stream."""
        content = self._sink.content if self._sink is not None else None
        if not isinstance(content, CopyReader) or self._thread is None:
            return
        previous, url = self._url, content.copy.url  # the copy that followed, whatever was asked
        self._epoch += 1
        self._next_url = None
        self._url, self._length_ms, self._hints = url, None, []
        self._anchor = PlayerClock(0, at_us, True)
        job = functools.partial(self._backend.carry_on, url, self._epoch)
        self._tasks.async_spawn(self._carry_on(job), "gapless carry-on")
        # Told when it is heard, as a track's end is.
        delay = max(0, at_us - now_us()) / 1_000_000
        self._loop.call_later(delay, self._emit, TrackChanged(previous, url, at_us))

    async def _carry_on(self, job: Callable[[], int]) -> None:
        if self._thread is None:
            return
        try:
            await self._thread.async_call(job)
        except ReceiverError as exc:
            self._fail(exc)

    def _on_content_end(self, epoch: int, at: int) -> None:
        if epoch == self._epoch and self._state is PlayerState.PLAYING:
            self._on_end(self._load, at)

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
        if self._sink is not None and self._sink.content is not None:
            return  # what is presented is the decoded copy at the anchor's position, exactly
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
