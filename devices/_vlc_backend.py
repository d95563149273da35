"""The libVLC side of the player: every method here runs on the libVLC thread only."""

from __future__ import annotations

import ctypes
import enum
import functools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from devices._capture import capture_sink
from devices._decoded_copy import CopyReader, DecodedCopies, DecodedCopy
from devices._envelope import RATE
from devices._ffmpeg_copy import ffmpeg_available
from devices._pcm_copy import ffmpeg_copy
from devices._pulse_stream import PulseStream, StreamFormat
from devices._timed_sink import SinkEdge, TimedSink
from devices._vlc_log import FailureHint, VLCLogBridge
from devices._volume import equalizer_preamp_db, volume_gain
from devices.audio_output import AudioOutput, OutputKind
from devices.errors import AudioOutputError, LibVLCUnavailableError, MediaError
from devices.vlc_check import check_libvlc

_LOGGER = logging.getLogger(__name__)

# libvlc_track_type_t: the type of an elementary stream in ESAdded events.
_TRACK_AUDIO = 0
PULSE_CHANNELS = 2  # a real device plays stereo (capture records mono, for the analysis's sake)


class BackendEvent(enum.Enum):
    """What the libVLC thread reports to the loop; the value's type is given per member."""

    OPENING = enum.auto()  # None
    BUFFERING = enum.auto()  # float, percent
    PLAYING = enum.auto()  # None
    PAUSED = enum.auto()  # None
    STOPPED = enum.auto()  # None
    END_REACHED = enum.auto()  # None
    ERROR = enum.auto()  # None: the reason comes as HINT events just before it
    AUDIO_ES_ADDED = enum.auto()  # None: the media has an audio stream libVLC can demux
    TIME_CHANGED = enum.auto()  # int, ms of content
    LENGTH_CHANGED = enum.auto()  # int, ms
    HINT = enum.auto()  # tuple[FailureHint, str] from libVLC's log
    OUTPUT_EDGE = enum.auto()  # SinkEdge: a Baton-fed output started or stopped presenting
    OUTPUT_QUEUED = enum.auto()  # int: a Baton-fed output holds the stream's first block,
    # heard from this instant (µs)
    CONTENT_END = enum.auto()  # int: the decoded copy's last sample ends at this instant (µs)
    CONTENT_BOUNDARY = enum.auto()  # int: the next track's copy goes on from this instant (µs)


# Called on libVLC's own threads: (epoch, kind, value, at_us). It must only hand over.
EventSink = Callable[[int, BackendEvent, Any, int], None]


def _frames(position_ms: int) -> int:
    return position_ms * RATE // 1000


def now_us() -> int:
    """Return time.monotonic_ns() in µs, the time base of every PlayerClock."""
    return time.monotonic_ns() // 1000


