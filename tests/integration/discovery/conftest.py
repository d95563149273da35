"""Fixtures for discovery integration tests: a registry on loopback, two namespaces."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from connect.discovery import DeviceRegistry
from tests.netns import NetnsPair, netns_pair, netns_skip_reason


@pytest.fixture
async def registry() -> AsyncIterator[DeviceRegistry]:
    """A started DeviceRegistry browsing on 127.0.0.1 only."""
    reg = DeviceRegistry(interfaces=["127.0.0.1"])
    await reg.async_start()
    try:
        yield reg
    finally:
        await reg.async_close()


@pytest.fixture
def netns() -> Iterator[NetnsPair]:
    """Two fresh network namespaces joined by a veth pair; skipped when not root."""
    reason = netns_skip_reason()
    if reason:
        pytest.skip(reason)
    with netns_pair() as pair:
        yield pair
