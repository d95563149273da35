"""Exact positions in every format: the track decoded once from its first sample, and the
content a timed sink presents taken from that copy by sample count.

libVLC 3 seeks by the container's index and then labels what it lands on with the time it was
asked for: VBR MP3 by an average bitrate (the Xing table is skipped), Ogg by a bisection that
can end seconds off, FLAC on the frame holding the target (up to 104 ms early). No block it
hands over says where it really is. Decoding from the start has no such error, and libVLC does
it unpaced into a file through its stream output (a 164 s MP3 in 0.4 s on a laptop). So a
receiver keeps libVLC for the timing of its output (its clock, pause, flush and end) and for
the decoding, and takes the samples it presents from the copy: sample N of the copy is content
N / 44.1 kHz of the track as libVLC decodes it from its start, at whatever position libVLC's
own seek landed. A load at P presents copy[P...], a seek moves the index at libVLC's flush, a
pause keeps it; the position the player reports is what it presented.

Where ffmpeg is installed it makes the copies instead (devices/_ffmpeg_copy.py; a WAV's PCM is
read as it is, devices/_pcm_copy.py): libVLC's decoders drop the start of AAC, Opus and Vorbis
and keep encoders' end padding, ffmpeg's trim both, so position 0 is the track's first sample
and an album's parts meet. A stream without a length (a radio station, an HLS playlist) gets
no copy: its samples are libVLC's own, as before.

Gapless albums: the queue's next track is copied before the current one ends (`follow`), and
the block that reaches past the current copy's end goes on with the next copy's first sample.
The player then moves libVLC to the next track's stream, only pacing again, while the timed
sink keeps what it holds (devices/_timed_sink.py `carry_over`).
"""

from __future__ import annotations

import array
import asyncio
import functools
import logging
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connect.media_formats import format_of
from devices._drift import respace
from devices._envelope import RATE
from devices._vlc_thread import VLCThread

_LOGGER = logging.getLogger(__name__)

_INSTANCE_ARGS = ["--intf=dummy", "--no-video", "--no-lua", "--aout=adummy", "--no-sout-video"]
MAX_FRAMES = RATE * 60 * 60  # an hour: a longer "file" is a stream, or not worth the disk
COPY_AHEAD_MS = 3_000  # a load waits until the copy holds this much past its position
COPY_WAIT_S = 3.0  # ... or the whole track, at most this long; then libVLC's samples play
SLEW_STEPS = 1  # a slew moves the content a frame a block at most (20-45 a second, <= 1 ms/s)
BLOCKS_KEPT = 64  # the latest blocks' instants: over a second, for an edge reported late
_POLL_S = 0.005
# libVLC seeks PCM by byte, to the sample, but its stream output drops the last 50 ms block of
# a WAV: a WAV gets no copy of libVLC's (one of ffmpeg's keeps a WAV album gapless).
_NOT_COPIED_BY_LIBVLC = frozenset({"wav"})


async def async_copy_for(
    thread: VLCThread,
    open_copy: Callable[[str], DecodedCopy | None],
    url: str,
    position_ms: int,
) -> DecodedCopy | None:
    """Return *url*'s decoded copy once it holds *position_ms* and a little more, or None: no
    copy of this format, a stream without a length, no copy in COPY_WAIT_S."""
    if format_of(url) is None:
        return None
    copy = await thread.async_call(functools.partial(open_copy, url))
    if copy is None:
        return None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + COPY_WAIT_S
    need = (position_ms + COPY_AHEAD_MS) * RATE // 1000
    while True:
        await thread.async_call(copy.poll)
        if copy.failed:
            return None
        # Only a track with a length: an endless stream (radio) would be copied at the
        # station's pace while it is played from, and run dry.
        if copy.complete or (copy.has_length and copy.frames_ready() >= need):
            return copy
        if loop.time() > deadline:
            _LOGGER.info("%s: no decoded copy in %.1f s; libVLC's seeks", url, COPY_WAIT_S)
            return None
        await asyncio.sleep(_POLL_S)


