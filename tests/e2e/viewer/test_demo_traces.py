"""The "done when" of tracing: the demo's collector shows a transfer live in a real browser.

`baton demo --headless --keep-viewer` starts `baton-traces serve`, prints the viewer's address
and token, and every demo device traces there. The page, opened as soon as the address is
printed, draws the transfer's messages as arrows between the device lifelines. Once stopped,
the tour is checked as tests/e2e/test_demo.py checks a plain headless one (which then skips).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.test_demo import check_tour

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_MS = 60_000  # the whole tour: receivers start, play, then two transfers
_VIEWER = re.compile(
    r"trace viewer at (?P<url>http://\S+?)/? \(user 'demo', token (?P<token>\S+)\)"
)


async def _line_matching(stream: asyncio.StreamReader, pattern: re.Pattern[str], seen: list[str]):
    async with asyncio.timeout(TIMEOUT_MS / 1000):
        while line := (await stream.readline()).decode(errors="replace"):
            seen.append(line)
            if found := pattern.search(line):
                return found
    raise AssertionError("the demo ended without printing it:\n" + "".join(seen))


async def _device_ids(page: Page) -> dict[str, str]:
    heads = page.locator(".lifeline-head")
    names = await heads.locator(".name").all_text_contents()
    ids = [await head.get_attribute("data-device") for head in await heads.all()]
    return {name: str(device) for name, device in zip(names, ids, strict=True)}


async def test_the_demo_tour_draws_its_transfers_live_between_lifelines(browser, tmp_path):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "client.cli", "demo", "--headless", "--keep-viewer",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[str] = []
    try:
        viewer = await _line_matching(process.stdout, _VIEWER, seen)
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(viewer["url"] + "/")
        await page.fill("#token", viewer["token"])
        await page.click("#login button[type=submit]")
        await expect(page.locator("#status")).to_have_text("live", timeout=10_000)

        # Living Room -> Car: the controller offers to Car, commits both, both report done.
        done = page.locator("g.arrow.done")
        offer = done.filter(has_text="TransferOffer")
        await expect(offer.first).to_be_visible(timeout=TIMEOUT_MS)
        for kind in ("TransferReady", "TransferCommit", "TransferDone"):
            await expect(done.filter(has_text=kind).first).to_be_visible(timeout=10_000)
        ids = await _device_ids(page)
        assert {"Living Room", "Car", "baton demo"} <= ids.keys(), ids
        controller, car, living_room = ids["baton demo"], ids["Car"], ids["Living Room"]
        arrows = page.locator("g.arrow.done")
        for sender, receiver, kind in (
            (controller, car, "TransferOffer"),
            (car, controller, "TransferReady"),
            (controller, living_room, "TransferCommit"),
            (controller, car, "TransferCommit"),
            (car, controller, "TransferDone"),
        ):
            arrow = arrows.filter(has_text=kind).locator(
                f'xpath=self::*[@data-from="{sender}"][@data-to="{receiver}"]'
            )
            await expect(arrow.first).to_be_attached(timeout=10_000)

        # Car -> This computer: the in-process receiver answers on a lifeline of its own.
        stays = re.compile(r"the trace viewer stays at")
        await _line_matching(process.stdout, stays, seen)
        # The last records reach the page within a second of the tour's end: wait for them.
        here_head = page.locator(".lifeline-head .name", has_text="This computer")
        await expect(here_head.first).to_be_visible(timeout=10_000)
        ids = await _device_ids(page)
        assert "This computer" in ids, ids
        here = ids["This computer"]
        to_here = arrows.filter(has_text="TransferOffer").locator(
            f'xpath=self::*[@data-from="{controller}"][@data-to="{here}"]'
        )
        await expect(to_here.first).to_be_attached(timeout=10_000)
        # The collector measured the receivers' clocks against the controller's.
        car_head = page.locator(f'.lifeline-head[data-device="{car}"] .offset')
        await expect(car_head).to_contain_text("±", timeout=10_000)
        await page.screenshot(path=str(tmp_path / "demo-viewer.png"), full_page=True)
        assert errors == []
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                rest = await process.stdout.read()
                seen.append(rest.decode(errors="replace"))
                await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, "".join(seen)
    check_tour("".join(seen))  # what tests/e2e/test_demo.py checks when no browser is here
