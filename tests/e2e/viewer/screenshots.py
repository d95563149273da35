"""The trace viewer's pictures in docs/screenshots/ (viewer-*.png), from sample traces.

    python -m tests.e2e.viewer.screenshots [OUT_DIR]     # in a namespace: ./dev has one

A collector on loopback, three of Alice's devices and her phone's transfers (one failed, one
by a controller that was not traced), then Debian's chromium takes each view; then, on a
collector of its own, a group of three playing, each member with its measured skew.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import async_playwright, expect

from tests.e2e.viewer.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, running_collector
from tracing import attributes, samples
from tracing.group_samples import GroupSample

ROOT = Path(__file__).resolve().parents[3]
LIVING_ROOM = samples.Device("9f" * 32, "Living Room", "speaker", "alice", 3.0)
CAR = samples.Device("c4" * 32, "Car", "car", "alice", -12.0)
CLI = samples.Device("ctl-cli-5d1c0e77a2b94f3e8a10", "baton CLI on sofa", "controller", "alice")


async def _post(running, request, signal: str = "traces") -> None:
    response = await running.post(signal, request.SerializeToString())
    assert response.status == 200


async def _traces(running) -> None:
    s = 10**9
    now = time.time_ns()
    ok = samples.Transfer(ALICE_PHONE, LIVING_ROOM, CAR, "4c1e9a", start_ns=now - 4 * s)
    await _post(running, ok.request())
    bad = samples.Transfer(CLI, CAR, LIVING_ROOM, "77b02f", outcome="failed", start_ns=now - 3 * s)
    await _post(running, bad.request())
    dark = samples.Transfer(CLI, LIVING_ROOM, ALICE_SPEAKER, "a9d310", start_ns=now - 2 * s)
    request = dark.request()
    del request.resource_spans[0]  # run by a controller that was not traced
    await _post(running, request)
    commands = [
        samples.Message(
            ALICE_PHONE, ALICE_SPEAKER, "Command", seq=n, start_ns=now - s + n * s // 10
        )
        for n in (1, 2, 3)
    ]
    await _post(running, samples.traces_request(commands))
    a = attributes
    state = {a.SESSION_ID: "session-1", a.REVISION: 4, a.REASON: "COMMAND"}
    await _post(running, samples.logs_request(ALICE_SPEAKER, a.EVENT_STATE_CHANGED, state), "logs")


async def main(out: Path) -> None:
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        async with running_collector(Path(work) / "traces.db") as running:
            await _traces(running)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
                )
                page = await browser.new_page(viewport={"width": 1600, "height": 800})
                await page.goto(running.base + "/")
                await page.get_by_label("Token").fill(running.tokens["alice"])
                await page.get_by_role("button", name="Open").click()
                await expect(page.locator("#diagram g.arrow")).not_to_have_count(0)
                await page.locator("#diagram g.arrow.done").first.click()
                await page.screenshot(path=str(out / "viewer-live.png"))
                await page.get_by_role("link", name="Transfers").click()
                await expect(page.locator("#transfers-body tr")).to_have_count(3)
                await page.screenshot(path=str(out / "viewer-transfers.png"))
                await page.get_by_role("link", name="Living Room → Car").click()
                await expect(page.locator("#timeline")).to_be_visible()
                await page.screenshot(path=str(out / "viewer-transfer.png"), full_page=True)
                await page.get_by_role("link", name="Its session").click()
                await expect(page.locator("#session-body tr")).not_to_have_count(0)
                await page.screenshot(path=str(out / "viewer-session.png"))
                await _group_picture(browser, out)
                await browser.close()


async def _group_picture(browser, out: Path) -> None:
    lounge = samples.Device("5e" * 32, "Lounge", "receiver", "alice")
    porch = samples.Device("a7" * 32, "Porch", "receiver", "alice")
    group = GroupSample(CLI, LIVING_ROOM, (lounge, porch), group_id="7f3c2a90e1d4")
    with tempfile.TemporaryDirectory() as work:
        async with running_collector(Path(work) / "traces.db") as running:
            await _post(running, group.forming(time.time_ns() - 10**9))
            for member, skew_us in ((LIVING_ROOM, 4), (lounge, 12), (porch, -31)):
                await _post(running, group.skew(member, skew_us), "logs")
            page = await browser.new_page(viewport={"width": 1000, "height": 520})
            await page.goto(running.base + "/")
            await page.get_by_label("Token").fill(running.tokens["alice"])
            await page.get_by_role("button", name="Open").click()
            await expect(page.locator(".group-heads .skew")).to_have_count(3)
            await expect(page.locator("#diagram g.note")).to_have_count(3)
            await page.screenshot(path=str(out / "viewer-group.png"))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
