"""The Backstage plugin in Backstage's dev app, in chromium: a user signs in to Backstage, gives
the plugin their Baton token once, and watches a transfer between two real receivers appear
live, in the sequence diagram and the transfers list, through the backend's proxy.

The plugin is run as a developer runs it (`backstage-cli package start`, the dev app of
@backstage/frontend-dev-utils), with two backends: the stand-in of `backend.py` (always), and
a real Backstage backend, backstage/check-backend, when its packages are installed (`npm ci`
there: some 860 packages and a native SQLite build, so not by `./dev test`). `./dev test`
installs the plugin's own packages first (`ensure_plugin` in ./dev).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect

from client.lifeline import controller_lifeline
from connect.controller import Controller, default_identity
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.audio import write_tone
from tests.e2e.backstage import servers
from tests.e2e.backstage.backend import BackstageStandIn
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver
from tests.unit.tracing.support import BOB_CAR, BOB_PHONE, Running, reset_otel_globals
from tests.unit.tracing.support import running_collector as collector_on
from tests.waiting import until
from tracing import samples
from tracing.setup import TraceSettings, setup

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 240  # the dev server's first build, on a busy machine
INSTALL_TIMEOUT_S = 420  # npm ci took 50-95 s; a slow registry, minutes more
BACKEND_TIMEOUT_S = 90
TIMEOUT_MS = 20_000
TAB_STOPS = 80  # more than the dev app's page has before the diagram


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[Running]:
    async with collector_on(tmp_path / "traces.db", open_ingest=False) as running:
        yield running


@dataclass
class Backstage:
    """The dev app's address, and the backend behind it (None: backstage/check-backend)."""

    app: str
    backend: str
    stand_in: BackstageStandIn | None


@pytest.fixture(params=["stand-in backend", "real backend"])
async def backstage(
    request: pytest.FixtureRequest, collector: Running, tmp_path: Path
) -> AsyncIterator[Backstage]:
    """The plugin's dev app with a backend: the stand-in, or backstage/check-backend."""
    if installing := os.environ.get("BATON_PLUGIN_INSTALL_DONE"):
        # ./dev test installs the plugin's packages while the suite runs (this test comes later)
        # and makes this file once that is over, however it went.
        done = Path(installing)
        await until(done.exists, INSTALL_TIMEOUT_S, "the end of the plugin's npm install")
    if not servers.CLI.exists():
        pytest.skip(
            "the plugin's node_modules are not installed (./dev test installs them unless"
            " BATON_BACKSTAGE=0)"
        )
    real = request.param == "real backend"
    if real and not servers.check_backend_installed():
        pytest.skip("backstage/check-backend is not installed (npm ci there; docs/backstage.md)")
    app_port, backend_port = servers.free_port(), servers.free_port()
    app = f"http://localhost:{app_port}"
    async with contextlib.AsyncExitStack() as stack:
        stand_in = None
        if real:
            config = tmp_path / "backend-config.yaml"
            await stack.enter_async_context(
                servers.check_backend(config, backend_port, app, collector.base, BACKEND_TIMEOUT_S)
            )
        else:
            stand_in = BackstageStandIn(collector.base, app, "alice")
            await stand_in.async_start(backend_port)
            stack.push_async_callback(stand_in.async_close)
        config = tmp_path / "app-config.test.yaml"
        await stack.enter_async_context(
            servers.dev_app(config, app_port, backend_port, START_TIMEOUT_S)
        )
        yield Backstage(app, f"http://localhost:{backend_port}", stand_in)


async def _sign_in_and_connect(page: Page, app: str, token: str) -> None:
    await page.goto(f"{app}/baton-traces")
    await page.get_by_role("button", name="Enter").click()  # Backstage's guest sign-in
    await expect(page.get_by_text("Signed in to Backstage as")).to_contain_text(
        "alice", timeout=TIMEOUT_MS
    )
    await page.get_by_label("Baton token").fill(token)
    await page.get_by_role("button", name="Connect").click()
    status = page.get_by_role("status")
    await expect(status).to_have_attribute("data-status", "live", timeout=TIMEOUT_MS)
    await expect(status).to_have_text("Live: new messages appear as they arrive")