class DecodedCopy:
    """One track decoded from its start to raw s16 PCM on disk; read from any thread."""

    def __init__(self, url: str, path: Path, channels: int) -> None:
        self.url = url
        self.path = path
        self.channels = channels
        media = format_of(url)
        self.ogg = media is not None and media.name in ("ogg", "opus")
        self.failed = False  # no copy: a stream without a length, or a decoding error
        self.has_length = False  # libVLC knows the track's length: not an endless stream
        self.complete = False
        self._fd: int | None = None
        self._player: Any = None
        self._media: Any = None
        self._lock = threading.Lock()
        self._callbacks: tuple[Any, ...] = ()
        # Told the track's length in ms once decoded (on libVLC's thread); set by the player.
        self.on_complete: Callable[[int], None] | None = None

    @property
    def frame_bytes(self) -> int:
        """Return the size of one frame (all channels) in bytes."""
        return 2 * self.channels

    def frames_ready(self) -> int:
        """Return how many frames are decoded so far."""
        try:
            return self.path.stat().st_size // self.frame_bytes
        except OSError:
            return 0

    def length_ms(self) -> int:
        """Return the length decoded so far, in ms (the track's, once complete)."""
        return self.frames_ready() * 1000 // RATE

    def read(self, first: int, count: int) -> array.array[int]:
        """Return *count* frames from frame *first*; silence where the copy holds none."""
        out: array.array[int] = array.array("h")
        with self._lock:
            fd = self._fd
            if fd is None and not self.failed:
                try:
                    fd = self._fd = os.open(self.path, os.O_RDONLY)
                except OSError:
                    fd = None
            if fd is not None and first >= 0:
                data = os.pread(fd, count * self.frame_bytes, first * self.frame_bytes)
                out.frombytes(data[: len(data) - len(data) % 2])
        missing = count * self.channels - len(out)
        if missing > 0:
            out.extend(array.array("h", bytes(2 * missing)))
        return out

    # ------------------------------------------------------------ libVLC thread

    def start(self, instance: Any) -> None:
        """Start decoding with libVLC *instance* (its stream output, unpaced)."""
        media = instance.media_new(self.url)
        chain = (
            f"#transcode{{acodec=s16l,samplerate={RATE},channels={self.channels}}}"
            f":std{{access=file,mux=raw,dst={self.path}}}"
        )
        media.add_option(f":sout={chain}")
        player = instance.media_player_new()
        player.set_media(media)
        self._media, self._player = media, player
        import vlc

        # On libVLC's threads: only flags. Kept referenced, as ctypes needs.
        def ended(_event: Any) -> None:
            self.complete = True
            hook = self.on_complete
            if hook is not None:
                hook(self.length_ms())

        def failed(_event: Any) -> None:
            self.failed = True

        self._callbacks = (ended, failed)
        manager = player.event_manager()
        manager.event_attach(vlc.EventType.MediaPlayerEndReached, ended)
        manager.event_attach(vlc.EventType.MediaPlayerEncounteredError, failed)
        if player.play() == -1:
            self.failed = True

    def poll(self) -> None:
        """Update `complete` and `failed` from the decoding player's state."""
        import vlc

        player = self._player
        if player is None or self.complete or self.failed:
            return
        state = player.get_state()
        if state == vlc.State.Ended:
            self.complete = True
        elif state == vlc.State.Error:
            self.failed = True
        elif state == vlc.State.Playing and player.get_length() <= 0:
            self.failed = True  # no length: a live stream, never copied
        elif state == vlc.State.Playing:
            self.has_length = True
        elif self.frames_ready() > MAX_FRAMES:
            self.failed = True
        if self.complete or self.failed:
            self.stop()

    def stop(self) -> None:
        """Stop decoding and release libVLC's objects; idempotent."""
        player, media = self._player, self._media
        self._player = self._media = None
        if player is not None:
            player.stop()
            player.release()
        if media is not None:
            media.release()

    def discard(self) -> None:
        """Stop, close and delete the copy."""
        self.stop()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.failed = True
        self.path.unlink(missing_ok=True)


