"""What `baton play` takes from local paths: audio only, albums in track order (issue 13, 10)."""

from __future__ import annotations

from pathlib import Path

import mutagen.id3
import pytest
from mutagen.wave import WAVE

from client.local_tracks import LocalPathError, is_audio, select_tracks
from tests.audio import write_garbage, write_tone
from tests.unit.play_local.tagged import tagged_tone


def _names(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def _tone(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_tone(path, 440, 300)


def test_a_folder_plays_album_by_album_in_tag_order_then_by_name(tmp_path: Path) -> None:
    music = tmp_path / "Music"
    # Track numbers from the tags beat the file names; discs come before numbers.
    tagged_tone(music / "Beta" / "a.wav", 440, album="Beta", number=3)
    tagged_tone(music / "Beta" / "b.wav", 440, album="Beta", number=1)
    tagged_tone(music / "Beta" / "c.wav", 440, album="Beta", number=2, disc=2)
    tagged_tone(music / "Beta" / "d.wav", 440, album="Beta", number=1, disc=2)
    # Untagged: the number in the file name, then the name.
    for name in ("02 two.wav", "01 one.wav", "bonus.wav", "Another.wav"):
        _tone(music / "Alpha" / name)
    selection = select_tracks([music])
    assert _names([t.path for t in selection.tracks]) == [
        "01 one.wav", "02 two.wav", "Another.wav", "bonus.wav",  # Alpha: numbered, then names
        "b.wav", "a.wav", "d.wav", "c.wav",  # Beta: disc 0 (untagged) 1, 3; disc 2: 1, 2
    ]  # fmt: skip
    assert selection.skipped == 0


def test_a_compilation_stays_one_album_whatever_its_artists(tmp_path: Path) -> None:
    folder = tmp_path / "Hits"
    for number, artist in ((1, "X"), (2, "Y"), (3, "X")):
        path = tagged_tone(folder / f"{artist}{number}.wav", 440, album="Hits", number=number)
        wav = WAVE(path)
        assert wav.tags is not None
        wav.tags.add(mutagen.id3.TPE1(encoding=3, text=[artist]))
        wav.save()
    assert _names([t.path for t in select_tracks([folder]).tracks]) == [
        "X1.wav",
        "Y2.wav",
        "X3.wav",
    ]


def test_files_that_are_not_audio_are_skipped_and_counted(tmp_path: Path) -> None:
    folder = tmp_path / "Album"
    _tone(folder / "01.wav")
    (folder / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a picture")
    (folder / "notes.txt").write_text("liner notes")
    write_garbage(folder / "data.bin")
    (folder / ".DS_Store").write_bytes(b"hidden: neither played nor counted")
    _tone(folder / ".git" / "hidden.wav")
    selection = select_tracks([folder, folder / "notes.txt"])
    assert _names([t.path for t in selection.tracks]) == ["01.wav"]
    assert selection.skipped == 4  # cover.jpg, notes.txt, data.bin, and notes.txt named again


def test_audio_without_an_audio_suffix_is_recognised(tmp_path: Path) -> None:
    renamed = _tone(tmp_path / "recording.take1")
    assert is_audio(renamed)
    assert not is_audio(write_garbage(tmp_path / "random.take2"))


def test_files_given_one_by_one_keep_their_order(tmp_path: Path) -> None:
    late = tagged_tone(tmp_path / "a.wav", 440, number=9)
    early = tagged_tone(tmp_path / "b.wav", 440, number=1)
    assert [t.path for t in select_tracks([late, early]).tracks] == [late, early]


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalPathError, match=r"no such file or folder: .*missing\.flac"):
        select_tracks([tmp_path / "missing.flac"])
