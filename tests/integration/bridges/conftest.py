"""Fixtures for the bridges' tests against real peers: a media server, a controller config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)
from tests.mpd_peer import mpd_installed


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A controller configuration of the test's own (credentials, where devices were reached)."""
    folder = tmp_path / "config"
    monkeypatch.setenv("BATON_CONFIG_DIR", str(folder))
    return folder


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the MPD tests, saying why, where Debian's mpd is not installed."""
    if mpd_installed():
        return
    skip = pytest.mark.skip(reason="mpd is not installed (./dev setup installs it)")
    for item in items:
        if "test_mpd" in item.nodeid:
            item.add_marker(skip)
