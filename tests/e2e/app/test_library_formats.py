"""What the Library screen shows of real files in every common format (issue 21): each album,
one format each, made by Debian's ffmpeg with its tags and its own cover, shows that cover, the
tags and the length (m:ss of 3 s); mutagen alone read neither ffmpeg's MP3 lengths exactly nor
the art of Ogg files."""

from __future__ import annotations

import pytest

from client.app import theme
from client.app import views as v
from client.app.library import Library
from client.app.library_cache import LibraryCache
from tests.audio import write_position_track
from tests.corpus import FFMPEG, TAGGED_FORMATS, make_tagged, write_art
from tests.e2e.app.idle import idle_window

pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs Debian's ffmpeg")


@pytest.fixture(scope="module")
def formats(tmp_path_factory: pytest.TempPathFactory) -> tuple[Library, dict[str, bytes]]:
    """One album per format, each with a cover of its own, scanned as the app scans."""
    work = tmp_path_factory.mktemp("formats")
    source = write_position_track(work / "source.wav", 3_000)
    music = work / "music"
    covers = {}
    for n, name in enumerate(TAGGED_FORMATS):
        folder = music / name
        folder.mkdir(parents=True)
        art = write_art(work / f"{name}.png", hue=40 * n)
        tags = {"title": f"Song in {name}", "artist": "Ada", "album": f"Album {name}"}
        make_tagged(source, name, folder, tags, art)
        covers[f"Album {name}"] = art.read_bytes()
    return LibraryCache(work / "cache.sqlite", music).scan(), covers


def test_each_format_s_album_shows_its_cover_tags_and_length(qtbot, tmp_path, formats):
    library, covers = formats
    assert len(set(covers.values())) == len(covers)  # a cover from the wrong file would show
    window = idle_window(qtbot, tmp_path)
    window.bridge.library_loaded.emit(v.LibraryLoaded(library))
    screen = window.library
    qtbot.waitUntil(lambda: window.albums.rowCount() == len(TAGGED_FORMATS))
    shown = {}
    for album in window.albums.albums():
        screen.open_album(album)
        side = screen.art.width()
        own = theme.cover(covers[album.title], album.title, side, 14).toImage()
        (row,) = screen.track_rows
        shown[album.title] = (
            screen.album_artist.text(),
            row.text(),
            screen.art.pixmap().toImage() == own,
        )
    assert shown == {
        f"Album {name}": ("Ada · 1 track", f" 1    Song in {name}    ·    0:03", True)
        for name in TAGGED_FORMATS
    }
