"""What the library reads from real music files made by Debian's ffmpeg (issue 21): title,
artist, album, length within 50 ms and the cover, in every format; and that a damaged, empty
or foreign file becomes a track with its fault said, never an exception."""

from __future__ import annotations

import random
from pathlib import Path

import mutagen
import pytest
from mutagen.mp4 import MP4FreeForm

from client.app.audio_probe import DAMAGED, EMPTY, probe_file
from client.app.library import read_track, scan_library
from client.app.library_cache import LibraryCache
from tests.audio import write_garbage, write_position_track
from tests.corpus import FFMPEG, TAGGED_FORMATS, make_corpus, make_tagged, write_art

pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs Debian's ffmpeg")

DURATION_MS = 3_000
CODECS = {"mp3": "mp3", "m4a": "aac", "flac": "flac", "opus": "opus", "vorbis": "vorbis",
          "wav": "wav"}  # fmt: skip


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], bytes]:
    folder = tmp_path_factory.mktemp("tagged")
    source = write_position_track(folder / "source.wav", DURATION_MS)
    art = write_art(folder / "cover.png")
    music = folder / "music"
    music.mkdir()
    files = {
        name: make_tagged(
            source, name, music, {"title": f"Song in {name}", "artist": "Ada", "album": "Formats"},
            art,
        )
        for name in TAGGED_FORMATS
    }  # fmt: skip
    return files, art.read_bytes()


@pytest.mark.parametrize("name", TAGGED_FORMATS)
def test_every_format_gives_its_tags_length_and_cover(tagged, name):
    files, cover = tagged
    track, art = read_track(files[name])
    assert (track.title, track.artist, track.album) == (f"Song in {name}", "Ada", "Formats")
    assert abs(track.duration_ms - DURATION_MS) <= 50
    assert art == cover
    assert track.codec == CODECS[name]
    assert track.fault == ""


def test_the_cache_keeps_what_was_read(tagged, tmp_path):
    files, cover = tagged
    music = next(iter(files.values())).parent
    cache = LibraryCache(tmp_path / "cache.sqlite", music)
    scanned = cache.scan()
    assert scanned == scan_library(music)
    assert cache.load() == scanned
    (album,) = scanned.albums
    assert album.artwork == cover
    assert {t.codec for t in album.tracks} == set(CODECS.values())
    # A container that may hold several codecs says which one it does, for a device's check.
    ogg = next(t for t in album.tracks if t.path.suffix == ".ogg")
    assert ogg.content_type == "audio/ogg; codecs=vorbis"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    return make_corpus(tmp_path_factory.mktemp("corpus"), DURATION_MS)


def test_lengths_are_the_music_s_in_every_encoding(corpus):
    # MP3 CBR and VBR with ffmpeg's Info/Xing header (mutagen alone: 37 ms long, not trimmed
    # as ffmpeg's LAME tag says "Lavc"), without one (mutagen alone: a third of it), AAC with
    # its priming, FLAC with and without a seek table, Opus's pre-skip, Vorbis, WAV.
    lengths = {name: probe_file(f.path).duration_ms for name, f in corpus.items()}
    assert {name: abs(ms - DURATION_MS) <= 50 for name, ms in lengths.items()} == dict.fromkeys(
        lengths, True
    ), lengths


@pytest.mark.parametrize("suffix", [".mp3", ".m4a", ".flac", ".ogg", ".opus", ".wav", ".aac"])
def test_a_damaged_or_empty_file_is_a_track_that_says_so(tmp_path, suffix):
    garbage = write_garbage(tmp_path / f"broken{suffix}")
    empty = tmp_path / f"empty{suffix}"
    empty.write_bytes(b"")
    assert read_track(garbage)[0].fault == DAMAGED
    assert read_track(empty)[0].fault == EMPTY
    assert read_track(garbage)[0].title == "broken"


def test_a_file_cut_after_its_header_is_damaged(corpus, tmp_path):
    # mutagen raises on some (FLAC's STREAMINFO cut short) and reads nothing in others.
    for name in ("flac", "vorbis", "aac-m4a", "wav"):
        whole = corpus[name].path.read_bytes()
        cut = tmp_path / f"cut-{corpus[name].filename}"
        cut.write_bytes(whole[:30])
        assert probe_file(cut).fault == DAMAGED, name


def test_formats_baton_does_not_play_are_listed_with_why(tmp_path):
    (tmp_path / "old.wma").write_bytes(b"\x30\x26\xb2\x75" + b"\0" * 100)
    speex_named_ogg = tmp_path / "voice.spx"
    speex_named_ogg.write_bytes(b"OggS" + b"\0" * 100)
    (tmp_path / "notes.txt").write_text("not music")
    library = scan_library(tmp_path)
    faults = {t.path.name: t.fault for t in library.tracks}
    assert faults == {
        "old.wma": "Baton does not play WMA",
        "voice.spx": "Baton does not play Speex",
    }


def test_matroska_which_mutagen_cannot_read_is_not_called_damaged(tmp_path):
    # mutagen has no Matroska reader: the library cannot judge it, a receiver will.
    write_garbage(tmp_path / "live.mka")
    assert probe_file(tmp_path / "live.mka").fault == ""


def test_an_aac_file_s_length_leaves_out_the_encoder_s_priming(corpus, tmp_path):
    # mutagen reads the track's length, priming included (23 ms here); ffmpeg's movie header
    # counts the edit list that hides it; iTunes and Apple's encoders say the samples fed in
    # an `iTunSMPB` comment, which wins where there is one.
    assert probe_file(corpus["aac-m4a"].path).duration_ms == DURATION_MS
    m4a = tmp_path / "itunes.m4a"
    m4a.write_bytes(corpus["aac-m4a"].path.read_bytes())
    audio = mutagen.File(m4a)
    assert round(audio.info.length * 1000) > DURATION_MS
    samples = 2_500 * audio.info.sample_rate // 1000  # not the movie header's: seen to win
    smpb = f" 00000000 00000840 000001C0 {samples:016X} 00000000 00000000"
    audio.tags["----:com.apple.iTunes:iTunSMPB"] = [MP4FreeForm(smpb.encode())]
    audio.save()
    assert probe_file(m4a).duration_ms == 2_500


def test_no_damage_makes_reading_raise(tagged, tmp_path):
    # Each file cut short, or with bytes changed in its headers or anywhere: whatever mutagen
    # makes of it, reading gives a track (with its fault, or none when the damage is in audio
    # no reader looks at), never an exception that would stop a scan.
    files, _ = tagged
    rng = random.Random(21)
    for path in files.values():
        data = path.read_bytes()
        damaged = tmp_path / f"damaged{path.suffix}"
        for n in range(120):
            mutated = bytearray(data[: rng.randrange(len(data))] if n % 3 == 0 else data)
            for _ in range(0 if n % 3 == 0 else rng.randrange(1, 20)):
                at = rng.randrange(min(len(mutated), 4096) if n % 3 == 1 else len(mutated))
                mutated[at] = rng.randrange(256)
            damaged.write_bytes(bytes(mutated))
            read_track(damaged)
