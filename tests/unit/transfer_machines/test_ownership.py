"""One owner per session (Baton issue 23), rule by rule on a device's machines: who refuses what,
and whom the refusal names; and the ownership epoch a transfer carries."""

from __future__ import annotations

from dataclasses import replace

from connect.transfer import source as s
from connect.transfer import target as t
from connect.transfer.device import DeviceTransfers
from connect.transfer.ledger import Ledger
from connect.transfer.roles import Reply
from connect.wire import messages as m

NOW = 10_000_000
ITEM = m.QueueItem("u1", "http://media/track.wav", duration_ms=600_000)
HELD = m.PlaybackState(
    "sess", 7, "dev-a", (ITEM,), ITEM.uid, m.PlaybackClock(5_000, NOW, 1.0, True),
    m.PlaybackStatus.PLAYING, active=True, epoch=4,
)  # fmt: skip


def commit(tid: str, epoch: int = 4, target: str = "dev-b") -> m.TransferCommit:
    return m.TransferCommit(
        tid, m.TransferRole.SOURCE, NOW + 50_000, 5_050, 30,
        target_device_id=target, target_url=f"http://{target}", epoch=epoch,
    )  # fmt: skip


def rejection(actions: list[object]) -> m.TransferRejected:
    [reply] = [a for a in actions if isinstance(a, Reply)]
    assert isinstance(reply.body, m.TransferRejected), reply.body
    return reply.body


def test_a_source_in_a_switch_refuses_a_second_commit_naming_where_the_session_goes() -> None:
    device = DeviceTransfers(("wav",))
    device.step(t.Commit(commit("t1"), "ctl-1", HELD), NOW)
    refused = rejection(device.step(t.Commit(commit("t2", target="dev-c"), "ctl-2", HELD), NOW))
    assert refused.failure.code is m.ErrorCode.CONFLICT
    assert refused.owner_device_id == "dev-b"


def test_a_source_that_let_go_refuses_naming_the_device_it_handed_the_session_to() -> None:
    device = DeviceTransfers(("wav",))
    device.step(t.Commit(commit("t1"), "ctl-1", HELD), NOW)
    device.step(s.Verdict("t1"), NOW + 100_000)  # the target plays: let go
    after = replace(HELD, active=False, status=m.PlaybackStatus.STOPPED, revision=9)
    refused = rejection(device.step(t.Commit(commit("t2"), "ctl-2", after), NOW + 200_000))
    assert refused.failure.code is m.ErrorCode.NOT_ACTIVE
    assert refused.owner_device_id == "dev-b"


def test_a_device_that_plays_a_copy_it_does_not_hold_refuses_to_be_the_source() -> None:
    ledger = Ledger()
    ledger.saw("sess", 5, "dev-c")  # it handed the session to dev-c, yet its copy plays
    device = DeviceTransfers(("wav",), ledger=ledger)
    playing_copy = replace(HELD, active=False)
    refused = rejection(device.step(t.Commit(commit("t1"), "ctl", playing_copy), NOW))
    assert refused.failure.code is m.ErrorCode.NOT_ACTIVE
    assert refused.owner_device_id == "dev-c"


def test_a_commit_from_a_stale_view_is_refused_naming_the_source_itself() -> None:
    device = DeviceTransfers(("wav",))
    refused = rejection(device.step(t.Commit(commit("t1", epoch=3), "ctl", HELD), NOW))
    assert refused.failure.code is m.ErrorCode.CONFLICT
    assert refused.owner_device_id == "dev-a"
    # An older controller says no epoch: not checked.
    accepted = device.step(t.Commit(commit("t2", epoch=0), "ctl", HELD), NOW)
    assert isinstance(accepted[0], Reply)
    assert isinstance(accepted[0].body, m.TransferReady)


def test_a_target_refuses_a_copy_older_than_one_it_has_seen() -> None:
    ledger = Ledger()
    ledger.saw("sess", 6, "dev-c")  # it handed the session on at epoch 6
    device = DeviceTransfers(("wav",), ledger=ledger)
    own = m.PlaybackState("sess", 12, "dev-b", epoch=5)
    offer = m.TransferOffer("t1", HELD, m.TransferOptions(), "dev-a", NOW + 3_000_000)
    refused = rejection(device.step(t.Offer(offer, "ctl", own), NOW))
    assert refused.failure.code is m.ErrorCode.CONFLICT
    assert refused.owner_device_id == "dev-c"
    # The same copy at the newest epoch is taken.
    newer = replace(offer, transfer_id="t2", state=replace(HELD, epoch=6))
    [load] = device.step(t.Offer(newer, "ctl", own), NOW)
    assert isinstance(load, t.Load)


def test_the_target_takes_the_next_epoch_and_a_rollback_the_one_after() -> None:
    target = DeviceTransfers(("wav",))
    own = m.PlaybackState("own", 2, "dev-b")
    offer = m.TransferOffer("t1", HELD, m.TransferOptions(), "dev-a", NOW + 3_000_000)
    target.step(t.Offer(offer, "ctl", own), NOW)
    loaded = target.step(t.LoadDone("t1"), NOW + 10_000)
    if any(isinstance(a, t.Seek) for a in loaded):  # moved to its mark first
        target.step(t.LoadDone("t1"), NOW + 11_000)
    go = replace(commit("t1", epoch=5), role=m.TransferRole.TARGET, position_ms=5_100)
    taken = [
        a
        for a in target.step(t.Commit(go, "ctl", own), NOW + 20_000)
        if isinstance(a, t.TakeSession)
    ]
    assert taken[0].state.epoch == 5
    assert taken[0].state.active

    source = DeviceTransfers(("wav",))
    source.step(t.Commit(commit("t1"), "ctl", HELD), NOW)
    source.step(s.FadedOut("t1", NOW + 80_000, 5_080), NOW + 80_000)
    back = source.step(
        t.Abort(m.TransferAborted("t1", m.Failure(m.ErrorCode.TIMEOUT, "x")), HELD), NOW + 90_000
    )
    [rollback] = [a for a in back if isinstance(a, s.RollBack)]
    assert rollback.epoch == 6
    assert s.rolled_back_state(HELD, None, rollback.revision, rollback.epoch).epoch == 6


def test_what_a_device_knows_of_sessions_survives_a_restart() -> None:
    ledger = Ledger()
    ledger.saw("sess", 6, "dev-c")
    ledger.saw("sess", 5, "dev-x")  # older news changes nothing
    restored = Ledger.from_record(ledger.to_record())
    assert restored.newest("sess") == (6, "dev-c")
    assert restored.newest("other") is None
