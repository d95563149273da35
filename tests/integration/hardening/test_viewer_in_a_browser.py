"""In chromium: the viewer runs under its CSP, and another local site cannot act on its cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import Browser, ConsoleMessage, Page, Response, expect

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, Running
from tests.waiting import until
from tracing import samples

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

TIMEOUT_MS = 10_000


async def _logged_in_viewer(browser: Browser, collector: Running) -> tuple[Page, list[str]]:
    context = await browser.new_context()
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def on_console(message: ConsoleMessage) -> None:
        # Chromium reports every CSP violation as a console error naming the policy. (Other
        # console errors, such as the 401 before login, are the viewer's normal life.)
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    await page.goto(collector.base + "/")
    await page.fill("#token", collector.tokens["alice"])
    await page.click("#login button[type=submit]")
    await expect(page.locator("#status")).to_have_text("live", timeout=TIMEOUT_MS)
    return page, problems


async def test_the_viewer_works_under_its_content_security_policy(browser, collector):
    page, problems = await _logged_in_viewer(browser, collector)
    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    assert (await collector.post("traces", request.SerializeToString())).status == 200
    arrow = page.locator('g.arrow.done[data-from="alice-phone"][data-to="alice-kitchen"]')
    await expect(arrow).to_have_count(1, timeout=TIMEOUT_MS)
    await arrow.click()
    await expect(page.locator("#details-body")).to_contain_text("alice-phone")
    assert problems == []
    # The watch works: content the policy forbids is reported (and blocked before any request).
    await page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=\"http://192.0.2.1/x.png\">')"
    )
    await until(lambda: bool(problems), what="a CSP violation report")


ATTACK = """<!doctype html><title>another local site</title><script>
const target = new URL(location.href).searchParams.get("target");
window.attack = Promise.allSettled([
  fetch(target + "/api/whoami", {credentials: "include", mode: "no-cors"}),
  fetch(target + "/api/logout", {method: "POST", credentials: "include", mode: "no-cors"}),
]).then(() => "done");
</script>"""


@pytest.fixture
async def other_local_site() -> AsyncIterator[str]:
    """A page on another port of 127.0.0.1: the same site as the collector, another origin."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=ATTACK, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_another_local_site_cannot_read_or_log_out_with_the_cookie(
    browser, collector, other_local_site
):
    viewer, _ = await _logged_in_viewer(browser, collector)
    # A second tab of the same browser (same cookie jar), on the other site.
    attacker = await viewer.context.new_page()
    statuses: dict[str, int] = {}

    def on_response(response: Response) -> None:
        if response.url.startswith(collector.base):
            statuses[response.url.removeprefix(collector.base)] = response.status

    attacker.on("response", on_response)
    await attacker.goto(f"{other_local_site}/?target={collector.base}")
    assert await attacker.evaluate("window.attack") == "done"
    # The cookie was sent (same site: SameSite=Strict allows it); the server refused anyway.
    assert statuses == {"/api/whoami": 403, "/api/logout": 403}
    still = await viewer.evaluate("fetch('/api/whoami').then(r => r.status)")
    assert still == 200  # the logout did not happen
