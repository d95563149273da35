"""Fixtures for `baton` commands against real receivers, run in-process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from client.cli import main
from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A controller configuration of the test's own (credentials, where devices were reached)."""
    folder = tmp_path / "config"
    monkeypatch.setenv("BATON_CONFIG_DIR", str(folder))
    return folder


async def baton(capsys: pytest.CaptureFixture[str], *words: str) -> tuple[int, str, str]:
    """Run `baton WORDS...` (its own event loop, on a worker thread); return code, out, err."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(words))
    out, err = capsys.readouterr()
    return code, out, err
