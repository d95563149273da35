"""Tracks that cannot play, in the app (issue 21): marked in the library with words a screen
reader says, never offered. Play, Add to queue and "Play all" leave them out and say how many
and why, on the desktop and the TV; the marks follow the device Play goes to."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from client.app import views as v
from client.app.library import Library, scan_library
from connect.wire import messages as m
from tests.audio import write_garbage, write_tone
from tests.corpus import FFMPEG
from tests.e2e.app.conftest import open_app
from tests.e2e.app.idle import device, idle_tv_window, idle_window, item, session
from tests.unit.play_local.tagged import tagged_tone

pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs Debian's ffmpeg")

ONE = m.ProtocolVersion(1)
NO_OPUS = ("wav", "mp3", "aac", "flac", "vorbis")
SKIPPED = "Skipped 2 tracks: damaged file (1), Sofa TV cannot play Opus (1)"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """An album "Mixed": two good WAVs around a damaged MP3 and an Opus track."""
    folder = tmp_path_factory.mktemp("music") / "Mixed"
    tagged_tone(folder / "01 First.wav", 440, album="Mixed", number=1, title="First")
    write_garbage(folder / "02 Broken.mp3")
    tone = write_tone(tmp_path_factory.mktemp("source") / "tone.wav", 550, 300)
    subprocess.run(
        [str(FFMPEG), "-nostdin", "-v", "error", "-i", str(tone), "-c:a", "libopus",
         "-metadata", "title=Voice", "-metadata", "album=Mixed", "-metadata", "track=3",
         str(folder / "03 Voice.opus")],
        check=True,
    )  # fmt: skip
    tagged_tone(folder / "04 Last.wav", 660, album="Mixed", number=4, title="Last")
    return scan_library(folder.parent)


def _info(name: str, codecs: tuple[str, ...]) -> m.DeviceInfo:
    return m.DeviceInfo(
        "id", name, m.DeviceType.TV, m.VersionRange(ONE, ONE), m.Capabilities(audio_codecs=codecs)
    )


def _follow(window: Any, n: int, name: str, codecs: tuple[str, ...]) -> None:
    """A device that says what it decodes, followed (so Play goes there)."""
    window.bridge.device_changed.emit(device(n, name, m.DeviceType.TV, info=_info(name, codecs)))
    window.bridge.session_changed.emit(session(f"dev{n}", name, (item("a", "Song"),)))


def _titles(tracks: tuple[Any, ...]) -> list[str]:
    return [t.title for t in tracks]


def test_the_desktop_marks_what_cannot_play_and_never_offers_it(qtbot, tmp_path, library):
    window = idle_window(qtbot, tmp_path)
    window.bridge.library_loaded.emit(v.LibraryLoaded(library))
    _follow(window, 1, "Sofa TV", NO_OPUS)
    screen = window.library
    qtbot.waitUntil(lambda: screen.target is not None and screen.target.name == "Sofa TV")
    (album,) = library.albums
    screen.open_album(album)
    rows = screen.track_rows
    assert [bool(r.property("unplayable")) for r in rows] == [False, True, True, False]
    assert screen.album_artist.text() == "Unknown artist · 4 tracks · 2 cannot be played"
    assert rows[1].text().endswith("Cannot be played: damaged file")
    assert rows[1].accessibleName() == "Broken. Cannot be played: damaged file"
    assert rows[2].accessibleName() == "Voice. Sofa TV cannot play Opus"
    assert rows[2].toolTip() == "Sofa TV cannot play Opus"
    assert rows[0].accessibleName() == ""  # a playable row is read as its text

    screen.play_button.click()  # "Play all" of the album: the others play, and it says why
    tracks, start = window.bridge.named("play")[-1][:2]
    assert (_titles(tracks), start) == (["First", "Last"], 0)
    assert window.notice_label.text() == SKIPPED
    assert window.notice_label.isVisible()

    window.show_screen("library")
    screen.open_album(album)
    played = len(window.bridge.named("play"))
    screen.track_rows[1].click()  # the damaged track itself: it says why, nothing plays
    assert len(window.bridge.named("play")) == played
    assert window.notice_label.text() == "Cannot be played: damaged file"

    screen.queue_button.click()
    assert _titles(window.bridge.named("enqueue")[-1][0]) == ["First", "Last"]
    assert window.notice_label.text() == f"Added 2 tracks to the queue. {SKIPPED}"


def test_the_marks_follow_the_device_play_goes_to(qtbot, tmp_path, library):
    window = idle_window(qtbot, tmp_path)
    window.bridge.library_loaded.emit(v.LibraryLoaded(library))
    screen = window.library
    (album,) = library.albums
    screen.open_album(album)
    focused = screen.track_rows[2]
    window.move_focus(focused)
    # No device has said what it decodes yet: only the file's own fault is known.
    marked = [bool(r.property("unplayable")) for r in screen.track_rows]
    assert marked == [False, True, False, False]
    _follow(window, 1, "Sofa TV", NO_OPUS)
    qtbot.waitUntil(lambda: bool(screen.track_rows[2].property("unplayable")))
    _follow(window, 2, "Kitchen", (*NO_OPUS, "opus"))
    qtbot.waitUntil(lambda: not screen.track_rows[2].property("unplayable"))
    assert screen.track_rows[2] is focused  # marked in place: focus stays where it was
    assert screen.album_artist.text() == "Unknown artist · 4 tracks · 1 cannot be played"
    assert QApplication.focusWidget() is focused
    screen.track_rows[2].click()
    tracks, start = window.bridge.named("play")[-1][:2]
    assert tracks[start].title == "Voice"
    assert window.notice_label.text() == "Skipped 1 track: damaged file"


def test_search_results_are_marked_and_a_chosen_one_says_why(qtbot, tmp_path, library):
    window = idle_window(qtbot, tmp_path)
    window.bridge.library_loaded.emit(v.LibraryLoaded(library))
    _follow(window, 1, "Sofa TV", NO_OPUS)
    screen = window.library
    qtbot.waitUntil(lambda: screen.target is not None)
    screen.search.setText("Voice")
    row = screen.results.tracks.rows[0]
    qtbot.waitUntil(row.isVisible)
    assert row.accessibleName() == "Voice. Sofa TV cannot play Opus"
    row.click()
    assert window.bridge.named("play") == []
    assert window.notice_label.text() == "Sofa TV cannot play Opus"


def test_the_tv_marks_and_skips_alike(qtbot, tmp_path, library):
    window = idle_tv_window(qtbot, tmp_path)
    window.bridge.library_loaded.emit(v.LibraryLoaded(library))
    _follow(window, 1, "Sofa TV", NO_OPUS)
    qtbot.waitUntil(lambda: window.album.target is not None)
    (album,) = library.albums
    window.open_album(album)
    rows = window.album.track_rows
    assert [r.accessibleDescription() for r in rows] == [
        "", "Cannot be played: damaged file", "Sofa TV cannot play Opus", "",
    ]  # fmt: skip
    assert window.album.artist.text() == "Unknown artist · 4 tracks · 2 cannot be played"
    window.album.play.click()
    tracks, start = window.bridge.named("play")[-1][:2]
    assert (_titles(tracks), start) == (["First", "Last"], 0)
    assert window.toast.text() == SKIPPED
    window.open_album(album)
    window.album.track_rows[2].click()
    assert len(window.bridge.named("play")) == 1
    assert window.toast.text() == "Sofa TV cannot play Opus"
    window.home.play_all.emit(library.tracks)  # "Play all" on the home page
    assert _titles(window.bridge.named("play")[-1][0]) == ["First", "Last"]


def test_play_on_this_computer_plays_the_others_of_the_album(qtbot, tmp_path, library):
    # The real app: its core and "This computer", which decodes in the app's own process.
    window = open_app(qtbot, tmp_path, library.root)
    try:
        qtbot.waitUntil(lambda: window.albums.rowCount() == 1, timeout=10_000)
        qtbot.waitUntil(
            lambda: any(d.is_local and d.info is not None for d in window.devices.views()),
            timeout=10_000,
        )
        screen = window.library
        qtbot.waitUntil(lambda: screen.target is not None, timeout=10_000)
        screen.open_album(window.albums.albums()[0])
        # This computer decodes Opus: only the damaged file is marked.
        marked = [bool(r.property("unplayable")) for r in screen.track_rows]
        assert marked == [False, True, False, False]
        screen.play_button.click()
        assert window.notice_label.text() == "Skipped 1 track: damaged file"
        qtbot.waitUntil(
            lambda: window.session is not None and window.session.state.queue_total == 3,
            timeout=10_000,
        )
        queued = [i.title for i in window.session.state.queue]
        assert queued == ["First", "Voice", "Last"]
        qtbot.waitUntil(lambda: window.session.state.clock.playing, timeout=10_000)
    finally:
        window.close()
        window.bridge.close()
