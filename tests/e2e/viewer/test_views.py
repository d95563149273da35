"""The viewer's views in a real browser: names instead of ids, untraced peers, the transfers
list, a transfer's timeline on a time axis, a session, and all of it from the keyboard with
labels a screen reader reads."""

from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import Page, expect

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, Running
from tracing import attributes, samples

pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

TIMEOUT_MS = 10_000
# A receiver's id as real ones are: 64 hex digits, which overflowed the details pane.
LIVING_ROOM = samples.Device("9f" * 32, "Living Room", "speaker", "alice")
CAR = samples.Device("c4" * 32, "Car", "car", "alice")


async def _open(browser, collector: Running, user: str = "alice", hash_: str = "") -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 860})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{collector.base}/{hash_}")
    await page.get_by_label("Token").fill(collector.tokens[user])
    await page.get_by_role("button", name="Open").click()
    await expect(page.get_by_role("status")).to_have_text("live", timeout=TIMEOUT_MS)
    return page


async def _post(collector: Running, request) -> None:
    assert (await collector.post("traces", request.SerializeToString())).status == 200


async def _overlapping(page: Page, selector: str) -> list[tuple[str, str]]:
    """Return the pairs of elements matching *selector* whose boxes overlap."""
    return await page.evaluate(
        """(selector) => {
            const boxes = [...document.querySelectorAll(selector)]
              .map((e) => [e.textContent, e.getBoundingClientRect()])
              .filter(([, r]) => r.width > 0 && r.height > 0);
            const out = [];
            for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
              const [ta, a] = boxes[i], [tb, b] = boxes[j];
              if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) {
                out.push([ta, tb]);
              }
            }
            return out;
        }""",
        selector,
    )


async def test_devices_are_named_everywhere_and_the_details_title_fits(browser, collector):
    page = await _open(browser, collector)
    await _post(
        collector, samples.traces_request([samples.Message(LIVING_ROOM, CAR, kind="TransferOffer")])
    )
    arrow = page.get_by_role("button", name="TransferOffer from Living Room to Car: 3.0 ms")
    await expect(arrow).to_have_count(1, timeout=TIMEOUT_MS)
    # The device filter offers names; the id is on hover.
    option = page.locator("#f-device option", has_text="Living Room")
    await expect(option).to_have_attribute("value", LIVING_ROOM.device_id)
    await expect(option).to_have_attribute("title", f"Living Room: {LIVING_ROOM.device_id}")
    assert LIVING_ROOM.device_id not in await page.locator("#f-device").inner_text()
    head = page.locator(f'.lifeline-head[data-device="{CAR.device_id}"]')
    await expect(head.locator(".name")).to_have_text("Car")
    await expect(head).to_have_attribute("title", CAR.device_id)
    await arrow.click()
    title = page.locator("#details-title")
    await expect(title).to_have_text("Living Room → Car: TransferOffer")
    await expect(page.locator("#details-body")).to_contain_text(CAR.device_id)  # ids in details
    for pane in ("#details", "#details-title", "#details-body"):
        fits = await page.locator(pane).evaluate("e => e.scrollWidth <= e.clientWidth")
        assert fits, f"{pane} overflows"
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_message_to_an_untraced_controller_is_not_traced_not_lost(browser, collector):
    page = await _open(browser, collector)
    # The speaker answers a controller that sends no traces: only the speaker's half exists.
    untraced = samples.Device("ctl-0123456789abcdef", "", "controller", "alice")
    request = samples.traces_request(
        [samples.Message(ALICE_SPEAKER, untraced, kind="CommandResult")]
    )
    del request.resource_spans[1]  # the controller's half: never sent
    await _post(collector, request)
    arrow = page.locator('g.arrow[data-to="ctl-0123456789abcdef"]')
    await expect(arrow).to_have_class("arrow untraced", timeout=TIMEOUT_MS)
    await expect(arrow.locator("text.latency")).to_have_text("not traced")
    head = page.locator('.lifeline-head[data-device="ctl-0123456789abcdef"]')
    await expect(head.locator(".name")).to_have_text("ctl-01234567… (not traced)")
    await expect(head.locator(".offset")).to_have_text("not traced")
    # A traced peer whose half is late is pending, not "not traced".
    late = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER, kind="Command")])
    del late.resource_spans[1]
    await _post(collector, late)
    await expect(page.locator('g.arrow.pending[data-to="alice-kitchen"]')).to_have_count(1)


