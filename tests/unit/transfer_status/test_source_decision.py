"""A source left without a verdict asks its target, and takes the music back unless it started.

Driven with a fake player and a fake `ask` (what the target would answer): no sockets, no
libVLC. HOLD_S is patched rather than waited out.
"""

from __future__ import annotations

import asyncio

import pytest

from connect.clock import monotonic_us
from connect.errors import ConnectionLostError, ConnectTimeoutError
from connect.wire import messages as m
from devices import _transfer_source as transfer  # where HOLD_S is read
from tests.unit.transfer_status.fakes import FakeReceiver, new_link, new_side, sent
from tests.waiting import until

TARGET_ID = "ab" * 32
TARGET_URL = "https://127.0.0.1:7443"


def source_commit(tid: str = "t1", *, named: bool = True) -> m.TransferCommit:
    return m.TransferCommit(
        tid, m.TransferRole.SOURCE, monotonic_us() + 20_000, fade_ms=10,
        target_device_id=TARGET_ID if named else "", target_url=TARGET_URL if named else "",
    )  # fmt: skip


class Asker:
    """Answers like a target would; remembers who asked about what."""

    def __init__(self, answer: m.TransferPhase | Exception) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, device_id: str, url: str, transfer_id: str) -> m.TransferPhase:
        self.asked.append((device_id, url, transfer_id))
        await self.release.wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def rolled_back(receiver: FakeReceiver) -> bool:
    return receiver.state.active and receiver.state.status is m.PlaybackStatus.PLAYING


def let_go(receiver: FakeReceiver) -> bool:
    return receiver.state.status is m.PlaybackStatus.STOPPED


async def commit_then_lose_the_controller(
    receiver: FakeReceiver, asker: Asker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long hold: the answer must come from the closed session, not from the hold's end.
    monkeypatch.setattr(transfer, "HOLD_S", 60.0)
    side, link = new_side(receiver, ask=asker), new_link()
    await side.async_handle(source_commit(), link)
    assert [type(b) for b in sent(link)] == [m.TransferReady, m.TransferDone]
    assert receiver.state.status is m.PlaybackStatus.PAUSED
    assert not receiver.state.active
    link.close()  # the controller died


@pytest.mark.parametrize(
    "phase", [m.TransferPhase.PREROLLED, m.TransferPhase.UNKNOWN, m.TransferPhase.ABORTED]
)
@pytest.mark.warning_logs(r"rolled back: no verdict")
async def test_a_target_that_never_started_makes_the_source_take_the_music_back(
    phase: m.TransferPhase, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, asker = FakeReceiver(), Asker(phase)
    await commit_then_lose_the_controller(receiver, asker, monkeypatch)
    await until(lambda: rolled_back(receiver), 5, "the source resumed")
    assert asker.asked == [(TARGET_ID, TARGET_URL, "t1")]
    assert receiver.player.calls[-1] == "play"
    assert receiver.state.revision == 7  # faded (6), then back (7)


async def test_a_target_that_started_makes_the_source_let_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver, asker = FakeReceiver(), Asker(m.TransferPhase.STARTED)
    await commit_then_lose_the_controller(receiver, asker, monkeypatch)
    await until(lambda: let_go(receiver), 5, "the source let go")
    assert not receiver.state.active
    assert "play" not in receiver.player.calls


@pytest.mark.parametrize(
    "failure", [ConnectionLostError("no route to host"), ConnectTimeoutError("no answer")]
)
@pytest.mark.warning_logs(r"cannot ask the target .*; letting go")
async def test_an_unreachable_target_makes_the_source_let_go_as_before(
    failure: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, asker = FakeReceiver(), Asker(failure)
    await commit_then_lose_the_controller(receiver, asker, monkeypatch)
    await until(lambda: let_go(receiver), 5, "the source let go")
    assert asker.asked
    assert "play" not in receiver.player.calls


@pytest.mark.warning_logs(r"rolled back: no verdict")
async def test_a_paused_source_rolled_back_stays_paused_but_takes_the_session_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver, asker = FakeReceiver(playing=False), Asker(m.TransferPhase.PREROLLED)
    await commit_then_lose_the_controller(receiver, asker, monkeypatch)
    await until(lambda: receiver.state.active, 5, "the source took the session back")
    assert receiver.state.status is m.PlaybackStatus.PAUSED
    assert "play" not in receiver.player.calls


@pytest.mark.warning_logs(r"rolled back: no verdict")
async def test_with_its_controller_still_there_the_source_asks_only_at_the_end_of_its_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transfer, "HOLD_S", 0.05)
    receiver, asker = FakeReceiver(), Asker(m.TransferPhase.PREROLLED)
    side, link = new_side(receiver, ask=asker), new_link()
    await side.async_handle(source_commit(), link)
    await until(lambda: rolled_back(receiver), 5, "the source resumed after its hold")
    assert len(asker.asked) == 1
    assert not link.closed.is_set()


@pytest.mark.warning_logs(r"no verdict within .*; letting go")
async def test_a_commit_naming_no_target_lets_go_after_the_hold_without_asking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transfer, "HOLD_S", 0.05)
    receiver, asker = FakeReceiver(), Asker(m.TransferPhase.PREROLLED)
    side, link = new_side(receiver, ask=asker), new_link()
    await side.async_handle(source_commit(named=False), link)
    link.close()
    await until(lambda: let_go(receiver), 5, "the source let go")
    assert asker.asked == []


async def test_a_verdict_that_comes_while_the_source_asks_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver, asker = FakeReceiver(), Asker(m.TransferPhase.PREROLLED)
    asker.release.clear()  # the target is slow to answer
    await commit_then_lose_the_controller(receiver, asker, monkeypatch)
    await until(lambda: bool(asker.asked), 5, "the source asked")
    side = receiver.player.side
    await side.async_handle(m.TransferDone("t1", m.TransferRole.SOURCE, 0), new_link())
    assert let_go(receiver)
    asker.release.set()  # a late answer (had it not been cancelled) must change nothing
    await asyncio.sleep(0)
    assert let_go(receiver)
    assert "play" not in receiver.player.calls
