"""A target whose commit arrives after its switch instant starts later, in step with the session."""

from __future__ import annotations

import pytest

from connect.clock import monotonic_us
from connect.wire import messages as m
from tests.unit.transfer_status.fakes import FakeReceiver, new_link, new_side, sent
from tests.unit.transfer_status.test_target_phases import offer


async def test_a_commit_on_time_starts_at_its_instant_and_position() -> None:
    receiver = FakeReceiver(playing=False)
    side, link = new_side(receiver), new_link()
    await side.async_handle(offer("t1"), link)
    switch_at = monotonic_us() + 200_000
    await side.async_handle(
        m.TransferCommit("t1", m.TransferRole.TARGET, switch_at, 5_000, 30), link
    )
    assert receiver.player.played_at == switch_at
    assert receiver.published[-1].clock.position_at(switch_at) == 5_000


@pytest.mark.warning_logs(r"commit arrived \d+ ms late for its switch")
async def test_a_commit_that_arrives_late_starts_at_the_content_the_session_reached() -> None:
    """Before: it started the commit's content at the (past) switch instant, so it played
    300 ms behind the session while the clock it published said otherwise."""
    receiver = FakeReceiver(playing=False)
    side, link = new_side(receiver), new_link()
    await side.async_handle(offer("t1"), link)
    sent(link)
    switch_at = monotonic_us() - 300_000  # held up 300 ms on the way
    committed = monotonic_us()
    await side.async_handle(
        m.TransferCommit("t1", m.TransferRole.TARGET, switch_at, 5_000, 30), link
    )
    started = receiver.player.played_at
    assert started is not None
    assert started >= committed  # never "at" an instant already gone
    late_ms = (started - switch_at) / 1000
    assert receiver.player.seeked_to is not None
    assert abs(receiver.player.seeked_to - (5_000 + late_ms)) <= 1  # the content of then
    clock = receiver.published[-1].clock
    assert abs(clock.position_at(started) - receiver.player.seeked_to) <= 1  # and says so
    [done] = sent(link)
    assert isinstance(done, m.TransferDone)
