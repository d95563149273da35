"""The app's music is served as capabilities, to our names only, on the interfaces in use.

Baton issue 13, item 6: the media server bound 0.0.0.0 with no Host check and no secret in its
URLs, so anyone on the LAN, or a web page by DNS rebinding, could read the whole library.
These go through the app's core (`AppCore._serve`, `media_url`) as the app uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from client.app.core import AppCore
from client.app.library import Track
from client.app.views import AppSettings
from client.library_server import LibraryServer
from client.media_addresses import LOOPBACK, served_addresses
from client.media_hosts import own_host_names
from connect.controller import default_identity
from connect.discovery.interfaces import NetworkInterface
from connect.media_capability import is_capability_url, is_media_token
from tests.unit.hardening.rawhttp import RawResponse, read_response
from tests.waiting import until

TRACK = b"RIFF" + bytes(range(256)) * 8


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Music"
    (root / "Album").mkdir(parents=True)
    (root / "Album" / "01 Song.wav").write_bytes(TRACK)
    return root


def _core(tmp_path: Path, library: Path, interfaces: tuple[str, ...] = ("lo",)) -> AppCore:
    settings = AppSettings(
        music_folder=library,
        device_name="This computer",
        state_dir=tmp_path / "state",
        interfaces=interfaces,
    )
    return AppCore(settings, lambda event: None, default_identity("test"))


@pytest.fixture
async def served(tmp_path: Path, library: Path) -> AsyncIterator[tuple[AppCore, str]]:
    """The app's core serving *library*, and the URL it gives a receiver for its one track."""
    core = _core(tmp_path, library)
    core.server = await core._serve(library)
    try:
        yield core, core.media_url(_track(library), "a receiver on loopback")
    finally:
        await core.server.async_close()


def _track(library: Path) -> Track:
    return Track(library / "Album" / "01 Song.wav", "Song", "A", "Album", 1, 1000, "audio/wav")


async def _get(
    url: str, *, path: str | None = None, host: str | None = None, at: str | None = None
) -> RawResponse:
    """GET *url* (or another *path* on its server), with a Host header of our choosing."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    head = "\r\n".join(
        [
            f"GET {path if path is not None else parts.path} HTTP/1.1",
            f"Host: {host if host is not None else parts.netloc}",
            "Connection: close",
        ]
    )
    reader, writer = await asyncio.open_connection(at or parts.hostname, parts.port)
    try:
        writer.write(head.encode("latin-1") + b"\r\n\r\n")
        await writer.drain()
        return await asyncio.wait_for(read_response(reader), 10)
    finally:
        writer.close()


async def test_a_track_url_is_a_capability_and_works(served: tuple[AppCore, str]) -> None:
    _, url = served
    assert is_capability_url(url), url
    token = urlsplit(url).path.split("/")[2]
    assert is_media_token(token)
    response = await _get(url)
    assert (response.status, response.body) == (200, TRACK)


async def test_without_the_token_nothing_is_served_and_nothing_is_hinted(
    served: tuple[AppCore, str],
) -> None:
    _, url = served
    unknown = await _get(url, path="/nothing/at/all")
    for path in (
        "/media/Album/01%20Song.wav",  # the file's path as the app used to serve it
        "/media/" + "A" * 43 + "/Album/01%20Song.wav",  # a token of the right shape
        "/media/Album/",
        "/media/../etc/passwd",
        "/media/%2e%2e/Album/01%20Song.wav",
    ):
        refused = await _get(url, path=path)
        # The same bare 404 as any unknown path: no 400/403/410 that would tell what exists.
        assert (refused.status, refused.body) == (404, unknown.body), path
        assert TRACK not in refused.body


async def test_a_url_from_before_a_restart_stops_working(tmp_path: Path, library: Path) -> None:
    first = _core(tmp_path, library)
    first.server = await first._serve(library)
    old_url = first.media_url(_track(library), "any")
    await first.server.async_close()
    again = _core(tmp_path, library)
    again.server = await again._serve(library)
    try:
        new_url = again.media_url(_track(library), "any")
        assert urlsplit(new_url).port == urlsplit(old_url).port  # the same port, remembered
        assert new_url != old_url  # ... but a new token
        stale = await _get(old_url)
        assert stale.status == 404
        assert TRACK not in stale.body
        assert (await _get(new_url)).status == 200
    finally:
        await again.server.async_close()


def test_every_start_draws_a_new_token(library: Path) -> None:
    song = library / "Album" / "01 Song.wav"
    urls = {LibraryServer(library).url_for(song) for _ in range(50)}
    assert len(urls) == 50
    assert all(is_media_token(urlsplit(url).path.split("/")[2]) for url in urls)


async def test_a_token_opens_its_own_file_only(served: tuple[AppCore, str], library: Path) -> None:
    """A URL that leaked (a receiver's state is seen by every controller of it) opens one file."""
    _, url = served
    (library / "Album" / "02 Other.wav").write_bytes(TRACK[::-1])
    token = urlsplit(url).path.split("/")[2]
    other = await _get(url, path=f"/media/{token}/Album/02%20Other.wav")
    assert other.status == 404
    assert TRACK[::-1] not in other.body


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.nip.example:{port}",
        "10.1.2.3:{port}",  # an address, but not one this server listens on
        "",
    ],
)
async def test_a_foreign_host_is_refused(served: tuple[AppCore, str], host: str) -> None:
    _, url = served
    response = await _get(url, host=host.format(port=urlsplit(url).port))
    assert response.status == 421, host
    assert TRACK not in response.body


