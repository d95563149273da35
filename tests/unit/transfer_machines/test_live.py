"""A live stream's transfer: the target joins the stream gated at once, never pre-rolls to a
position nor seeks, and both sides report the session's clock (listening time) in Done.
"""

from __future__ import annotations

from dataclasses import replace

from connect.transfer import source as s
from connect.transfer import target as t
from connect.transfer.ledger import Ledger
from connect.transfer.roles import Reply
from connect.wire import messages as m

NOW = 50_000_000
ITEM = m.QueueItem("r1", "http://radio/live.mp3")  # no duration: a live stream has none
LIVE = m.PlaybackState(
    session_id="s1", revision=7, queue=(ITEM,), current_uid="r1",
    clock=m.PlaybackClock(120_000, NOW, 1.0, True), status=m.PlaybackStatus.PLAYING,
    volume=40, active=True, device_id="src", live=True,
    now_playing=m.NowPlaying("News", "Test FM", ""),
)  # fmt: skip
IDLE = m.PlaybackState(session_id="own", revision=3, device_id="tgt")


def _offer(state: m.PlaybackState = LIVE, *, prepare: bool = False) -> t.Offer:
    offer = m.TransferOffer(
        "x1", state, m.TransferOptions(fade_ms=30), "src", NOW + 3_000_000, 40,
        prepare=prepare, commit_lead_us=10_000,
    )  # fmt: skip
    return t.Offer(offer, "link", IDLE)


def _machine() -> t.TargetMachine:
    return t.TargetMachine(Ledger(), ("mp3",))


def test_a_live_offer_opens_the_stream_gated_and_answers_without_a_seek() -> None:
    machine = _machine()
    [load] = machine.step(_offer(), NOW)
    assert isinstance(load, t.Load)
    assert load.live
    assert load.position_ms == 0
    ready_at = NOW + 400_000  # a slow connection: a file's pre-roll would be moved by a Seek
    [reply] = machine.step(t.LoadDone("x1"), ready_at)
    assert isinstance(reply, Reply)
    assert isinstance(reply.body, m.TransferReady)
    # Ready names where the session's clock will be once Ready is back and the commits out.
    lead = 10_000 + t.COLD_START_LEAD_US
    assert reply.body.prerolled_position_ms == LIVE.clock.position_at(ready_at + lead)


def test_a_live_commit_opens_the_gate_and_reports_the_session_clock() -> None:
    machine = _machine()
    machine.step(_offer(), NOW)
    [reply] = machine.step(t.LoadDone("x1"), NOW + 100_000)
    assert isinstance(reply, Reply)
    assert isinstance(reply.body, m.TransferReady)
    switch_at = NOW + 200_000
    position = LIVE.clock.position_at(switch_at) + 40  # a commit a little off the Ready's mark
    commit = m.TransferCommit("x1", m.TransferRole.TARGET, switch_at, position, 30, revision=9)
    start, take = machine.step(t.Commit(commit, "link", IDLE), NOW + 150_000)
    assert isinstance(start, t.StartAt)
    assert isinstance(take, t.TakeSession)
    assert start.live
    assert not start.seek
    assert take.state.live
    assert take.state.now_playing == LIVE.now_playing
    # The player counts 900 ms from its own connection; Done says the session's clock.
    [done] = machine.step(t.OutputEdge("x1", switch_at + 1_000, 900), NOW + 210_000)
    assert isinstance(done, Reply)
    assert isinstance(done.body, m.TransferDone)
    assert done.body.position_ms == position + 1


def test_a_file_offer_still_pre_rolls_to_its_position() -> None:
    machine = _machine()
    file_state = replace(LIVE, live=False, now_playing=None)
    [load] = machine.step(_offer(file_state), NOW)
    assert isinstance(load, t.Load)
    assert not load.live
    assert load.position_ms > LIVE.clock.position_ms


def test_a_prepared_live_offer_opens_nothing() -> None:
    machine = _machine()
    actions = machine.step(_offer(prepare=True), NOW)
    assert not any(isinstance(a, t.Load) for a in actions)
    [reply] = actions
    assert isinstance(reply, Reply)
    assert isinstance(reply.body, m.TransferReady)


def test_a_live_source_reports_its_session_clock_in_done() -> None:
    machine = s.SourceMachine(Ledger())
    switch_at = NOW + 100_000
    commit = m.TransferCommit("x1", m.TransferRole.SOURCE, switch_at, 0, 30, revision=9)
    actions = machine.step(s.SourceCommit(commit, "link", LIVE), NOW)
    fade = next(a for a in actions if isinstance(a, s.FadeOutAt))
    edge_at = switch_at + 30_000
    done_actions = machine.step(s.FadedOut("x1", edge_at, 2_500), NOW + 140_000)
    [done] = [a for a in done_actions if isinstance(a, Reply)]
    assert isinstance(done.body, m.TransferDone)
    assert fade.transfer_id == "x1"
    assert done.body.position_ms == LIVE.clock.position_at(edge_at)  # not the player's 2.5 s


def test_a_live_ready_waits_for_the_first_sample_heard() -> None:
    machine = _machine()
    machine.step(_offer(), NOW)
    loaded_at = NOW + 20_000
    heard_from = loaded_at + 120_000  # caching and decoder, past the lead (70 ms here)
    [reply] = machine.step(t.LoadDone("x1", heard_from_us=heard_from), loaded_at)
    assert isinstance(reply, Reply)
    assert isinstance(reply.body, m.TransferReady)
    # The switch is where the gate opens on sound, not on a stream that has not started yet.
    assert reply.body.prerolled_position_ms == LIVE.clock.position_at(heard_from)


def test_a_live_ready_heard_early_keeps_its_lead() -> None:
    machine = _machine()
    machine.step(_offer(), NOW)
    loaded_at = NOW + 20_000
    [reply] = machine.step(t.LoadDone("x1", heard_from_us=loaded_at + 1_000), loaded_at)
    assert isinstance(reply, Reply)
    assert isinstance(reply.body, m.TransferReady)
    lead = 10_000 + t.COLD_START_LEAD_US
    assert reply.body.prerolled_position_ms == LIVE.clock.position_at(loaded_at + lead)
