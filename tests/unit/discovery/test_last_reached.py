"""Where devices were last reached: found by id or name, written only when it changes, and
a damaged file costs nothing but an mDNS lookup."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from connect.discovery.last_reached import (
    FILE_NAME,
    MAX_DEVICES,
    REFRESH_S,
    LastReached,
    Reached,
)

ROOM = Reached("id-room", "Living Room", "192.0.2.7", 41000, "/connect/v1/ws", True, "speaker")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(tmp_path: Path, clock: Clock) -> LastReached:
    return LastReached(tmp_path / "config", clock=clock)


def test_a_device_is_found_by_id_or_by_name_in_any_case(cache: LastReached) -> None:
    assert cache.find("Living Room") == ()
    cache.remember(ROOM)
    [found] = cache.find("id-room")
    assert (found.host, found.port, found.tls) == ("192.0.2.7", 41000, True)
    assert cache.find("living ROOM") == (found,)
    assert cache.find("Kitchen") == ()


def test_the_file_is_private_and_rewritten_only_when_something_changed(
    cache: LastReached, clock: Clock
) -> None:
    cache.remember(ROOM)
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    written = cache.path.stat().st_mtime_ns
    clock.now += 60
    cache.remember(ROOM)  # where it was last time: the common case writes nothing
    assert cache.path.stat().st_mtime_ns == written
    cache.remember(Reached(**{**_fields(ROOM), "port": 41001}))  # it moved
    assert cache.find("id-room")[0].port == 41001
    assert cache.find("id-room")[0].reached_at == clock.now


def test_an_unchanged_address_is_noted_again_after_a_day(cache: LastReached, clock: Clock) -> None:
    cache.remember(ROOM)
    clock.now += REFRESH_S + 1
    cache.remember(ROOM)
    assert cache.find("id-room")[0].reached_at == clock.now


def test_two_devices_that_had_one_name_are_both_returned(cache: LastReached) -> None:
    cache.remember(ROOM)
    cache.remember(Reached(**{**_fields(ROOM), "device_id": "id-other", "host": "192.0.2.8"}))
    assert {r.device_id for r in cache.find("Living Room")} == {"id-room", "id-other"}


def test_only_the_most_recently_reached_are_kept(cache: LastReached, clock: Clock) -> None:
    for n in range(MAX_DEVICES + 3):
        clock.now += 1
        cache.remember(Reached(**{**_fields(ROOM), "device_id": f"id-{n}", "name": f"D{n}"}))
    kept = json.loads(cache.path.read_text())["devices"]
    assert len(kept) == MAX_DEVICES
    assert cache.find("id-0") == ()
    assert cache.find(f"id-{MAX_DEVICES + 2}") != ()


@pytest.mark.parametrize(
    "contents",
    [
        b"{ half a file",
        b"\xff\xfe not text",
        b'{"format": 99, "devices": []}',
        b'{"format": 1, "devices": [{"device_id": "x"}]}',
        b'{"format": 1, "devices": [{"device_id": "x", "name": "A", "host": "h", "port": 0,'
        b' "ws_path": "/", "tls": true}]}',
        b'{"format": 1, "devices": [{"device_id": "x", "name": "A", "host": "h", "port": 1,'
        b' "ws_path": "/", "tls": "yes"}]}',
    ],
)
def test_a_damaged_file_reads_as_empty_and_is_replaced(cache: LastReached, contents: bytes) -> None:
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(contents)
    assert cache.find("x") == ()
    assert cache.find("A") == ()
    cache.remember(ROOM)
    assert cache.find("Living Room") != ()


def test_it_lives_beside_the_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert LastReached().path == tmp_path / "elsewhere" / FILE_NAME


def _fields(reached: Reached) -> dict[str, object]:
    return {name: getattr(reached, name) for name in reached.__slots__}
