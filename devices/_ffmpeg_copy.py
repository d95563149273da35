"""A decoded copy made by ffmpeg, where it is installed: what libVLC's copy cannot be exact in.

libVLC's decoders drop the start of some formats (~23 ms of AAC, ~73 ms of Opus, ~36 ms of
Vorbis on Debian 12's libVLC 3) and keep the padding an encoder adds at the end, so the parts of
an album cut into files never meet exactly. ffmpeg's demuxers apply what the file says about
its encoder delay and padding (the LAME/Xing header, an MP4 edit list, Opus pre-skip, the Ogg
granule position), so its copy starts at the first real sample and ends at the last. One gap
remains in ffmpeg 5.1: an MP4 track's end padding (up to one AAC frame) is left in, so the copy
is cut to the length the container states (read with ffprobe). An MP3 without a LAME header
says nothing about its delay or padding; no decoder can know them, and they stay.

Same interface and file layout as libVLC's copy (devices/_decoded_copy.py): raw s16 PCM at
RATE, grown on disk while read. Its process is watched by a thread of its own, which sets
`has_length`, `complete` and `failed` the way libVLC's events do for the other.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

from connect.media_formats import format_of
from devices._decoded_copy import MAX_FRAMES, DecodedCopy
from devices._envelope import RATE

_LOGGER = logging.getLogger(__name__)

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
# ffmpeg's banner says whether the input has a length: "Duration: N/A" is a live stream.
_DURATION = re.compile(rb"^\s*Duration: (N/A|\d+:\d+:\d+\.\d+)", re.MULTILINE)
_MP4_NAMES = frozenset({"aac", "alac", "m4a", "mp4"})
_STOP_WAIT_S = 2.0
_PROBE_TIMEOUT_S = 10.0


def _seconds(duration: bytes) -> float:
    """Return the seconds of ffmpeg's "HH:MM:SS.cc"."""
    hours, minutes, seconds = duration.split(b":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _probe(url: str) -> subprocess.Popen[bytes] | None:
    """Start ffprobe asking for *url*'s audio track's length in its container's time base."""
    assert FFPROBE is not None
    command = [
        FFPROBE, "-v", "error", "-select_streams", "a:0", "-show_entries",
        "stream=duration_ts,time_base", "-of", "default=noprint_wrappers=1", url,
    ]  # fmt: skip
    try:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
    except OSError:
        return None


def ffmpeg_available() -> bool:
    """Return whether this machine's copies can be made by ffmpeg."""
    return FFMPEG is not None


class FFmpegCopy(DecodedCopy):
    """One track decoded from its start by an ffmpeg process into raw s16 PCM on disk."""

    def __init__(self, url: str, path: Path, channels: int) -> None:
        super().__init__(url, path, channels)
        self._process: subprocess.Popen[bytes] | None = None
        self._stated: subprocess.Popen[bytes] | None = None  # ffprobe, for an MP4's length
        self._stopping = False
        media = format_of(url)
        # An MP4's end padding survives ffmpeg 5.1's decoding: cut to the container's length.
        self._probe_length = media is not None and media.name in _MP4_NAMES

    def start(self, instance: Any = None) -> None:
        """Start ffmpeg decoding into the copy's file (*instance*: unused, libVLC's copy's)."""
        assert FFMPEG is not None
        command = [
            FFMPEG, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info",
            "-i", self.url, "-map", "0:a:0", "-vn", *self._mix(), "-f", "s16le",
            "-acodec", "pcm_s16le", "-ar", str(RATE), "-ac", str(self.channels),
            "-y", str(self.path),
        ]  # fmt: skip
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            _LOGGER.info("%s: ffmpeg did not start (%s)", self.url, exc)
            self.failed = True
            return
        if self._probe_length and FFPROBE is not None:
            # Asked alongside the decoding, so the copy is cut as soon as it is whole.
            self._stated = _probe(self.url)
        threading.Thread(target=self._watch, name="ffmpeg copy", daemon=True).start()

    def _mix(self) -> list[str]:
        """Return the filter that makes the output's channels: a mono track on both, whole."""
        # ffmpeg's own upmix puts a mono channel at -3 dB on each side; libVLC's (and what a
        # listener expects of one voice on two speakers) is the same level on both.
        return ["-af", "pan=stereo|FL<FL+FC|FR<FR+FC"] if self.channels == 2 else []

    def poll(self) -> None:
        """Give up on a copy longer than MAX_FRAMES (the watcher sets the rest)."""
        if not (self.complete or self.failed) and self.frames_ready() > MAX_FRAMES:
            self.failed = True
            self.stop()

    def stop(self) -> None:
        """Stop decoding; idempotent."""
        probe = self._stated
        if probe is not None and probe.returncode is None:
            probe.kill()
            probe.communicate()  # reaped, its pipe closed
        process = self._process
        if process is None or process.poll() is not None:
            return
        self._stopping = True
        process.terminate()
        try:
            process.wait(_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    # ------------------------------------------------------------ the watcher's thread

    def _watch(self) -> None:
        """Read ffmpeg's messages until it exits, then say how the copy ended."""
        process = self._process
        assert process is not None
        assert process.stderr is not None
        said = b""
        with process.stderr:
            for line in process.stderr:
                if len(said) < 65_536:
                    said += line
                if not self.has_length and not self.failed:
                    self._read_duration(said)
        code = process.wait()
        if self._stopping or self.failed:
            return
        if code != 0:
            _LOGGER.info("%s: ffmpeg could not decode it (exit %d): %s", self.url, code,
                         said.decode(errors="replace").strip().splitlines()[-1:])  # fmt: skip
            self.failed = True
            return
        if self._probe_length:
            self._cut_to(self._stated_frames())
        self.has_length = True
        self.complete = True
        hook = self.on_complete
        if hook is not None:
            hook(self.length_ms())

    def _read_duration(self, said: bytes) -> None:
        """Set `has_length`, or give up on a live stream, from ffmpeg's messages so far."""
        found = _DURATION.search(said)
        if found is None:
            return
        if found.group(1) == b"N/A":
            _LOGGER.info("%s: a stream without a length; not copied", self.url)
        elif _seconds(found.group(1)) * RATE > MAX_FRAMES:
            _LOGGER.info("%s: longer than the longest copy kept; not copied", self.url)
        else:
            self.has_length = True
            return
        self.failed = True
        threading.Thread(target=self.stop, name="ffmpeg copy stop", daemon=True).start()

    def _stated_frames(self) -> int | None:
        """Return the audio track's length in frames as its container states it, if it does."""
        probe = self._stated
        if probe is None:
            return None
        try:
            out, _ = probe.communicate(timeout=_PROBE_TIMEOUT_S)
            fields = dict(line.split("=", 1) for line in out.decode().split())
            seconds = int(fields["duration_ts"]) * Fraction(fields["time_base"])
        except subprocess.TimeoutExpired:
            probe.kill()
            probe.communicate()
            return None
        except (KeyError, ValueError, ZeroDivisionError):
            return None
        return round(seconds * RATE)

    def _cut_to(self, frames: int | None) -> None:
        """Cut the copy to *frames* if it holds more (an encoder's end padding)."""
        if frames is None or frames <= 0 or frames >= self.frames_ready():
            return
        try:
            os.truncate(self.path, frames * self.frame_bytes)
        except OSError as exc:
            _LOGGER.info("%s: the copy's padding stays (%s)", self.url, exc)