class DecodedCopies:
    """The copies one player keeps (the track playing, the next ones), on the libVLC thread."""

    def __init__(
        self,
        channels: int,
        keep: int = 3,
        make: Callable[[str, Path, int], DecodedCopy] | None = None,
    ) -> None:
        self.channels = channels
        self._keep = keep
        # What makes a copy: libVLC's stream output (None), or another decoder.
        self._make = make
        self._instance: Any = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._copies: dict[str, DecodedCopy] = {}
        self._count = 0

    def copy_of(self, url: str) -> DecodedCopy | None:
        """Return the copy of *url*, starting it if there is none; None if none can be made."""
        copy = self._copies.pop(url, None)
        if copy is not None and not copy.failed:
            self._copies[url] = copy  # most recent last
            return copy
        media = format_of(url)
        if self._make is None and media is not None and media.name in _NOT_COPIED_BY_LIBVLC:
            return None
        if self._instance is None and self._make is None:
            import vlc

            self._instance = vlc.Instance(_INSTANCE_ARGS)
            if self._instance is None:
                return None
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="baton-copies-")
        self._count += 1
        make = self._make or DecodedCopy
        copy = make(url, Path(self._folder.name) / f"{self._count}.pcm", self.channels)
        copy.start(self._instance)
        self._copies[url] = copy
        while len(self._copies) > self._keep:
            oldest = next(iter(self._copies))
            self._copies.pop(oldest).discard()
        return copy

    def release(self) -> None:
        """Stop every decoding, delete the copies and release libVLC; idempotent."""
        for copy in self._copies.values():
            copy.discard()
        self._copies.clear()
        if self._instance is not None:
            self._instance.release()
            self._instance = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