# The install it may wait for, the build, the backend, then the tour itself.
@pytest.mark.timeout(INSTALL_TIMEOUT_S + START_TIMEOUT_S + BACKEND_TIMEOUT_S + 180)
async def test_a_transfer_between_real_receivers_appears_live_in_backstage(
    browser, collector: Running, backstage: Backstage, tmp_path: Path
) -> None:
    app = backstage.app
    # Another user's transfer: never shown to alice.
    bobs = samples.Transfer(
        BOB_PHONE, BOB_CAR, samples.Device("bob-tv", "TV", "tv", "bob"), "t-bob"
    )
    assert (
        await collector.post("traces", bobs.request().SerializeToString(), sender="bob")
    ).status == 200

    reset_otel_globals()
    media_root = tmp_path / "media"
    media_root.mkdir()
    write_tone(media_root / "tone.wav", 440.0, 8000)
    token = collector.ingest_tokens["alice"]
    # One argument: a token may begin with "-", which argparse would take for an option.
    traced = ["--trace-endpoint", collector.base, "--user", "alice", f"--trace-token={token}"]
    receivers: list[RunningReceiver] = []
    lifeline, name = controller_lifeline("cli", "backstage-test", str(tmp_path))
    handle = setup(
        TraceSettings(
            collector.base, device_id=lifeline, device_name=name, device_type="controller",
            user="alice", token=token, spool=tmp_path / "spool.sqlite3",
        )
    )  # fmt: skip
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await _sign_in_and_connect(page, app, collector.tokens["alice"])
        async with MediaServer(media_root) as media:
            receivers.append(await start_receiver(tmp_path, "Living Room", extra=traced))
            receivers.append(
                await start_receiver(tmp_path, "Car", extra=[*traced, "--type", "car"])
            )
            source, target = receivers
            controller = Controller(default_identity("backstage test"), browse=False)
            await controller.async_start()
            try:
                for receiver in receivers:
                    await controller.async_add_address(receiver.host, receiver.port)
                item = m.QueueItem("uid-1", media.url("tone.wav"), duration_ms=8000)
                result = await controller.async_command(
                    source.device_id, m.SetQueue((item,)), timeout=10
                )
                assert result.ok, result.failure
                outcome = await TransferCoordinator(controller).async_transfer(
                    source.device_id, target.device_id
                )
                assert outcome.ok, outcome.failure
            finally:
                await controller.async_close()

            # Live: the transfer's messages between the named lifelines, as they arrive.
            for kind, sender, to in (
                ("TransferOffer", lifeline, target.device_id),
                ("TransferReady", target.device_id, lifeline),
                ("TransferCommit", lifeline, source.device_id),
                ("TransferDone", target.device_id, lifeline),
            ):
                arrow = page.locator(
                    f'g.arrow.done[data-label="{kind}"][data-from="{sender}"][data-to="{to}"]'
                )
                await expect(arrow.first).to_be_attached(timeout=TIMEOUT_MS)
            offer = page.get_by_role("img", name=f"TransferOffer from {name} to Car")
            await expect(offer.first).to_be_attached()
            await _tab_to_the_diagram(page)
            # The transfers list: this one, by name, with its figures; none of bob's.
            row = page.locator(f'tr[data-transfer="{outcome.transfer_id}"]')
            await expect(row).to_contain_text("Living Room → Car", timeout=TIMEOUT_MS)
            await expect(row).to_have_attribute("data-outcome", "ok")
            assert outcome.timings is not None
            await expect(row).to_contain_text(f"{outcome.timings.request_to_audible_ms} ms")
            await expect(page.locator('tr[data-transfer="t-bob"]')).to_have_count(0)
            # BATON_SCREENSHOTS=docs/screenshots keeps the picture for the docs page.
            pictures = Path(os.environ.get("BATON_SCREENSHOTS", tmp_path))
            await page.screenshot(path=str(pictures / "backstage-plugin.png"), full_page=True)
    finally:
        handle.shutdown(10)
        reset_otel_globals()
        for receiver in receivers:
            await receiver.stop()
        await page.close()
    assert errors == []
    # The proxy lets no one through without a Backstage token, even with a good Baton token.
    async with aiohttp.ClientSession() as http:
        url = f"{backstage.backend}/api/proxy/baton-traces/api/whoami"
        headers = {"X-Baton-Token": collector.tokens["alice"]}
        async with http.get(url, headers=headers) as response:
            assert response.status == 401
    if backstage.stand_in is not None:
        # The Baton token in its header, Backstage's token never passed on.
        forwarded = backstage.stand_in.forwarded
        assert forwarded
        assert all("x-baton-token" in {k.lower() for k in h} for h in forwarded)
        assert not any("authorization" in {k.lower() for k in h} for h in forwarded)


async def _tab_to_the_diagram(page: Page) -> None:
    """Tab reaches the diagram (one stop: its newest message); ↑ moves to the one before."""
    diagram = page.get_by_role("group", name=re.compile("^Live sequence diagram"))
    for _ in range(TAB_STOPS):
        await page.keyboard.press("Tab")
        if await diagram.evaluate("d => d.contains(document.activeElement)"):
            break
    else:
        pytest.fail(f"{TAB_STOPS} presses of Tab never reached the sequence diagram")
    label = "() => document.activeElement.getAttribute('aria-label')"
    newest = await page.evaluate(label)
    await page.keyboard.press("ArrowUp")
    before = await page.evaluate(label)
    assert newest
    assert before
    assert before != newest
