"""The viewer draws a group (protocol 1.2) in a real browser: its members' lifelines side by side
under one heading, the leader marked, each with its latest measured skew, in the sequence
diagram and the device filter, from spans and events posted to a collector."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.viewer.test_viewer import TIMEOUT_MS, _open, _send
from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, Running
from tracing import attributes as a
from tracing import samples
from tracing.group_samples import GroupSample

pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

LOUNGE = samples.Device("alice-lounge", "Lounge", "receiver", "alice")
PORCH = samples.Device("alice-porch", "Porch", "receiver", "alice")
BEDROOM = samples.Device("alice-bedroom", "Bedroom", "speaker", "alice")
GROUP = GroupSample(ALICE_PHONE, ALICE_SPEAKER, (LOUNGE, PORCH))


async def _post(collector: Running, signal: str, request) -> None:
    assert (await collector.post(signal, request.SerializeToString())).status == 200


async def test_a_group_s_members_stand_together_under_one_heading_with_their_skew(
    browser, collector, tmp_path
):
    page = await _open(browser, collector, "alice")
    # A device in no group first: the group's lifelines must still come out side by side.
    await _send(collector, ALICE_PHONE, BEDROOM, seq=1)
    await _post(collector, "traces", GROUP.forming())
    for member, skew_us in ((ALICE_SPEAKER, 3), (LOUNGE, 12), (PORCH, -7)):
        await _post(collector, "logs", GROUP.skew(member, skew_us))

    group = page.locator('.group-heads[data-group="grp-1"]')
    await expect(group).to_have_attribute(
        "aria-label", "Group grp-1: 3 members, led by Kitchen speaker", timeout=TIMEOUT_MS
    )
    await expect(group.locator(".group-title")).to_have_text("group grp-1 · epoch 3")
    heads = group.locator(".lifeline-head")
    await expect(heads).to_have_count(3)
    assert [await h.get_attribute("data-device") for h in await heads.all()] == [
        "alice-kitchen", "alice-lounge", "alice-porch",
    ]  # fmt: skip
    leader = group.locator('.lifeline-head[data-device="alice-kitchen"]')
    await expect(leader).to_have_class("lifeline-head leader")
    await expect(leader.locator(".skew")).to_have_text("leader · skew +3 µs", timeout=TIMEOUT_MS)
    lounge = group.locator('.lifeline-head[data-device="alice-lounge"] .skew')
    await expect(lounge).to_have_text("skew +12 µs", timeout=TIMEOUT_MS)
    porch = group.locator('.lifeline-head[data-device="alice-porch"] .skew')
    await expect(porch).to_have_text("skew −7 µs", timeout=TIMEOUT_MS)  # its join done
    # The phone and the bedroom speaker are in no group: heads of their own, outside it.
    await expect(page.locator("#lifeline-heads > .lifeline-head")).to_have_count(2)
    # The group's steps are arrows from the controller to each member, and answers back.
    join = page.locator('g.arrow.done[data-from="alice-phone"][data-to="alice-porch"]')
    await expect(join).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(join.locator("text").first).to_have_text("GroupJoin")
    done = page.locator('g.arrow.done[data-from="alice-lounge"][data-to="alice-phone"]')
    await expect(done.locator("text").first).to_have_text("GroupDone")
    diagram = page.locator("#diagram")
    await expect(diagram).to_have_attribute(
        "aria-label", "Sequence diagram: 5 devices (1 group), 10 messages and events"
    )

    # The device filter lists the members under their group, the leader first, with skews.
    options = page.locator(
        '#f-device optgroup[label="group grp-1 (led by Kitchen speaker)"] option'
    )
    await expect(options).to_have_text(
        ["Kitchen speaker (leader) · skew +3 µs", "Lounge · skew +12 µs", "Porch · skew −7 µs"],
        timeout=TIMEOUT_MS,
    )
    # A newer report replaces a member's skew.
    await _post(collector, "logs", GROUP.skew(LOUNGE, -4))
    await expect(lounge).to_have_text("skew −4 µs", timeout=TIMEOUT_MS)

    # Each skew report is a note on its member's lifeline, saying the skew.
    note = page.locator("g.note", has_text="group skew +12 µs")
    await expect(note).to_have_attribute("aria-label", "group skew +12 µs on Lounge")
    # Keyboard: the diagram is one tab stop; Home, then ↓ reaches the group's first step.
    await page.locator("#diagram [tabindex='0']").focus()
    await page.keyboard.press("Home")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await expect(page.locator("#details-body")).to_contain_text('"baton.group.id"')
    await page.screenshot(path=str(tmp_path / "group.png"), full_page=True)

    # Porch leaves: once its GroupDone is in, it stands alone, outside the group.
    leave = {a.GROUP_ID: "grp-1", a.GROUP_EPOCH: 4, a.GROUP_STEP: "LEAVE"}
    await _send(collector, PORCH, ALICE_PHONE, kind="GroupDone", seq=9, attributes=leave)
    await expect(heads).to_have_count(2, timeout=TIMEOUT_MS)
    await expect(
        page.locator('#lifeline-heads > .lifeline-head[data-device="alice-porch"]')
    ).to_have_count(1)

    # A page opened afterwards knows the group from the collector (/api/groups) and the backlog.
    late = await _open(browser, collector, "alice")
    late_lounge = late.locator('.group-heads .lifeline-head[data-device="alice-lounge"] .skew')
    await expect(late_lounge).to_have_text("skew −4 µs", timeout=TIMEOUT_MS)
    await expect(late.locator(".group-heads .lifeline-head")).to_have_count(2)
    assert page.errors == []  # type: ignore[attr-defined]
    assert late.errors == []  # type: ignore[attr-defined]
