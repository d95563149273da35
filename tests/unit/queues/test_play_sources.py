"""What `baton play --from FILE` adds, and how a long queue goes in commands of a frame each."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.play_sources import check_url, entries_from_file, title_of
from connect import queues as q
from connect.session.queue_upload import CHUNK_BYTES, CHUNK_ITEMS, chunks, items_for_urls
from connect.wire import codec
from connect.wire import messages as m


def test_a_file_lists_urls_and_skips_comments(tmp_path: Path) -> None:
    listing = tmp_path / "all.m3u"
    listing.write_text("#EXTM3U\n\nhttp://nas/a.flac\n# a comment\n  https://nas/b c.mp3  \n")
    assert entries_from_file(str(listing)) == ["http://nas/a.flac", "https://nas/b c.mp3"]


@pytest.mark.parametrize(
    ("text", "says"),
    [("http://nas/a.flac\nfile:///etc/passwd\n", "line 2"), ("ftp://x/y\n", "line 1")],
)
def test_a_bad_line_is_named(tmp_path: Path, text: str, says: str) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(text)
    with pytest.raises(ValueError, match=says):
        entries_from_file(str(listing))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        entries_from_file(str(tmp_path / "nope.txt"))


def test_local_paths_are_taken_from_the_list_s_folder(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    listing = tmp_path / "lists" / "mix.m3u"
    listing.write_text("../music/a.flac\n/srv/b.mp3\nhttp://nas/c%20d.ogg\n")
    assert entries_from_file(str(listing)) == [
        str(tmp_path / "lists" / ".." / "music" / "a.flac"),
        "/srv/b.mp3",
        "http://nas/c%20d.ogg",
    ]
    assert title_of("http://nas/c%20d.ogg") == "c d"


def test_urls_must_be_http() -> None:
    with pytest.raises(ValueError, match="not an http"):
        check_url("smb://nas/a.flac")


def test_fifty_thousand_urls_go_in_frames_far_under_the_limit() -> None:
    urls = [
        f"http://192.168.1.20:8000/media/Artist {i % 977}/Album/{i:05d} Track.flac"
        for i in range(50_000)
    ]
    items = items_for_urls(urls)
    assert len({item.uid for item in items}) == 50_000
    assert max(len(item.uid) for item in items) <= 10
    parts = chunks(items)
    assert [item for part in parts for item in part] == list(items)
    assert all(len(part) <= CHUNK_ITEMS for part in parts)
    assert all(sum(map(q.item_bytes, part)) <= CHUNK_BYTES for part in parts)
    biggest = max(
        len(codec.encode(m.Envelope(9, "x", m.Command("c", m.AddToQueue(part, "a")))))
        for part in parts
    )
    assert biggest < m.MAX_FRAME_BYTES // 3
