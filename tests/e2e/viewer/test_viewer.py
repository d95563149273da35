"""The viewer in a real browser: lifelines, live arrows, details, and user isolation."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, BOB_CAR, BOB_PHONE, Running
from tracing import attributes, samples

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

TIMEOUT_MS = 10_000  # generous: the ≤ 1 s figure is measured in bench/tracing.py


async def _open(browser, collector: Running, user: str) -> Page:
    page = await browser.new_page(viewport={"width": 1200, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(collector.base + "/")
    await page.fill("#token", collector.tokens[user])
    await page.click("#login button[type=submit]")
    await expect(page.locator("#status")).to_have_text("live", timeout=TIMEOUT_MS)
    return page


async def _send(collector: Running, sender, receiver, **kw) -> None:
    request = samples.traces_request([samples.Message(sender, receiver, **kw)])
    assert (await collector.post("traces", request.SerializeToString())).status == 200


async def test_a_new_span_pair_appears_as_an_arrow_between_lifelines(browser, collector, tmp_path):
    page = await _open(browser, collector, "alice")
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, kind="TransferOffer", transfer_id="t-9")
    arrow = page.locator('g.arrow.done[data-from="alice-phone"][data-to="alice-kitchen"]')
    await expect(arrow).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(arrow.locator("text.latency")).to_have_text("3.0 ms")
    heads = page.locator(".lifeline-head")
    await expect(heads).to_have_count(2)
    kitchen = page.locator('.lifeline-head[data-device="alice-kitchen"]')
    await expect(kitchen).to_contain_text("Kitchen speaker")
    await expect(kitchen).to_contain_text("clock 12.5 ms (reported)")  # one way: not measured

    logs = samples.logs_request(ALICE_SPEAKER, attributes.EVENT_STATE_CHANGED)
    assert (await collector.post("logs", logs.SerializeToString())).status == 200
    await expect(page.locator("g.note")).to_contain_text(
        attributes.EVENT_STATE_CHANGED, timeout=TIMEOUT_MS
    )

    await arrow.click()
    await expect(page.locator("#details-body")).to_contain_text('"baton.transfer.id": "t-9"')
    await page.screenshot(path=str(tmp_path / "viewer.png"), full_page=True)

    # Pause, miss two messages, resume: they arrive (replayed after the last seen id).
    await page.click("#pause")
    await expect(page.locator("#status")).to_have_text("paused")
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, kind="Command", seq=2)
    await _send(collector, ALICE_SPEAKER, ALICE_PHONE, kind="StateSnapshot", seq=2)
    await page.click("#pause")
    await expect(page.locator("g.arrow.done")).to_have_count(3, timeout=TIMEOUT_MS)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_skipped_envelope_seq_is_marked_as_a_gap(browser, collector):
    page = await _open(browser, collector, "alice")
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, seq=1)
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, seq=4)
    await expect(page.locator("g.gap")).to_contain_text("2 message(s) missing", timeout=TIMEOUT_MS)


async def test_user_b_sees_nothing_of_user_a(browser, collector):
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, seq=1)  # before bob connects (backlog)
    page = await _open(browser, collector, "bob")
    await _send(collector, ALICE_PHONE, ALICE_SPEAKER, seq=2)  # while bob watches
    await _send(collector, BOB_PHONE, BOB_CAR, seq=1)  # bob's own, sent last
    await expect(page.locator('g.arrow[data-from="bob-phone"][data-to="bob-car"]')).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    # Bob's record was ingested after Alice's, so the stream has already skipped hers.
    html = await page.content()
    assert "alice" not in html.lower()
    await expect(page.locator(".lifeline-head")).to_have_count(2)
    assert await collector.get_json("/api/search?q=alice", "bob") == []
    assert await collector.get_json("/api/devices", "bob") != []


async def test_fan_out_by_span_links_draws_an_arrow_per_receiver(browser, collector):
    page = await _open(browser, collector, "alice")
    bedroom = samples.Device("alice-bedroom", "Bedroom", "speaker", "alice")
    request = samples.fan_out_request(ALICE_PHONE, [ALICE_SPEAKER, bedroom])
    # The receivers' halves first, as when the sender's batch is late.
    senders_half = samples.fan_out_request(ALICE_PHONE, [])
    del senders_half.resource_spans[:]
    senders_half.resource_spans.append(request.resource_spans[0])
    del request.resource_spans[0]
    assert (await collector.post("traces", request.SerializeToString())).status == 200
    assert (await collector.post("traces", senders_half.SerializeToString())).status == 200
    for to in ("alice-kitchen", "alice-bedroom"):
        arrow = page.locator(f'g.arrow.done[data-from="alice-phone"][data-to="{to}"]')
        await expect(arrow).to_have_count(1, timeout=TIMEOUT_MS)


async def test_measured_clock_offsets_head_the_lifelines_and_correct_latencies(browser, collector):
    skew = 37_500_000  # the kitchen speaker's clock runs 37.5 ms ahead of the phone's
    one_way = 1_000_000  # every message takes 1 ms: bounds θ ± 1 ms, midpoint exactly θ
    messages = [samples.Message(ALICE_PHONE, ALICE_SPEAKER, seq=1, latency_ns=skew + one_way)]
    messages.append(samples.Message(ALICE_SPEAKER, ALICE_PHONE, seq=1, latency_ns=one_way - skew))
    request = samples.traces_request(messages)
    assert (await collector.post("traces", request.SerializeToString())).status == 200
    page = await _open(browser, collector, "alice")
    kitchen = page.locator('.lifeline-head[data-device="alice-kitchen"]')
    await expect(kitchen.locator(".offset")).to_have_text("clock +37.5 ms ±1.0")
    phone = page.locator('.lifeline-head[data-device="alice-phone"]')
    await expect(phone.locator(".offset")).to_have_text("clock reference")
    to_kitchen = page.locator('g.arrow.done[data-from="alice-phone"][data-to="alice-kitchen"]')
    # The fastest message bounds the offset: its own corrected latency is no larger than the
    # uncertainty (it could as well be 0), and says so.
    await expect(to_kitchen.locator("text.latency")).to_have_text(
        "1.0 ms ±1.0 (within clock uncertainty; raw 38.5)", timeout=TIMEOUT_MS
    )
    await expect(to_kitchen).to_have_class(re.compile(r"\buncertain\b"))
    await expect(to_kitchen).not_to_have_class(re.compile(r"\bskewed\b"))
    # A slower one (6 ms) stands clear of the uncertainty: a plain corrected figure.
    slow = samples.Message(ALICE_PHONE, ALICE_SPEAKER, seq=2, latency_ns=skew + 6_000_000)
    assert (
        await collector.post("traces", samples.traces_request([slow]).SerializeToString())
    ).status == 200
    slower = page.locator('g.arrow.done[data-latency="43.500"]')
    await expect(slower.locator("text.latency")).to_have_text(
        "6.0 ms (raw 43.5)", timeout=TIMEOUT_MS
    )
    await expect(slower).not_to_have_class(re.compile(r"\buncertain\b"))

    # A receiver that (by span link: not a clock sample) started 5 ms before its sender even
    # after correction: drawn, and marked as going backwards.
    fan_out = samples.fan_out_request(ALICE_PHONE, [ALICE_SPEAKER])
    send = fan_out.resource_spans[0].scope_spans[0].spans[0]
    handle = fan_out.resource_spans[1].scope_spans[0].spans[0]
    handle.start_time_unix_nano = send.start_time_unix_nano + skew - 5_000_000
    assert (await collector.post("traces", fan_out.SerializeToString())).status == 200
    backwards = page.locator("g.arrow.done.skewed")
    await expect(backwards).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(backwards.locator("text.latency")).to_contain_text(
        "-5.0 ms (raw 32.5) backwards after clock correction"
    )
    assert page.errors == []  # type: ignore[attr-defined]
