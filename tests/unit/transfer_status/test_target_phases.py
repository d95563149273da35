"""The phase a target reports for a transfer, and what being asked about a pre-roll does."""

from __future__ import annotations

from dataclasses import replace

import pytest

from connect.clock import monotonic_us
from connect.wire import messages as m
from devices.transfer import MAX_PHASES
from tests.unit.transfer_status.fakes import FakeReceiver, new_link, new_side, sent

SOURCE_STATE = FakeReceiver().state


def offer(tid: str) -> m.TransferOffer:
    return m.TransferOffer(
        tid, SOURCE_STATE, m.TransferOptions(), "dev-source", monotonic_us() + 3_000_000, 40
    )


def target_commit(tid: str) -> m.TransferCommit:
    return m.TransferCommit(tid, m.TransferRole.TARGET, monotonic_us() + 50_000, 1_000, 30)


async def test_a_transfer_it_never_heard_of_is_unknown() -> None:
    side = new_side(FakeReceiver(playing=False))
    assert side.phase("never-offered") is m.TransferPhase.UNKNOWN


async def test_pre_rolled_then_started() -> None:
    receiver = FakeReceiver(playing=False)
    side, link = new_side(receiver), new_link()
    await side.async_handle(offer("t1"), link)
    assert [type(b) for b in sent(link)] == [m.TransferReady]
    await side.async_handle(target_commit("t1"), link)
    assert [type(b) for b in sent(link)] == [m.TransferDone]
    assert side.phase("t1") is m.TransferPhase.STARTED
    assert receiver.published[-1].status is m.PlaybackStatus.PLAYING


@pytest.mark.warning_logs(r"the source asked before any commit")
async def test_asked_about_a_pre_roll_it_drops_it_and_refuses_the_late_commit() -> None:
    receiver = FakeReceiver(playing=False)
    side, link = new_side(receiver), new_link()
    await side.async_handle(offer("t1"), link)
    sent(link)
    assert side.phase("t1") is m.TransferPhase.PREROLLED
    assert side.phase("t1") is m.TransferPhase.ABORTED  # the question settled it
    await side.async_handle(target_commit("t1"), link)
    [answer] = sent(link)
    assert isinstance(answer, m.Error)
    assert answer.code is m.ErrorCode.NOT_FOUND
    assert "play_at" not in receiver.player.calls
    assert receiver.published == []  # it never took the session


@pytest.mark.warning_logs(r"called off after the start")
async def test_refused_or_called_off_transfers_are_aborted() -> None:
    side, link = new_side(FakeReceiver(playing=False)), new_link()
    empty = replace(SOURCE_STATE, queue=(), current_uid="")
    await side.async_handle(replace(offer("refused"), state=empty), link)
    await side.async_handle(offer("called-off"), link)
    await side.async_handle(
        m.TransferAborted("called-off", m.Failure(m.ErrorCode.TIMEOUT, "x")), link
    )
    await side.async_handle(offer("handed-back"), link)
    await side.async_handle(target_commit("handed-back"), link)
    await side.async_handle(
        m.TransferAborted("handed-back", m.Failure(m.ErrorCode.TIMEOUT, "x")), link
    )
    assert [side.phase(t) for t in ("refused", "called-off", "handed-back")] == [
        m.TransferPhase.ABORTED
    ] * 3


async def test_it_remembers_only_the_latest_transfers() -> None:
    side, link = new_side(FakeReceiver(playing=False)), new_link()
    empty = replace(SOURCE_STATE, queue=(), current_uid="")
    for n in range(MAX_PHASES + 1):
        await side.async_handle(replace(offer(f"t{n}"), state=empty), link)  # each refused
    assert side.phase("t0") is m.TransferPhase.UNKNOWN
    assert side.phase(f"t{MAX_PHASES}") is m.TransferPhase.ABORTED