class VLCBackend:
    """One libVLC instance and media player, driven from a single thread."""

    def __init__(self, output: AudioOutput, sink: EventSink) -> None:
        self._output = output
        self._emit = sink
        self._instance: Any = None
        self._player: Any = None
        self._media: Any = None
        self._log: VLCLogBridge | None = None
        self._callbacks: list[tuple[Any, Callable[[Any], None]]] = []
        # The timed sink of a Baton-fed output (capture, pulse; default when a sound server
        # answers), None when libVLC drives the output itself; the player sets its envelopes
        # from the loop (a thread-safe swap, no libVLC call).
        self.timed_sink: TimedSink | None = None
        self._stream: PulseStream | None = None
        self._copies: DecodedCopies | None = None  # a timed sink's decoded tracks
        self._copy: DecodedCopy | None = None  # the one the sink presents
        # Read on libVLC's threads to tag each event with the load it belongs to; an int
        # assignment is atomic, and old-media events all precede the bump (stop() is synchronous).
        self.epoch = 0

    def start(self) -> str:
        """Create the libVLC instance and player; return libVLC's version."""
        version = check_libvlc()
        import vlc

        self._check_output()
        # The sound server first: `default` becomes Baton's own output only if one answers,
        # and the instance's arguments depend on it.
        self.timed_sink = self._make_sink()
        instance = vlc.Instance(list(self._output.instance_args(self.timed_sink is not None)))
        if instance is None:
            raise LibVLCUnavailableError(
                f"libVLC {version} refused the arguments for audio output {self._output} "
                "(see its messages on stderr)"
            )
        self._instance = instance
        self._log = VLCLogBridge(self._on_hint)
        self._log.attach(instance)
        self._player = instance.media_player_new()
        if self.timed_sink is not None:
            self.timed_sink.attach(vlc, self._player)
            # ffmpeg trims what encoders add; libVLC's copy where it is not installed.
            make = ffmpeg_copy if ffmpeg_available() else None
            self._copies = DecodedCopies(self.timed_sink.channels, make=make)
        self._attach_events(vlc)
        return version

    def _make_sink(self) -> TimedSink | None:
        """Return the sink Baton presents through, None when libVLC plays by itself."""
        kind = self._output.kind
        if kind is OutputKind.CAPTURE and self._output.path is not None:
            try:
                return capture_sink(
                    self._output.path,
                    self._on_sink_edge,
                    on_queued=self._on_sink_queued,
                    drift_ppm=self._output.simulated_drift_ppm,
                    correct=self._output.drift_correction,
                )
            except OSError as exc:
                raise AudioOutputError(f"capture output: {exc}") from exc
        if kind not in (OutputKind.PULSE, OutputKind.DEFAULT):
            return None
        sink = TimedSink(
            self._on_sink_edge, on_queued=self._on_sink_queued, channels=PULSE_CHANNELS
        )
        stream = PulseStream(
            StreamFormat(RATE, PULSE_CHANNELS),
            sink=self._output.target or None,
            on_failure=self._on_stream_failure,
        )
        try:
            stream.open(sink)
        except AudioOutputError as exc:
            stream.close()
            if kind is OutputKind.PULSE:
                raise
            # No sound server here (a Pi playing straight to ALSA): libVLC picks its output.
            _LOGGER.info("no sound server answers (%s); libVLC chooses the output", exc)
            return None
        sink.delay_us = stream.delay_us
        self._stream = stream
        return sink

    @property
    def output_delay_us(self) -> int:
        """Return how long after its libVLC timestamp a sample is heard (Baton-fed outputs)."""
        return self.timed_sink.delay_us if self.timed_sink is not None else 0

    def open_copy(self, url: str) -> DecodedCopy | None:
        """Return the decoded copy of *url* (started now if new); None without a timed sink."""
        return self._copies.copy_of(url) if self._copies is not None else None

    def load(
        self,
        url: str,
        position_ms: int,
        play: bool,
        epoch: int,
        volume: int,
        copy: DecodedCopy | None = None,
    ) -> int:
        """Open *url* at *position_ms*, playing or paused, at *volume*; return when asked.

        *copy*: the track's decoded copy, whose samples the timed sink presents from
        *position_ms* on (devices/_decoded_copy.py); None: libVLC's own samples.
        """
        self._player.stop()
        if self.timed_sink is not None:
            self.timed_sink.end_stream()
            self.timed_sink.content = (
                CopyReader(
                    copy, _frames(position_ms), self._on_content_end, self._on_content_boundary
                )
                if copy is not None
                else None
            )
        if self._copy is not None:
            self._copy.on_complete = None
        self._copy = copy
        if copy is not None:
            # The copy's length is the track's (libVLC estimates a VBR MP3's from its start).
            epoch_now = epoch
            copy.on_complete = lambda ms: self._emit(
                epoch_now, BackendEvent.LENGTH_CHANGED, ms, now_us()
            )
            if copy.complete:
                copy.on_complete(copy.length_ms())
            # libVLC only paces the copy's samples: from the start, its stream outlasts the
            # copy's rest, wherever a seek of its would have landed (devices/_decoded_copy.py).
            position_ms = 0
        self.epoch = epoch
        if self._media is not None:
            self._media.release()
        media = self._instance.media_new(url)
        if media is None:
            raise MediaError(f"libVLC cannot parse the address {url!r}", url=url)
        if copy is not None and copy.ogg:
            # Only pacing: libavformat's Ogg reader keeps even time stamps (VLC's own stalls).
            media.add_option(":demux=avformat")
        if position_ms > 0:
            # Seek in the demuxer before any audio is decoded: no audible jump, no second buffer.
            media.add_option(f":start-time={position_ms / 1000:.3f}")
        if not play:
            # Opens, demuxes and buffers, then holds the input paused before the first sample
            # reaches the output: the pre-roll a transfer target needs.
            media.add_option(":start-paused")
        self._media = media
        self._player.set_media(media)
        self.set_volume(volume)  # before play: a gain stage added later would restart the output
        if self._stream is not None:
            # Pre-roll or play: get the server and the card running before the first sample.
            self._stream.wake()
        if self._player.play() == -1:
            raise MediaError(f"libVLC refused to start {url!r}", url=url)
        return now_us()

    def set_follow(self, copy: DecodedCopy | None) -> bool:
        """Have the decoded copy playing go on with *copy* (gapless); False without one."""
        content = self.timed_sink.content if self.timed_sink is not None else None
        if not isinstance(content, CopyReader) or content.crossed:
            return False
        content.follow = copy
        return True

    def carry_on(self, url: str, epoch: int) -> int:
        """Gapless: move libVLC to *url* (whose copy the sink now presents) from its start,
        while the queue plays on; its first block follows the queue's last sample."""
        sink = self.timed_sink
        assert sink is not None
        content = sink.content
        assert isinstance(content, CopyReader)
        sink.carry_over(True)
        try:
            self._player.stop()
        finally:
            sink.carry_over(False)
        content.restart_pacing()
        if self._copy is not None:
            self._copy.on_complete = None
        self._copy = content.copy
        self.epoch = epoch
        self._emit(epoch, BackendEvent.LENGTH_CHANGED, content.copy.length_ms(), now_us())
        if self._media is not None:
            self._media.release()
        media = self._instance.media_new(url)
        if media is None:
            raise MediaError(f"libVLC cannot parse the address {url!r}", url=url)
        if content.copy.ogg:
            media.add_option(":demux=avformat")
        self._media = media
        self._player.set_media(media)
        if self._player.play() == -1:
            raise MediaError(f"libVLC refused to start {url!r}", url=url)
        return now_us()

    def resume(self) -> int:
        """Leave pause (or a pre-roll); return the time the call returned."""
        if self._stream is not None:
            self._stream.wake()
        self._player.set_pause(0)
        at = now_us()
        if self.timed_sink is not None:
            self.timed_sink.resume(at)  # libVLC may skip its callback (see TimedSink.pause)
        return at

    def pause(self) -> int:
        """Pause; return the time the call returned."""
        self._player.set_pause(1)
        at = now_us()
        if self.timed_sink is not None:
            self.timed_sink.pause(at)  # libVLC may skip its callback (see TimedSink.pause)
        return at

    def seek(self, position_ms: int) -> int | None:
        """Jump to *position_ms*; return when the new content is heard from (None: a decoded
        copy's content would outlast libVLC's stream: load again instead)."""
        sink = self.timed_sink
        content = sink.content if sink is not None else None
        if sink is not None and isinstance(content, CopyReader):
            # libVLC plays on, only pacing: the copy's samples change in what the sink holds.
            moved, heard = sink.refill(functools.partial(content.jump, _frames(position_ms)))
            if not moved:
                return None
            # The first refilled sample's instant: what is presented before it was due then.
            return heard if heard is not None else now_us()
        self._player.set_time(position_ms)
        return now_us()

    def stop(self) -> int:
        """Stop and close the media's input (synchronous in libVLC 3)."""
        self._player.stop()
        if self.timed_sink is not None:
            self.timed_sink.end_stream()
        return now_us()

    def set_volume(self, volume: int) -> None:
        """Apply *volume* (0..100) through the gain stage this output honours."""
        if self.timed_sink is not None:
            self.timed_sink.set_volume_gain(volume_gain(volume))
            return
        if self._output.software_volume:
            self._player.audio_set_volume(volume)
            return
        import vlc

        equalizer = vlc.AudioEqualizer()
        equalizer.set_preamp(equalizer_preamp_db(volume))
        self._player.set_equalizer(equalizer)  # libVLC copies the settings
        equalizer.release()

    def bytes_read(self) -> int:
        """Return how many bytes the current media's input has read so far."""
        import vlc

        if self._media is None:
            return 0
        stats = vlc.MediaStats()
        if not self._media.get_stats(stats):
            return 0
        return max(int(stats.read_bytes), int(stats.demux_read_bytes))

    def stream_info(self) -> tuple[bool, int, str, str]:
        """Return (seekable, time in ms, now playing, title) of the current media."""
        import vlc

        if self._media is None or self._player is None:
            return True, 0, "", ""
        meta = self._media.get_meta
        return (
            bool(self._player.is_seekable()),
            int(self._player.get_time()),
            meta(vlc.Meta.NowPlaying) or "",
            meta(vlc.Meta.Title) or "",
        )

    def release(self) -> None:
        """Stop playback and free every libVLC object; safe to call twice."""
        if self._player is not None:
            self._player.stop()
            manager = self._player.event_manager()
            for event_type, _callback in self._callbacks:
                manager.event_detach(event_type)
            self._callbacks.clear()
        if self._log is not None and self._instance is not None:
            self._log.detach(self._instance)
        for obj in (self._media, self._player, self._instance):
            if obj is not None:
                obj.release()
        self._media = self._player = self._instance = None
        self._log = None
        if self._copies is not None:
            self._copies.release()
            self._copies = None
        if self.timed_sink is not None:
            self.timed_sink.close()  # after the player: no callback can come any more
        if self._stream is not None:
            self._stream.close()  # after the sink: it renders silence from now on
            self._stream = None

    def _check_output(self) -> None:
        path = self._output.path
        if path is not None:
            folder = path.parent
            if not folder.is_dir() or not os.access(folder, os.W_OK):
                raise AudioOutputError(
                    f"{self._output.kind.value} output: cannot write into {folder}"
                )

    def _attach_events(self, vlc: Any) -> None:
        event_type = vlc.EventType
        mapping = {
            event_type.MediaPlayerOpening: BackendEvent.OPENING,
            event_type.MediaPlayerBuffering: BackendEvent.BUFFERING,
            event_type.MediaPlayerPlaying: BackendEvent.PLAYING,
            event_type.MediaPlayerPaused: BackendEvent.PAUSED,
            event_type.MediaPlayerStopped: BackendEvent.STOPPED,
            event_type.MediaPlayerEndReached: BackendEvent.END_REACHED,
            event_type.MediaPlayerEncounteredError: BackendEvent.ERROR,
            event_type.MediaPlayerESAdded: BackendEvent.AUDIO_ES_ADDED,
            event_type.MediaPlayerTimeChanged: BackendEvent.TIME_CHANGED,
            event_type.MediaPlayerLengthChanged: BackendEvent.LENGTH_CHANGED,
        }
        manager = self._player.event_manager()
        for vlc_type, kind in mapping.items():
            callback = self._make_callback(kind)
            manager.event_attach(vlc_type, callback)
            self._callbacks.append((vlc_type, callback))

    def _make_callback(self, kind: BackendEvent) -> Callable[[Any], None]:
        # Runs on libVLC's threads (sometimes on the caller's, inside a libVLC call): read the
        # event's payload and hand it over; never call back into libVLC from here.
        def on_event(event: Any) -> None:
            at = now_us()
            value: Any = None
            if kind is BackendEvent.BUFFERING:
                value = float(event.u.new_cache)
            elif kind is BackendEvent.TIME_CHANGED:
                value = int(event.u.new_time)
            elif kind is BackendEvent.LENGTH_CHANGED:
                if self._copy is not None:
                    return  # the decoded copy says the length
                value = int(event.u.new_length)
            elif kind is BackendEvent.AUDIO_ES_ADDED:
                # The union holds {int i_type; int i_id}; python-vlc does not name it.
                track_type = ctypes.c_int.from_address(ctypes.addressof(event.u)).value
                if track_type != _TRACK_AUDIO:
                    return
            self._emit(self.epoch, kind, value, at)

        return on_event

    def _on_sink_edge(self, edge: SinkEdge) -> None:
        # On libVLC's audio thread or the sound server's, inside the sink's lock: hand over only.
        self._emit(self.epoch, BackendEvent.OUTPUT_EDGE, edge, now_us())

    def _on_sink_queued(self, heard_at_us: int) -> None:
        # On libVLC's audio thread, inside the sink's lock: hand over only.
        self._emit(self.epoch, BackendEvent.OUTPUT_QUEUED, heard_at_us, now_us())

    def _on_content_end(self, at_us: int) -> None:
        # On libVLC's audio thread: hand over only.
        self._emit(self.epoch, BackendEvent.CONTENT_END, at_us, now_us())

    def _on_content_boundary(self, at_us: int) -> None:
        # On libVLC's audio thread: hand over only.
        self._emit(self.epoch, BackendEvent.CONTENT_BOUNDARY, at_us, now_us())

    def _on_stream_failure(self, why: str) -> None:
        # On the sound server's thread: the player fails playback with an AudioOutputError.
        self._emit(self.epoch, BackendEvent.HINT, (FailureHint.AUDIO_OUTPUT, why), now_us())

    def _on_hint(self, hint: FailureHint, message: str) -> None:
        self._emit(self.epoch, BackendEvent.HINT, (hint, message), now_us())
