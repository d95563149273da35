"""A WAV's copy read straight from its PCM: no decoder to start, so a play waits for nothing.

A 16-bit WAV at the output's rate is already what a copy holds; reading it over HTTP and
writing its samples (a mono track on both channels of a stereo output, a stereo one averaged for
a mono output) costs no process and no decoding, where ffmpeg would take ~100 ms to start on
every play. Any other WAV (24-bit, float, another rate, more channels) or a fetch that fails
is handed to ffmpeg (devices/_ffmpeg_copy.py), which converts it.
"""

from __future__ import annotations

import array
import logging
import struct
import threading
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

from connect.media_formats import format_of
from connect.media_urls import is_media_url
from devices._decoded_copy import MAX_FRAMES
from devices._envelope import RATE
from devices._ffmpeg_copy import FFmpegCopy

_LOGGER = logging.getLogger(__name__)

_CHUNK = 65_536
_HEAD_MAX = 1 << 20  # a header (with LIST/ID3 chunks) longer than this is not a WAV to read
_FETCH_TIMEOUT_S = 10.0
_PCM = 1
_EXTENSIBLE = 0xFFFE


class WavFormatError(ValueError):
    """The WAV is not 16-bit PCM at the output's rate in one or two channels."""


class NotWavError(WavFormatError):
    """Not a WAV to copy at all: no RIFF WAVE header (damaged, or misnamed), or too long."""


class PcmCopy(FFmpegCopy):
    """A WAV's copy, its PCM read over HTTP by a thread; ffmpeg's for any other WAV."""

    def __init__(self, url: str, path: Path, channels: int) -> None:
        super().__init__(url, path, channels)
        self._stop_reading = threading.Event()

    def start(self, instance: Any = None) -> None:
        """Start reading the WAV (*instance*: unused)."""
        threading.Thread(target=self._read, name="wav copy", daemon=True).start()

    def stop(self) -> None:
        """Stop reading (or ffmpeg's decoding); idempotent."""
        self._stop_reading.set()
        super().stop()

    def _read(self) -> None:
        """Copy the WAV's samples into the file; hand it to ffmpeg if it cannot."""
        try:
            if not is_media_url(self.url):
                raise ValueError("only http and https are read")
            fetch = urllib.request.urlopen
            with fetch(self.url, timeout=_FETCH_TIMEOUT_S) as response:
                channels, size = _read_header(response)
                if size // (2 * channels) > MAX_FRAMES:
                    raise NotWavError("longer than the longest copy kept")
                self.has_length = True
                self._copy_samples(response, channels, size)
        except NotWavError as exc:
            # Damaged, or not a WAV at all: libVLC's own load says so at once, where ffmpeg
            # could search a large file for something to decode for seconds. Too long: libVLC
            # plays its own samples (it seeks PCM to the sample).
            _LOGGER.info("%s: not copied (%s)", self.url, exc)
            self.failed = True
            return
        except (OSError, WavFormatError, ValueError) as exc:
            if self._stop_reading.is_set():
                return
            _LOGGER.debug("%s: read by ffmpeg (%s)", self.url, exc)
            self.has_length = False
            super().start()
            return
        if self._stop_reading.is_set():
            return
        self.complete = True
        hook = self.on_complete
        if hook is not None:
            hook(self.length_ms())

    def _copy_samples(self, response: BinaryIO, channels: int, size: int) -> None:
        """Write *size* bytes of *channels*-channel samples as the copy's channels."""
        left = size - size % (2 * channels)
        carry = b""
        with self.path.open("wb", buffering=0) as out:
            while left > 0 and not self._stop_reading.is_set():
                data = carry + response.read(min(_CHUNK, left))
                if len(data) == len(carry):
                    break  # the server sent less than the header said: the copy ends there
                left -= len(data) - len(carry)
                whole = len(data) - len(data) % (2 * channels)
                carry = data[whole:]
                out.write(_remix(data[:whole], channels, self.channels))


def _read_header(stream: BinaryIO) -> tuple[int, int]:
    """Read a WAV's header up to its samples; return (channels, data size in bytes)."""
    riff = stream.read(12)
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise NotWavError("not a RIFF WAVE file")
    channels = None
    read = 12
    while read < _HEAD_MAX:
        head = stream.read(8)
        if len(head) < 8:
            raise WavFormatError("no data chunk")
        kind, size = head[:4], struct.unpack("<I", head[4:])[0]
        read += 8
        if kind == b"data":
            if channels is None:
                raise WavFormatError("data before fmt")
            if size in (0, 0xFFFFFFFF):
                raise WavFormatError("a streamed WAV without a length")
            return channels, size
        body = stream.read(size + size % 2)
        read += len(body)
        if kind == b"fmt ":
            channels = _check_format(body)
    raise WavFormatError("header too long")


def _check_format(fmt: bytes) -> int:
    """Return the channel count of a 16-bit PCM fmt chunk at RATE; raise WavFormatError else."""
    if len(fmt) < 16:
        raise WavFormatError("short fmt chunk")
    tag, channels, rate, _rate_bytes, _align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]  # the sub-format GUID's first two bytes
    if tag != _PCM or bits != 16 or rate != RATE or channels not in (1, 2):
        raise WavFormatError(f"format {tag}, {bits}-bit, {rate} Hz, {channels} channels")
    return int(channels)


def _remix(data: bytes, have: int, want: int) -> bytes:
    """Return 16-bit frames of *have* channels as frames of *want* (1 or 2) channels."""
    if have == want:
        return data
    samples = array.array("h")
    samples.frombytes(data)
    out = array.array("h", bytes(len(samples) * 2 * want // have))
    if have == 1:
        out[0::2] = samples
        out[1::2] = samples
    else:
        pairs = zip(samples[0::2], samples[1::2], strict=True)
        out[:] = array.array("h", ((a + b) >> 1 for a, b in pairs))
    return out.tobytes()


def ffmpeg_copy(url: str, path: Path, channels: int) -> FFmpegCopy:
    """Return the copy to make of *url* where ffmpeg is installed: a WAV's PCM read as it is."""
    media = format_of(url)
    if media is not None and media.name == "wav":
        return PcmCopy(url, path, channels)
    return FFmpegCopy(url, path, channels)
