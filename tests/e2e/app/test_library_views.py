"""The Library screen on a bigger library: the scan's progress, search as you type, the Artists
view and an artist's page, and Back through them."""

from __future__ import annotations

import pytest
from PySide6.QtTest import QTest

from client.app import views as v
from client.app.library_cache import LibraryCache
from client.demo_library import write_large_library
from tests.e2e.app.idle import idle_window


@pytest.fixture(scope="module")
def big_library(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("big")
    write_large_library(folder, tracks=600, per_album=10, albums_per_artist=3)
    return LibraryCache(folder.parent / "big.sqlite", folder).scan()


def test_the_grid_builds_only_what_shows_and_more_on_scrolling(qtbot, tmp_path, big_library):
    window = idle_window(qtbot, tmp_path)
    window.bridge.library_loaded.emit(v.LibraryLoaded(big_library))
    screen = window.library
    qtbot.waitUntil(lambda: len(screen.album_buttons) > 0)
    built = len(screen.album_grid.built)
    assert built < 60  # of 60 albums: only the rows near the view
    screen.album_grid.verticalScrollBar().setValue(screen.album_grid.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: 59 in screen.album_grid.built)
    assert screen.album_grid.button(59).objectName() == "album-59"


def test_search_as_you_type_then_back_to_the_grid(qtbot, tmp_path, big_library):
    window = idle_window(qtbot, tmp_path)
    window.bridge.library_loaded.emit(v.LibraryLoaded(big_library))
    screen = window.library
    qtbot.waitUntil(lambda: screen.index is not None)
    track = big_library.tracks[123]
    screen.search.setFocus()
    QTest.keyClicks(screen.search, track.title)
    qtbot.waitUntil(lambda: screen.results.isVisible())
    first = screen.results.tracks.rows[0]
    assert first.isVisible()
    assert first.text().startswith(track.title)
    first.click()
    tracks, start = window.bridge.named("play")[-1][:2]
    assert tracks[start] == track  # the album, from that track
    screen.search.clear()
    assert screen.views.currentWidget() is screen.album_grid  # the grid again


def test_artists_view_and_an_artist_page(qtbot, tmp_path, big_library):
    window = idle_window(qtbot, tmp_path)
    window.bridge.library_loaded.emit(v.LibraryLoaded(big_library))
    screen = window.library
    qtbot.waitUntil(lambda: screen.artists != ())
    screen.artists_tab.click()
    qtbot.waitUntil(lambda: screen.artist_grid.isVisible())
    assert len(screen.artists) == 20
    screen.artist_grid.button(2).click()
    artist = screen.artists[2]
    assert screen.artist_name.text() == artist.name
    assert len(screen.artist_album_buttons) == 3
    screen.artist_album_buttons[1].click()  # an album of theirs ...
    assert screen.album_title.text() == artist.albums[1].title
    window.back()  # ... Back to the artist ...
    assert screen.currentWidget() is screen.artist_page
    window.back()  # ... Back to the artists
    assert screen.artist_grid.isVisible()
    screen.play_artist.click()


def test_the_scan_progress_shows_then_goes(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    screen = window.library
    window.bridge.library_progress.emit(v.LibraryProgress(250, 1000))
    qtbot.waitUntil(screen.progress.isVisible)
    assert screen.progress.value() == 250
    assert "250 of 1,000" in screen.status.text()
    window.bridge.library_progress.emit(v.LibraryProgress(1000, 1000))
    qtbot.waitUntil(lambda: not screen.progress.isVisible())


def test_play_next_queues_after_the_current_item(qtbot, tmp_path, big_library):
    window = idle_window(qtbot, tmp_path)
    window.bridge.library_loaded.emit(v.LibraryLoaded(big_library))
    screen = window.library
    screen.open_album(big_library.albums[0])
    row = screen.track_rows[2]
    play_next = next(a for a in row.actions() if a.text() == "Play next")
    play_next.trigger()
    assert window.bridge.named("play_next") == [((big_library.albums[0].tracks[2],),)]
