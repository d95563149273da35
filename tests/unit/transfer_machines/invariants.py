"""What must hold in the simulated home, after every step and once everything has settled.

The rules the machines promise (docs/reliability.md): never two players after a switch, never
zero players when one was playing, the session never lost, its revision only grows. Two
documented exceptions, each named by what the home shows:
* the partition rule: a source left without a verdict that cannot reach its target lets go,
  so nobody may play (the session stays on the source, paused, and the target never started);
* a stranded device: a target that started while its Done never reached its controller (it
  was cut off or died right then), which the controller takes for failed and rolls the source
  back: the target plays on (or resumes its saved session after a restart) beside the source
  until an abort reaches it; and a source cut off from its controller, which the controller
  takes for gone and moves the session on from its last known state: it plays on beside the
  target until someone tells it, and if another device had taken the session meanwhile (which
  this controller had not heard of), that one holds it too. A transfer that moves the session
  on from a stranded device (`World.carried`) hands the excuse on to its target.
"""

from __future__ import annotations

from tests.unit.transfer_machines.sim import SESSION, Device, World

PARTITION_LOG = "cannot ask the target"


def failed_transfers(world: World) -> set[str]:
    """Return the ids of the transfers some controller reported failed."""
    return {
        outcome.transfer_id
        for controller in world.controllers.values()
        for outcome in controller.outcomes
        if not outcome.ok
    }


def stranded(world: World) -> set[str]:
    """Return the devices that play on where the protocol lost track of them: a target that
    started for a transfer reported failed; the source and the target of a transfer that went
    on from the source's last known state (it could not be reached); the target of a transfer
    that moved the session on from a device stranded at the time (it carries that lineage)."""
    failed = failed_transfers(world)
    out = set()
    for controller in world.controllers.values():
        for outcome in controller.outcomes:
            if outcome.ok and not outcome.source_reachable:
                out |= {outcome.source_id, outcome.target_id}
            if outcome.ok and outcome.transfer_id in world.carried:
                out.add(outcome.target_id)  # it took the session from a stranded device
        running, plan = controller.coordination, controller.plan
        if running is not None and plan is not None and not running.source_reachable:
            out |= {plan.source_id, plan.target_id}
        if (
            running is not None
            and not running.over
            and plan is not None
            and plan.transfer_id in world.carried
        ):
            out.add(plan.target_id)  # it may play before its Done reaches the controller
    for device in world.devices.values():
        started = device.machine.target.started_transfer
        phases = {tid for tid in failed if device.machine.ledger.phase(tid).name == "STARTED"}
        if started in failed or phases:
            out.add(device.id)
    return out


def players(world: World) -> list[Device]:
    """Return the live devices whose player plays (or is set to start), with no stop set."""
    return [d for d in world.devices.values() if d.alive and d.player.intends()]


def owners(world: World) -> list[Device]:
    """Return the live devices whose state says they hold the session."""
    return [
        d for d in world.devices.values()
        if d.alive and d.state.active and d.state.session_id == SESSION
    ]  # fmt: skip


def check_step(world: World, *, faults: bool = True) -> None:
    """What holds at every instant. Without *faults* (nothing cut off, killed or restarted),
    no device is excused as stranded: one player and one holder at most, whatever the race."""
    excused = stranded(world) if faults else set()
    playing = [d.id for d in players(world)]
    assert len([p for p in playing if p not in excused]) <= 1, f"two players: {playing}"
    active = [d.id for d in owners(world)]
    assert len([a for a in active if a not in excused]) <= 1, f"two active devices: {active}"
    for device in world.devices.values():
        revisions = [state.revision for state in device.published]
        assert revisions == sorted(set(revisions)), f"{device.id} revisions {revisions}"
    assert world.revision_errors == [], world.revision_errors
    # Whoever holds the session publishes ever higher revisions, across moves; a stranded
    # device's lineage is its own (the controller moved on from what it last knew).
    high = 0
    for device_id, revision in world.owner_log:
        if device_id in excused:
            continue
        assert revision > high, f"{device_id} held the session at {revision}, not above {high}"
        high = revision
    assert session_kept(world), "the session is lost"


def session_kept(world: World) -> bool:
    """Return True if some device holds the session (a dead one in what it saved)."""
    for device in world.devices.values():
        state = device.state if device.alive or device.saved is None else device.saved[0]
        if state.session_id == SESSION and state.queue and state.current_uid:
            return True
    return False


def check_settled(world: World) -> None:
    """What holds once nothing is left to happen."""
    check_step(world)
    excused = stranded(world)
    owner = [d for d in owners(world) if d.id not in excused]
    partition = any(PARTITION_LOG in line for _, line in world.logs)
    dead = any(not d.alive for d in world.devices.values())
    # A source killed while it waited for its verdict forgets the wait (docs/reliability.md,
    # known gaps): restarted, it keeps the session paused but does not hold it, and if its
    # controller died too, no commit reaches the target either.
    held_lost = bool(world.lost_holds)
    if not owner:
        assert partition or dead or excused or held_lost, f"nobody holds the session: {world.logs}"
        return
    [device] = owner
    # The session played when the test began and no command paused it: its holder plays.
    assert device.state.status.name == "PLAYING", device.state
    assert device.player.intends(), f"{device.id} holds the session but is silent"
