"""A stranded target handed on: the failures the three-controller stateful run found after the
revision fix (be75bc2), shrunk to their steps. A target whose Done never reached its
controller plays on beside the rolled-back source (docs/reliability.md, known gaps); a
controller that then moves the session from it hands that second lineage on, target and all.
"""

from __future__ import annotations

from connect.wire import messages as m
from tests.unit.transfer_machines import invariants
from tests.unit.transfer_machines.test_stateful import ThreeControllers

HANDOFF, STOP_FIRST = m.TransferMode.HANDOFF, m.TransferMode.STOP_FIRST


def strand_d1() -> ThreeControllers:
    """Return a home where c1's transfer d0 → d1 started d1 while d1 was cut off, so its Done
    never came: c1 took it for failed and rolled d0 back (c0 is dead)."""
    state = ThreeControllers()
    state.build(seed=1, jitter=0, duplicates=0.0)
    state.race(first=1, mode=HANDOFF)  # c0 d0 → d2, c1 d0 → d1, c2 d0 → d2
    state.holds()
    state.fault(controller=0, device="d0", fault="kill controller")
    state.advance(steps=26)  # d1 plays (t2); c2's t3 is refused
    state.fault(controller=0, device="d1", fault="isolate")
    state.advance(steps=7)  # c1 hears nothing from d1 and gives t2 up
    state.fault(controller=0, device="d1", fault="heal")
    state.holds()
    [given_up] = state.w.controllers["c1"].outcomes
    assert given_up.failure is not None
    assert given_up.failure.code is m.ErrorCode.TIMEOUT
    assert given_up.rolled_back
    assert invariants.stranded(state.w) == {"d1"}
    return state


def test_a_stranded_target_handed_on_plays_beside_the_rolled_back_source() -> None:
    """The race takes d1, the one holder the home shows then, for the source: c1 moves the
    session from d1 to d2 while d0's rollback lands. d2 carries d1's lineage (it is excused
    as d1 is) and plays beside d0 until someone tells one of them: two players."""
    state = strand_d1()
    state.race(first=0, mode=HANDOFF)  # c1 d1 → d2, c2 d1 → d0
    state.holds()
    assert state.w.carried == {"t4", "t5"}
    state.teardown()
    assert sorted(d.id for d in invariants.players(state.w)) == ["d0", "d2"]
    assert invariants.stranded(state.w) >= {"d1", "d2"}
    handed_on = state.w.controllers["c1"].outcomes[-1]
    assert (handed_on.source_id, handed_on.target_id, handed_on.ok) == ("d1", "d2", True)


def test_a_stranded_target_handed_on_keeps_its_own_revisions() -> None:
    """d0, rolled back to revision 5, dies; the race moves the session from the stranded d1
    (at 4) to d2, which holds it at 5 too: d1's lineage, not above d0's last."""
    state = strand_d1()
    state.advance(steps=21)
    # c2's view of d0 goes back to 4 (its own t3's); it refuses: d1 holds the session.
    state.stale_transfer(back=1, controller=2, source="d0", to="d2")
    state.holds()
    state.fault(controller=0, device="d0", fault="kill")
    state.race(first=1, mode=STOP_FIRST)  # c1 d1 → d2 (c2 is refused)
    state.holds()
    state.teardown()
    assert [d.id for d in invariants.players(state.w)] == ["d2"]
    assert state.w.owner_log[-2:] == [("d0", 5), ("d2", 5)]
    assert "d2" in invariants.stranded(state.w)
