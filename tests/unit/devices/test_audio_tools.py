"""The audio analysis in tests.audio, checked against signals generated here."""

from __future__ import annotations

import array
from pathlib import Path

import pytest

from tests.audio import (
    RATE,
    Recording,
    audible_duration_ms,
    content_positions,
    dominant_frequency,
    find_gaps,
    first_segment,
    read_wav,
    segment_frequency,
    segment_sequence,
    tone_samples,
    write_position_track,
    write_tone,
    write_wav,
    zero_crossing_frequency,
)


def silence(ms: int) -> array.array[int]:
    return array.array("h", bytes(2 * RATE * ms // 1000))


def test_a_written_tone_reads_back_at_its_frequency_and_length(tmp_path: Path) -> None:
    rec = read_wav(write_tone(tmp_path / "t.wav", 440.0, 500))
    assert rec.rate == RATE
    assert rec.duration_ms == pytest.approx(500, abs=0.1)
    assert zero_crossing_frequency(rec.samples) == pytest.approx(440, abs=2)
    freq, purity = dominant_frequency(rec.samples[:2205], [220.0, 440.0, 660.0, 880.0])
    assert freq == 440.0
    assert purity > 0.95


def test_dominant_frequency_tells_neighbouring_segments_apart() -> None:
    window = tone_samples(segment_frequency(7), 50)
    freq, purity = dominant_frequency(window, [segment_frequency(k) for k in (6, 7, 8)])
    assert freq == segment_frequency(7)
    assert purity > 0.95
    _, other = dominant_frequency(window, [segment_frequency(8)])
    assert other < 0.05


def test_a_generated_gap_is_found_with_its_length() -> None:
    samples = tone_samples(440.0, 300)
    samples.extend(silence(120))
    samples.extend(tone_samples(440.0, 200))
    gaps = find_gaps(Recording(samples))
    assert len(gaps) == 1
    assert gaps[0].start_ms == pytest.approx(300, abs=5)
    assert gaps[0].duration_ms == pytest.approx(120, abs=10)
    assert audible_duration_ms(Recording(samples)) == pytest.approx(500, abs=10)


def test_short_dropouts_below_the_minimum_are_ignored() -> None:
    samples = tone_samples(440.0, 100)
    samples.extend(silence(10))
    samples.extend(tone_samples(440.0, 100))
    assert find_gaps(Recording(samples), min_gap_ms=20) == []
    fine = find_gaps(Recording(samples), min_gap_ms=5, block_ms=1)
    assert len(fine) == 1
    assert fine[0].duration_ms == pytest.approx(10, abs=2)


def test_leading_and_trailing_silence_are_gaps_too() -> None:
    samples = silence(50)
    samples.extend(tone_samples(440.0, 100))
    samples.extend(silence(40))
    gaps = find_gaps(Recording(samples))
    # Block precision: a 5 ms block with any tone in it is not silent.
    assert [g.start_ms for g in gaps] == [0, pytest.approx(150, abs=5)]
    assert [g.duration_ms for g in gaps] == [pytest.approx(50, abs=5), pytest.approx(40, abs=5)]


def test_the_position_track_maps_back_to_its_segments(tmp_path: Path) -> None:
    rec = read_wav(write_position_track(tmp_path / "p.wav", 1000))
    assert rec.duration_ms == pytest.approx(1000, abs=0.1)
    hits = content_positions(rec)
    assert segment_sequence(hits) == list(range(10))
    for hit in hits:  # each hit lies inside the segment it names
        assert hit.segment * 100 - 1 <= hit.at_ms <= hit.segment * 100 + 100


def test_a_jump_in_content_shows_in_the_sequence(tmp_path: Path) -> None:
    full = read_wav(write_position_track(tmp_path / "p.wav", 3000)).samples
    cut = full[: 44100 * 4 // 10]  # 0..400 ms, then jump to 2000 ms
    cut.extend(full[44100 * 2 :])
    rec = Recording(cut)
    assert segment_sequence(content_positions(rec)) == [0, 1, 2, 3, *range(20, 30)]
    assert first_segment(Recording(full[44100 * 15 // 10 :])) == 15


def test_read_wav_copes_with_an_unfinished_header(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "w.wav", tone_samples(440.0, 100))
    raw = bytearray(path.read_bytes())
    raw[40:44] = b"\x00\x00\x00\x00"  # data size never written back, as by a killed writer
    path.write_bytes(bytes(raw))
    assert read_wav(path).duration_ms == pytest.approx(100, abs=0.1)


def test_read_wav_keeps_the_first_channel_of_stereo(tmp_path: Path) -> None:
    import wave

    left = tone_samples(440.0, 100)
    stereo = array.array("h", [0] * (2 * len(left)))
    stereo[0::2] = left
    path = tmp_path / "s.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(stereo.tobytes())
    assert read_wav(path).samples == left


def test_a_ten_second_track_maps_back_whole(tmp_path: Path) -> None:
    rec = read_wav(write_position_track(tmp_path / "p.wav", 10_000))
    assert segment_sequence(content_positions(rec)) == list(range(100))