async def test_our_own_names_are_answered(served: tuple[AppCore, str]) -> None:
    _, url = served
    port = urlsplit(url).port
    names = [f"127.0.0.1:{port}", f"localhost:{port}", "[::1]", *sorted(own_host_names())]
    for host in names:
        response = await _get(url, host=host)
        assert (response.status, response.body) == (200, TRACK), host


@pytest.mark.warning_logs(r"serving the music without it: .*'wlan1'")
def test_served_addresses_follow_the_interfaces() -> None:
    lan = NetworkInterface("lan0", 2, ("192.168.7.20",), ("fe80::1", "2001:db8::20"))
    wifi = NetworkInterface("wlan0", 3, ("10.0.0.5",))
    docker = NetworkInterface("docker0", 4, ("172.17.0.1",))
    known = (NetworkInterface("lo", 1, ("127.0.0.1",), ("::1",)), lan, wifi, docker)
    # The default choice: the LAN and Wi-Fi, not docker; link-local IPv6 cannot be bound.
    assert served_addresses([], known) == (LOOPBACK, "192.168.7.20", "2001:db8::20", "10.0.0.5")
    assert served_addresses(["wlan0"], known) == (LOOPBACK, "10.0.0.5")
    assert served_addresses(["lo"], known) == (LOOPBACK, "::1")
    # A named interface that is gone (Wi-Fi off) leaves the others serving.
    assert served_addresses(["wlan1", "lan0"], known) == (LOOPBACK, "192.168.7.20", "2001:db8::20")


async def test_the_app_listens_only_on_the_addresses_of_its_interfaces(
    served: tuple[AppCore, str],
) -> None:
    core, url = served
    assert core.server is not None
    assert set(core.server.addresses) <= {"127.0.0.1", "::1"}  # interfaces=("lo",)
    # 127.0.0.2 is this machine too (all of 127/8 is loopback), but not an address we bound:
    # a wildcard bind, as before, would answer there.
    with pytest.raises(ConnectionRefusedError):
        await _get(url, at="127.0.0.2", host="127.0.0.1")


async def test_the_server_moves_with_the_interfaces(library: Path) -> None:
    server = LibraryServer(library, ["127.0.0.1"])
    await server.async_start()
    try:
        url = server.url_for(library / "Album" / "01 Song.wav")
        await server.async_serve_on(["127.0.0.1", "127.0.0.3"])  # an address came up
        moved = server.url_for(library / "Album" / "01 Song.wav", "127.0.0.3")
        assert urlsplit(moved).port == server.port
        assert (await _get(moved)).status == 200
        await server.async_serve_on(["127.0.0.3"])  # and loopback went (only in this test)
        with pytest.raises(ConnectionRefusedError):
            await _get(url)
        assert (await _get(moved)).status == 200
        with pytest.raises(ValueError, match=r"not served on 127\.0\.0\.1"):
            server.url_for(library / "Album" / "01 Song.wav", "127.0.0.1")
    finally:
        await server.async_close()


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "music.lan"])
def test_a_wildcard_or_a_name_is_not_an_address_to_serve_on(library: Path, address: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is the user's, checked elsewhere
        LibraryServer(library, [address])


async def test_the_app_follows_its_interfaces_as_they_change(
    tmp_path: Path, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wi-Fi comes up with an address (here 127.0.0.3): the music is served there too, then not."""
    now = ["127.0.0.1"]
    monkeypatch.setattr("client.app.core.served_addresses", lambda wanted: tuple(now))
    monkeypatch.setattr("client.app.core.MEDIA_INTERFACE_POLL_S", 0.01)
    core = _core(tmp_path, library)
    core.server = server = await core._serve(library)
    follow = asyncio.get_running_loop().create_task(core._follow_interfaces())
    try:
        song = library / "Album" / "01 Song.wav"
        now.append("127.0.0.3")
        await until(lambda: "127.0.0.3" in server.addresses, what="serving on 127.0.0.3")
        assert (await _get(server.url_for(song, "127.0.0.3"))).status == 200
        now.remove("127.0.0.3")
        await until(lambda: "127.0.0.3" not in server.addresses, what="no longer on 127.0.0.3")
        with pytest.raises(ConnectionRefusedError):
            await _get(server.url_for(song), at="127.0.0.3", host="127.0.0.1")
    finally:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follow
        await server.async_close()


def test_the_app_finds_a_track_by_its_capability_url() -> None:
    """The app maps what plays back to its library (art, MPRIS, the playing album) through
    the token: the path after it, decoded; anything else is not the app's."""
    from client.library_server import capability_path
    from connect.media_capability import library_path_of

    path = capability_path(b"k" * 32, "Kind of Blue/01 So What.flac")
    assert library_path_of(f"http://127.0.0.1:8000{path}") == "Kind of Blue/01 So What.flac"
    assert library_path_of("http://127.0.0.1:8000/media/Kind%20of%20Blue/01.flac") == ""
    assert library_path_of("https://radio.example/stream") == ""
