"""A target that restarts keeps its transfer phases: saved with the session, read back at start
(docs/reliability.md, once a known gap: it answered UNKNOWN and the source resumed beside it)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.wire import messages as m
from devices._session_saving import SessionSaver
from devices._transfer_saving import TRANSFERS_FILE, ledger_writer, load_ledger
from devices.config import ReceiverConfig
from devices.persistence import SESSION_FILE, StateDirError
from devices.resume import ResumableStore
from tests.unit.transfer_status.fakes import FakeReceiver, new_link, new_side, sent
from tests.unit.transfer_status.test_target_phases import offer, target_commit

# What these tests provoke on purpose, and what a passing run therefore logs.
pytestmark = pytest.mark.warning_logs(
    r"saved transfers .* (are unreadable|hold no record)",
    r"could not save",
)


async def test_a_started_transfer_is_still_started_after_a_restart(tmp_path: Path) -> None:
    receiver = FakeReceiver(playing=False)
    side, link = new_side(receiver), new_link()
    await side.async_handle(offer("t-started"), link)
    await side.async_handle(target_commit("t-started"), link)
    other = offer("t-pre")  # another session: this one plays here now
    await side.async_handle(replace(other, state=replace(other.state, session_id="other")), link)
    assert [type(b) for b in sent(link)] == [m.TransferReady, m.TransferDone, m.TransferReady]
    record = side.changed_ledger()
    assert record is not None
    assert side.changed_ledger() is None  # taken once, until the next change
    ledger_writer(tmp_path, record)()

    restarted = new_side(FakeReceiver(playing=False))
    restarted.restore(load_ledger(tmp_path))
    assert restarted.phase("t-started") is m.TransferPhase.STARTED
    # The pre-roll died with the process: it will never start, and the source may resume.
    assert restarted.phase("t-pre") is m.TransferPhase.ABORTED
    assert restarted.phase("never") is m.TransferPhase.UNKNOWN


@pytest.mark.warning_logs(r"saved transfers .* (are unreadable|hold no record)")
@pytest.mark.parametrize(
    "content", [b"", b"{not json", b"[1, 2]", b'{"phases": [["t", "NOPE"], 3]}']
)
def test_an_unreadable_ledger_starts_empty(tmp_path: Path, content: bytes) -> None:
    (tmp_path / TRANSFERS_FILE).write_bytes(content)
    assert load_ledger(tmp_path).phase("t") is m.TransferPhase.UNKNOWN


@pytest.mark.warning_logs(r"could not save the session: disk full")
def test_the_ledger_is_written_before_the_session_and_a_failure_keeps_the_old_session(
    tmp_path: Path,
) -> None:
    store = ResumableStore(tmp_path)
    store.prepare()
    saver = SessionSaver(store, ReceiverConfig(name="T", state_dir=tmp_path), monotonic_us)
    state = m.PlaybackState("s", 2, active=True)
    order: list[str] = []

    def ledger_first() -> None:
        order.append("ledger" if not (tmp_path / SESSION_FILE).exists() else "late")

    saver.save_now(state, monotonic_us(), ledger_first)
    assert order == ["ledger"]
    assert (tmp_path / SESSION_FILE).exists()

    def failing() -> None:
        raise StateDirError("disk full")

    saver.save_now(m.PlaybackState("s", 9, active=True), monotonic_us(), failing)
    assert store.load_session() == state  # the old session stays with the old ledger
