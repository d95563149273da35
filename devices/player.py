"""The receiver's audio player: one libVLC media player, driven from asyncio.

Every libVLC call runs on one dedicated thread (`_vlc_thread.VLCThread`); libVLC's events and log
lines come back through `loop.call_soon_threadsafe` and are handled on the loop thread, in
devices/_player_base.py (with the state and the clock); the commands are here.
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
import functools
import logging
from typing import Literal

from connect.media_urls import describe_url, is_media_url
from devices._decoded_copy import CopyReader, async_copy_for
from devices._envelope import FOREVER, RATE, Envelope
from devices._load import LoadProgress
from devices._output_timing import ASSUMED_LATENCY_US, EARLY_US, OutputEdges, StartKind
from devices._player_base import CLOCK_RESYNC_MS as CLOCK_RESYNC_MS
from devices._player_base import PlayerBase
from devices._vlc_backend import now_us
from devices._vlc_thread import VLCThread
from devices._volume import (
    check_volume,
    ramp_steps,
    run_ramp,
    volume_gain,
)
from devices.errors import (
    MediaError,
    MediaSchemeError,
    NothingLoadedError,
    PlayerClosedError,
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
    TrackChanged,
    TrackEnded,
)

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
    "TrackChanged",
    "TrackEnded",
]

_LOGGER = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 5.0  # a LAN server that has not delivered audio by then will not help a transfer
CLOSE_TIMEOUT_S = 5.0


class Player(PlayerBase):
    """An asyncio-facing libVLC player: load (or pre-roll), play, pause, seek, volume, clock."""

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
        self._next_url = None  # the new track's copy has no follower yet
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
        try:
            copy = None
            if self._sink is not None and not gated:
                copy = await async_copy_for(thread, self._backend.open_copy, url, position_ms)
            job = functools.partial(
                self._backend.load, url, position_ms, play, load.epoch, volume, copy
            )
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

    async def async_set_next(self, url: str | None) -> bool:
        """Have *url* follow the track playing without a gap (None: nothing follows).

        Only a track presented from a decoded copy goes on gaplessly: its end reports
        TrackChanged at the first sample of *url*'s instead of TrackEnded. Return whether
        *url* will follow so.
        """
        thread = self._require_thread()
        epoch = self._epoch
        content = self._sink.content if self._sink is not None else None
        if url is None or not is_media_url(url) or not isinstance(content, CopyReader):
            self._next_url = None
            if isinstance(content, CopyReader):
                await thread.async_call(functools.partial(self._backend.set_follow, None))
            return False
        # Set first: the boundary may come as soon as the copy follows.
        self._next_url = url
        copy = await async_copy_for(thread, self._backend.open_copy, url, 0)
        if copy is not None and epoch == self._epoch and self._next_url == url:
            job = functools.partial(self._backend.set_follow, copy)
            if await thread.async_call(job):
                return True
        if epoch == self._epoch and self._next_url == url:
            self._next_url = None
        return False

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
        self._pausing, self._stop_heard = True, None
        try:
            at = await thread.async_call(self._backend.pause)
        finally:
            self._pausing = False
        if self._moved_on(epoch, PlayerState.PLAYING):
            return
        heard = self._stop_heard
        # The output stopped already: the content held is what it reached then, exactly.
        self._paused_from = self._anchor if heard is None else None
        self._anchor = PlayerClock(self._anchor.position_at(heard or at), at, False)
        self._set_state(PlayerState.PAUSED)

    async def async_seek(self, position_ms: int) -> None:
        """Jump to *position_ms*; after an end or stop, pre-roll there instead."""
        thread = self._require_thread()
        if position_ms < 0:
            raise ValueError(f"position must be >= 0 ms, not {position_ms}")
        seekable = (PlayerState.READY, PlayerState.PAUSED, PlayerState.PLAYING)
        if self._state in seekable:
            epoch = self._epoch
            copied = self._sink is not None and self._sink.content is not None
            if self._state is PlayerState.PLAYING and self._sink is not None and not copied:
                # The new content is heard from its first sample on (the output's delay
                # after the call, through a sound server): anchor the clock there.
                self._edges.expect_start(None, position_ms)
            at = await thread.async_call(functools.partial(self._backend.seek, position_ms))
            if at is None:
                # Back in a decoded copy further than libVLC's stream has left: open it again.
                playing = self._state is PlayerState.PLAYING
                await self.async_load(self._require_url(), position_ms, play=playing)
                return
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
        now = now_us()
        if at_us is not None and call_at < now:
            # A timed sink moves a block in hand before the instant onto it: late for libVLC's
            # stamp (a transfer's start lead is shorter than a FLAC pre-roll's), not for the ear.
            heard_late = self._sink is None or at_us <= now
            level = logging.INFO if heard_late else logging.DEBUG
            _LOGGER.log(level, "play_at: %.1f ms late, starting now", (now - call_at) / 1000)
        await thread.async_until_lead(call_at)
        if self._moved_on(epoch, PlayerState.READY, PlayerState.PAUSED):
            return  # a stop or a new load came meanwhile: it is not this start's to touch
        position = self.clock().position_ms  # after the wait: a seek may have moved it
        if self._sink is None and at_us is not None and envelope.fade_in_us > 0:
            # Silent at resume; async_play_at then ramps up.
            await thread.async_call(functools.partial(self._backend.set_volume, 0))
        self._open_output(envelope, kind, position, align_us=at_us)
        content = self._sink.content if self._sink is not None else None
        if isinstance(content, CopyReader) and kind is StartKind.PREROLL and at_us is not None:
            content.schedule(position * RATE // 1000, at_us)
        at = await thread.async_call_at(call_at, self._backend.resume)
        if self._moved_on(epoch, PlayerState.READY, PlayerState.PAUSED):
            return
        self._edges.start_called(kind, at)
        self._anchor = PlayerClock(position, at + latency, True)
        self._set_state(PlayerState.PLAYING)

    def _open_output(
        self,
        envelope: Envelope,
        kind: StartKind | None,
        position_ms: int,
        align_us: int | None = None,
    ) -> None:
        """On a timed sink, set the next stretch's gain; await its first sample (at *align_us*)."""
        self._paused_from = None
        if self._sink is not None:
            self._sink.set_envelope(envelope)
            self._sink.align_next(align_us)
            self._edges.expect_start(kind, position_ms)

    def _moved_on(self, epoch: int, *states: PlayerState) -> bool:
        """Return whether, during an await, a new load began or the state left *states*."""
        # An end, a failure or a close can arrive while a command is on the libVLC thread;
        # the command's bookkeeping must not paint over it.
        return epoch != self._epoch or self._state not in states