class CopyReader:
    """What a timed sink presents instead of libVLC's samples: a copy, from a frame index on.

    Touched by libVLC's audio thread (take, at_flush) and the libVLC thread (start, seek).
    """

    def __init__(
        self,
        copy: DecodedCopy,
        first_frame: int,
        on_end: Callable[[int], None],
        on_boundary: Callable[[int], None] | None = None,
    ) -> None:
        self.copy = copy
        # Gapless: the next track's copy, continued on the same timeline once this one ends;
        # `on_boundary` hears when its first sample is heard.
        self.follow: DecodedCopy | None = None
        self.crossed = False  # into `follow`, still paced by the previous track's stream
        self._on_boundary = on_boundary
        self._lock = threading.Lock()
        self._next = first_frame
        self._after_flush: int | None = None
        self._on_end = on_end
        self._ended = False
        self._taken = 0  # frames handed out since the load: how far libVLC's stream went
        self._due_at: int | None = None  # a timed start's instant, for its first block
        # The latest blocks: when each is heard from, its first frame and its length.
        self._blocks: deque[tuple[int, int, int]] = deque(maxlen=BLOCKS_KEPT)
        self._slew = 0  # content frames still to skip (+) or repeat (-), a few a block

    @property
    def next_frame(self) -> int:
        """Return the copy's frame the next block starts with."""
        return self._next

    def take(self, frames: int, at_us: int, *, fresh: bool = True) -> array.array[int]:
        """Return the next *frames* frames of content, heard from *at_us*, and move past them.

        The first block reaching past the end of the track says when its last sample ends
        (`on_end`): libVLC's own stream, begun at 0, ends later. *fresh*: for a block libVLC
        just handed over (not one the sink refills after a jump).
        """
        copy = self.copy
        near_end = copy.complete and self._next + 2 * frames >= copy.frames_ready()
        with self._lock:
            if fresh and self._due_at is not None:
                # The first block of a timed start, later than planned: the content the
                # source plays on meanwhile is skipped, so the start is late, never behind.
                self._next += max(0, at_us - self._due_at) * RATE // 1_000_000
                self._due_at = None
            first, step = self._next, 0
            self._blocks.append((at_us, first, frames))
            if fresh and self._slew and not near_end:  # (never across a track's end)
                step = max(-SLEW_STEPS, min(SLEW_STEPS, self._slew))
                self._slew -= step
            self._next += frames + step
            self._taken += frames if fresh else 0
            ended = self._ended
        block = copy.read(first, frames + step)
        if step:  # the frames skipped or repeated at the block's quietest points
            block = respace(block, copy.channels, -step)
        if not ended and copy.complete:
            total = copy.frames_ready()
            follow = self.follow
            gapless = follow is not None and follow.complete and self._on_boundary is not None
            # Gapless, a block ending with the track crosses too: libVLC's stream ends with it.
            if first + frames > total or (gapless and first + frames == total):
                left = max(0, total - first)
                boundary = at_us + left * 1_000_000 // RATE
                if gapless and follow is not None and self._on_boundary is not None:
                    # No gap, no overlap: the next track's first sample follows this one's last.
                    rest = frames - left
                    block = copy.read(first, left) if left else array.array("h")
                    block.extend(follow.read(0, rest))
                    with self._lock:
                        self.copy, self.follow = follow, None
                        self._next, self._taken = rest, rest
                        self.crossed = True
                        self._blocks.append((boundary, 0, rest))
                    self._on_boundary(boundary)
                    return block
                with self._lock:
                    self._ended = True
                self._on_end(boundary)
        return block

    def left(self) -> int | None:
        """Return the frames of the copy not yet taken, once it is complete (else None)."""
        copy = self.copy
        if not copy.complete:
            return None
        with self._lock:
            return None if self._ended else max(0, copy.frames_ready() - self._next)

    @property
    def continued(self) -> bool:
        """Return whether a next track's copy waits to follow this one."""
        return self.follow is not None

    def restart_pacing(self) -> None:
        """libVLC paces from a new stream's start on: only content from here on is reachable."""
        with self._lock:
            self._taken, self.crossed = self._next, False

    def schedule(self, frame: int, at_us: int) -> None:
        """Start a pre-roll's content at *frame* heard at *at_us*, later content if later."""
        with self._lock:
            self._next, self._due_at = frame, at_us
            self._blocks.clear()

    def slew(self, frames: int) -> None:
        """Move the content on by *frames* (+: skipped, the output gets ahead; -: repeated, it
        falls back) over the blocks to come, SLEW_STEPS a block at their quietest points: no
        seek, nothing a listener hears."""
        with self._lock:
            self._slew += frames

    def held(self, from_us: int, shift_us: int) -> None:
        """The sink held what was to be heard from *from_us* on and plays it *shift_us* later
        (a pause): the blocks' instants move with it."""
        with self._lock:
            moved: list[tuple[int, int, int]] = []
            for start_us, first, frames in self._blocks:
                before = max(0, min(frames, (from_us - start_us) * RATE // 1_000_000))
                if before:
                    moved.append((start_us, first, before))
                if before < frames:
                    at = max(start_us, from_us) + shift_us
                    moved.append((at, first + before, frames - before))
            self._blocks = deque(moved, maxlen=BLOCKS_KEPT)

    def presented_at(self, at_us: int) -> int | None:
        """Return the copy's frame presented at *at_us* (None: not in the latest blocks): a
        start's or a resume's first sample, to the frame, where clocks read milliseconds."""
        with self._lock:
            blocks = list(self._blocks)
        for start_us, first, frames in reversed(blocks):  # a block refilled later wins
            offset = (at_us - start_us) * RATE // 1_000_000
            if 0 <= offset < frames:
                return first + offset
        return None

    def jump(self, frame: int) -> bool:
        """Go on from *frame*, if libVLC's stream (begun at 0 at the load) outlasts the rest."""
        with self._lock:
            if frame < self._taken:
                return False
            self._next, self._ended = frame, False
            return True

    def seek_at_flush(self, frame: int) -> None:
        """Start from *frame* once libVLC flushes what it decoded before its seek."""
        with self._lock:
            self._after_flush = frame

    def at_flush(self) -> None:
        """libVLC flushed: the blocks that follow start where a seek asked."""
        with self._lock:
            if self._after_flush is not None:
                self._next, self._after_flush = self._after_flush, None
                self._ended = False
