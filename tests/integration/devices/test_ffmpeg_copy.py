"""Decoded copies where ffmpeg is installed (devices/_ffmpeg_copy.py, devices/_pcm_copy.py):
each format's copy holds exactly the track's samples, its encoder delay and padding trimmed,
so the parts of an album meet; a WAV's PCM is read as it is; what cannot be copied says so."""

from __future__ import annotations

import array
import asyncio
import threading
from pathlib import Path

import pytest

from devices._decoded_copy import DecodedCopy
from devices._ffmpeg_copy import FFmpegCopy, ffmpeg_available
from devices._pcm_copy import PcmCopy, ffmpeg_copy
from tests.audio import RATE, read_wav, write_garbage, write_position_track, write_wav
from tests.corpus import DURATION_MS, CorpusFile
from tests.media_server import MediaServer

pytestmark = pytest.mark.skipif(not ffmpeg_available(), reason="needs ffmpeg (apt install ffmpeg)")

COPY_TIMEOUT_S = 20.0
# The only format that cannot say its encoder delay and padding: no LAME/Xing header.
UNTRIMMABLE = ("mp3-vbr-no-xing",)


async def copied(server: MediaServer, name: str, folder: Path, channels: int = 1) -> DecodedCopy:
    """Return the finished copy of the served file *name* (failed or complete)."""
    copy = ffmpeg_copy(server.url(name), folder / f"{name}.pcm", channels)
    done = threading.Event()
    copy.on_complete = lambda _ms: done.set()

    def until_finished() -> None:
        # Completion is an event; a failure only a flag (as libVLC's copy has it).
        for _ in range(int(COPY_TIMEOUT_S / 0.01)):
            if done.wait(0.01) or copy.failed:
                return

    copy.start()
    await asyncio.to_thread(until_finished)  # the media server answers on this loop meanwhile
    assert copy.complete or copy.failed
    return copy


def samples_of(copy: DecodedCopy) -> array.array[int]:
    """Return every sample the copy holds."""
    return copy.read(0, copy.frames_ready())


@pytest.mark.parametrize(
    "name", ["wav", "flac", "mp3-cbr", "mp3-vbr-art", "aac-m4a", "opus", "vorbis"]
)
async def test_a_copy_holds_exactly_the_tracks_samples_in_every_format(
    name: str, corpus: dict[str, CorpusFile], media_server: MediaServer, tmp_path: Path
) -> None:
    track = corpus[name]
    (media_server.root / track.filename).write_bytes(track.path.read_bytes())
    copy = await copied(media_server, track.filename, tmp_path)
    assert copy.complete
    assert copy.has_length
    # Encoder delay (LAME header, MP4 edit list, Opus pre-skip) and end padding trimmed.
    assert copy.frames_ready() == DURATION_MS * RATE // 1000
    if not track.lossy:
        assert samples_of(copy) == read_wav(corpus["wav"].path).samples


async def test_an_mp3_without_a_lame_header_keeps_its_delay_which_no_decoder_can_know(
    corpus: dict[str, CorpusFile], media_server: MediaServer, tmp_path: Path
) -> None:
    track = corpus[UNTRIMMABLE[0]]
    (media_server.root / track.filename).write_bytes(track.path.read_bytes())
    copy = await copied(media_server, track.filename, tmp_path)
    assert copy.complete
    assert copy.frames_ready() > DURATION_MS * RATE // 1000  # delay and padding stay


async def test_a_mono_wav_is_read_as_it_is_onto_both_channels(
    media_server: MediaServer, tmp_path: Path
) -> None:
    source = read_wav(write_position_track(media_server.root / "mono.wav", 500)).samples
    copy = await copied(media_server, "mono.wav", tmp_path, channels=2)
    assert isinstance(copy, PcmCopy)
    assert copy.complete
    both = samples_of(copy)
    assert both[0::2] == source
    assert both[1::2] == source  # the same level on both sides, not -3 dB


async def test_a_wav_at_another_rate_is_converted_by_ffmpeg(
    media_server: MediaServer, tmp_path: Path
) -> None:
    write_wav(media_server.root / "48k.wav", array.array("h", [1000] * 48_000), rate=48_000)
    copy = await copied(media_server, "48k.wav", tmp_path)
    assert copy.complete
    assert abs(copy.frames_ready() - RATE) <= 1  # one second, at the output's rate


@pytest.mark.parametrize("name", ["damaged.flac", "damaged.wav", "missing.ogg"])
async def test_what_cannot_be_decoded_fails_the_copy_and_nothing_else(
    name: str, media_server: MediaServer, tmp_path: Path
) -> None:
    if not name.startswith("missing"):
        write_garbage(media_server.root / name)
    copy = await copied(media_server, name, tmp_path)
    assert copy.failed
    assert not copy.complete


async def test_a_stopped_copy_ends_its_process(media_server: MediaServer, tmp_path: Path) -> None:
    write_position_track(media_server.root / "long.wav", 3_000)
    copy = FFmpegCopy(media_server.url("long.wav"), tmp_path / "long.pcm", 1)
    copy.start()
    copy.stop()
    copy.stop()  # idempotent
    assert copy._process is not None
    assert copy._process.poll() is not None  # ended, and waited for
