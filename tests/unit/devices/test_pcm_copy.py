"""Reading a WAV's header and remixing its PCM (devices/_pcm_copy.py): what it reads as it is,
and what it leaves to ffmpeg."""

from __future__ import annotations

import array
import io
import struct
import wave

import pytest

from devices._envelope import RATE
from devices._pcm_copy import WavFormatError, _read_header, _remix


def wav_bytes(channels: int = 1, rate: int = RATE, width: int = 2, frames: int = 10) -> bytes:
    """Return a WAV file's bytes."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames * channels * width))
    return out.getvalue()


@pytest.mark.parametrize("channels", [1, 2])
def test_a_16_bit_wav_at_the_output_rate_is_read_up_to_its_samples(channels: int) -> None:
    stream = io.BytesIO(wav_bytes(channels, frames=10))
    assert _read_header(stream) == (channels, 10 * channels * 2)
    assert len(stream.read()) == 10 * channels * 2  # the stream stands at the first sample


def test_chunks_before_the_samples_are_skipped() -> None:
    data = wav_bytes(frames=4)
    fmt_end = 12 + 8 + 16
    extra = b"LIST" + struct.pack("<I", 5) + b"hello\x00"  # odd size: padded
    stream = io.BytesIO(data[:fmt_end] + extra + data[fmt_end:])
    assert _read_header(stream) == (1, 8)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (wav_bytes(rate=48_000), "48000 Hz"),
        (wav_bytes(width=3), "24-bit"),
        (wav_bytes(channels=6), "6 channels"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "no data chunk"),
        (b"ID3\x03" + bytes(40), "not a RIFF"),
    ],
)
def test_what_is_not_plain_16_bit_pcm_is_left_to_ffmpeg(data: bytes, why: str) -> None:
    with pytest.raises(WavFormatError, match=why):
        _read_header(io.BytesIO(data))


def test_mono_goes_to_both_channels_and_stereo_is_averaged_to_one() -> None:
    mono = array.array("h", [100, -200, 300])
    both = array.array("h")
    both.frombytes(_remix(mono.tobytes(), 1, 2))
    assert list(both) == [100, 100, -200, -200, 300, 300]
    one = array.array("h")
    one.frombytes(_remix(array.array("h", [100, 300, -1, -3]).tobytes(), 2, 1))
    assert list(one) == [200, -2]
    assert _remix(b"\x01\x00", 1, 1) == b"\x01\x00"
