"""The media server refuses path escapes, bodies and oversized headers, and keeps serving.

Paths here carry the right capability token (made with the server's key, as if the server had
given the URL out): what a request without it gets is in test_media_capability.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from client.library_server import LibraryServer
from client.media_catalogue import OutsideLibraryError, PathRefusedError, library_file
from httpguard import MAX_HEADER_COUNT, MAX_LINE_BYTES
from tests.media_server import MediaServer
from tests.unit.hardening.rawhttp import exchange, get

SECRET = b"secret bytes 7f3a"
TRACK = b"RIFF" + bytes(range(256)) * 4


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A library with a track, a subfolder, an inner symlink and two symlinks that lead out."""
    root = tmp_path / "library"
    (root / "album").mkdir(parents=True)
    (root / "album" / "track.wav").write_bytes(TRACK)
    (root / "inner.wav").symlink_to(root / "album" / "track.wav")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "leakdir").symlink_to(outside)
    return root.resolve()


@pytest.fixture
async def server(library: Path) -> AsyncIterator[LibraryServer]:
    server = LibraryServer(library)
    await server.async_start()
    try:
        yield server
    finally:
        await server.async_close()


@pytest.mark.parametrize(
    "tail",
    [
        "../outside/secret.txt",
        "album/../../x",
        "/etc/passwd",
        "album//track.wav",
        "./inner.wav",
        "track.wav\0",
        "album\\track.wav",
        "..\\outside\\secret.txt",
        "album/",
    ],
)
def test_malformed_paths_are_refused_before_the_disk(library: Path, tail: str) -> None:
    with pytest.raises(PathRefusedError) as caught:
        library_file(library, tail)
    assert not isinstance(caught.value, OutsideLibraryError)


@pytest.mark.parametrize("tail", ["leak.txt", "leakdir/secret.txt"])
def test_symlinks_out_of_the_library_are_refused(library: Path, tail: str) -> None:
    with pytest.raises(OutsideLibraryError):
        library_file(library, tail)


def test_files_and_inner_symlinks_resolve_inside(library: Path) -> None:
    track = library / "album" / "track.wav"
    assert library_file(library, "album/track.wav") == track
    assert library_file(library, "inner.wav") == track


# Paths as sent on the wire, dot segments encoded or not: all reach the check.
ESCAPES = [
    ("/media/../outside/secret.txt", 400),
    ("/media/%2e%2e/outside/secret.txt", 400),
    ("/media/%2E%2E%2Foutside%2Fsecret.txt", 400),
    ("/media/album/..%2f..%2foutside/secret.txt", 400),
    ("/media//etc/passwd", 400),
    ("/media/%2fetc%2fpasswd", 400),
    ("/media/album/track.wav%00", 400),
    ("/media/album%00/track.wav", 400),
    ("/media/album%5ctrack.wav", 400),
    ("/media/..%5coutside%5csecret.txt", 400),
    ("/media/leak.txt", 403),
    ("/media/leakdir/secret.txt", 403),
    ("/media/nothing.wav", 410),  # under a live token: "that file is not here"
]


def _with_token(path: str, server: LibraryServer | MediaServer) -> str:
    """Return *path* (/media/TAIL, TAIL as sent) with the token *server* gives its decoded TAIL."""
    tail = path.removeprefix("/media/")
    token = server.capability_path(unquote(tail)).split("/")[2]
    return f"/media/{token}/{tail}"


@pytest.mark.parametrize(("path", "status"), ESCAPES)
async def test_the_server_refuses_each_escape(server: LibraryServer, path: str, status: int):
    response = await exchange(server.port, get(_with_token(path, server)))
    assert response.status == status, response.body
    assert SECRET not in response.body
    ok = await exchange(server.port, get(_with_token("/media/album/track.wav", server)))
    assert (ok.status, ok.body) == (200, TRACK)


async def test_the_test_media_server_shares_the_checks(library: Path):
    async with MediaServer(library) as server:
        for path, status in ESCAPES:
            response = await exchange(server.port, get(_with_token(path, server)))
            assert response.status == status, path
            assert SECRET not in response.body


async def test_range_requests_still_get_partial_content(server: LibraryServer):
    response = await exchange(
        server.port, get(_with_token("/media/inner.wav", server), "Range: bytes=4-11")
    )
    assert response.status == 206
    assert response.body == TRACK[4:12]


async def test_bodies_are_refused(server: LibraryServer):
    track = _with_token("/media/album/track.wav", server)
    head = get(track, "Content-Length: 5")
    assert (await exchange(server.port, head, b"hello")).status == 413
    chunked = get(track, "Transfer-Encoding: chunked")
    refused = await exchange(server.port, chunked, b"5\r\nhello\r\n0\r\n\r\n")
    assert refused.status == 413
    assert b"no request body" in refused.body
    post = get(track, "Content-Length: 0").replace("GET", "POST", 1)
    assert (await exchange(server.port, post)).status == 405


@pytest.mark.parametrize(
    "head",
    [
        get("/media/" + "a" * (MAX_LINE_BYTES + 1)),
        get("/media/album/track.wav", "X-Long: " + "b" * (MAX_LINE_BYTES + 1)),
        get("/media/album/track.wav", *(f"X-{i}: {i}" for i in range(MAX_HEADER_COUNT + 1))),
    ],
    ids=["request-line", "header-line", "header-count"],
)
async def test_oversized_heads_get_a_4xx_and_the_server_keeps_serving(
    server: LibraryServer, head: str
):
    response = await exchange(server.port, head)
    assert 400 <= response.status < 500
    ok = await exchange(server.port, get(_with_token("/media/album/track.wav", server)))
    assert (ok.status, ok.body) == (200, TRACK)
