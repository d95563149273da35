"""Fixtures for the viewer's browser tests: a running collector and Debian's chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.unit.tracing.support import Running, running_collector

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
async def collector(tmp_path) -> AsyncIterator[Running]:
    async with running_collector(tmp_path / "traces.db") as running:
        yield running


# Playwright starts its driver (a Node.js process) from a task of its own on the test's loop;
# on a loaded machine the spawn alone can hold the loop half a second, doing nothing (the
# thread waits for the child's exec). That task is the test's tool, serving no peer.
PLAYWRIGHT_SPAWN = r"Executing <Task .*coro=<PlaywrightClient\._run\(\) running at "


@pytest.fixture
async def browser(request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed")
    request.applymarker(pytest.mark.warning_logs(PLAYWRIGHT_SPAWN))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()
