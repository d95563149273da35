"""Fixtures for the hardening tests: a running collector with users alice, bob and root."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.unit.tracing.support import Running, running_collector


@pytest.fixture
async def collector(tmp_path) -> AsyncIterator[Running]:
    async with running_collector(tmp_path / "traces.db") as running:
        yield running
