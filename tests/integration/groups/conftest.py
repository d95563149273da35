"""Fixtures for `baton group` tests: a keeper directory and a controller configuration of the
test's own, and the media server."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)

KEEPER_IDLE_S = 1.5  # should a test die before stopping the keeper it started


@pytest.fixture
def keeper_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """This test's keeper directory (a short path: a unix socket's is at most 107 bytes) and
    controller configuration; the keeper a command starts inherits both."""
    runtime = Path(tempfile.mkdtemp(prefix="bk-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("BATON_KEEPER_IDLE_S", str(KEEPER_IDLE_S))
    yield runtime / "baton"
    shutil.rmtree(runtime, ignore_errors=True)
