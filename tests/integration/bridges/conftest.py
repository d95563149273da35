"""Fixtures for the bridges' tests against real peers: a media server, a controller config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.airplay_peer import shairport_installed
from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)
from tests.mpd_peer import mpd_installed
from tests.snapcast_peer import snapcast_installed
from tests.upnp_peer import gmediarender_installed


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A controller configuration of the test's own (credentials, where devices were reached)."""
    folder = tmp_path / "config"
    monkeypatch.setenv("BATON_CONFIG_DIR", str(folder))
    return folder


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the tests of a peer Debian's package is not installed for, saying why."""
    missing = {
        "test_mpd": None if mpd_installed() else "mpd",
        "test_upnp": None if gmediarender_installed() else "gmediarender",
        "test_airplay": None if shairport_installed() else "shairport-sync",
        "test_snapcast": None if snapcast_installed() else "snapserver and snapclient",
    }
    for item in items:
        for prefix, package in missing.items():
            if package and f"/{prefix}" in item.nodeid:
                reason = f"{package} is not installed (./dev setup installs it)"
                item.add_marker(pytest.mark.skip(reason=reason))
