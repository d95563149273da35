"""The fault table of docs/reliability.md, row by row, on the three machines in the simulated
home (tests/unit/transfer_machines/sim.py): each row sets its fault at its moment, lets all
settle, and checks who plays, who holds the session, and what the controller was told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from connect.wire import messages as m
from tests.unit.transfer_machines import invariants
from tests.unit.transfer_machines.sim import SESSION, Controller, World

HANDOFF, STOP_FIRST = m.TransferMode.HANDOFF, m.TransferMode.STOP_FIRST


def on(kind: type, device: str, then: Callable[[World], None]) -> Callable[[World], None]:
    """Return a set-up that runs *then* the moment the controller reads *kind* from *device*."""

    def arm(world: World) -> None:
        def hook(_: Controller, sender: str, body: m.Body) -> bool:
            if sender == device and isinstance(body, kind):
                then(world)
                return True
            return False

        world.hooks.append(hook)

    return arm


@dataclass(frozen=True)
class Row:
    """One fault: its set-up, and what the home must look like once all has settled."""

    name: str
    setup: Callable[[World], None]
    ok: bool
    plays: str  # the device playing at the end ("" for nobody)
    holder: str  # the device whose state holds the session, active ("" for nobody)
    failure: str = ""  # the failure's message starts with this
    mode: m.TransferMode = HANDOFF
    rolled_back: bool = False
    source_reachable: bool = True
    codecs: tuple[str, ...] = ("wav",)


def nothing(_: World) -> None:
    pass


# fmt: off
ROWS = [
    Row("handoff", nothing, True, "d1", "d1"),
    Row("stop-first", nothing, True, "d1", "d1", mode=STOP_FIRST),
    Row("target cannot play the codec", nothing, False, "d0", "d0",
        "d1 refused: cannot play wav audio", codecs=("mp3",)),
    Row("target never answers the offer", lambda w: setattr(w.devices["d1"], "deaf", True),
        False, "d0", "d0", "d1 was not ready in time"),
    Row("target killed after Ready", on(m.TransferReady, "d1", lambda w: w.kill_device("d1")),
        False, "d0", "d0", "lost d1 after it was ready"),
    Row("target killed at the switch", on(m.TransferReady, "d0", lambda w: w.kill_device("d1")),
        False, "d0", "d0", "d1 did not start playing", rolled_back=True),
    Row("source killed during the offer", lambda w: w.after(500, lambda: w.kill_device("d0")),
        True, "d1", "d1", source_reachable=False),
    Row("source's link down at the commit", on(m.TransferReady, "d1", lambda w: w.isolate("d0")),
        False, "d0", "d0", "d0 did not confirm the switch in time; it keeps playing",
        source_reachable=False),
    Row("target's link down after the source's acknowledgement",
        on(m.TransferReady, "d0", lambda w: w.isolate("d1")),
        False, "d0", "d0", "d1 did not start playing", rolled_back=True),
    Row("controller killed after the target's Ready",
        on(m.TransferReady, "d1", lambda w: w.kill_controller("c0")), False, "d0", "d0"),
    Row("controller killed between the two commits",
        on(m.TransferReady, "d0", lambda w: w.kill_controller("c0")), False, "d0", "d0"),
    Row("controller killed after the target's Done",
        on(m.TransferDone, "d1", lambda w: w.kill_controller("c0")), False, "d1", "d1"),
    Row("partition rule: controller killed between the commits, target cut off",
        on(m.TransferReady, "d0", lambda w: (w.kill_controller("c0"), w.isolate("d1"))),
        False, "", ""),
    Row("target restarted after it started, controller gone",
        on(m.TransferDone, "d1", lambda w: (
            w.kill_controller("c0"), w.kill_device("d1"), w.restart_device("d1"))),
        False, "d1", "d1"),
]
# fmt: on


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_fault(row: Row) -> None:
    world = World(7, codecs={"d1": row.codecs})
    row.setup(world)
    controller = world.controllers["c0"]
    assert controller.start(world.devices["d0"], world.devices["d1"], row.mode)
    while world.step():
        invariants.check_step(world)
    if controller.alive:
        [outcome] = controller.outcomes
        assert outcome.ok is row.ok, outcome.failure
        failure = outcome.failure.message if outcome.failure else ""
        assert failure.startswith(row.failure), failure
        assert outcome.rolled_back is row.rolled_back
        assert outcome.source_reachable is row.source_reachable
    plays = [d.id for d in invariants.players(world)]
    assert plays == ([row.plays] if row.plays else []), world.logs
    holders = [d.id for d in invariants.owners(world)]
    assert holders == ([row.holder] if row.holder else []), world.logs
    assert invariants.session_kept(world)
    for device in world.devices.values():
        if device.alive and device.state.session_id == SESSION and device.id not in holders:
            assert device.state.status is not m.PlaybackStatus.PLAYING


def test_a_source_in_a_switch_refuses_a_stop_first_transfer_naming_where_it_goes() -> None:
    """A source that refuses its commit (in a switch to another device) keeps the music: the
    stop-first target must not be offered it (it used to be, after the Done timeout: two
    players), and the refusal names the device the session is going to."""
    world = World(3, controllers=2)
    winner, loser = world.controllers["c0"], world.controllers["c1"]
    stale = loser.views["d0"]  # what the loser saw before the source committed
    source = world.devices["d0"]

    def race(_: World) -> None:
        loser.views["d0"] = stale
        assert loser.start(source, world.devices["d1"], STOP_FIRST)

    on(m.TransferReady, "d0", race)(world)  # the winner's source acknowledged its commit
    assert winner.start(source, world.devices["d2"], HANDOFF)
    world.settle()
    [won], [lost] = winner.outcomes, loser.outcomes
    assert won.ok, won.failure
    assert lost.failure is not None
    assert lost.failure.code is m.ErrorCode.CONFLICT
    assert lost.owner_id == "d2"
    assert [d.id for d in invariants.players(world)] == ["d2"]
    assert not world.devices["d1"].player.url  # never offered


def test_the_same_offer_and_commit_twice_change_nothing() -> None:
    world = World(5)
    world.duplicates = 1.0  # every message is delivered twice
    controller = world.controllers["c0"]
    assert controller.start(world.devices["d0"], world.devices["d1"], HANDOFF)
    world.settle()
    [outcome] = controller.outcomes
    assert outcome.ok, outcome.failure
    assert [d.id for d in invariants.players(world)] == ["d1"]