async def test_the_transfers_list_opens_a_transfer_with_a_timeline_on_a_time_axis(
    browser, collector
):
    now = time.time_ns()
    await _post(
        collector,
        samples.Transfer(ALICE_PHONE, LIVING_ROOM, CAR, "t-ok", start_ns=now - 10**9).request(),
    )
    failed = samples.Transfer(
        ALICE_PHONE, CAR, LIVING_ROOM, "t-bad", outcome="failed", start_ns=now
    )
    await _post(collector, failed.request())
    page = await _open(browser, collector)
    await page.get_by_role("link", name="Transfers").click()
    table = page.get_by_role("table", name="Recent transfers, failures first")
    rows = table.locator("tbody tr")
    await expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
    await expect(rows.nth(0)).to_contain_text("Car → Living Room")
    await expect(rows.nth(0)).to_contain_text("failed")
    await expect(rows.nth(1)).to_contain_text("Living Room → Car")
    await expect(rows.nth(1)).to_contain_text("262 ms")
    await expect(rows.nth(1)).to_contain_text("1.5 ms")  # the gap
    await expect(rows.nth(1)).to_contain_text("Alice's phone")

    # From the keyboard: focus the transfer's link, Enter.
    await page.get_by_role("link", name="Living Room → Car").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Living Room → Car")).to_be_visible()
    timeline = page.get_by_role("img", name="Timeline of the transfer from Living Room to Car")
    await expect(timeline).to_be_visible()
    await expect(timeline).to_have_attribute(
        "aria-label",
        "Timeline of the transfer from Living Room to Car: offer 12.0 ms, pre-roll 80.0 ms, "
        "lead 60.0 ms, start 110.0 ms, fade 30.0 ms; audible after 262.0 ms",
    )
    bars = page.locator("#timeline g.phase")
    await expect(bars).to_have_count(5)
    # One time axis: every bar's ends sit where the axis puts their times.
    ticks = await page.locator("#timeline .axis text[data-ms]").evaluate_all(
        "ts => ts.map((t) => { const r = t.getBoundingClientRect();"
        " return [Number(t.dataset.ms), r.x + r.width / 2]; })"
    )
    assert len(ticks) >= 4
    assert all(
        t.endswith(" ms")
        for t in await page.locator("#timeline .axis text[data-ms]").all_text_contents()
    )
    (t0, x0), (t1, x1) = ticks[0], ticks[-1]
    px_per_ms = (x1 - x0) / (t1 - t0)
    for name, start, end in (("offer", 0, 12), ("start", 152, 262), ("fade", 230.5, 260.5)):
        box = (
            await bars.filter(has=page.locator(f'xpath=self::*[@data-phase="{name}"]'))
            .locator("rect")
            .bounding_box()
        )
        assert box is not None
        assert box["x"] == pytest.approx(x0 + (start - t0) * px_per_ms, abs=1.5), name
        assert box["x"] + box["width"] == pytest.approx(x0 + (end - t0) * px_per_ms, abs=1.5), name
    # The messages cluster (Ready, Commit, Ready, Commit within 5 ms): their labels stack.
    await expect(page.locator("#timeline text.mark")).to_have_count(7)
    assert await _overlapping(page, "#timeline text") == []
    phases = page.get_by_role(
        "table", name="Phases, in ms from the request (the controller's clock)"
    )
    await expect(
        phases.get_by_role("row", name="pre-roll Car 12.0 ms 92.0 ms 80.0 ms")
    ).to_be_visible()
    # The transfer's own diagram, by name.
    diagram = page.locator("#transfer-diagram")
    await expect(diagram.locator("g.arrow.done")).to_have_count(7)
    await expect(page.locator("#transfer-heads .name")).to_have_text(
        ["Alice's phone", "Car", "Living Room"]
    )

    # Its session: every command, state change and message, with revisions.
    await page.get_by_role("link", name="Its session").click()
    await expect(page.get_by_role("heading", name="Session session-1")).to_be_visible()
    entries = page.get_by_role(
        "table", name="Every command and state change, with the revision it produced"
    )
    await expect(entries.locator("tbody tr")).to_have_count(9)  # 7 + 2 messages of both transfers
    await expect(entries).to_contain_text("TransferOffer → Car")
    assert page.errors == []  # type: ignore[attr-defined]


def _named(arrow: str) -> re.Pattern[str]:
    """An arrow's accessible name: what it is, then its latency of 3.0 ms in any words."""
    return re.compile("^" + re.escape(arrow + ": 3.0 ms"))


async def test_the_live_diagram_works_from_the_keyboard(browser, collector):
    page = await _open(browser, collector)
    await _post(
        collector,
        samples.traces_request(
            [
                samples.Message(
                    ALICE_PHONE,
                    ALICE_SPEAKER,
                    kind="Command",
                    seq=1,
                    start_ns=time.time_ns() - 10**6,
                ),
                samples.Message(ALICE_SPEAKER, ALICE_PHONE, kind="CommandResult", seq=1),
            ]
        ),
    )
    await expect(page.locator("#diagram g.arrow.done")).to_have_count(2, timeout=TIMEOUT_MS)
    # Tab from the filters' last control (Pause) lands on the diagram's newest message.
    await page.get_by_role("button", name="Pause").focus()
    await page.keyboard.press("Tab")
    focused = page.locator("#diagram g:focus")
    # The latency's own words depend on whether the viewer has the clocks the collector
    # measures from these two messages yet ("3.0 ms", or "3.0 ms ±3.0 (within ...)"): this
    # test is about the keys, so it reads the arrow's name up to the figure.
    await expect(focused).to_have_attribute(
        "aria-label", _named("CommandResult from Kitchen speaker to Alice's phone")
    )
    await page.keyboard.press("ArrowUp")
    await expect(focused).to_have_attribute(
        "aria-label", _named("Command from Alice's phone to Kitchen speaker")
    )
    await page.keyboard.press("Enter")
    await expect(page.locator("#details-title")).to_be_focused()
    await expect(page.locator("#details-title")).to_have_text(
        "Alice's phone → Kitchen speaker: Command"
    )
    await page.keyboard.press("Escape")
    await expect(page.locator("#details")).to_be_hidden()
    await expect(focused).to_have_attribute(
        "aria-label", _named("Command from Alice's phone to Kitchen speaker")
    )
    # The views are links a screen reader announces, the current one marked.
    nav = page.get_by_role("navigation", name="Views")
    await expect(nav.get_by_role("link", name="Live")).to_have_attribute("aria-current", "page")
    logs = samples.logs_request(ALICE_SPEAKER, attributes.EVENT_STATE_CHANGED)
    assert (await collector.post("logs", logs.SerializeToString())).status == 200
    await expect(
        page.get_by_role("button", name=f"{attributes.EVENT_STATE_CHANGED} on Kitchen speaker")
    ).to_have_count(1, timeout=TIMEOUT_MS)
